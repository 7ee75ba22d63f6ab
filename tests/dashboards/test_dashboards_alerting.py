"""Alert rules carry what on-call needs; the runbook has a section per alert; Alertmanager routes them."""

from __future__ import annotations

import re
import subprocess

import pytest

from dashboards import build

from .conftest import REPO

AM_CONFIG = REPO / "dashboards/alertmanager/alertmanager.yml"
RUNBOOK = REPO / "docs/RUNBOOK.md"
#: Labels an annotation may print: bounded by the metric contract; never ids or text.
BOUNDED_LABELS = {"job", "instance", "queue", "channel", "partition", "outcome", "attribute", "group", "task", "type", "result"}


def _alerts(cfg: build.Config = build.CONFIG) -> list[dict]:
    return [r for g in build.rules(cfg)["groups"] for r in g["rules"] if "alert" in r]


def _runbook_anchors() -> set[str]:
    text = RUNBOOK.read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', text))
    # GitHub's own heading anchors, for the alert-name headings
    anchors |= {h.strip().lower() for h in re.findall(r"^#{2,3} (Imon\w+)\s*$", text, flags=re.M)}
    return anchors


def test_every_alert_has_severity_for_summary_description_and_runbook() -> None:
    anchors = _runbook_anchors()
    names = [a["alert"] for a in _alerts()]
    assert len(names) == len(set(names))
    for a in _alerts():
        name = a["alert"]
        assert re.fullmatch(r"Imon[A-Z]\w+", name)
        assert a["labels"]["severity"] in ("critical", "warning"), name
        assert a["labels"]["component"] in ("supervision", "operations", "fairness"), name
        assert build._duration_seconds(a["for"]) > 0, name
        ann = a["annotations"]
        assert ann["summary"] and ann["description"], name
        assert ann["runbook_url"] == f"docs/RUNBOOK.md#{name.lower()}", name
        assert name.lower() in anchors, f"docs/RUNBOOK.md has no section for {name}"
        for text in (ann["summary"], ann["description"], ann["dashboard_url"]):
            used = set(re.findall(r"\$labels\.(\w+)", text))
            assert used <= BOUNDED_LABELS, f"{name} prints unbounded labels {used - BOUNDED_LABELS}"
            assert "{{" not in text or re.search(r"\$(labels|value)", text), name


def test_supervision_alerts_keep_the_queue_label_for_routing() -> None:
    for a in _alerts():
        if a["labels"]["component"] == "supervision":
            assert "by (job, queue)" in a["expr"] or "queue:" in a["expr"], a["alert"]


def test_runbook_covers_the_alerts_the_worker_pushes() -> None:
    from streams.alertmanager import ALERTNAMES

    anchors = _runbook_anchors()
    for name in [*ALERTNAMES.values(), "ImonInteractionAlert"]:
        assert name.lower() in anchors, f"docs/RUNBOOK.md has no section for the worker's {name}"


def test_amtool_check_config(amtool: str) -> None:
    r = subprocess.run([amtool, "check-config", str(AM_CONFIG)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


ROUTES = [
    ("oncall", ["alertname=ImonConsumerLagHigh", "component=operations", "job=interaction-monitor"]),
    ("oncall", ["alertname=ImonWorkersAllDown", "component=operations", "severity=critical"]),
    ("supervisors-billing", ["alertname=ImonEscalationSpike", "component=supervision", "queue=billing"]),
    (
        "supervisors-retention",
        ["alertname=ImonHumanRequestsWaiting", "component=supervision", "queue=retention"],
    ),
    # the worker's per-conversation alerts
    (
        "supervisors-sales",
        [
            "alertname=ImonHumanRequestSLABreached",
            "component=supervision",
            "queue=sales",
            "type=human_request_sla",
        ],
    ),
    ("supervisors", ["alertname=ImonInteractionEscalation", "component=supervision", "queue=other"]),
    ("compliance", ["alertname=ImonFairnessDisparity", "component=fairness", "attribute=language"]),
    ("compliance", ["alertname=ImonAuditChainBroken", "component=fairness", "severity=critical"]),
    ("default", ["alertname=SomethingElse"]),
]


@pytest.mark.parametrize(("receiver", "labels"), ROUTES, ids=[f"{r}:{ls[0]}" for r, ls in ROUTES])
def test_alertmanager_routes(amtool: str, receiver: str, labels: list[str]) -> None:
    r = subprocess.run(
        [
            amtool,
            "config",
            "routes",
            "test",
            f"--config.file={AM_CONFIG}",
            f"--verify.receivers={receiver}",
            *labels,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, f"routed to {r.stdout.strip()!r}, expected {receiver}: {r.stderr}"


def test_every_queue_has_a_supervisor_receiver_posting_to_the_test_webhook() -> None:
    am = build.alertmanager()
    receivers = {r["name"]: r for r in am["receivers"]}
    for q in build.CONFIG.queues:
        assert f"supervisors-{q}" in receivers
    for r in receivers.values():
        assert [w["url"] for w in r["webhook_configs"]] == [build.CONFIG.webhook_url]
