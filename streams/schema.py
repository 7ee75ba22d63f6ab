"""Event contract v1 of the ``interactions`` topic, and its decoder.

The decoder turns raw Kafka bytes into an :class:`Event` or raises :class:`InvalidEvent` with a
machine-readable ``reason`` from :data:`DLQ_REASONS` (a fixed set, safe as a metric label) and a
short ``detail`` that never contains the event's text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError, field_validator

from streams.email_thread import html_to_text, own_words

SCHEMA_VERSION = 1

#: Every reason an event can be dead-lettered for.
DLQ_REASONS = (
    "oversized",  # raw event larger than IMON_MAX_EVENT_BYTES
    "not_utf8",  # bytes are not valid UTF-8
    "bad_json",  # not parseable JSON
    "not_object",  # JSON, but not an object
    "missing_field",  # a required field is absent
    "wrong_type",  # a field has the wrong JSON type
    "invalid_value",  # right type, value not allowed (bad enum, bad timestamp, empty id...)
    "unsupported_schema_version",
    "text_too_long",  # utterance text longer than IMON_MAX_TEXT_BYTES
    "processing_error",  # the worker failed on an otherwise valid event (bug guard; nothing is dropped)
)

EventType = Literal["utterance", "start", "end", "transfer"]
Channel = Literal["voice", "chat", "email", "social"]
Speaker = Literal["customer", "agent", "bot"]
Outcome = Literal["resolved", "unresolved", "abandoned", "transferred"]


class InvalidEvent(Exception):
    """An input event that breaks the contract. ``reason`` is one of :data:`DLQ_REASONS`."""

    def __init__(
        self, reason: str, detail: str, event_id: str | None = None, interaction_id: str | None = None
    ):
        assert reason in DLQ_REASONS, reason
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.event_id = event_id
        self.interaction_id = interaction_id


class Consent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    ai_analysis: StrictBool = False


_Id = Field(min_length=1, max_length=128)


class Event(BaseModel):
    """One input event (contract v1)."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    schema_version: Literal[1]
    event_id: StrictStr = _Id
    interaction_id: StrictStr = _Id
    ts: datetime
    type: EventType
    channel: Channel
    speaker: Speaker | None = None
    text: StrictStr | None = None
    language: StrictStr | None = Field(None, max_length=16)
    queue: StrictStr | None = Field(None, max_length=64)
    agent_id: StrictStr | None = Field(None, max_length=128)
    consent: Consent | None = None
    #: Consented attributes used only for fairness aggregates (bounded keys and values).
    segment: dict[StrictStr, StrictStr] | None = Field(None, max_length=16)
    outcome: Outcome | None = None

    @field_validator("ts", mode="before")
    @classmethod
    def _parse_ts(cls, v: Any) -> datetime:
        if not isinstance(v, str):
            raise TypeError("ts must be an RFC 3339 string")
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
        if dt.tzinfo is None:
            raise ValueError("ts needs a UTC offset")
        return dt

    @property
    def consented(self) -> bool:
        return bool(self.consent and self.consent.ai_analysis)

    @property
    def ts_epoch(self) -> float:
        return self.ts.timestamp()


def _classify(err: ValidationError) -> tuple[str, str]:
    """Map a pydantic error to (reason, detail); detail names fields, never values."""
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first.get("loc", ())) or "event"
    etype = first.get("type", "")
    if etype == "missing":
        return "missing_field", f"{loc} is required"
    if loc == "schema_version":
        return "unsupported_schema_version", "schema_version must be 1"
    if etype.endswith("_type") or etype in {"model_type", "dict_type", "string_type", "bool_type"}:
        return "wrong_type", f"{loc} has the wrong type ({etype})"
    return "invalid_value", f"{loc} is invalid ({etype})"


def decode_event(
    raw: bytes | bytearray | memoryview | None, *, max_event_bytes: int, max_text_bytes: int,
    history_cut: bool = False,
) -> Event:
    """Decode and validate one raw input event, or raise :class:`InvalidEvent`. The text limit applies to what
    the model will read: an HTML body as plain text (:func:`streams.email_thread.html_to_text`) and, with
    ``history_cut`` (``IMON_QUOTED_HISTORY=cut``), a reply without its quoted history
    (:func:`streams.email_thread.own_words`), so a long email thread with a short reply on top is scored; the
    event's size stays bounded by ``max_event_bytes``."""
    if raw is None:
        raise InvalidEvent("bad_json", "empty message (null value)")
    raw = bytes(raw)
    if len(raw) > max_event_bytes:
        raise InvalidEvent("oversized", f"event is {len(raw)} bytes, limit {max_event_bytes}")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidEvent("not_utf8", "event bytes are not valid UTF-8") from None
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        # orjson refuses some valid JSON (integers beyond 64 bits): ask the stdlib before rejecting.
        try:
            obj = json.loads(raw)
        except (ValueError, RecursionError):
            raise InvalidEvent("bad_json", "event is not valid JSON") from None
        try:
            # The stdlib accepts escaped lone surrogates ("\ud800"), which cannot be encoded again.
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidEvent("invalid_value", "a string holds an unpaired UTF-16 surrogate") from None
    if not isinstance(obj, dict):
        raise InvalidEvent("not_object", f"event is a JSON {type(obj).__name__}, expected an object")
    ids = {k: obj.get(k) if isinstance(obj.get(k), str) else None for k in ("event_id", "interaction_id")}
    try:
        ev = Event.model_validate(obj)
    except ValidationError as e:
        reason, detail = _classify(e)
        raise InvalidEvent(reason, detail, ids["event_id"], ids["interaction_id"]) from None
    except (ValueError, TypeError):  # pragma: no cover - validators raise through pydantic
        raise InvalidEvent("invalid_value", "event failed validation", **ids) from None
    if ev.type == "utterance":
        if ev.text is None:
            raise InvalidEvent(
                "missing_field", "text is required for utterances", ev.event_id, ev.interaction_id
            )
        if ev.speaker is None:
            raise InvalidEvent(
                "missing_field", "speaker is required for utterances", ev.event_id, ev.interaction_id
            )
        if len(ev.text.encode("utf-8")) > max_text_bytes:
            read = html_to_text(ev.text)  # the model reads an HTML body as plain text
            if history_cut:
                own = own_words(read)
                read = own.text if own.how == "cut" else read
            if len(read.encode("utf-8")) <= max_text_bytes:
                return ev
            detail = f"text is longer than {max_text_bytes} bytes"
            if read != ev.text:
                detail += " (and so is the part the model would read: without markup and quoted history)"
            raise InvalidEvent("text_too_long", detail, ev.event_id, ev.interaction_id)
    return ev


def utcnow() -> datetime:
    return datetime.now(UTC)


def rfc3339(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
