"""Event contract v1: every kind of bad input gets a precise, machine-readable reason."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.schema import DLQ_REASONS, InvalidEvent, decode_event

LIMITS = {"max_event_bytes": 65536, "max_text_bytes": 8192}


def good(**kw: object) -> dict[str, object]:
    ev: dict[str, object] = {
        "schema_version": 1,
        "event_id": "e1",
        "interaction_id": "c1",
        "ts": "2026-11-23T10:00:00Z",
        "type": "utterance",
        "channel": "chat",
        "speaker": "customer",
        "text": "hello",
        "consent": {"ai_analysis": True},
    }
    ev.update(kw)
    return ev


def reason(raw: bytes) -> str:
    with pytest.raises(InvalidEvent) as ei:
        decode_event(raw, **LIMITS)
    return ei.value.reason


def test_valid_event_decodes() -> None:
    ev = decode_event(orjson.dumps(good(segment={"age_band": "55+"}, queue="billing")), **LIMITS)
    assert ev.consented and ev.text == "hello" and ev.segment == {"age_band": "55+"}
    assert ev.ts.tzinfo is not None


def test_missing_consent_means_no_consent() -> None:
    raw = good()
    del raw["consent"]
    assert not decode_event(orjson.dumps(raw), **LIMITS).consented


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"{not json", "bad_json"),
        (b"[1, 2]", "not_object"),
        (b'"just a string"', "not_object"),
        (orjson.dumps(good())[:-1] + b'\xff"}', "not_utf8"),
        (orjson.dumps(good(text="a" * 70000)), "oversized"),
        (orjson.dumps(good(text="é" * 5000)), "text_too_long"),
        (orjson.dumps({k: v for k, v in good().items() if k != "event_id"}), "missing_field"),
        (orjson.dumps(good(text=None)), "missing_field"),
        (orjson.dumps(good(speaker=None)), "missing_field"),
        (orjson.dumps(good(text=42)), "wrong_type"),
        (orjson.dumps(good(event_id=7)), "wrong_type"),
        (orjson.dumps(good(consent={"ai_analysis": "yes"})), "wrong_type"),
        (orjson.dumps(good(channel="fax")), "invalid_value"),
        (orjson.dumps(good(ts="yesterday")), "invalid_value"),
        (orjson.dumps(good(ts="2026-11-23T10:00:00")), "invalid_value"),
        (orjson.dumps(good(event_id="")), "invalid_value"),
        (orjson.dumps(good(schema_version=2)), "unsupported_schema_version"),
        (None, "bad_json"),
    ],
)
def test_bad_events_get_a_reason(raw: bytes | None, expected: str) -> None:
    assert reason(raw) == expected  # type: ignore[arg-type]


def test_detail_never_contains_the_text() -> None:
    secret = "my card is 4111 1111 1111 1111"
    with pytest.raises(InvalidEvent) as ei:
        decode_event(orjson.dumps(good(text=secret, channel="fax")), **LIMITS)
    assert "4111" not in ei.value.detail and "card" not in ei.value.detail


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_decode_or_get_a_known_reason(raw: bytes) -> None:
    try:
        decode_event(raw, **LIMITS)
    except InvalidEvent as e:
        assert e.reason in DLQ_REASONS


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(list(good().keys()) + ["segment", "outcome"]), json_values))
def test_any_json_object_decodes_or_gets_a_known_reason(obj: dict[str, object]) -> None:
    try:
        decode_event(json.dumps(good(**obj)).encode(), **LIMITS)
    except InvalidEvent as e:
        assert e.reason in DLQ_REASONS


def test_an_email_thread_is_limited_by_what_it_says_before_its_history() -> None:
    reply = "Thanks, that worked.\n\n"
    history = "On Mon, 3 Dec 2026, Acme <support@acme.example> wrote:\n" + "> We are looking into it. " * 600
    raw = orjson.dumps(good(text=reply + history, channel="email"))
    assert len(reply + history) > LIMITS["max_text_bytes"]
    ev = decode_event(raw, **LIMITS, history_cut=True)
    assert ev.text == reply + history  # decoded whole; the model will read the reply
    with pytest.raises(InvalidEvent) as e:  # without the cut the whole text counts
        decode_event(raw, **LIMITS)
    assert e.value.reason == "text_too_long"
    with pytest.raises(InvalidEvent):  # a long text with no history
        decode_event(orjson.dumps(good(text="I am writing again. " * 500, channel="email")), **LIMITS, history_cut=True)
    long_reply = orjson.dumps(good(text="I am writing again. " * 500 + "\n\n" + history, channel="email"))
    with pytest.raises(InvalidEvent) as e:
        decode_event(long_reply, **LIMITS, history_cut=True)
    assert e.value.reason == "text_too_long" and "without markup and quoted history" in e.value.detail


def test_an_html_body_is_limited_by_its_plain_text() -> None:
    styled = '<p style="font-family:Calibri,sans-serif;font-size:11pt;color:#1F497D;margin:0">'
    html = "<html><body>" + (styled + "Yes, Friday works.</p>") * 100 + "</body></html>"
    assert len(html) > LIMITS["max_text_bytes"]
    ev = decode_event(orjson.dumps(good(text=html, channel="email")), **LIMITS)
    assert ev.text == html
