"""The processing core shared by the Faust worker and ``imon score``.

Per batch of decoded events: redact -> (consent gate) -> score in one model batch -> update
per-conversation state -> build the output records (scored, alerts, audit). The worker runs
:meth:`Processor.prepare` and :meth:`Processor.finish` on the event loop and the model call in
between in a thread; ``imon score`` runs the same three steps in order, synchronously.

Outputs are idempotent by event id: replaying an event (at-least-once delivery) re-emits records
with the same keys and ids and is counted once (``outcome="duplicate"`` on the replay).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from models.base import BINARY_TASKS, Scorer, Utterance, UtteranceScore
from streams.config import Settings
from streams.email_thread import html_to_text, own_words
from streams.metrics import Metrics, channel_label
from streams.redaction import Redactor
from streams.schema import Event, InvalidEvent, rfc3339, utcnow
from streams.stateindex import RefreshPass, StateIndex, entry_of, expired

log = logging.getLogger(__name__)

ALERT_TYPES = ("escalation", "human_requested", "unfair_treatment", "human_request_sla")
ALERT_SEVERITY = {
    "escalation": "warning",
    "human_requested": "info",
    "unfair_treatment": "warning",
    "human_request_sla": "critical",
}
#: Weight of the newest customer turn in the rolling negative-sentiment average.
EMA_ALPHA = 0.5
#: Seconds (event time) after an utterance naming a BSN during which a bare 11-test-valid 9-digit
#: number in the same conversation is redacted as a BSN (the customer's answer to "Wat is uw BSN?").
BSN_ANSWER_WINDOW_S = 300.0
#: Seconds (event time) after an agent's or bot's question ("and your date of birth?") during which the
#: customer's turns, until the agent speaks again, are read as its answer (see ``Redactor.asks_for``).
ANSWER_WINDOW_S = 120.0
#: Agent turns remembered for that (the newest ones), so a replay finds the question its answer followed.
ASKS_KEPT = 4
#: Words of the names said in a conversation remembered (as keyed hashes, never the words; see
#: ``Redaction.name_keys``), so a name once given is redacted where it is said again without a cue.
NAMES_KEPT = 32
#: Slices in one safety-net re-read of the store into the housekeeping index: the worker takes one per
#: housekeeping second, so every conversation is re-read once a minute without holding the event loop.
REFRESH_TICKS = 60


@dataclass
class ConversationState:
    """What the worker remembers about one conversation (JSON-serialisable)."""

    queue: str | None = None
    channel: str | None = None
    customer_turns: int = 0
    rolling_negative: float = 0.0
    negative_streak: int = 0
    #: Set while a customer request for a human is unanswered: (event id, event time epoch).
    human_request_event: str | None = None
    human_request_ts: float | None = None
    sla_alerted: bool = False
    human_joined: bool = False
    last_alert_ts: dict[str, float] = field(default_factory=dict)
    #: Every alert type raised in this conversation (for the fairness "alert" outcome at its end).
    alert_types_raised: list[str] = field(default_factory=list)
    #: event id -> alert types raised for it; the dedup window (oldest first).
    seen: dict[str, list[str]] = field(default_factory=dict)
    last_ts: float = 0.0
    #: Event time of the last utterance that named a BSN (typically the agent asking for it): a bare
    #: 11-test-valid 9-digit number in the next BSN_ANSWER_WINDOW_S is redacted as a BSN.
    bsn_asked_ts: float | None = None
    #: [event time, [entity types]] of the latest agent or bot turns that asked for personal data, and of
    #: the first turn after each that did not (it ends the answer), oldest first, at most ASKS_KEPT.
    asks: list[list[Any]] = field(default_factory=list)
    #: Keyed hashes of the words of the names said so far (``Redaction.name_keys``), at most NAMES_KEPT.
    names: list[str] = field(default_factory=list)
    #: The conversation ended: only ``seen`` is kept (so replays stay duplicates) until it expires.
    ended: bool = False

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> ConversationState:
        if not d:
            return cls()
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Output:
    """One record to publish: ``topic`` is a logical name (scored, alerts, audit, dlq)."""

    topic: str
    key: str | None
    value: dict[str, Any]
    #: Input partition the record derives from (audit records are chained per partition).
    partition: int | None = None


@dataclass
class Prepared:
    """An event after decoding, redaction and the consent gate, waiting for its score."""

    event: Event
    text: str | None = None  # redacted
    #: what the model reads when it is not ``text``: an email's own words, its quoted history cut off
    model_text: str | None = None
    quoted_chars: int = 0
    redactions: dict[str, int] = field(default_factory=dict)
    to_score: bool = False
    duplicate: bool = False


@dataclass
class Ethics:
    """Optional live monitors fed by the processor (the worker has them; ``imon score`` does not)."""

    fairness: Any = None  # streams.fairness.FairnessMonitor
    drift: Any = None  # streams.drift.DriftMonitor
    feedback: Any = None  # streams.feedback.FeedbackTracker


def sha256_hex(s: str) -> str:
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


class Processor:
    """Turns events into outputs. One instance per worker; not thread-safe (use on the loop)."""

    def __init__(
        self,
        settings: Settings,
        scorer: Scorer,
        redactor: Redactor,
        metrics: Metrics,
        store: MutableMapping[str, Any],
        ethics: Ethics | None = None,
    ) -> None:
        self.settings = settings
        self.ethics = ethics or Ethics()
        #: Wall clock (seconds since the epoch) for state bookkeeping; tests replace it.
        self.wall_clock: Callable[[], float] = time.time
        self.scorer = scorer
        self.redactor = redactor
        self.metrics = metrics
        self.store = store
        #: What housekeeping reads, kept beside the store (streams/stateindex.py).
        self.index = StateIndex()
        #: The once-a-minute safety-net re-read of the store, a slice per housekeeping tick.
        self.refresh = RefreshPass(REFRESH_TICKS)
        self.reindex()
        self.model_info = {"name": scorer.name, "version": scorer.version, "encoder": scorer.encoder}

    # -- state -------------------------------------------------------------------------------
    def _load(self, iid: str) -> ConversationState:
        return ConversationState.from_dict(self.store.get(iid))

    def _save(self, iid: str, st: ConversationState) -> None:
        d = st.to_dict()
        # Wall-clock time of the last change: expiry waits for both clocks, so a worker catching
        # up on a backlog older than the expiry does not forget conversations it is still reading.
        d["touched"] = self.wall_clock()
        self.store[iid] = d
        self.index.note(iid, d)

    def reindex(self) -> int:
        """Rebuild the housekeeping index from a full scan of the store at once (at start and after a table
        recovery; the once-a-minute safety net is :meth:`reindex_step`); returns the conversations indexed."""
        self.index.rebuild((iid, self.store.get(iid)) for iid in list(self.store.keys()))
        self.refresh.reset()
        return len(self.index)

    def reindex_step(self) -> int:
        """Re-read the next slice of the spread safety-net pass (``REFRESH_TICKS`` slices re-read the whole
        store; the worker takes one each housekeeping second). Returns the conversations re-read."""
        return self.refresh.step(self.index, self.store)

    # -- step 1 ------------------------------------------------------------------------------
    def prepare(self, ev: Event) -> Prepared:
        """Redact, apply the consent gate, detect replays. Cheap; runs on the event loop."""
        st_raw = self.store.get(ev.interaction_id) or {}
        duplicate = ev.event_id in st_raw.get("seen", {})
        p = Prepared(event=ev, duplicate=duplicate)
        if ev.type == "utterance" and ev.consented and ev.text is not None:
            asked = st_raw.get("bsn_asked_ts")
            bsn_answer = asked is not None and 0.0 <= ev.ts_epoch - float(asked) <= BSN_ANSWER_WINDOW_S
            # an HTML body (markup passed on by a mail platform or chat widget) is read as plain text
            text = html_to_text(ev.text)
            redactor = self.redactor.for_bsn_answers() if bsn_answer else self.redactor
            customer = (ev.speaker or "customer") == "customer"
            answering = _asked_before(st_raw, ev.ts_epoch) if customer else frozenset()
            known = frozenset(st_raw.get("names") or ())
            # an agent's or a bot's turn before any customer turn or human agent opens the conversation
            opening = not customer and not st_raw.get("customer_turns") and not st_raw.get("human_joined")
            red = redactor.redact(
                text, ev.language, answering=answering, speaker=ev.speaker, known_names=known, opening=opening
            )
            if self.redactor.mentions_bsn(red.text):
                self._remember(ev, st_raw, bsn_asked_ts=ev.ts_epoch)
            if red.name_keys - known:
                old = list(st_raw.get("names") or ())
                self._remember(ev, st_raw, names=[*old, *sorted(red.name_keys - known)][-NAMES_KEPT:])
            if not customer:
                self._note_asks(ev, st_raw, self.redactor.asks_for(red.text))
            p.text, p.redactions, p.to_score = red.text, dict(red.counts), True
            if self.settings.quoted_history == "cut":
                own = own_words(red.text)
                if own.how == "cut":
                    p.model_text, p.quoted_chars = own.text, own.quoted_chars
                if not duplicate:
                    self.metrics.quoted_history.labels(channel_label(ev.channel), own.how).inc()
            if not duplicate:
                for typ, n in red.counts.items():
                    self.metrics.redactions.labels(typ).inc(n)
        return p

    def _note_asks(self, ev: Event, st_raw: dict[str, Any], kinds: frozenset[str]) -> None:
        """Remember what an agent's or bot's turn asked for, or that the turn after a question asked for
        nothing (which ends the answer); a turn that follows no question and asks nothing writes nothing."""
        d = self.store.get(ev.interaction_id) or st_raw
        asks = [a for a in d.get("asks") or [] if float(a[0]) != ev.ts_epoch]
        before = [a for a in asks if float(a[0]) < ev.ts_epoch]
        if not kinds and not (before and before[-1][1]):
            return
        asks = sorted([*asks, [ev.ts_epoch, sorted(kinds)]], key=lambda a: float(a[0]))[-ASKS_KEPT:]
        self._remember(ev, st_raw, asks=asks)

    def _remember(self, ev: Event, st_raw: dict[str, Any], **changes: Any) -> None:
        """Write a redaction memory (a BSN or other personal data just asked for, the names said) into the
        conversation's state. Written at prepare time so an answer later in the same batch sees it. Questions
        are keyed on event time, so a replay reads an answer as the first pass did; names are not, so a replay
        may redact a name said later in the conversation too (more, never less)."""
        d = dict(self.store.get(ev.interaction_id) or st_raw)
        if "bsn_asked_ts" in changes:
            changes["bsn_asked_ts"] = max(float(d.get("bsn_asked_ts") or 0.0), changes["bsn_asked_ts"])
        d.update(changes)
        d["last_ts"] = max(float(d.get("last_ts") or 0.0), ev.ts_epoch)
        d["touched"] = self.wall_clock()
        self.store[ev.interaction_id] = d
        self.index.note(ev.interaction_id, d)

    def utterances(self, batch: Sequence[Prepared]) -> list[Utterance]:
        return [
            Utterance(text=p.model_text or p.text or "", speaker=p.event.speaker or "customer", language=p.event.language)
            for p in batch
            if p.to_score
        ]

    # -- step 3 ------------------------------------------------------------------------------
    def finish(self, batch: Sequence[Prepared], scores: Sequence[UtteranceScore]) -> list[Output]:
        """Update conversation state and build every output record, in input order."""
        return [o for group in self.finish_each(batch, scores) for o in group]

    def finish_each(self, batch: Sequence[Prepared], scores: Sequence[UtteranceScore]) -> list[list[Output]]:
        """Like :meth:`finish`, grouped per input event."""
        groups: list[list[Output]] = []
        it = iter(scores)
        for p in batch:
            score = next(it) if p.to_score else None
            try:
                groups.append(self._finish_one(p, score))
            except Exception as exc:  # a bug must not lose the event: dead-letter it with a reason
                log.exception(
                    "processing failed for one event (event id hash %s)", sha256_hex(p.event.event_id)[:12]
                )
                err = InvalidEvent(
                    "processing_error", type(exc).__name__, p.event.event_id, p.event.interaction_id
                )
                groups.append(self.reject(err, raw=None))
        return groups

    def _finish_one(self, p: Prepared, score: UtteranceScore | None) -> list[Output]:
        ev = p.event
        st = self._load(ev.interaction_id)
        queue = self.settings.queue_label(ev.queue)
        chan = channel_label(ev.channel)
        replay = ev.event_id in st.seen
        now = utcnow()
        outs: list[Output] = []

        if not replay:
            st.queue = ev.queue or st.queue
            st.channel = ev.channel
            st.last_ts = max(st.last_ts, ev.ts_epoch)

        if ev.type != "utterance":
            outcome = "control"
            self._control(ev, st)
            decision = "control"
            outs.append(self._audit(ev, decision, now))
        elif not ev.consented:
            outcome = "no_consent"
            outs.append(self._audit(ev, "not_scored_no_consent", now))
        else:
            assert score is not None
            outcome = "scored"
            if replay:
                alert_types = st.seen.get(ev.event_id, [])
                conv = self._conversation_view(st)
            else:
                alert_types = self._update_and_decide(ev, st, score)
                conv = self._conversation_view(st)
            alerts = [self._alert(ev, t, score, conv, now) for t in alert_types]
            scored = self._scored(ev, p, score, conv, [a["alert_id"] for a in alerts], now)
            outs.append(Output("scored", ev.interaction_id, scored))
            outs.extend(Output("alerts", ev.interaction_id, a) for a in alerts)
            outs.append(self._audit(ev, "scored", now, scored=scored))
            outs.extend(self._audit(ev, "alert_raised", now, alert=a) for a in alerts)
            if not replay:
                self._observe_scores(score, queue, chan, ev.speaker or "customer")
                self._observe_ethics(ev, p, score, alerts)
                for a in alerts:
                    self.metrics.alerts.labels(a["type"], queue, chan).inc()
                latency = max(0.0, now.timestamp() - ev.ts_epoch)
                self.metrics.latency.labels(chan).observe(latency)

        # SLA is checked in event time too, so offline scoring raises it deterministically.
        if not replay:
            sla = self._check_sla(ev.interaction_id, st, ev.ts_epoch, now, ev)
            outs.extend(sla)
            if outcome == "scored":
                st.seen[ev.event_id] = [
                    o.value["type"]
                    for o in outs
                    if o.topic == "alerts" and o.value["type"] != "human_request_sla"
                ]
            else:
                st.seen[ev.event_id] = []
            while len(st.seen) > self.settings.dedup_window:
                st.seen.pop(next(iter(st.seen)))
        self.metrics.events.labels("duplicate" if replay else outcome, queue, chan).inc()
        if ev.type == "end" and not replay and self.ethics.fairness is not None:
            from streams.fairness import attributes_of, end_outcomes

            self.ethics.fairness.observe_many(
                attributes_of(ev.segment, ev.channel), end_outcomes(ev.outcome, st.alert_types_raised), ev.ts_epoch
            )
        if ev.type == "end" and not replay:
            # Keep a tombstone with the dedup window only: a replay of this conversation (crash,
            # rebalance) must still be recognised. Idle expiry removes it later.
            st = ConversationState(queue=st.queue, channel=st.channel, seen=st.seen, last_ts=st.last_ts, ended=True)
        self._save(ev.interaction_id, st)
        return outs

    # -- conversation logic ------------------------------------------------------------------
    def _control(self, ev: Event, st: ConversationState) -> None:
        if ev.type == "transfer":
            st.human_joined = True
            st.human_request_event = None
            st.human_request_ts = None

    def _update_and_decide(self, ev: Event, st: ConversationState, s: UtteranceScore) -> list[str]:
        """Update the conversation with a scored utterance; return the alert types to raise."""
        thr = self.scorer.thresholds
        fired: list[str] = []
        if ev.speaker == "agent":
            # A human agent speaking answers any pending request for a human.
            st.human_joined = True
            st.human_request_event = None
            st.human_request_ts = None
        if ev.speaker == "customer":
            st.customer_turns += 1
            neg = s.sentiment.get("negative", 0.0)
            st.rolling_negative = (
                neg if st.customer_turns == 1 else EMA_ALPHA * neg + (1 - EMA_ALPHA) * st.rolling_negative
            )
            st.negative_streak = st.negative_streak + 1 if s.labels.get("sentiment") == "negative" else 0
            if s.labels.get("human_requested"):
                if st.human_request_event is None and not st.human_joined:
                    st.human_request_event = ev.event_id
                    st.human_request_ts = ev.ts_epoch
                    st.sla_alerted = False
                fired.append("human_requested")
            risk = self._risk(st, s)
            if s.labels.get("escalation") or risk >= thr["escalation"]:
                fired.append("escalation")
        if s.labels.get("unfair_treatment"):  # either side
            fired.append("unfair_treatment")
        out = []
        for t in fired:
            last = st.last_alert_ts.get(t)
            if last is not None and ev.ts_epoch - last < self.settings.alert_cooldown_s:
                continue
            st.last_alert_ts[t] = ev.ts_epoch
            if t not in st.alert_types_raised:
                st.alert_types_raised.append(t)
            out.append(t)
        return out

    def _risk(self, st: ConversationState, s: UtteranceScore | None = None) -> float:
        """Conversation-level escalation risk in [0, 1] from the utterance and its context.

        The utterance's own escalation probability, raised by a sustained negative trend (three or
        more negative customer turns in a row) and by a pending, unanswered request for a human.
        """
        p = s.escalation if s is not None else 0.0
        trend = st.rolling_negative if st.negative_streak >= 3 else 0.5 * st.rolling_negative
        pending = 0.5 if st.human_request_event is not None else 0.0
        return float(max(p, 1 - (1 - trend) * (1 - pending)))

    def _conversation_view(self, st: ConversationState) -> dict[str, Any]:
        return {
            "escalation_risk": round(self._risk(st), 4),
            "rolling_negative": round(st.rolling_negative, 4),
            "negative_streak": st.negative_streak,
            "human_request_pending": st.human_request_event is not None,
        }

    def _check_sla(
        self, iid: str, st: ConversationState, at: float, now: Any, ev: Event | None
    ) -> list[Output]:
        if st.human_request_event is None or st.sla_alerted or st.human_request_ts is None:
            return []
        waited = at - st.human_request_ts
        if waited < self.settings.human_sla_s:
            return []
        st.sla_alerted = True
        if "human_request_sla" not in st.alert_types_raised:
            st.alert_types_raised.append("human_request_sla")
        alert_id = sha256_hex(f"{st.human_request_event}:human_request_sla")[:32]
        a = {
            "alert_id": alert_id,
            "type": "human_request_sla",
            "severity": ALERT_SEVERITY["human_request_sla"],
            "interaction_id": iid,
            "event_id": st.human_request_event,
            "queue": self.settings.queue_label(st.queue),
            "channel": channel_label(st.channel),
            "ts": rfc3339(now),
            "raised_at": rfc3339(now),
            "score": round(waited, 3),
            "threshold": self.settings.human_sla_s,
            "rule": f"human request unanswered for {waited:.0f}s >= SLA {self.settings.human_sla_s:.0f}s",
            "evidence": [],
            "model": self.model_info,
        }
        self.metrics.alerts.labels("human_request_sla", a["queue"], a["channel"]).inc()
        outs = [Output("alerts", iid, a)]
        if ev is not None:
            outs.append(self._audit(ev, "alert_raised", now, alert=a))
        return outs

    def check_sla_all(self, now_epoch: float) -> list[Output]:
        """Wall-clock SLA sweep over the conversations with a human request now past the SLA (the
        worker calls it on a timer; the index names them, the store decides)."""
        outs: list[Output] = []
        now = utcnow()
        for iid in self.index.sla_due(now_epoch - self.settings.human_sla_s):
            raw = self.store.get(iid)
            self.index.note(iid, raw)
            if not raw or raw.get("human_request_event") is None or raw.get("sla_alerted"):
                continue
            st = ConversationState.from_dict(raw)
            new = self._check_sla(iid, st, now_epoch, now, None)
            if new:
                outs.extend(new)
                outs.append(Output("audit", iid, self._audit_alert_only(iid, new[0].value, now)))
                self._save(iid, st)
        return outs

    def expire_idle(self, now_epoch: float) -> int:
        """Forget conversations with no event for ``IMON_STATE_IDLE_EXPIRY_S`` (abandoned), and the
        dedup tombstones of ended ones after ``IMON_STATE_ENDED_EXPIRY_S`` (shorter: a replay comes
        soon or not at all): both their last event time and the wall-clock time of their last change
        are that old."""
        idle = now_epoch - self.settings.state_idle_expiry_s
        ended = now_epoch - min(self.settings.state_ended_expiry_s, self.settings.state_idle_expiry_s)
        gone = 0
        for iid in self.index.expired(idle, ended):
            raw = self.store.get(iid)
            if raw is not None and expired(entry_of(raw), idle, ended):
                self.store.pop(iid, None)
                gone += 1
                raw = None
            self.index.note(iid, raw)
        return gone

    def active_conversations(self) -> int:
        return self.index.open_count

    def waiting_by_queue(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for queue in self.index.waiting_queues():
            q = self.settings.queue_label(queue)
            counts[q] = counts.get(q, 0) + 1
        return counts

    def _observe_ethics(self, ev: Event, p: Prepared, s: UtteranceScore, alerts: list[dict[str, Any]]) -> None:
        e = self.ethics
        if ev.speaker == "customer":
            if e.drift is not None:
                e.drift.observe_scores(s.scores_dict(), ev.ts_epoch)
            if e.fairness is not None:
                from streams.fairness import attributes_of, utterance_outcomes

                e.fairness.observe_many(attributes_of(ev.segment, ev.channel), utterance_outcomes(s.labels), ev.ts_epoch)
        if e.feedback is not None:
            for a in alerts:
                e.feedback.remember_alert(
                    a["alert_id"], a["type"], p.model_text or p.text, language=ev.language, speaker=ev.speaker,
                    utterance_label=bool(s.labels.get(a["type"])),
                )

    # -- records -----------------------------------------------------------------------------
    def _observe_scores(self, s: UtteranceScore, queue: str, chan: str, speaker: str) -> None:
        h = self.metrics.scores
        h.labels("sentiment_negative", queue, chan, speaker).observe(s.sentiment.get("negative", 0.0))
        h.labels("sentiment_positive", queue, chan, speaker).observe(s.sentiment.get("positive", 0.0))
        for t in BINARY_TASKS:
            h.labels(t, queue, chan, speaker).observe(getattr(s, t))

    def _scored(
        self, ev: Event, p: Prepared, s: UtteranceScore, conv: dict[str, Any], alert_ids: list[str], now: Any
    ) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "event_id": ev.event_id,
            "interaction_id": ev.interaction_id,
            "ts": rfc3339(ev.ts),
            "scored_at": rfc3339(now),
            "type": ev.type,
            "channel": ev.channel,
            "speaker": ev.speaker,
            "language": ev.language,
            "queue": ev.queue,
            "text": p.text,
            "redactions": p.redactions,
            "quoted_history_chars": p.quoted_chars,
            "scores": _round(s.scores_dict()),
            "labels": s.labels,
            "evidence": s.evidence,
            "thresholds": dict(self.scorer.thresholds),
            "conversation": conv,
            "alerts": alert_ids,
            "model": self.model_info,
        }

    def _alert(
        self, ev: Event, typ: str, s: UtteranceScore, conv: dict[str, Any], now: Any
    ) -> dict[str, Any]:
        thr = self.scorer.thresholds
        if typ == "escalation" and not s.labels.get("escalation"):
            score, rule = conv["escalation_risk"], f"conversation escalation_risk >= {thr['escalation']:.2f}"
            # The context drove it: say which, plus the phrases behind this turn's sentiment.
            evidence = []
            if conv["human_request_pending"]:
                evidence.append("[context] customer is waiting for a human")
            if conv["negative_streak"] >= 2:
                evidence.append(f"[context] {conv['negative_streak']} negative customer turns in a row")
            evidence += s.evidence.get("sentiment", []) or s.evidence.get("human_requested", [])
            if not evidence:
                evidence.append(f"[context] rolling negative sentiment {conv['rolling_negative']:.2f}")
        else:
            score, rule = getattr(s, typ), f"{typ} >= {thr[typ]:.2f}"
            evidence = s.evidence.get(typ, [])
        return {
            "alert_id": sha256_hex(f"{ev.event_id}:{typ}")[:32],
            "type": typ,
            "severity": ALERT_SEVERITY[typ],
            "interaction_id": ev.interaction_id,
            "event_id": ev.event_id,
            "queue": self.settings.queue_label(ev.queue),
            "channel": channel_label(ev.channel),
            "speaker": ev.speaker,
            "ts": rfc3339(ev.ts),
            "raised_at": rfc3339(now),
            "score": round(float(score), 4),
            "threshold": thr.get(typ),
            "rule": rule,
            "evidence": evidence,
            "conversation": conv,
            "model": self.model_info,
        }

    def _audit(
        self,
        ev: Event,
        decision: str,
        now: Any,
        scored: dict[str, Any] | None = None,
        alert: dict[str, Any] | None = None,
    ) -> Output:
        rec: dict[str, Any] = {
            "audit_id": sha256_hex(f"{ev.event_id}:{decision}:{alert['type'] if alert else ''}")[:32],
            "decision": decision,
            "event_id": ev.event_id,
            "interaction_id": ev.interaction_id,
            "event_ts": rfc3339(ev.ts),
            "decided_at": rfc3339(now),
            "actor": "interaction-monitor",
            "agent_id": ev.agent_id,
            "model": self.model_info,
            "config_hash": self.settings.config_hash,
        }
        if scored is not None:
            rec.update(
                input_sha256=sha256_hex(scored["text"] or ""),
                quoted_history_chars=scored["quoted_history_chars"],
                scores=scored["scores"],
                labels=scored["labels"],
                thresholds=scored["thresholds"],
                explanation=scored["evidence"],
            )
        if alert is not None:
            rec.update(
                alert_id=alert["alert_id"], alert_type=alert["type"], rule=alert["rule"], score=alert["score"]
            )
        return Output("audit", ev.interaction_id, rec)

    def _audit_alert_only(self, iid: str, alert: dict[str, Any], now: Any) -> dict[str, Any]:
        return {
            "audit_id": sha256_hex(f"{alert['event_id']}:alert_raised:{alert['type']}")[:32],
            "decision": "alert_raised",
            "event_id": alert["event_id"],
            "interaction_id": iid,
            "decided_at": rfc3339(now),
            "actor": "interaction-monitor",
            "model": self.model_info,
            "config_hash": self.settings.config_hash,
            "alert_id": alert["alert_id"],
            "alert_type": alert["type"],
            "rule": alert["rule"],
            "score": alert["score"],
        }

    def reject(
        self, err: InvalidEvent, raw: bytes | None, source: dict[str, Any] | None = None
    ) -> list[Output]:
        """DLQ record (+ audit) for an invalid event. The payload is kept redacted, never raw."""
        now = utcnow()
        payload = None
        if raw is not None:
            cut = raw[: self.settings.max_event_bytes].decode("utf-8", errors="replace")
            payload = self.redactor.redact(cut, None).text
            # Replacement characters and placeholders can grow the text: bound it in UTF-8 bytes.
            enc = payload.encode("utf-8")
            if len(enc) > self.settings.max_event_bytes:
                payload = enc[: self.settings.max_event_bytes].decode("utf-8", errors="ignore")
        self.metrics.dlq.labels(err.reason).inc()
        self.metrics.events.labels("dead_lettered", "other", "other").inc()
        rec = {
            "reason": err.reason,
            "detail": err.detail,
            "event_id": err.event_id,
            "interaction_id": err.interaction_id,
            "rejected_at": rfc3339(now),
            "payload_sha256": hashlib.sha256(raw).hexdigest() if raw is not None else None,
            "payload_bytes": len(raw) if raw is not None else None,
            "payload_redacted": payload,
            "source": source or {},
        }
        audit = {
            "audit_id": sha256_hex(f"{rec['payload_sha256']}:{source}:rejected")[:32],
            "decision": "rejected",
            "reason": err.reason,
            "event_id": err.event_id,
            "interaction_id": err.interaction_id,
            "decided_at": rfc3339(now),
            "actor": "interaction-monitor",
            "config_hash": self.settings.config_hash,
            "input_sha256": rec["payload_sha256"],
            "source": source or {},
        }
        key = err.interaction_id
        return [Output("dlq", key, rec), Output("audit", key, audit)]


def _round(d: Any) -> Any:
    if isinstance(d, float):
        return round(d, 5)
    if isinstance(d, dict):
        return {k: _round(v) for k, v in d.items()}
    return d


def _asked_before(st: dict[str, Any], ts: float) -> frozenset[str]:
    """What the latest agent or bot turn at or before event time ``ts`` asked for, if within
    ANSWER_WINDOW_S: a customer's turn then is read as the answer."""
    latest = None
    for a in st.get("asks") or []:
        if float(a[0]) <= ts:
            latest = a
    if latest is None or ts - float(latest[0]) > ANSWER_WINDOW_S:
        return frozenset()
    return frozenset(latest[1])
