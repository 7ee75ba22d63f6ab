"""PII under load: an adversarial PII stream (streams.pii_corpus: real-shaped, checksum-valid
identifiers with gold spans) through the whole real pipeline, Alertmanager included.

What is proven: no gold structured identifier (e-mail, phone, card, IBAN, SSN, BSN) appears in any
output topic (scored, alerts, audit, DLQ), in the worker's log, in /metrics, in the alerts held by
Alertmanager or in the notifications it sent to the webhook. Some utterances are prefixed with a
request for a human so alerts fire on PII-bearing text; some are without consent; some are sent as
broken JSON so their text lands in the DLQ payload (redacted).

Calls are in the stream too, one event per turn: the agent asks for the name, the date of birth and the
postcode, the customer answers with the bare value read out in words, and the agent says the name again
without a cue. None of those values may come out either: the worker has to remember, across events, what
was asked and which names were said.

The same worker also checks IMON_STATE_IDLE_EXPIRY_S: none of these conversations ends, so the
worker must forget them once they have been idle that long (regression test for bug 7 in docs/RELIABILITY.md).
"""

from __future__ import annotations

import json
import logging
import random
import re
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import orjson
import pytest

from streams.config import DEFAULT_QUEUES
from streams.kafka_io import create_topics
from streams.pii_corpus import Sample, generate
from tests.conftest import WorkerProcess, settings_from
from tests.faults.conftest import Webhook, alertmanager_alerts
from tests.faults.support import (
    KnownStream,
    OutputReader,
    TopicTail,
    fault_env,
    log_text,
    produce,
    record_figures,
    utterance,
    wait_until,
)

log = logging.getLogger("faults.pii")

pytestmark = [pytest.mark.broker, pytest.mark.stack, pytest.mark.slow, pytest.mark.timeout(300)]

STRUCTURED = ("EMAIL", "PHONE", "CARD", "IBAN", "SSN", "BSN")
N_SAMPLES = 1200
IDLE_EXPIRY_S = 20  # long enough that the stream is complete before any conversation expires
HUMAN = "I want to speak to a real person now, get me a human agent."


def gold_values(samples: list[Sample], variants: set[str] | None) -> list[tuple[str, str]]:
    """(label[variant], value) of every structured gold span; ``variants`` None = all but "bare"."""
    out = []
    for smp in samples:
        for e in smp.entities:
            if e.label not in STRUCTURED:
                continue
            if (variants is None and e.variant == "bare") or (
                variants is not None and e.variant not in variants
            ):
                continue
            out.append((f"{e.label}[{e.variant}]" if e.variant else e.label, smp.text[e.start : e.end]))
    return out


def forms(value: str) -> set[str]:
    """The value as written, and without separators when that still looks like an identifier."""
    compact = re.sub(r"[\s.\-()/]", "", value)
    return {value, compact} if len(compact) >= 8 and compact != value else {value}


