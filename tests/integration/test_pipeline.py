"""End to end on the real broker: a real worker (real model) consumes known events and every one is
accounted for on the output topics, in /metrics and in the real Prometheus."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from streams.kafka_io import create_topics, producer
from streams.simulator import Simulator
from tests.conftest import STACK, consume_all, settings_from
from tests.models.sample_texts import LONG_EMAIL

pytestmark = [pytest.mark.broker, pytest.mark.slow]

#: a thank-you reply whose quoted history asks for a manager and threatens the ombudsman: read on its new text only
EMAIL_REPLY = (
    "Thanks, that worked. The router is fine now.\n\nKind regards,\nAnna\n\n"
    "On Mon, 3 Dec 2026 at 10:15, Acme Support <support@acme.example> wrote:\n> Hello Anna, please restart the router.\n"
    ">\n> On Sun, 2 Dec 2026, Anna Jansen <anna@example.com> wrote:\n"
    ">> Third time I write. I want to speak to a manager now or I'm cancelling and going to the ombudsman."
)
PII_TEXT = "Hi, I'm furious. Call me on +31 6 12345678 or mail jan.devries@example.nl, card 4111 1111 1111 1111"


def ev(iid: str, text: str | None, *, etype: str = "utterance", speaker: str = "customer", consent: bool = True,
       **kw: Any) -> dict[str, Any]:
    e: dict[str, Any] = {
        "schema_version": 1, "event_id": str(uuid.uuid4()), "interaction_id": iid,
        "ts": datetime.now(UTC).isoformat(), "type": etype, "channel": "chat", "queue": "billing",
        "language": "en", "consent": {"ai_analysis": consent},
    }
    if etype == "utterance":
        e.update(speaker=speaker, text=text)
    e.update(kw)
    return e


@pytest.fixture(scope="module")
def run(request: pytest.FixtureRequest, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One worker, one known stream of events; the tests below assert on what came out."""
    from tests.conftest import WorkerProcess

    tag = uuid.uuid4().hex[:10]
    env = {
        "IMON_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "IMON_APP_ID": f"imon-it-{tag}",
        "IMON_TOPIC_INPUT": f"it-{tag}-interactions",
        "IMON_TOPIC_SCORED": f"it-{tag}-scored",
        "IMON_TOPIC_ALERTS": f"it-{tag}-alerts",
        "IMON_TOPIC_AUDIT": f"it-{tag}-audit",
        "IMON_TOPIC_DLQ": f"it-{tag}-dlq",
        "IMON_TOPIC_FEEDBACK": f"it-{tag}-feedback",
        "IMON_TOPIC_PARTITIONS": "2",
        "IMON_PROMETHEUS_SD_DIR": str(STACK / "prometheus" / "targets"),
    }
    s = settings_from(env)
    create_topics(s)
    w = WorkerProcess(env, tmp_path_factory.mktemp("worker") / "worker.log").start()
    request.addfinalizer(w.stop)

    good: list[dict[str, Any]] = []
    c1, c2, c3, c4, c5 = (str(uuid.uuid4()) for _ in range(5))
    good += [ev(c1, None, etype="start"),
             ev(c1, "I want to speak to a real person, not a bot. Get me a human agent now."),
             ev(c1, PII_TEXT),
             ev(c1, "This is the third time I'm calling. If this isn't fixed today I'm cancelling and going to the ombudsman!"),
             ev(c1, None, etype="end", outcome="unresolved")]
    good += [ev(c2, "Thanks so much, that solved my problem!"),
             ev(c2, "The agent said people from my neighbourhood never pay their bills. That's discrimination.")]
    good += [ev(c4, LONG_EMAIL, channel="email"), ev(c5, EMAIL_REPLY, channel="email")]
    no_consent = [ev(c3, "Please do not analyse me. My email is piet@example.com", consent=False)]
    sim = Simulator(seed=7, bad_ratio=0.0)
    simulated = [orjson.loads(v) for _, v in (next(sim.events()) for _ in range(120))]
    bad_raw = [
        b"{not json",
        b"[1,2,3]",
        orjson.dumps({**ev(c2, "x"), "text": 5}),
        orjson.dumps({k: v for k, v in ev(c2, "x").items() if k != "interaction_id"}),
        orjson.dumps({**ev(c2, "x"), "channel": "fax"}),
        orjson.dumps(ev(c2, "x"))[:-2] + b"\xff\xfe}",
        orjson.dumps({**ev(c2, "y" * 100_000)}),
    ]
    events = good + no_consent + simulated
    prod = producer(s)
    for e in events:
        prod.send(s.topic_input, key=e["interaction_id"].encode(), value=orjson.dumps(e))
    for raw in bad_raw:
        prod.send(s.topic_input, key=None, value=raw)
    prod.flush()
    prod.close()

    scored_ids = {e["event_id"] for e in events if e["type"] == "utterance" and e["consent"]["ai_analysis"]}
    scored = consume_all(s, s.topic_scored, lambda rs: scored_ids <= {r["event_id"] for r in rs}, timeout=120)
    dlq = consume_all(s, s.topic_dlq, lambda rs: len(rs) >= len(bad_raw), timeout=60)
    audit = consume_all(s, s.topic_audit, lambda rs: {e["event_id"] for e in events} <= {r.get("event_id") for r in rs}, timeout=60)
    alerts = consume_all(s, s.topic_alerts, lambda rs: len(rs) > 0, timeout=30)
    return {"settings": s, "worker": w, "events": events, "good": good, "no_consent": no_consent,
            "bad": bad_raw, "scored": scored, "dlq": dlq, "audit": audit, "alerts": alerts, "scored_ids": scored_ids,
            "c1": c1, "c2": c2, "c4": c4, "c5": c5}


