"""The chart lints strictly, renders for every scenario, and every manifest is valid Kubernetes.

Scenarios: chart defaults plus every ``ci/*-values.yaml`` (one per switch and the production
example). Built-in kinds are validated offline against the Kubernetes {KUBE_VERSION} schemas of the
``kubernetes-validate`` package in strict mode (unknown fields fail). Custom resources (KEDA,
Prometheus Operator) have no schema there: their structure is checked in test_helm_manifests.py.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.helm.helm_support import (
    CHART,
    CI_VALUES,
    KUBE_VERSION,
    SCENARIOS,
    helm,
    render,
    render_error,
    scenario_id,
)

#: Custom resources: no schema in kubernetes-validate; structure checked by dedicated tests.
CRD_KINDS = {
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def test_ci_values_cover_every_switch() -> None:
    names = {p.name for p in CI_VALUES}
    expected = {
        "keda-values.yaml",
        "hpa-values.yaml",
        "tls-sasl-values.yaml",
        "monitoring-values.yaml",
        "production-values.yaml",
    }
    assert expected <= names, f"missing ci values files: {sorted(expected - names)}"


@pytest.mark.parametrize("values", SCENARIOS, ids=scenario_id)
def test_lint_strict(values: Path | None) -> None:
    args = ["lint", "--strict", "--kube-version", KUBE_VERSION, str(CHART)]
    if values is not None:
        args += ["--values", str(values)]
    out = helm(*args).stdout
    assert "0 chart(s) failed" in out, out


@functools.cache
def _validate(doc_json: str) -> None:
    kubernetes_validate.validate(json.loads(doc_json), KUBE_VERSION, strict=True)


@pytest.mark.parametrize("values", SCENARIOS, ids=scenario_id)
def test_rendered_manifests_validate_against_kubernetes_schemas(values: Path | None) -> None:
    docs = render(values)
    assert docs, "nothing rendered"
    errors: list[str] = []
    for doc in docs:
        ident = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        if (doc.get("apiVersion"), doc.get("kind")) in CRD_KINDS:
            continue
        try:
            _validate(json.dumps(doc, sort_keys=True))
        except kubernetes_validate.ValidationError as e:
            path = ".".join(str(p) for p in e.path)
            errors.append(f"{ident}: {path}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError as e:
            errors.append(f"{ident}: no schema ({e.message}); add it to CRD_KINDS only if it is a CRD")
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("values", SCENARIOS, ids=scenario_id)
def test_names_and_labels_fit_dns_limits(values: Path | None) -> None:
    for doc in render(values):
        name = doc["metadata"]["name"]
        assert len(name) <= 63 and DNS_LABEL.match(name), f"{doc['kind']} name {name!r}"
        for key, value in doc["metadata"].get("labels", {}).items():
            assert isinstance(value, str) and len(value) <= 63, f"{doc['kind']}/{name} label {key}={value!r}"


def test_long_release_name_is_cut_to_63_characters() -> None:
    # Helm allows 53-character release names; every derived name must still be a DNS label.
    release = "a-very-long-release-name-for-the-contact-centre-prod1"
    assert len(release) <= 53
    docs = render(sets=[f"fullnameOverride={release}-interaction-monitor-workers"])
    names = [d["metadata"]["name"] for d in docs]
    assert names and all(len(n) <= 63 and DNS_LABEL.match(n) for n in names), names
    # The component suffix survives the cut, so the names stay distinct.
    assert any(n.endswith("-topics") for n in names) and any(n.endswith("-metrics") for n in names)
    assert len(set((d["kind"], n) for d, n in zip(docs, names, strict=True))) == len(docs)


def test_values_yaml_satisfies_its_schema() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.validate(yaml.safe_load((CHART / "values.yaml").read_text()), schema)


@pytest.mark.parametrize(
    ("setting", "why"),
    [
        ("kafka.sasl.password=not-allowed", "no password field: secrets only by reference"),
        ("kafka.securityProtocol=TLS", "not a Kafka security protocol"),
        ("autoscaling.mode=both", "exactly one scaler"),
        ("autoscaling.minReplicas=0", "scale-to-zero would stop human-request SLA timers"),
        ("kafka.partitons=4", "typo in a key"),
    ],
)
def test_schema_rejects_bad_values(setting: str, why: str) -> None:
    err = render_error(sets=[setting])
    assert "schema" in err.lower(), f"{why}: expected a values-schema error, got:\n{err}"


def _uncommented_values(text: str) -> list[str]:
    """Keys of values.yaml whose value has no comment above it.

    A commented key covers its whole subtree. An uncommented key is accepted only as a section
    header: no value on its line and nested keys below, each of which needs its own comment.
    """
    lines = text.splitlines()
    stack: list[tuple[int, bool]] = []  # (indent, covered by a comment)
    missing: list[str] = []
    key_re = re.compile(r"^(\s*)([A-Za-z_][\w.-]*):(.*)$")
    for i, line in enumerate(lines):
        m = key_re.match(line)
        if not m:
            continue
        indent, key, rest = len(m.group(1)), m.group(2), m.group(3).split("#")[0].strip()
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if any(covered for _, covered in stack):
            continue
        prev = next((p for p in reversed(lines[:i]) if p.strip()), "")
        commented = prev.strip().startswith("#")
        if not commented:
            nxt = next((n for n in lines[i + 1 :] if n.strip() and not n.strip().startswith("#")), "")
            nxt_indent = len(nxt) - len(nxt.lstrip())
            is_section = rest == "" and nxt_indent > indent and not nxt.strip().startswith("-")
            if not is_section:
                missing.append(key)
        stack.append((indent, commented))
    return missing


def test_every_value_is_commented() -> None:
    assert _uncommented_values((CHART / "values.yaml").read_text()) == []


def test_comment_check_catches_an_uncommented_value() -> None:
    sample = "kafka:\n  # -- ok\n  partitions: 4\n  bootstrapServers: x\nreplicaCount: 1\n"
    assert _uncommented_values(sample) == ["bootstrapServers", "replicaCount"]


def _chart_yaml() -> dict[str, Any]:
    return yaml.safe_load((CHART / "Chart.yaml").read_text())


def test_chart_metadata() -> None:
    chart = _chart_yaml()
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "interaction-monitor"
    assert chart["version"] == "0.1.0"
    assert str(chart["appVersion"]) == "0.1.0"
