"""Replays (what at-least-once delivery produces after a crash or a rebalance) through the processor,
without a broker: a replayed event must be counted as ``duplicate`` and re-emit the same records.

The window of a replay after kill -9 is the batch in flight plus everything after the last commit,
so it routinely contains the last events of conversations that ended inside that window.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from prometheus_client import CollectorRegistry

from streams.config import Settings
from streams.metrics import Metrics
from streams.processor import Output, Processor
from streams.redaction import Redactor
from streams.schema import decode_event
from tests.doubles import ScriptedScorer

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


class Pipeline:
    """The worker's per-batch steps (prepare -> score -> finish) over a dict store."""

    def __init__(self) -> None:
        self.settings = Settings()
        self.metrics = Metrics.create(CollectorRegistry(), process=False)
        self.scorer = ScriptedScorer()
        self.store: dict[str, Any] = {}
        self.proc = Processor(self.settings, self.scorer, Redactor(), self.metrics, self.store)

    def run(self, raws: list[bytes]) -> list[Output]:
        evs = [decode_event(r, max_event_bytes=65536, max_text_bytes=8192) for r in raws]
        prepared = [self.proc.prepare(e) for e in evs]
        utts = self.proc.utterances(prepared)
        return self.proc.finish(prepared, self.scorer.score(utts) if utts else [])

    def count(self, outcome: str) -> float:
        return (
            self.metrics.registry.get_sample_value(
                "imon_events_total", {"outcome": outcome, "queue": "billing", "channel": "chat"}
            )
            or 0.0
        )


def conversation(iid: str = "c1") -> list[bytes]:
    def ev(n: int, etype: str, text: str | None = None) -> bytes:
        e: dict[str, Any] = {
            "schema_version": 1, "event_id": f"{iid}-e{n}", "interaction_id": iid,
            "ts": (T0 + timedelta(seconds=n)).isoformat(), "type": etype, "channel": "chat",
            "queue": "billing", "consent": {"ai_analysis": True},
        }  # fmt: skip
        if etype == "utterance":
            e.update(speaker="customer", text=text)
        if etype == "end":
            e["outcome"] = "resolved"
        return orjson.dumps(e)

    return [ev(0, "start"), ev(1, "utterance", "[human] get me a person"), ev(2, "utterance", "[neg] still waiting"),
            ev(3, "end")]  # fmt: skip


def test_replay_of_an_open_conversation_is_counted_as_duplicate() -> None:
    p = Pipeline()
    events = conversation()[:3]  # no end event
    first = p.run(events)
    again = p.run(events)
    assert p.count("duplicate") == 3
    assert p.count("scored") == 2 and p.count("control") == 1

    def ids(outs: list[Output], topic: str) -> list[str]:
        return sorted(o.value.get("alert_id") or o.value["event_id"] for o in outs if o.topic == topic)

    assert ids(again, "scored") == ids(first, "scored") and ids(again, "alerts") == ids(first, "alerts")


def test_replay_after_the_end_event_is_counted_as_duplicate_not_again() -> None:
    """BUG (dedup state dropped on ``end``): ``Processor._finish_one`` pops the conversation state when
    it processes an ``end`` event, and with it the ``seen`` event ids. When a crash or a rebalance
    replays a conversation that ended inside the replay window, every replayed event is treated as new:
    scored and counted again (``imon_events_total{outcome="scored"}`` and alerts counters double),
    instead of ``outcome="duplicate"``."""
    p = Pipeline()
    events = conversation()
    p.run(events)
    p.run(events)  # the replay
    counted = {o: p.count(o) for o in ("scored", "control", "duplicate")}
    assert counted == {"scored": 2, "control": 2, "duplicate": 4}, (
        f"replaying an ended conversation counted {counted}; expected every replayed event as duplicate"
    )