def test_every_consented_utterance_is_scored_once(run: dict[str, Any]) -> None:
    ids = [r["event_id"] for r in run["scored"]]
    assert set(ids) == run["scored_ids"]
    assert len(ids) == len(set(ids)), "a clean run publishes no duplicates"
    for r in run["scored"]:
        assert r["key"] == r["interaction_id"]
        assert abs(sum(r["scores"]["sentiment"].values()) - 1) < 1e-3
        assert r["labels"]["sentiment"] in ("negative", "neutral", "positive")


def test_bad_events_are_dead_lettered_with_reasons(run: dict[str, Any]) -> None:
    reasons = sorted(r["reason"] for r in run["dlq"])
    assert reasons == sorted(
        ["bad_json", "not_object", "wrong_type", "missing_field", "invalid_value", "not_utf8", "oversized"]
    )
    for r in run["dlq"]:
        assert r["payload_sha256"] and r["source"]["topic"] == run["settings"].topic_input


def test_no_consent_is_audited_not_scored_and_text_not_kept(run: dict[str, Any]) -> None:
    nc = run["no_consent"][0]
    assert nc["event_id"] not in {r["event_id"] for r in run["scored"]}
    decisions = [a["decision"] for a in run["audit"] if a.get("event_id") == nc["event_id"]]
    assert decisions == ["not_scored_no_consent"]
    everything = json.dumps([run["scored"], run["alerts"], run["audit"], run["dlq"]])
    assert "piet@example.com" not in everything


def test_pii_never_leaves_the_worker(run: dict[str, Any]) -> None:
    everything = json.dumps([run["scored"], run["alerts"], run["audit"], run["dlq"]])
    for needle in ("12345678", "jan.devries@example.nl", "4111 1111 1111 1111"):
        assert needle not in everything
    (rec,) = [r for r in run["scored"] if "<EMAIL>" in (r["text"] or "") and r["interaction_id"] == run["c1"]]
    assert "<PHONE>" in rec["text"] and "<CARD>" in rec["text"]


def test_alerts_fire_with_evidence_and_rule(run: dict[str, Any]) -> None:
    types = {(a["interaction_id"], a["type"]) for a in run["alerts"]}
    assert (run["c1"], "human_requested") in types
    assert (run["c1"], "escalation") in types
    for a in run["alerts"]:
        assert a["rule"] and a["model"]["version"] and a["alert_id"]
        if a["type"] != "human_request_sla":
            assert a["evidence"], f"alert without evidence: {a['type']}"
    # the email reply is judged on what was written this time, not on the escalation it quotes
    assert not [a for a in run["alerts"] if a["interaction_id"] == run["c5"]]
    (reply,) = [r for r in run["scored"] if r["interaction_id"] == run["c5"]]
    assert reply["quoted_history_chars"] > 0 and "Anna" not in reply["text"]
    assert run["worker"].metric("imon_quoted_history_total", channel="email", result="cut") == 1
    # the long email's request stands past the encoder's first window: found, with it as evidence
    (mail,) = [a for a in run["alerts"] if a["interaction_id"] == run["c4"] and a["type"] == "human_requested"]
    assert any("speak to a real person" in p for p in mail["evidence"]), mail["evidence"]


def test_metrics_count_every_event_once(run: dict[str, Any]) -> None:
    w = run["worker"]
    deadline = time.monotonic() + 20
    n_in = len(run["events"]) + len(run["bad"])
    while time.monotonic() < deadline and w.metric("imon_events_total") < n_in:
        time.sleep(0.5)
    assert w.metric("imon_events_total") == n_in
    assert w.metric("imon_events_total", outcome="scored") == len(run["scored_ids"])
    assert w.metric("imon_events_total", outcome="dead_lettered") == len(run["bad"])
    assert w.metric("imon_dlq_total", reason="bad_json") == 1
    assert w.metric("imon_events_total", outcome="no_consent") >= 1
    assert w.metric("imon_batch_size_count") >= 1
    assert w.metric("imon_event_to_scored_seconds_count") == len(run["scored_ids"])
    _, text = w.http("/metrics")
    assert "example.nl" not in text and "interaction_id" not in text


@pytest.mark.stack
def test_prometheus_scrapes_the_worker(run: dict[str, Any], prometheus_url: str) -> None:
    app_id = run["settings"].app_id
    q = urllib.parse.quote('sum(imon_events_total{outcome="scored"}) and on() up{job="interaction-monitor"} == 1')
    deadline = time.monotonic() + 45
    value = 0.0
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{prometheus_url}/api/v1/query?query={q}", timeout=5) as r:
            res = json.load(r)["data"]["result"]
        if res and float(res[0]["value"][1]) > 0:
            value = float(res[0]["value"][1])
            break
        time.sleep(1)
    assert value > 0, f"Prometheus never scraped scored events from worker {app_id}"


def test_audit_trail_is_a_verifiable_hash_chain(run: dict[str, Any]) -> None:
    from streams.audit_cli import read_partition, verify_partition

    s = run["settings"]
    total = 0
    for p in range(s.topic_partitions):
        records = list(read_partition(s, s.topic_audit, p))
        res = verify_partition(iter(records), p)
        assert res.ok and res.from_genesis, res.summary()
        assert res.unchained_prefix == 0
        total += res.checked
        if len(records) > 3:
            # tamper with one record in the middle: the chain must break exactly there
            off, raw = records[len(records) // 2]
            rec = json.loads(raw)
            rec["decision"] = "scored" if rec.get("decision") != "scored" else "rejected"
            bad = records[: len(records) // 2] + [(off, json.dumps(rec).encode())] + records[len(records) // 2 + 1 :]
            broken = verify_partition(iter(bad), p)
            assert not broken.ok and broken.first_break is not None
    assert total >= len(run["events"])
