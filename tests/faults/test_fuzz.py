"""Property-based fuzzing of the decoder and the worker's batch path, without a broker.

Arbitrary bytes, arbitrary JSON values and near-valid events (every field sometimes wild, odd
unicode, lone surrogates, sizes around the limits) go through :func:`decode_event` and through the
worker's own :meth:`Worker.handle_batch` (decode -> redact -> score -> state -> outputs), with
``publish`` replaced by a sink that serialises each record exactly as the real one does. Properties:

* the decoder returns an Event or raises InvalidEvent with a reason from DLQ_REASONS, nothing else;
* ``handle_batch`` never raises (in the worker a raise means the batch is acknowledged unprocessed:
  faust's ``take_events`` acks in a ``finally``);
* every input is accounted for: a DLQ record for its offset, or an audit record / DLQ record for its
  event id; every output serialises; DLQ reasons come from DLQ_REASONS;
* the DLQ payload is bounded: at most IMON_MAX_EVENT_BYTES bytes of UTF-8.

A few examples also go through the REAL scorer (odd unicode, empty text, text at the size limit).
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from models.base import Scorer
from streams.config import Settings
from streams.metrics import Metrics
from streams.processor import Output
from streams.redaction import Redactor
from streams.schema import DLQ_REASONS, Event, InvalidEvent, decode_event
from tests.doubles import ScriptedScorer

SETTINGS = Settings(app_id=f"imon-fuzz-{uuid.uuid4().hex[:8]}", kafka_bootstrap="127.0.0.1:1")
MAX_EVENT = SETTINGS.max_event_bytes
MAX_TEXT = SETTINGS.max_text_bytes
CUT = SETTINGS.quoted_history == "cut"  # as the worker decodes
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])  # fmt: skip


# -- an offline worker: the real Worker object, no broker ---------------------------------------
class OfflineWorker:
    """``streams.worker.Worker`` with a dict as conversation store and a serialising publish sink."""

    def __init__(self, scorer: Scorer, datadir: Path) -> None:
        from streams.worker import Worker

        cwd = os.getcwd()
        os.chdir(datadir)  # the worker writes nothing here now (Faust data dir: the temp dir); kept as a guard
        try:
            self.worker = Worker(
                SETTINGS, scorer, Redactor(), Metrics.create(CollectorRegistry(), process=False)
            )
        finally:
            os.chdir(cwd)
        self.worker.processor.store = {}
        self.published: list[tuple[Output, bytes]] = []
        self.worker.publish = self._publish  # type: ignore[method-assign]
        self.loop = asyncio.new_event_loop()

    async def _publish(self, outs: Any) -> None:
        for o in outs:
            # exactly what Worker.publish sends: a raise here is a raise in the worker's batch
            self.published.append((o, orjson.dumps(o.value)))

    def run(self, raws: list[bytes]) -> list[Output]:
        self.published = []
        events = [
            SimpleNamespace(value=r, message=SimpleNamespace(topic="interactions", partition=0, offset=i))
            for i, r in enumerate(raws)
        ]
        self.loop.run_until_complete(self.worker.handle_batch(events))
        return [o for o, _ in self.published]

    def close(self) -> None:
        self.loop.close()
        self.worker.executor.shutdown(wait=True)


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OfflineWorker]:
    w = OfflineWorker(ScriptedScorer(), tmp_path_factory.mktemp("fuzz"))
    yield w
    w.close()


def check_batch(raws: list[bytes], outs: list[Output]) -> None:
    """Every input accounted for, every DLQ record well-formed and bounded."""
    dlq = [o.value for o in outs if o.topic == "dlq"]
    audited = {o.value.get("event_id") for o in outs if o.topic == "audit"}
    dlq_offsets = {(d.get("source") or {}).get("offset") for d in dlq}
    dlq_ids = {d.get("event_id") for d in dlq if d.get("event_id")}
    for d in dlq:
        assert d["reason"] in DLQ_REASONS, d["reason"]
        payload = d["payload_redacted"]
        if payload is not None:
            size = len(payload.encode("utf-8"))
            assert size <= MAX_EVENT, (
                f"DLQ payload is {size} bytes of UTF-8 for a {d['payload_bytes']}-byte input "
                f"({d['reason']}); the bound is IMON_MAX_EVENT_BYTES={MAX_EVENT}"
            )
    for i, raw in enumerate(raws):
        if i in dlq_offsets:
            continue
        ev = decode_event(raw, max_event_bytes=MAX_EVENT, max_text_bytes=MAX_TEXT, history_cut=CUT)
        assert ev.event_id in audited or ev.event_id in dlq_ids, f"input {i} has no audit or DLQ record"


# -- strategies ------------------------------------------------------------------------------------
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
json_values = st.recursive(
    json_scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
    max_leaves=6,
)  # fmt: skip
odd_chars = st.characters(codec=None)  # every code point, lone surrogates included
texts = st.one_of(
    st.text(max_size=200),
    st.text(odd_chars, max_size=60),
    st.sampled_from(["", " ", "\u200b", "\x00", "e\u0301" * 50, "\U0001f469\u200d\U0001f469\u200d\U0001f467" * 20,
                     "\u202eevil\u202c", "ﷺ" * 30, "𝟘𝟙𝟚𝟛 𝟜𝟝𝟞𝟟 𝟠𝟡𝟘𝟙 𝟚𝟛𝟜𝟝", "a\ud800b"]),
    st.integers(MAX_TEXT - 8, MAX_TEXT + 8).map(lambda n: "x" * n),
    # email threads and HTML bodies around the limit: what the model reads is cut from them
    st.integers(MAX_TEXT - 8, MAX_TEXT + 8).map(lambda n: "ok\n\nOn Mon, A <a@b.example> wrote:\n> " + "y" * n),
    st.integers(MAX_TEXT - 8, MAX_TEXT + 8).map(lambda n: "z" * n + "\n\nFrom: A\nSent: Mon\n\nhistory"),
    st.integers(1, 3000).map(lambda n: "<p>" + "<blockquote>&amp;<br>" * n + "</p>"),
    st.lists(st.sampled_from(["<p>", "</p>", "<br>", "<blockquote>", "> ", "\n", "On x, y wrote:", "<!--", "&#48;",
                              "From: A", "Sent: B", "text"]), max_size=40).map("".join),
)  # fmt: skip
ids = st.one_of(st.uuids().map(str), st.text(min_size=1, max_size=12), st.text(odd_chars, max_size=3))
timestamps = st.one_of(
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()),  # no offset: invalid
    st.text(max_size=30),
)


def field(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the valid strategy, sometimes any JSON value."""
    return st.one_of(valid, valid, valid, json_values)


