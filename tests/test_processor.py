"""The processing core's conversation logic, with a scripted scorer (no broker, no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from streams.config import Settings
from streams.metrics import Metrics
from streams.processor import Output, Processor
from streams.redaction import Redactor
from streams.schema import decode_event
from tests.doubles import ScriptedScorer

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


class Harness:
    def __init__(self, **settings: Any) -> None:
        self.settings = Settings(**settings)
        self.metrics = Metrics.create(CollectorRegistry(), process=False)
        self.scorer = ScriptedScorer()
        self.store: dict[str, Any] = {}
        self.proc = Processor(self.settings, self.scorer, Redactor(), self.metrics, self.store)
        self.n = 0

    def event(self, text: str | None = None, *, iid: str = "c1", eid: str | None = None, at: float = 0,
              etype: str = "utterance", speaker: str = "customer", consent: bool = True, **kw: Any) -> bytes:
        self.n += 1
        ev: dict[str, Any] = {
            "schema_version": 1, "event_id": eid or f"e{self.n}", "interaction_id": iid,
            "ts": (T0 + timedelta(seconds=at)).isoformat(), "type": etype, "channel": "chat",
            "queue": "billing", "consent": {"ai_analysis": consent},
        }
        if etype == "utterance":
            ev.update(speaker=speaker, text=text or "")
        ev.update(kw)
        return orjson.dumps(ev)

    def run(self, *raws: bytes) -> list[Output]:
        evs = [decode_event(r, max_event_bytes=65536, max_text_bytes=8192) for r in raws]
        prepared = [self.proc.prepare(e) for e in evs]
        utts = self.proc.utterances(prepared)
        scores = self.scorer.score(utts) if utts else []
        return self.proc.finish(prepared, scores)

    def count(self, outcome: str) -> float:
        return self.metrics.registry.get_sample_value(
            "imon_events_total", {"outcome": outcome, "queue": "billing", "channel": "chat"}
        ) or 0.0


def of(outs: list[Output], topic: str) -> list[dict[str, Any]]:
    return [o.value for o in outs if o.topic == topic]


def test_scored_record_carries_scores_labels_model_and_redacted_text() -> None:
    h = Harness()
    outs = h.run(h.event("[neg] mail me at jan.jansen@example.com"))
    (rec,) = of(outs, "scored")
    assert "jan.jansen@example.com" not in rec["text"] and "<EMAIL>" in rec["text"]
    assert rec["labels"]["sentiment"] == "negative"
    assert set(rec["scores"]) == {"sentiment", "escalation", "human_requested", "unfair_treatment"}
    assert rec["model"]["name"] == "scripted-test-double"
    (audit,) = of(outs, "audit")
    assert audit["decision"] == "scored" and audit["input_sha256"] and audit["config_hash"]
    assert h.count("scored") == 1


def test_no_consent_is_not_scored_and_its_text_is_not_kept() -> None:
    h = Harness()
    outs = h.run(h.event("[esc] I am furious, my number is 0612345678", consent=False))
    assert of(outs, "scored") == [] and of(outs, "alerts") == []
    (audit,) = of(outs, "audit")
    assert audit["decision"] == "not_scored_no_consent"
    assert "0612345678" not in orjson.dumps([o.value for o in outs]).decode()
    assert h.scorer.calls == []  # the model never saw it
    assert h.count("no_consent") == 1


def test_replayed_event_reemits_same_ids_and_counts_once() -> None:
    h = Harness()
    raw = h.event("[esc] cancel everything", eid="dup-1")
    first = h.run(raw)
    second = h.run(raw)
    assert [a["alert_id"] for a in of(first, "alerts")] == [a["alert_id"] for a in of(second, "alerts")]
    assert of(first, "scored")[0]["event_id"] == of(second, "scored")[0]["event_id"]
    assert h.count("scored") == 1 and h.count("duplicate") == 1
    assert h.metrics.registry.get_sample_value(
        "imon_alerts_total", {"type": "escalation", "queue": "billing", "channel": "chat"}
    ) == 1


def test_alert_cooldown_per_conversation_and_type() -> None:
    h = Harness(alert_cooldown_s=300)
    outs = h.run(h.event("[esc] a", at=0), h.event("[esc] b", at=10), h.event("[esc] c", at=400))
    assert len(of(outs, "alerts")) == 2


def test_human_request_tracked_until_agent_joins_and_sla_alert_when_unanswered() -> None:
    h = Harness(human_sla_s=60)
    outs = h.run(h.event("[human] a person please", at=0), h.event("hello?", at=30))
    # asking for a human is itself an escalation reason (the pending request raises the risk)
    assert [a["type"] for a in of(outs, "alerts")] == ["human_requested", "escalation"]
    assert h.proc.waiting_by_queue() == {"billing": 1}
    outs = h.run(h.event("still there?", at=61))
    sla = [a for a in of(outs, "alerts") if a["type"] == "human_request_sla"]
    assert len(sla) == 1 and sla[0]["severity"] == "critical"
    # the SLA alert fires once, then a human answering clears the wait
    outs = h.run(h.event("anyone?", at=90), h.event("Hi, I'm Sam from billing", speaker="agent", at=95))
    assert not [a for a in of(outs, "alerts") if a["type"] == "human_request_sla"]
    assert h.proc.waiting_by_queue() == {}


def test_answered_human_request_raises_no_sla_alert() -> None:
    h = Harness(human_sla_s=60)
    h.run(h.event("[human] agent please", at=0))
    outs = h.run(h.event(etype="transfer", at=20), h.event("ok", at=100))
    assert not of(outs, "alerts")


def test_wall_clock_sla_sweep() -> None:
    h = Harness(human_sla_s=60)
    h.run(h.event("[human] a human now", at=0))
    assert h.proc.check_sla_all((T0 + timedelta(seconds=30)).timestamp()) == []
    outs = h.proc.check_sla_all((T0 + timedelta(seconds=61)).timestamp())
    assert [a["type"] for a in of(outs, "alerts")] == ["human_request_sla"]
    assert h.proc.check_sla_all((T0 + timedelta(seconds=120)).timestamp()) == []


def test_negative_trend_escalates_the_conversation() -> None:
    h = Harness()
    outs = h.run(*(h.event("[neg] still broken", at=i) for i in range(4)))
    esc = of(outs, "alerts")
    assert esc and esc[0]["type"] == "escalation" and "conversation escalation_risk" in esc[0]["rule"]


def test_end_event_keeps_only_a_dedup_tombstone_until_idle_expiry() -> None:
    h = Harness(state_idle_expiry_s=600)
    h.proc.wall_clock = lambda: T0.timestamp()  # processed as the events happened
    h.run(h.event("[neg] hi", iid="c9", at=0))
    h.run(h.event(iid="c9", etype="end", outcome="resolved", at=5))
    st = h.store["c9"]
    assert st["ended"] and st["seen"] and st["rolling_negative"] == 0
    assert h.proc.active_conversations() == 0
    assert h.proc.expire_idle((T0 + timedelta(seconds=300)).timestamp()) == 0
    assert h.proc.expire_idle((T0 + timedelta(seconds=606)).timestamp()) == 1
    assert "c9" not in h.store


def test_an_ended_conversation_is_forgotten_sooner_than_an_open_one() -> None:
    # Tombstones only catch replays, which come within minutes: kept for the 6-h idle expiry, they held
    # ~400 MB/h of growth in a 30-min soak (docs/RELIABILITY.md, "Long soak").
    h = Harness(state_idle_expiry_s=3600, state_ended_expiry_s=120)
    h.proc.wall_clock = lambda: T0.timestamp()
    h.run(h.event("[neg] hi", iid="open", at=0), h.event("[neg] hi", iid="done", at=0))
    h.run(h.event(iid="done", etype="end", outcome="resolved", at=5))
    assert h.proc.expire_idle((T0 + timedelta(seconds=60)).timestamp()) == 0
    assert h.proc.expire_idle((T0 + timedelta(seconds=130)).timestamp()) == 1
    assert "done" not in h.store and "open" in h.store
    # a replay after the tombstone is gone is new again: that is the bound the setting chooses
    assert h.proc.expire_idle((T0 + timedelta(seconds=3610)).timestamp()) == 1 and not h.store


def test_unfair_treatment_from_either_side_alerts() -> None:
    h = Harness()
    outs = h.run(h.event("[unfair] people like you never pay", speaker="agent"))
    assert [a["type"] for a in of(outs, "alerts")] == ["unfair_treatment"]


@pytest.mark.parametrize("bad", [b"{oops", b"[]", b'{"schema_version": 1}'])
def test_reject_keeps_only_redacted_payload(bad: bytes) -> None:
    from streams.schema import InvalidEvent

    h = Harness()
    outs = h.proc.reject(InvalidEvent("bad_json", "x"), bad + b" call me on +31 6 12345678", {"offset": 3})
    (dlq,) = of(outs, "dlq")
    assert "12345678" not in dlq["payload_redacted"] and dlq["payload_sha256"] and dlq["source"] == {"offset": 3}
    assert h.metrics.registry.get_sample_value("imon_dlq_total", {"reason": "bad_json"}) == 1


def test_a_backlog_older_than_the_expiry_is_not_forgotten_while_it_is_read() -> None:
    # Events from an hour ago, read now (a worker catching up): the event time alone says "idle",
    # but the state was just written, so it stays until the wall clock passes the expiry too.
    h = Harness(state_idle_expiry_s=600)
    now = (T0 + timedelta(hours=1)).timestamp()
    h.proc.wall_clock = lambda: now
    h.run(h.event("[neg] hi", iid="c10", at=0))
    assert h.proc.expire_idle(now + 5) == 0 and "c10" in h.store
    assert h.proc.expire_idle(now + 601) == 1 and "c10" not in h.store


def test_a_bare_bsn_answering_a_bsn_question_is_redacted() -> None:
    # 123456782 passes the BSN 11-test; alone, with no context word, it is kept by default (it may be an
    # order number), but as the reply to "what is your BSN" it is the customer's BSN.
    h = Harness()
    outs = h.run(
        h.event("Mag ik uw BSN?", speaker="agent", at=0),
        h.event("123456782", at=20),  # same batch as the question
    )
    texts = [r["text"] for r in of(outs, "scored")]
    assert texts[1] == "<BSN>", texts
    later = h.run(h.event("en mijn ordernummer is 123456782", at=20 + 400))  # outside the window
    assert "123456782" in of(later, "scored")[0]["text"]
    other = h.run(h.event("123456782", iid="c2", at=30))  # another conversation: nobody asked
    assert of(other, "scored")[0]["text"] == "123456782"


def test_a_bare_answer_to_an_agents_question_is_redacted_as_what_was_asked() -> None:
    # In a call the cue is on the agent's line and the value alone on the customer's next one.
    h = Harness()
    outs = h.run(
        h.event("and can I take your date of birth please", speaker="agent", at=0),
        h.event("twenty second of june nineteen seventy one", at=5),  # same batch as the question
        h.event("and the postcode on the account", speaker="agent", at=10),
        h.event("e h six four b n no sorry we moved it's e h seven five q t", at=15),
        h.event("and who am I speaking with", speaker="agent", at=20),
    )
    later = h.run(h.event("aye it's morag mcintyre", at=25))
    texts = [r["text"] for r in of(outs + later, "scored")]
    assert texts[1] == "<DOB>", texts
    assert texts[3] == "<POSTCODE> no sorry we moved it's <POSTCODE>", texts
    assert texts[5] == "aye it's <PERSON>", texts
    intro = of(h.run(h.event("thanks for calling this is dana speaking", speaker="agent", at=26)), "scored")
    assert intro[0]["text"] == "thanks for calling this is <PERSON> speaking"
    # the name given is remembered, as keyed hashes, and redacted where it comes back without a cue
    again = of(h.run(h.event("lovely morag, and is morag mcintyre the account holder", speaker="agent", at=27)), "scored")
    assert again[0]["text"] == "lovely <PERSON>, and is <PERSON> <PERSON> the account holder"
    assert "morag" not in orjson.dumps(h.store["c1"]).decode()
    # the agent speaks again without asking: the customer's next words are no answer
    h.run(h.event("thanks, you're through security", speaker="agent", at=30))
    free = of(h.run(h.event("great, it's about the bill from twelve twelve", at=35)), "scored")[0]["text"]
    assert free == "great, it's about the bill from twelve twelve"
    # too long after the question, or another conversation: no answer either
    h.run(h.event("what's your date of birth", speaker="agent", at=40))
    late = of(h.run(h.event("four four two one", at=40 + 121)), "scored")[0]["text"]
    other = of(h.run(h.event("four four two one", iid="c2", at=45)), "scored")[0]["text"]
    assert late == other == "four four two one"


def test_an_agents_first_turn_opens_the_conversation() -> None:
    # "lost property northline rail it's connor": no greeting word, but the agent's turn before the customer has
    # said anything is the call's opening, so the name after "it's" is the agent's own
    h = Harness()
    first = of(h.run(h.event("lost property northline rail it's connor", speaker="agent", at=0)), "scored")
    assert first[0]["text"] == "lost property northline rail it's <PERSON>"
    h.run(h.event("hello i left my laptop on the train", at=5))
    later = of(h.run(h.event("right it's gone to the depot it's connor", speaker="agent", at=10)), "scored")
    assert later[0]["text"] == "right it's gone to the depot it's <PERSON>"  # the name remembered, not the opening
    h2 = Harness()
    h2.run(h2.event("hello i left my laptop on the train", at=0))
    assert of(h2.run(h2.event("okay it's sorted", speaker="agent", at=5)), "scored")[0]["text"] == "okay it's sorted"


def test_an_answer_replays_alike_after_later_questions() -> None:
    # The question an answer followed is found by event time, so a replay after later turns reads it alike.
    h = Harness()
    h.run(h.event("what is the memorable word on the account", speaker="agent", at=0))
    first = of(h.run(h.event("marmalade", eid="ans", at=5)), "scored")[0]["text"]
    h.run(h.event("lovely, and how can I help today", speaker="agent", at=10))
    again = of(h.run(h.event("marmalade", eid="ans", at=5)), "scored")[0]["text"]
    assert first == again == "<CREDENTIAL>"


def test_bsn_answer_redaction_survives_a_restart_and_replays_alike() -> None:
    h = Harness()
    h.run(h.event("What is your burgerservicenummer?", speaker="agent", at=0))
    saved = dict(h.store)
    first = of(h.run(h.event("123456782", eid="ans", at=15)), "scored")[0]["text"]
    # a new worker with the restored state (changelog), replaying the answer
    h2 = Harness()
    h2.store.update(saved)
    h2.proc.store = h2.store
    again = of(h2.run(h2.event("123456782", eid="ans", at=15)), "scored")[0]["text"]
    assert first == again == "<BSN>"
