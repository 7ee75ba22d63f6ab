"""Supervisors' feedback: contract, dedup, precision, alert memory and training rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from streams.feedback import (
    ALERT_TYPES,
    FEEDBACK_REASONS,
    FeedbackDataWriter,
    FeedbackTracker,
    InvalidFeedback,
    create_feedback_metrics,
    decode_feedback,
    read_examples,
)
from tests.ethics.clock import T0, Clock


def ts(t: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def fb(i: Any, alert: str = "a1", typ: str = "escalation", verdict: str = "correct", **kw: Any) -> bytes:
    rec = {
        "schema_version": 1,
        "feedback_id": f"f{i}",
        "alert_id": alert,
        "alert_type": typ,
        "verdict": verdict,
        "reviewer": kw.pop("reviewer", "sup-0042"),
        "ts": kw.pop("ts", ts(T0 - 60)),
    }
    rec.update(kw)
    return orjson.dumps(rec)


# -- contract --------------------------------------------------------------------------------------
def test_a_valid_record_decodes_and_extra_free_text_is_dropped() -> None:
    f = decode_feedback(fb(1, comment="Customer Jan Jansen was fine", interaction_id="conv-1"))
    assert (f.alert_id, f.alert_type, f.verdict, f.interaction_id) == (
        "a1",
        "escalation",
        "correct",
        "conv-1",
    )
    assert "comment" not in f.model_dump()
    assert f.ts_epoch == pytest.approx(T0 - 60)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "bad_json"),
        (b"x" * 5000, "oversized"),
        (b'{"a": "\xff"}', "not_utf8"),
        (b"{not json", "bad_json"),
        (b"[1, 2]", "not_object"),
        (fb(1)[:-1] + b',"schema_version": 2}', "unsupported_schema_version"),
        (orjson.dumps({"schema_version": 1, "feedback_id": "f"}), "missing_field"),
        (fb(1, verdict="maybe"), "invalid_value"),
        (fb(1, typ="weather"), "invalid_value"),
        (fb(1, reviewer="jan.jansen@example.com"), "invalid_value"),
        (fb(1, reviewer="Jan Jansen"), "invalid_value"),
        (fb(1, reviewer="0612345678"), "invalid_value"),
        (fb(1, ts="yesterday"), "invalid_value"),
        (fb(1, ts="2025-01-01T10:00:00"), "invalid_value"),
        (fb(1, ts=12345), "invalid_value"),
        (orjson.dumps({**orjson.loads(fb(1)), "alert_id": 7}), "wrong_type"),
    ],
)
def test_bad_records_are_rejected_with_a_reason_that_never_quotes_values(
    raw: bytes | None, reason: str
) -> None:
    with pytest.raises(InvalidFeedback) as e:
        decode_feedback(raw)
    assert e.value.reason == reason and reason in FEEDBACK_REASONS
    assert "jansen" not in e.value.detail.lower() and "0612345678" not in e.value.detail


def test_alert_types_match_the_processor() -> None:
    from streams.processor import ALERT_TYPES as PROCESSOR_ALERT_TYPES

    assert set(ALERT_TYPES) == set(PROCESSOR_ALERT_TYPES)


# -- precision -------------------------------------------------------------------------------------
def test_precision_per_type_with_redelivered_feedback_counted_once() -> None:
    reg = CollectorRegistry()
    tr = FeedbackTracker(metrics=create_feedback_metrics(reg), clock=Clock())
    for i in range(8):
        tr.observe(decode_feedback(fb(i, alert=f"a{i}", verdict="correct" if i < 6 else "incorrect")))
    for i in range(8):  # at-least-once: the whole batch again
        assert tr.observe(decode_feedback(fb(i, alert=f"a{i}"))).status == "duplicate"
    tr.observe(decode_feedback(fb(100, alert="s1", typ="human_request_sla", verdict="incorrect")))
    assert tr.precision() == {"escalation": 0.75, "human_request_sla": 0.0}
    tr.export()
    assert reg.get_sample_value("imon_alert_precision", {"type": "escalation", "scope": "all"}) == 0.75
    assert reg.get_sample_value("imon_alert_verdicts", {"type": "escalation", "scope": "window"}) == 8
    assert reg.get_sample_value("imon_alert_precision", {"type": "unfair_treatment", "scope": "all"}) is None
    assert reg.get_sample_value("imon_feedback_total", {"type": "escalation", "verdict": "correct"}) == 6
    assert reg.get_sample_value("imon_feedback_duplicates_total") == 8


def test_a_reviewer_changing_their_mind_replaces_their_verdict() -> None:
    tr = FeedbackTracker(clock=Clock())
    tr.observe(decode_feedback(fb(1, verdict="correct", ts=ts(T0 - 100))))
    tr.observe(decode_feedback(fb(2, verdict="correct", reviewer="sup-7", ts=ts(T0 - 90))))
    assert tr.observe(decode_feedback(fb(3, verdict="incorrect", ts=ts(T0 - 50)))).status == "revised"
    assert tr.tallies() == {"escalation": (1, 1)}
    assert tr.tallies("window") == {"escalation": (1, 1)}
    # An older verdict of the same reviewer arriving late does not override the newer one.
    assert tr.observe(decode_feedback(fb(4, verdict="correct", ts=ts(T0 - 200)))).status == "stale"
    assert tr.tallies() == {"escalation": (1, 1)}


def test_the_window_forgets_old_verdicts_but_all_time_keeps_them() -> None:
    clock = Clock()
    tr = FeedbackTracker(window_s=3600, bucket_s=60, clock=clock)
    tr.observe(decode_feedback(fb(1, alert="a1", verdict="incorrect", ts=ts(T0 - 10))))
    clock.t = T0 + 7200
    tr.observe(decode_feedback(fb(2, alert="a2", verdict="correct", ts=ts(T0 + 7190))))
    assert tr.precision("all") == {"escalation": 0.5}
    assert tr.precision("window") == {"escalation": 1.0}
    tr.observe(decode_feedback(fb(3, alert="a3", verdict="correct", ts=ts(T0 + 10**8))))  # future: now
    assert tr.tallies("window") == {"escalation": (2, 0)}
    with pytest.raises(ValueError):
        tr.tallies("forever")


def test_memory_is_bounded() -> None:
    tr = FeedbackTracker(max_ids=50, max_alerts=10, max_text_chars=20, clock=Clock())
    for i in range(500):
        tr.remember_alert(f"a{i}", "escalation", "x" * 100)
        tr.observe(decode_feedback(fb(i, alert=f"a{i}")))
    assert len(tr._ids) == 50 and len(tr._current) == 50 and len(tr._alerts) == 10
    assert tr.alert("a499") is not None and len(tr.alert("a499").text) == 20  # type: ignore[union-attr]
    assert tr.alert("a0") is None


# -- training rows ---------------------------------------------------------------------------------
def test_verdicts_on_remembered_alerts_become_training_rows(tmp_path: Path) -> None:
    reg = CollectorRegistry()
    clock = Clock()
    tr = FeedbackTracker(metrics=create_feedback_metrics(reg), clock=clock)
    w = FeedbackDataWriter(tmp_path / "fb", clock=clock)
    tr.remember_alert("a1", "escalation", "I want to cancel, this is useless [PHONE]", language="en")
    tr.remember_alert("a2", "unfair_treatment", "you people are all the same", speaker="agent")
    tr.remember_alert("a3", "escalation", "third time I call", utterance_label=False)
    results = [
        tr.observe(decode_feedback(fb(1, alert="a1", verdict="correct"))),
        tr.observe(decode_feedback(fb(2, alert="a2", typ="unfair_treatment", verdict="incorrect"))),
        tr.observe(decode_feedback(fb(3, alert="a3"))),  # fired on context: no row
        tr.observe(decode_feedback(fb(4, alert="gone"))),  # not remembered: precision only
        tr.observe(decode_feedback(fb(5, alert="s1", typ="human_request_sla"))),  # not a model decision
    ]
    for r in results:
        if r.example is not None:
            w.write(r.example)
    rows = [json.loads(line) for line in w.path_for().read_text().splitlines()]
    assert [(r["text"], r["task"], r["label"], r["alert_id"], r["source"]) for r in rows] == [
        ("I want to cancel, this is useless [PHONE]", "escalation", 1, "a1", "feedback"),
        ("you people are all the same", "unfair_treatment", 0, "a2", "feedback"),
    ]
    assert (
        rows[1]["speaker"] == "agent" and rows[0]["lang"] == "en" and rows[0]["labels"] == {"escalation": 1}
    )
    assert "reviewer" not in rows[0]
    assert tr.precision()["escalation"] == 1.0 and tr.tallies()["escalation"] == (3, 0)
    assert reg.get_sample_value("imon_feedback_examples_total", {"result": "written"}) == 2
    assert reg.get_sample_value("imon_feedback_examples_total", {"result": "unknown_alert"}) == 1
    assert reg.get_sample_value("imon_feedback_examples_total", {"result": "not_a_model_decision"}) == 2
    assert w.path_for().name == "feedback-20231114.jsonl"


def test_read_examples_keeps_the_latest_verdict_per_alert_and_survives_a_torn_line(tmp_path: Path) -> None:
    tr = FeedbackTracker(clock=Clock())
    w = FeedbackDataWriter(tmp_path, clock=Clock())
    tr.remember_alert("a1", "escalation", "text one")
    for i, (verdict, t) in enumerate([("correct", T0 - 100), ("incorrect", T0 - 50)]):
        ex = tr.observe(decode_feedback(fb(i, verdict=verdict, ts=ts(t)))).example
        assert ex is not None
        w.write(ex)
    w.write(ex)  # a redelivery after a restart repeats a row
    with open(w.path_for(), "a") as f:
        f.write('{"text": "half a ro')
    rows = read_examples(tmp_path)
    assert len(rows) == 1 and rows[0]["label"] == 0