@pytest.fixture(scope="module")
def pii_run(
    kafka_bootstrap: str, alertmanager_url: str, webhook: Webhook, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("pii")
    queue = f"p{uuid.uuid4().hex[:6]}"
    env = fault_env(
        kafka_bootstrap, "pii", partitions=2,
        IMON_ALERTMANAGER_URL=alertmanager_url, IMON_QUEUES=",".join((*DEFAULT_QUEUES, queue)),
        IMON_HUMAN_SLA_S="3600",
        # None of these conversations gets an end event: the worker should forget them after this.
        IMON_STATE_IDLE_EXPIRY_S=str(IDLE_EXPIRY_S),
    )  # fmt: skip
    s = settings_from(env)
    create_topics(s)
    samples = list(generate(N_SAMPLES, seed=9, negative_share=0.1))
    ks = KnownStream()
    no_consent_texts = []
    iid = str(uuid.uuid4())
    for i, smp in enumerate(samples):
        if i % 3 == 0:
            iid = str(uuid.uuid4())
        text = f"{HUMAN} {smp.text}" if i % 5 == 0 else smp.text
        consent = i % 10 != 9
        if not consent:  # a marker only this event carries: corpus texts repeat across samples
            marker = f"nc{uuid.uuid4().hex[:12]}"
            text = f"{text} {marker}"
            no_consent_texts.append(marker)
        e = utterance(iid, text, consent=consent, queue=queue, language=smp.language)
        ks.add(iid.encode(), orjson.dumps(e), s)
        if i % 20 == 7:  # the same text in a broken event: its redacted payload goes to the DLQ
            broken = (
                b'{"schema_version": 1, "queue": "'
                + queue.encode()
                + b'", "text": '
                + orjson.dumps(text)
                + b","
            )
            ks.add(None, broken, s)
    calls = spoken_calls(40)
    for call_iid, turns, _ in calls:
        for speaker, text in turns:
            e = utterance(call_iid, text, speaker=speaker, queue=queue, channel="voice")
            ks.add(call_iid.encode(), orjson.dumps(e), s)
    reader = OutputReader(s)
    alerts = TopicTail(s, s.topic_alerts)
    w = WorkerProcess(env, tmp / "worker.log")
    try:
        w.start()
        produce(s, ks.records)
        acc = reader.assert_complete(ks, timeout=150)
        # Read now, before the Alertmanager waits below (up to a minute): by then expiry may have run.
        conversations_after_stream = w.metric("imon_conversations_active")
        alerts.poll()
        # Alertmanager has the alerts once the forwarder caught up; the webhook gets them one
        # group_wait (5 s) later.
        wait_until(
            lambda: len(alertmanager_alerts(alertmanager_url, "queue", queue)) >= len(alerts.poll()), 30
        )
        wait_until(lambda: len(webhook.alerts("queue", queue)) > 0, timeout=30)
        _, metrics_text = w.http("/metrics")
        # Idle expiry: every conversation's last event is older than IDLE_EXPIRY_S by then.
        wait_until(
            lambda: w.metric("imon_conversations_active") == 0, timeout=IDLE_EXPIRY_S + 10, interval=1.0
        )
        conversations_later = w.metric("imon_conversations_active")
        haystacks = {
            "scored": "\n".join(reader.scored.raw), "alerts": "\n".join(alerts.raw),
            "audit": "\n".join(reader.audit.raw), "dlq": "\n".join(reader.dlq.raw),
            "worker_log": log_text(w.log_path), "metrics": metrics_text,
            "alertmanager": json.dumps(alertmanager_alerts(alertmanager_url, "queue", queue), ensure_ascii=False),
            "webhook": webhook.payloads_text(),
        }  # fmt: skip
        stamps = sorted(_epoch(r["scored_at"]) for r in reader.scored.records)
        drain = len(stamps) / (stamps[-1] - stamps[0]) if len(stamps) > 1 and stamps[-1] > stamps[0] else None
        yield {
            "conversations": (conversations_after_stream, conversations_later),
            "drain_scored_per_s": None if drain is None else round(drain, 1),
            "samples": samples, "ks": ks, "acc": acc, "haystacks": haystacks, "no_consent_texts": no_consent_texts,
            "spoken": [v for _, _, values in calls for v in values],
            "alerts": len(alerts.records), "alerts_in_alertmanager": len(alertmanager_alerts(alertmanager_url, "queue", queue)),
            "alerts_at_webhook": len(webhook.alerts("queue", queue)),
        }  # fmt: skip
    finally:
        w.stop()
        reader.close()
        alerts.close()


_DAYS_BASE = [
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
    "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
    "eighteenth", "nineteenth", "twentieth"
]
_DAYS = [*_DAYS_BASE, *(f"twenty {d}" for d in _DAYS_BASE[:8])]
_MONTHS = [
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december"
]
_UNITS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_FIRST = [
    "morag", "tunde", "keisha", "pawel", "annelies", "youssef", "siobhan", "dariusz", "ngozi", "femke"
]
_LAST = [
    "mcintyre", "okafor", "lamont", "nowak", "wouters", "amrani", "kavanagh", "zielinski", "okonkwo",
    "verbruggen"
]


def spoken_calls(n: int) -> list[tuple[str, list[tuple[str, str]], list[str]]]:
    """``n`` calls, one event per turn: (interaction id, [(speaker, text)], the personal values said). The values
    are bare answers to the agent's questions, read out in words, and the name comes back without a cue."""
    rnd = random.Random(46)
    letters = "bdefhjklmnprstwxz"
    out = []
    for _ in range(n):
        first, last = rnd.choice(_FIRST), rnd.choice(_LAST)
        decade = rnd.choice(["fifty", "sixty", "seventy", "eighty"])
        dob = f"{rnd.choice(_DAYS)} of {rnd.choice(_MONTHS)} nineteen {decade} {rnd.choice(_UNITS)}"
        postcode = " ".join([*rnd.sample(letters, 2), *rnd.choices(_UNITS, k=2), *rnd.sample(letters, 2)])
        turns = [
            ("agent", "thanks for calling the fraud team can i take your full name please"),
            ("customer", f"yeah it's {first} {last}"),
            ("agent", f"lovely thanks {first} and your date of birth"),
            ("customer", dob),
            ("agent", "and the postcode on the account"),
            ("customer", f"um it's {postcode}"),
            ("agent", f"thank you {first} you're through security how can i help"),
            ("customer", "there's a payment on my card i don't recognise and i want it stopped"),
        ]
        out.append((str(uuid.uuid4()), turns, [f"{first} {last}", first, last, dob, postcode]))
    return out


def test_values_answered_to_an_agents_question_do_not_come_out(pii_run: dict[str, Any]) -> None:
    # Each turn is its own event; what the agent asked and the names said are remembered in the worker's state.
    found = [
        (v, where)
        for v in sorted(set(pii_run["spoken"]))
        for where, text in pii_run["haystacks"].items()
        if re.search(rf"(?<![\w]){re.escape(v)}(?![\w])", text)
    ]
    assert found == [], found[:20]


def _epoch(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


#: Hex runs at least this long are digests (sha256 chain links, input hashes, ids): a value's separator-free form
#: found inside one is chance (CI once found an SSN's nine digits inside an audit record's "prev" hash), not a leak.
DIGEST_HEX = 32
HEXDIGITS = frozenset("0123456789abcdefABCDEF")


def _found(form: str, text: str) -> bool:
    """``form`` occurs in ``text`` other than by chance: not inside a hex digest, and not as a piece of a longer run
    of digits (a score's or a timestamp's decimals), where the identifier itself is not written."""
    for m in re.finditer(re.escape(form), text):
        lo, hi = m.start(), m.end()
        if (lo > 0 and text[lo - 1].isdigit()) or (hi < len(text) and text[hi].isdigit()):
            continue
        while lo > 0 and text[lo - 1] in HEXDIGITS:
            lo -= 1
        while hi < len(text) and text[hi] in HEXDIGITS:
            hi += 1
        if not (hi - lo >= DIGEST_HEX and all(c in HEXDIGITS for c in text[m.start():m.end()])):
            return True
    return False


def leaks(values: list[tuple[str, str]], haystacks: dict[str, str]) -> list[tuple[str, str, str]]:
    return [
        (label, v, where)
        for label, v in values
        for where, text in haystacks.items()
        for f in forms(v)
        if _found(f, text)
    ]


def test_a_value_inside_a_digest_or_a_longer_number_is_chance_and_anywhere_else_a_leak() -> None:
    chain = '"prev":"c3442639544701289ae7c7adbc8f1d31acffc6f4bde2e56f9104c829a2488961"'
    assert leaks([("SSN", "344-26-3954")], {"audit": chain}) == []
    assert leaks([("SSN", "344-26-3954")], {"audit": '"escalation":0.83442639547012'}) == []
    for text in ("ssn 344263954.", "ssn:344-26-3954", '"text":"344263954"', "id 344263954abc"):
        assert leaks([("SSN", "344-26-3954")], {"t": text}) == [("SSN", "344-26-3954", "t")], text


def test_no_structured_identifier_leaves_the_pipeline(pii_run: dict[str, Any]) -> None:
    values = gold_values(pii_run["samples"], None)
    found = leaks(values, pii_run["haystacks"])
    by_label: dict[str, int] = {}
    for label, _ in values:
        by_label[label] = by_label.get(label, 0) + 1
    record_figures(
        "pii_load",
        {
            "command": "pytest tests/faults/test_pii_load.py",
            "input": pii_run["ks"].summary(),
            "gold_identifiers_checked": len(values),
            "by_label": by_label,
            "places_checked": sorted(pii_run["haystacks"]),
            "alerts": pii_run["alerts"],
            "alerts_in_alertmanager": pii_run["alerts_in_alertmanager"],
            "alerts_at_webhook": pii_run["alerts_at_webhook"],
            "drain_scored_per_s": pii_run["drain_scored_per_s"],
            "leaks": [(label, where) for label, _, where in found],
        },
    )
    assert len(values) >= 300 and pii_run["alerts"] > 0 and pii_run["alerts_at_webhook"] > 0
    assert not found, (
        f"{len(found)} gold identifier(s) leaked: {[(lab, where) for lab, _, where in found][:10]}"
    )


def test_no_consent_text_is_never_kept(pii_run: dict[str, Any]) -> None:
    # No-consent utterances are counted and audited, never scored: their text (tagged with a marker
    # only they carry) appears nowhere. (The broken copies sent to the DLQ never carry a marker.)
    hay = pii_run["haystacks"]
    kept = sorted({where for m in pii_run["no_consent_texts"] for where, text in hay.items() if m in text})
    assert pii_run["no_consent_texts"] and not kept, f"no-consent text found in {kept}"


@pytest.mark.xfail(
    strict=True,
    reason="KNOWN GAP: a BSN with no context word (variant 'bare', e.g. the whole utterance is "
    "'471914654') is not redacted; pii-eval reports BSN[bare] recall ~0.3. Flips to XPASS (a failure) "
    "once redaction catches them: then drop this marker.",
)
def test_bare_bsn_does_not_leave_the_pipeline(pii_run: dict[str, Any]) -> None:
    values = gold_values(pii_run["samples"], {"bare"})
    assert values, "the corpus seed must contain bare BSNs"
    found = leaks(values, pii_run["haystacks"])
    assert not found, f"{len(found)} of {len(values)} bare BSNs leaked to {sorted({w for *_, w in found})}"


def test_idle_conversations_are_forgotten(pii_run: dict[str, Any]) -> None:
    """BUG (state never expires): IMON_STATE_IDLE_EXPIRY_S ("forget a conversation with no event for
    this long") is declared in streams/config.py and used nowhere. Conversations that never get an
    end event (abandoned chats, lost end events) stay in the table, its changelog and every restore
    for ever: memory and recovery time grow with traffic. Here ~400 conversations without an end event
    are still held IDLE_EXPIRY_S + 10 s after their last event."""
    after_stream, later = pii_run["conversations"]
    assert after_stream > 0, "the stream must leave open conversations behind"
    assert later == 0, (
        f"{later:.0f} of {after_stream:.0f} idle conversations still held after {IDLE_EXPIRY_S + 10}s"
    )