near_valid_events = st.fixed_dictionaries(
    {"schema_version": field(st.just(1)), "event_id": field(ids), "interaction_id": field(ids),
     "ts": field(timestamps), "type": field(st.sampled_from(["utterance", "start", "end", "transfer"])),
     "channel": field(st.sampled_from(["voice", "chat", "email", "social"]))},
    optional={"speaker": field(st.sampled_from(["customer", "agent", "bot"])), "text": field(texts),
              "language": field(st.sampled_from(["en", "nl", "xx"])), "queue": field(st.text(max_size=70)),
              "agent_id": field(ids), "consent": field(st.fixed_dictionaries({"ai_analysis": st.booleans()})),
              "segment": field(st.dictionaries(st.text(max_size=8), st.text(odd_chars, max_size=8), max_size=4)),
              "outcome": field(st.sampled_from(["resolved", "unresolved", "abandoned", "transferred"]))},
)  # fmt: skip


@st.composite
def encoded(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> bytes:
    """A JSON value as bytes: ASCII escapes or raw UTF-8 (surrogates as CESU bytes), sometimes cut."""
    obj = draw(values)
    if draw(st.booleans()):
        raw = json.dumps(obj, ensure_ascii=True).encode()
    else:
        raw = json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0 and raw:
        raw = raw[: draw(st.integers(0, len(raw) - 1))]
    return raw


# -- decoder ---------------------------------------------------------------------------------------
def decodes_or_rejects(raw: bytes) -> Event | InvalidEvent:
    try:
        return decode_event(raw, max_event_bytes=MAX_EVENT, max_text_bytes=MAX_TEXT, history_cut=CUT)
    except InvalidEvent as e:
        assert e.reason in DLQ_REASONS
        return e


@FUZZ
@given(st.binary(max_size=4096))
@example(b"")
@example(b"\xff" * 64)
@example(b"[" * 100_000)  # deep nesting; oversized
@example(b"[" * 5000 + b"]" * 5000)  # deep nesting within the size limit
@example(b'{"schema_version": 1e999}')
@example(b'{"schema_version": 123456789012345678901234567890}')
def test_decoder_on_arbitrary_bytes(raw: bytes) -> None:
    decodes_or_rejects(raw)


@FUZZ
@given(encoded(json_values) | encoded(near_valid_events))
def test_decoder_on_json(raw: bytes) -> None:
    decodes_or_rejects(raw)


def test_decoder_rejects_lone_surrogate_in_text_as_invalid_event() -> None:
    """BUG (decoder contract): a JSON escape of a lone surrogate (``"\\ud800"``) in ``text`` passes
    validation, then ``len(ev.text.encode("utf-8"))`` raises UnicodeEncodeError out of
    ``decode_event`` instead of InvalidEvent. The worker catches it as ``processing_error`` (nothing
    is lost) but logs a traceback per event and files it under the wrong reason; every other string
    field is rejected as ``invalid_value``."""
    e = orjson.loads(valid_event())
    raw = orjson.dumps(e).replace(b'"text":"hello"', b'"text":"a\\ud800b"')
    assert b"\\ud800" in raw
    got = decodes_or_rejects(raw)
    assert isinstance(got, InvalidEvent) and got.reason == "invalid_value"


# -- the worker's batch path -------------------------------------------------------------------------
def valid_event(**kw: Any) -> bytes:
    e = {"schema_version": 1, "event_id": str(uuid.uuid4()), "interaction_id": "c1",
         "ts": datetime.now(UTC).isoformat(), "type": "utterance", "channel": "chat", "speaker": "customer",
         "text": "hello", "consent": {"ai_analysis": True}, "queue": "billing"}  # fmt: skip
    e.update(kw)
    return orjson.dumps(e)


@FUZZ
@given(
    st.lists(
        st.binary(max_size=512) | encoded(json_values) | encoded(near_valid_events), min_size=1, max_size=6
    )
)
def test_worker_batch_accounts_for_every_input(offline: OfflineWorker, raws: list[bytes]) -> None:
    outs = offline.run(raws)
    check_batch(raws, outs)


BOUNDARY_PAYLOADS = {
    # not UTF-8: every byte becomes U+FFFD (3 bytes) in the redacted payload
    "invalid_utf8_at_limit": b"\xff" * MAX_EVENT,
    # JSON at the size limit whose text is full of short e-mail addresses: "<EMAIL>" is longer
    "emails_at_limit": valid_event(text="a@b.nl " * 100)[:-2]
    + b" "
    + b"x@y.io " * ((MAX_EVENT - 900) // 7)
    + b'"}',
    "oversized_ascii": b"z" * (MAX_EVENT + 10),
}


@pytest.mark.parametrize("name", sorted(BOUNDARY_PAYLOADS))
def test_dlq_payload_is_bounded_by_max_event_bytes(offline: OfflineWorker, name: str) -> None:
    """BUG (DLQ payload bound) when it fails: ``Processor.reject`` cuts the raw input to
    IMON_MAX_EVENT_BYTES *before* decoding with errors="replace" and redacting, so the stored payload
    grows past the bound: x3 for bytes that are not UTF-8 (each becomes U+FFFD), and by the length of
    placeholders such as <EMAIL> that are longer than what they replace."""
    raw = BOUNDARY_PAYLOADS[name]
    outs = offline.run([raw])
    assert any(o.topic == "dlq" for o in outs)
    check_batch([raw], outs)


# -- the real scorer ---------------------------------------------------------------------------------
REAL_TEXTS = [
    "", " ", "\u200b\u200b", "\x00", "e\u0301" * 400, "\U0001f469\u200d\U0001f469\u200d\U0001f467" * 100,
    "\u202eI want a human\u202c", "我要和真人说话", "أريد التحدث إلى شخص حقيقي", "𝐆𝐞𝐭 𝐦𝐞 𝐚 𝐡𝐮𝐦𝐚𝐧 𝐚𝐠𝐞𝐧𝐭",
    "I want to speak to a real person now, get me a human agent " * 130,  # ~7.7 kB, under the limit
    "\U0001f600" * (MAX_TEXT // 4),  # exactly the limit in 4-byte characters
    "x" * MAX_TEXT, "x" * (MAX_TEXT + 1),  # at and past the limit
]  # fmt: skip


@pytest.fixture(scope="module")
def real_offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OfflineWorker]:
    from models.scorer import load_scorer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    scorer = load_scorer(Settings())
    w = OfflineWorker(scorer, tmp_path_factory.mktemp("fuzz-real"))
    yield w
    w.close()


@pytest.mark.slow
def test_real_scorer_on_odd_unicode_and_sizes(real_offline: OfflineWorker) -> None:
    raws = [valid_event(text=t, interaction_id=f"r{i}") for i, t in enumerate(REAL_TEXTS)]
    outs = real_offline.run(raws)
    check_batch(raws, outs)
    scored = {o.value["event_id"]: o.value for o in outs if o.topic == "scored"}
    rejected = {o.value["event_id"]: o.value["reason"] for o in outs if o.topic == "dlq"}
    for raw, text in zip(raws, REAL_TEXTS, strict=True):
        eid = orjson.loads(raw)["event_id"]
        if len(text.encode()) > MAX_TEXT:
            assert rejected.get(eid) == "text_too_long"
            continue
        assert eid in scored, f"not scored: {text[:20]!r} -> {rejected.get(eid)}"
        s = scored[eid]["scores"]
        assert abs(sum(s["sentiment"].values()) - 1) < 1e-3
        for task in ("escalation", "human_requested", "unfair_treatment"):
            assert 0.0 <= s[task] <= 1.0
