"""What the rendered manifests must say: scaling, secrets, pod security, probes, topics hook, policies."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.config import Settings, load_settings
from tests.helm.helm_support import (
    CHART,
    REPO,
    SCENARIOS,
    by_kind,
    one,
    pod_specs,
    render,
    render_error,
    render_text,
    scenario_id,
    worker_container,
)

CI = CHART / "ci"
KEDA = CI / "keda-values.yaml"
HPA = CI / "hpa-values.yaml"
TLS_SASL = CI / "tls-sasl-values.yaml"
PRODUCTION = CI / "production-values.yaml"

#: IMON_* variables the worker reads: "IMON_" + field name, upper case (streams/config.py).
WORKER_ENV = {f"IMON_{name.upper()}" for name in Settings.model_fields}
SECRET_ENV = {"IMON_KAFKA_SASL_PASSWORD"}


def _configmap_data(docs: list[dict[str, Any]]) -> dict[str, str]:
    (cm,) = [
        d
        for d in by_kind(docs, "ConfigMap")
        if d["metadata"]["labels"].get("app.kubernetes.io/component") == "worker"
    ]
    return cm["data"]


def _job(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return one(docs, "Job")


# --- autoscaling -------------------------------------------------------------------------------


def test_keda_renders_a_scaledobject_and_no_hpa() -> None:
    docs = render(KEDA)
    assert by_kind(docs, "HorizontalPodAutoscaler") == []
    so = one(docs, "ScaledObject")
    values = yaml.safe_load(KEDA.read_text())
    spec = so["spec"]
    assert so["apiVersion"] == "keda.sh/v1alpha1"
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": one(docs, "Deployment")["metadata"]["name"],
    }
    assert spec["minReplicaCount"] == values["autoscaling"]["minReplicas"]
    assert spec["maxReplicaCount"] == values["autoscaling"]["maxReplicas"] <= values["kafka"]["partitions"]
    assert isinstance(spec["cooldownPeriod"], int) and isinstance(spec["pollingInterval"], int)
    behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] >= 300, "scale-down must wait out rebalances"
    assert behavior["scaleUp"]["stabilizationWindowSeconds"] >= 0
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "kafka"
    meta = trigger["metadata"]
    # KEDA trigger metadata is a map of strings.
    assert all(isinstance(v, str) for v in meta.values()), meta
    assert meta["bootstrapServers"] == values["kafka"]["bootstrapServers"]
    assert meta["topic"] == "interactions"
    assert meta["consumerGroup"] == _configmap_data(docs)["IMON_APP_ID"]
    assert meta["lagThreshold"] == str(values["autoscaling"]["keda"]["lagThreshold"])
    assert meta["allowIdleConsumers"] == "false"
    assert "authenticationRef" not in trigger and by_kind(docs, "TriggerAuthentication") == []


def test_hpa_mode_renders_an_hpa_and_no_scaledobject() -> None:
    docs = render(HPA)
    assert by_kind(docs, "ScaledObject") == [] and by_kind(docs, "TriggerAuthentication") == []
    hpa = one(docs, "HorizontalPodAutoscaler")
    values = yaml.safe_load(HPA.read_text())
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == one(docs, "Deployment")["metadata"]["name"]
    assert hpa["spec"]["maxReplicas"] == values["autoscaling"]["maxReplicas"] <= values["kafka"]["partitions"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": 75}
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 300


def test_fixed_replicas_render_no_autoscaler() -> None:
    docs = render()
    assert by_kind(docs, "ScaledObject") == [] and by_kind(docs, "HorizontalPodAutoscaler") == []
    assert one(docs, "Deployment")["spec"]["replicas"] == 1


@pytest.mark.parametrize("values", [KEDA, HPA], ids=["keda", "hpa"])
def test_autoscaled_deployment_leaves_replicas_to_the_autoscaler(values: Path) -> None:
    assert "replicas" not in one(render(values), "Deployment")["spec"]


def test_replicas_above_partitions_fail_the_render() -> None:
    err = render_error(sets=["kafka.partitions=4", "replicaCount=5"])
    assert "replicaCount (5) is above kafka.partitions (4)" in err


def test_replicas_equal_to_partitions_render() -> None:
    assert one(render(sets=["kafka.partitions=6", "replicaCount=6"]), "Deployment")["spec"]["replicas"] == 6


@pytest.mark.parametrize("mode", ["keda", "hpa"])
def test_max_replicas_above_partitions_fail_the_render(mode: str) -> None:
    err = render_error(sets=[f"autoscaling.mode={mode}", "kafka.partitions=4", "autoscaling.maxReplicas=5"])
    assert "autoscaling.maxReplicas (5) is above kafka.partitions (4)" in err


def test_min_above_max_replicas_fails_the_render() -> None:
    err = render_error(
        sets=["autoscaling.mode=keda", "autoscaling.minReplicas=4", "autoscaling.maxReplicas=3"]
    )
    assert "minReplicas (4) is above autoscaling.maxReplicas (3)" in err


# --- settings and secrets ----------------------------------------------------------------------


@pytest.mark.parametrize("values", SCENARIOS, ids=scenario_id)
def test_every_variable_is_one_the_worker_reads(values: Path | None) -> None:
    docs = render(values)
    names = set(_configmap_data(docs))
    for _, spec in pod_specs(docs):
        for c in spec["containers"]:
            names |= {e["name"] for e in c.get("env", [])}
    unknown = names - WORKER_ENV
    assert not unknown, f"not read by streams/config.py: {sorted(unknown)}"


def test_settings_reach_the_worker_as_imon_variables() -> None:
    data = _configmap_data(render(PRODUCTION))
    assert data["IMON_KAFKA_BOOTSTRAP"] == "kafka-bootstrap.kafka.svc:9093"
    assert data["IMON_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert data["IMON_TOPIC_PARTITIONS"] == "12"
    assert data["IMON_HUMAN_SLA_S"] == "90"
    assert data["IMON_BATCH_MAX_SIZE"] == "32"  # production-values overrides the default 64
    assert data["IMON_DEVICE"] == "cpu"
    assert data["IMON_ALERTMANAGER_URL"].startswith("http://alertmanager")
    # pydantic-settings decodes complex values (tuple[str, ...]) as JSON before validators run.
    assert json.loads(data["IMON_QUEUES"])[-1] == "collections"
    assert all(isinstance(v, str) for v in data.values())


def test_encoder_adapter_is_passed_only_when_set() -> None:
    assert "IMON_ENCODER_ADAPTER" not in _configmap_data(render())  # empty = the worker's own default (auto)
    assert _configmap_data(render(sets=["model.encoderAdapter=none"]))["IMON_ENCODER_ADAPTER"] == "none"
    assert "encoderAdapter" in render_error(sets=["model.encoderAdapter=relative/adapter.npz"])


def test_encoder_dtype_and_small_batch_threads_reach_the_worker() -> None:
    data = _configmap_data(render())
    assert (data["IMON_ENCODER_DTYPE"], data["IMON_TORCH_THREADS_SMALL_BATCH"]) == ("auto", "1")
    data = _configmap_data(render(sets=["model.encoderDtype=float32", "model.torchThreadsSmallBatch=0"]))
    assert (data["IMON_ENCODER_DTYPE"], data["IMON_TORCH_THREADS_SMALL_BATCH"]) == ("float32", "0")
    assert "encoderDtype" in render_error(sets=["model.encoderDtype=float16"])


def test_the_scorer_process_setting_reaches_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("IMON_")]:
        monkeypatch.delenv(key)
    for sets, want in (([], True), (["model.scorerProcess=false"], False)):
        monkeypatch.setenv("IMON_SCORER_PROCESS", _configmap_data(render(sets=sets))["IMON_SCORER_PROCESS"])
        assert load_settings().scorer_process is want
    assert "scorerProcess" in render_error(sets=["model.scorerProcess=sometimes"])


def test_the_openmp_wait_policy_reaches_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("IMON_")]:
        monkeypatch.delenv(key)
    for sets, want in (([], ""), (["model.ompWaitPolicy=passive"], "passive")):
        monkeypatch.setenv("IMON_OMP_WAIT_POLICY", _configmap_data(render(sets=sets))["IMON_OMP_WAIT_POLICY"])
        assert load_settings().omp_wait_policy == want
    assert "ompWaitPolicy" in render_error(sets=["model.ompWaitPolicy=lazy"])


def test_settings_load_into_the_worker_settings_object(monkeypatch: pytest.MonkeyPatch) -> None:
    # The rendered strings are exactly what pydantic-settings parses in the pod.
    for key in [k for k in os.environ if k.startswith("IMON_")]:
        monkeypatch.delenv(key)
    data = _configmap_data(render(PRODUCTION))
    for key, value in data.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("IMON_KAFKA_SASL_PASSWORD", "from-the-secret")
    s = load_settings()
    assert s.topic_partitions == 12 and s.human_sla_s == 90.0 and s.torch_threads == 2
    assert s.queues[-1] == "collections"
    assert str(s.kafka_ssl_cafile) == "/etc/imon/kafka-tls/ca.crt"


def test_large_integers_are_not_rendered_in_float_notation() -> None:
    data = _configmap_data(render(sets=["worker.maxEventBytes=1000000"]))
    assert data["IMON_MAX_EVENT_BYTES"] == "1000000"


@pytest.mark.parametrize("values", SCENARIOS, ids=scenario_id)
def test_no_secret_values_in_any_render(values: Path | None) -> None:
    text, docs = render_text(values)
    assert by_kind(docs, "Secret") == [], "the chart must never create Secrets"
    for d in by_kind(docs, "ConfigMap"):
        assert not SECRET_ENV & set(d.get("data", {})), "secret setting in a ConfigMap"
    for ident, spec in pod_specs(docs):
        for c in spec["containers"]:
            for e in c.get("env", []):
                if e["name"] in SECRET_ENV:
                    assert "value" not in e and "secretKeyRef" in e["valueFrom"], f"{ident}: {e}"


def test_sasl_password_and_tls_files_come_from_secret_references() -> None:
    docs = render(TLS_SASL)
    for ident, spec in pod_specs(docs):
        (container,) = spec["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert env["IMON_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": "imon-kafka-sasl",
            "key": "password",
        }, ident
        assert env["IMON_KAFKA_SASL_USERNAME"]["valueFrom"]["secretKeyRef"]["key"] == "username", ident
        (vol,) = [v for v in spec["volumes"] if v["name"] == "kafka-tls"]
        assert vol["secret"]["secretName"] == "imon-kafka-tls"
        assert {i["key"] for i in vol["secret"]["items"]} == {"ca.crt", "tls.crt", "tls.key"}
        (mount,) = [m for m in container["volumeMounts"] if m["name"] == "kafka-tls"]
        assert mount["readOnly"] is True
    data = _configmap_data(docs)
    assert data["IMON_KAFKA_SSL_CAFILE"] == "/etc/imon/kafka-tls/ca.crt"
    assert data["IMON_KAFKA_SSL_CERTFILE"] == "/etc/imon/kafka-tls/tls.crt"
    assert data["IMON_KAFKA_SSL_KEYFILE"] == "/etc/imon/kafka-tls/tls.key"
    assert data["IMON_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert "IMON_KAFKA_SASL_USERNAME" not in data  # comes from the Secret here


def test_keda_authenticates_with_the_same_secret_references() -> None:
    docs = render([KEDA, TLS_SASL])
    so = one(docs, "ScaledObject")
    (trigger,) = so["spec"]["triggers"]
    assert trigger["metadata"]["sasl"] == "scram_sha512" and trigger["metadata"]["tls"] == "enable"
    auth = one(docs, "TriggerAuthentication")
    assert trigger["authenticationRef"]["name"] == auth["metadata"]["name"]
    refs = {r["parameter"]: (r["name"], r["key"]) for r in auth["spec"]["secretTargetRef"]}
    assert refs == {
        "password": ("imon-kafka-sasl", "password"),
        "username": ("imon-kafka-sasl", "username"),
        "ca": ("imon-kafka-tls", "ca.crt"),
        "cert": ("imon-kafka-tls", "tls.crt"),
        "key": ("imon-kafka-tls", "tls.key"),
    }


def test_keda_reads_a_clear_text_user_name_from_the_worker_env() -> None:
    auth = one(render(PRODUCTION), "TriggerAuthentication")
    assert auth["spec"]["env"] == [
        {"parameter": "username", "name": "IMON_KAFKA_SASL_USERNAME", "containerName": "worker"}
    ]


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["kafka.securityProtocol=SASL_SSL", "kafka.sasl.username=u"], "kafka.sasl.existingSecret is empty"),
        (["kafka.securityProtocol=SASL_PLAINTEXT", "kafka.sasl.existingSecret=s"], "SASL needs a user name"),
        (["kafka.tls.existingSecret=t"], "use SSL or SASL_SSL"),
        (
            ["kafka.securityProtocol=SSL", "kafka.tls.existingSecret=t", "kafka.tls.certKey=tls.crt"],
            "go together",
        ),
        (["kafka.securityProtocol=SSL", "kafka.tls.existingSecret=t", "kafka.tls.caKey="], "names no file"),
        (["extraSettings.IMON_KAFKA_SASL_PASSWORD=oops"], "never from values"),
        (["extraSettings.IMON_TOPIC_PARTITIONS=9"], "already set by the chart"),
    ],
)
def test_inconsistent_kafka_settings_fail_with_a_clear_message(sets: list[str], message: str) -> None:
    assert message in render_error(sets=sets)


def test_extra_settings_pass_new_imon_variables_through() -> None:
    data = _configmap_data(render(sets=["extraSettings.IMON_FUTURE_THRESHOLD=0.7"]))
    assert data["IMON_FUTURE_THRESHOLD"] == "0.7"


def test_chart_version_is_not_a_pod_label() -> None:
    # A chart-only bump must not roll the workers: every roll is a consumer-group rebalance.
    for ident, _ in pod_specs(render()):
        kind, name = ident.split("/")
        (doc,) = [d for d in by_kind(render(), kind) if d["metadata"]["name"] == name]
        assert "helm.sh/chart" not in doc["spec"]["template"]["metadata"]["labels"], ident
        assert "helm.sh/chart" in doc["metadata"]["labels"], ident


def test_config_change_rolls_the_pods() -> None:
    def checksum(*sets: str) -> str:
        return one(render(sets=list(sets)), "Deployment")["spec"]["template"]["metadata"]["annotations"][
            "checksum/config"
        ]

    assert checksum() != checksum("worker.humanSlaSeconds=60")


# --- pod security, probes, resources -----------------------------------------------------------


@pytest.mark.parametrize("values", SCENARIOS, ids=scenario_id)
def test_pods_run_restricted(values: Path | None) -> None:
    for ident, spec in pod_specs(render(values)):
        psc = spec["securityContext"]
        assert psc["runAsNonRoot"] is True and psc["runAsUser"] == 10001, ident
        assert psc["seccompProfile"] == {"type": "RuntimeDefault"}, ident
        assert spec["automountServiceAccountToken"] is False, ident
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 10001, ident
            assert sc["readOnlyRootFilesystem"] is True, ident
            assert sc["allowPrivilegeEscalation"] is False, ident
            assert sc["capabilities"]["drop"] == ["ALL"] and "add" not in sc["capabilities"], ident
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, ident
            # HOME/TMPDIR of the image: the one writable path.
            assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"], ident
            assert c["resources"]["requests"] and c["resources"]["limits"]["memory"], ident
        tmp = next(v for v in spec["volumes"] if v["name"] == "tmp")
        assert "emptyDir" in tmp, ident


def test_worker_probes_and_port() -> None:
    c = worker_container(render())
    assert c["command"] == ["imon"] and c["args"] == ["worker"]
    assert c["ports"] == [{"name": "metrics", "containerPort": 8000, "protocol": "TCP"}]
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert c["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    # Model load takes time: the startup probe allows minutes before liveness counts.
    startup = c["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120
    assert c["envFrom"] == [{"configMapRef": {"name": _configmap_name(render())}}]


def _configmap_name(docs: list[dict[str, Any]]) -> str:
    (cm,) = [d for d in by_kind(docs, "ConfigMap") if "IMON_KAFKA_BOOTSTRAP" in d.get("data", {})]
    return cm["metadata"]["name"]


def test_metrics_port_follows_the_setting() -> None:
    docs = render(sets=["worker.metricsPort=9100"])
    assert worker_container(docs)["ports"][0]["containerPort"] == 9100
    assert _configmap_data(docs)["IMON_METRICS_PORT"] == "9100"
    svc = one(docs, "Service")
    assert svc["spec"]["ports"][0]["targetPort"] == "metrics"


# --- topics hook, service, PDB, network policy -------------------------------------------------


def test_topic_creation_hook_job() -> None:
    docs = render(PRODUCTION)
    job = _job(docs)
    ann = job["metadata"]["annotations"]
    assert ann["helm.sh/hook"] == "pre-install,pre-upgrade"
    spec = job["spec"]["template"]["spec"]
    assert spec["restartPolicy"] == "Never"
    (c,) = spec["containers"]
    assert c["command"] == ["imon"] and c["args"] == ["topics", "create"]
    env = {e["name"]: e.get("value") for e in c["env"]}
    # Inline env, not the ConfigMap: a pre-install hook runs before the ConfigMap exists.
    assert "envFrom" not in c
    data = _configmap_data(docs)
    assert {k: v for k, v in env.items() if v is not None} == data
    assert env["IMON_TOPIC_PARTITIONS"] == "12"
    # Its own NetworkPolicy, created first (lower hook weight).
    (np,) = [d for d in by_kind(docs, "NetworkPolicy") if d["metadata"]["name"] == job["metadata"]["name"]]
    assert int(np["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(ann["helm.sh/hook-weight"])
    assert np["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "topics"


def test_topics_job_can_be_disabled() -> None:
    assert by_kind(render(sets=["topicsJob.enabled=false"]), "Job") == []


def test_service_and_pdb_select_only_workers() -> None:
    docs = render()
    pod_labels = one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    job_labels = _job(docs)["spec"]["template"]["metadata"]["labels"]
    for selector in (
        one(docs, "Service")["spec"]["selector"],
        one(docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
        one(docs, "Deployment")["spec"]["selector"]["matchLabels"],
    ):
        assert selector.items() <= pod_labels.items()
        assert not selector.items() <= job_labels.items()
    assert one(docs, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1


def _worker_policy(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (np,) = [
        d
        for d in by_kind(docs, "NetworkPolicy")
        if d["spec"]["podSelector"]["matchLabels"].get("app.kubernetes.io/component") == "worker"
    ]
    return np


def test_network_policy_default() -> None:
    np = _worker_policy(render())
    assert set(np["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    (ingress,) = np["spec"]["ingress"]
    assert ingress["ports"] == [{"port": "metrics", "protocol": "TCP"}]
    assert ingress["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"
    }
    egress_ports = {(p["port"], p["protocol"]) for rule in np["spec"]["egress"] for p in rule["ports"]}
    assert egress_ports == {(9092, "TCP"), (53, "UDP"), (53, "TCP")}, "no Alertmanager egress without a URL"


def test_network_policy_allows_alertmanager_when_configured() -> None:
    np = _worker_policy(render(PRODUCTION))
    rules = np["spec"]["egress"]
    am = [r for r in rules if {"port": 9093, "protocol": "TCP"} in r["ports"] and "podSelector" in r["to"][0]]
    assert am and am[0]["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "alertmanager"
    kafka = rules[0]
    assert kafka["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kafka"}}}]


def test_network_policy_can_be_disabled() -> None:
    assert by_kind(render(sets=["networkPolicy.enabled=false"]), "NetworkPolicy") == []


# --- Prometheus Operator -----------------------------------------------------------------------


def test_servicemonitor_toggle_and_structure() -> None:
    assert by_kind(render(), "ServiceMonitor") == []
    docs = render(CI / "monitoring-values.yaml")
    sm = one(docs, "ServiceMonitor")
    assert sm["apiVersion"] == "monitoring.coreos.com/v1"
    assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    svc = one(docs, "Service")
    assert sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
    assert sm["spec"]["namespaceSelector"]["matchNames"] == [svc["metadata"]["namespace"]]
    (ep,) = sm["spec"]["endpoints"]
    assert ep["port"] == svc["spec"]["ports"][0]["name"] == "metrics" and ep["path"] == "/metrics"
    assert {"action": "replace", "targetLabel": "job", "replacement": "interaction-monitor"} in ep[
        "relabelings"
    ]


def test_scrape_job_matches_the_job_the_generated_rules_select() -> None:
    # dashboards/build.py writes job="..." selectors into every rule and dashboard query; the
    # ServiceMonitor must scrape under that job or every alert stays silent.
    (ep,) = one(render(CI / "monitoring-values.yaml"), "ServiceMonitor")["spec"]["endpoints"]
    (job,) = [r["replacement"] for r in ep["relabelings"] if r["targetLabel"] == "job"]
    sources = [*(CHART / "files").glob("rules/*.yaml"), *(CHART / "files").glob("dashboards/*.json")]
    sources += [*(REPO / "dashboards" / "rules").glob("*.yaml")]
    selected = {m for f in sources for m in re.findall(r'job=\\?"([^"\\]+)\\?"', f.read_text())}
    assert selected <= {job}, (
        f"rules/dashboards select job(s) {sorted(selected)}, the chart scrapes as {job!r}"
    )
    assert selected or not sources, "no job selector found: has the selector format changed?"
