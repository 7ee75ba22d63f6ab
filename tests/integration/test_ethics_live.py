"""The ethics features in a real worker on the real broker: live fairness (a biased outcome stream
alerts, a fair attribute in the same stream does not), an unanswered human request past its SLA,
precision gauges moved by supervisors' feedback, and the drift gauge rising on shifted traffic."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.drift import reference_from_scores, save_reference
from streams.kafka_io import create_topics, producer
from tests.conftest import WorkerProcess, consume_all, settings_from

pytestmark = [pytest.mark.broker, pytest.mark.slow]

HUMAN = "I want to talk to a real person, not a bot. Get me a human agent please."


def now() -> str:
    return datetime.now(UTC).isoformat()


def event(iid: str, etype: str, **kw: Any) -> dict[str, Any]:
    return {"schema_version": 1, "event_id": str(uuid.uuid4()), "interaction_id": iid, "ts": now(), "type": etype,
            "channel": "chat", "queue": "billing", "language": "en", "consent": {"ai_analysis": True}, **kw}


def wait_metric(w: WorkerProcess, name: str, pred: Any, timeout: float = 40, **labels: str) -> float:
    deadline = time.monotonic() + timeout
    v = w.metric(name, **labels)
    while time.monotonic() < deadline and not pred(v):
        time.sleep(0.5)
        v = w.metric(name, **labels)
    return v


@pytest.fixture(scope="module")
def live(request: pytest.FixtureRequest, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp: Path = tmp_path_factory.mktemp("ethics")
    ref = tmp / "reference.json"
    # Reference: calm traffic where hardly anyone asks for a human.
    rng = random.Random(3)
    save_reference(reference_from_scores({"human_requested": [rng.uniform(0, 0.05) for _ in range(2000)]}), ref)
    tag = uuid.uuid4().hex[:10]
    env = {
        "IMON_KAFKA_BOOTSTRAP": kafka_bootstrap, "IMON_APP_ID": f"imon-eth-{tag}",
        **{f"IMON_TOPIC_{k}": f"eth-{tag}-{k.lower()}" for k in ("INPUT", "SCORED", "ALERTS", "AUDIT", "DLQ", "FEEDBACK")},
        "IMON_TOPIC_PARTITIONS": "2", "IMON_HUMAN_SLA_S": "3", "IMON_FAIRNESS_EVAL_INTERVAL_S": "1",
        "IMON_FAIRNESS_MIN_SAMPLES": "20", "IMON_DRIFT_REFERENCE_PATH": str(ref), "IMON_DRIFT_MIN_SAMPLES": "40",
        "IMON_FEEDBACK_DATA_DIR": str(tmp / "feedback"),
    }
    s = settings_from(env)
    create_topics(s)
    w = WorkerProcess(env, tmp / "worker.log").start()
    request.addfinalizer(w.stop)
    prod = producer(s)

    def send(e: dict[str, Any], topic: str | None = None) -> None:
        prod.send(topic or s.topic_input, key=e["interaction_id"].encode(), value=orjson.dumps(e))

    # 1. Outcomes at end events: "south" is left unresolved far more often than the reference
    #    ("north", the largest group); age_band is assigned independently of the outcome.
    rng = random.Random(11)
    plan = [("north", 100, 10), ("south", 60, 42), ("east", 50, 6), ("west", 50, 5)]
    ends = []
    for region, n, unresolved in plan:
        outcomes = ["unresolved"] * unresolved + ["resolved"] * (n - unresolved)
        rng.shuffle(outcomes)
        ends += [(region, o) for o in outcomes]
    rng.shuffle(ends)
    for i, (region, outcome) in enumerate(ends):
        seg = {"region": region, "age_band": ("18-34", "35-54", "55+")[i % 3]}
        send(event(f"fair-{i}", "end", outcome=outcome, segment=seg))
    # 2. Shifted traffic (everyone wants a human) that also leaves requests unanswered past the SLA.
    for i in range(48):
        send(event(f"human-{i}", "utterance", speaker="customer", text=HUMAN))
    prod.flush()
    return {"settings": s, "worker": w, "producer": prod, "send": send}


def test_fairness_disparity_flags_the_biased_group_only(live: dict[str, Any]) -> None:
    w = live["worker"]
    flagged = wait_metric(w, "imon_fairness_disparity", lambda v: v >= 1,
                          attribute="region", group="south", outcome="unresolved")
    assert flagged == 1
    ratio = w.metric("imon_fairness_disparity_ratio", attribute="region", group="south", outcome="unresolved")
    assert 0 < ratio < 0.8
    # the fair attribute in the same stream, and the fair regions, raise nothing
    assert w.metric("imon_fairness_disparity", attribute="age_band") == 0
    for g in ("east", "west"):
        assert w.metric("imon_fairness_disparity", attribute="region", group=g, outcome="unresolved") == 0
    assert w.metric("imon_fairness_alerts_total", attribute="region", outcome="unresolved") >= 1


def test_unanswered_human_request_alerts_past_the_sla(live: dict[str, Any]) -> None:
    s = live["settings"]
    alerts = consume_all(s, s.topic_alerts, lambda rs: any(r["type"] == "human_request_sla" for r in rs), timeout=60)
    sla = [a for a in alerts if a["type"] == "human_request_sla"]
    assert sla and all(a["interaction_id"].startswith("human-") for a in sla)
    assert live["worker"].metric("imon_human_requests_waiting") >= 1


def test_feedback_verdicts_move_the_precision_gauge(live: dict[str, Any]) -> None:
    s, w = live["settings"], live["worker"]
    alerts = consume_all(s, s.topic_alerts, lambda rs: sum(r["type"] == "human_requested" for r in rs) >= 4, timeout=60)
    hr = [a for a in alerts if a["type"] == "human_requested"][:4]
    assert len(hr) == 4
    for a, verdict in zip(hr, ("correct", "correct", "correct", "incorrect"), strict=True):
        live["send"]({"schema_version": 1, "feedback_id": str(uuid.uuid4()), "alert_id": a["alert_id"],
                      "alert_type": "human_requested", "verdict": verdict, "reviewer": "sup-7", "ts": now(),
                      "interaction_id": a["interaction_id"]}, s.topic_feedback)
    live["producer"].flush()
    p = wait_metric(w, "imon_alert_precision", lambda v: v > 0, type="human_requested", scope="all")
    assert p == pytest.approx(0.75)


def test_drift_gauge_rises_on_shifted_traffic(live: dict[str, Any]) -> None:
    psi = wait_metric(live["worker"], "imon_score_drift_psi", lambda v: v > 0.25, task="human_requested")
    assert psi > 0.25
