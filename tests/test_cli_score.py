"""`imon score` end to end with the shipped model: one output line per input line, in order; bad lines get their
number and a reason and lose nothing else; the text written back is redacted; --strict sets the exit status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.cli import main


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], int, Path]:
    d = tmp_path_factory.mktemp("score")
    lines = [
        json.dumps({"text": "I want to speak to a manager right now, mail me at jan.jansen@example.nl",
                    "interaction_id": "c1", "event_id": "e1"}).encode(),
        b"\xff\xfe not even text",
        json.dumps({"text": 5, "event_id": "e3"}).encode(),
        b"[1, 2]",
        json.dumps({"text": "Bel me op 06 12345678, ik wil opzeggen", "interaction_id": "c1", "event_id": "e5",
                    "speaker": "customer", "language": "nl"}).encode(),
        json.dumps({"text": "not for analysis", "event_id": "e6", "consent": {"ai_analysis": False}}).encode(),
        json.dumps({"text": "x" * 70_000, "event_id": "e7"}).encode(),
        json.dumps({"text": "thanks", "speaker": "robot", "event_id": "e8"}).encode(),
    ]
    inp, out = d / "in.jsonl", d / "out.jsonl"
    inp.write_bytes(b"\n".join(lines) + b"\n")
    rc = main(["score", "-i", str(inp), "-o", str(out), "-q", "--strict"])
    return [json.loads(x) for x in out.read_text().splitlines()], rc, inp


def test_one_output_line_per_input_line_in_order(scored) -> None:
    rows, rc, _ = scored
    assert len(rows) == 8 and rc == 1  # --strict: some lines broke the contract
    assert [r.get("event_id") for r in rows] == ["e1", None, "e3", None, "e5", "e6", "e7", "e8"]


def test_bad_lines_carry_their_number_and_a_reason_and_no_text(scored) -> None:
    rows, _, _ = scored
    bad = {i + 1: r for i, r in enumerate(rows) if "error" in r}
    assert {n: r["error"]["reason"] for n, r in bad.items()} == {
        2: "bad_json", 3: "wrong_type", 4: "not_object", 7: "oversized", 8: "invalid_value"}
    assert all(r["line"] == n and "text" not in r for n, r in bad.items())


def test_the_text_written_back_is_redacted_and_scored(scored) -> None:
    rows, _, inp = scored
    first, dutch, no_consent = rows[0], rows[4], rows[5]
    assert "jan.jansen@example.nl" not in first["text"] and "<EMAIL>" in first["text"]
    assert "12345678" not in dutch["text"]
    assert first["labels"]["human_requested"] is True  # asks for a manager, in so many words
    assert set(first["scores"]) == {"sentiment", "escalation", "human_requested", "unfair_treatment"}
    assert no_consent["text"] is None and no_consent["scored"] is False and no_consent["reason"] == "no_consent"
    written = "\n".join(json.dumps(r) for r in rows)
    for pii in ("jan.jansen@example.nl", "06 12345678", "not for analysis"):
        assert pii in inp.read_text(errors="replace") and pii not in written


def test_without_strict_bad_lines_do_not_fail_the_run(tmp_path) -> None:
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text('{"text": "fine"}\n[1]\n')
    assert main(["score", "-i", str(inp), "-o", str(out), "-q"]) == 0
    assert json.loads(out.read_text().splitlines()[1]) == {
        "line": 2, "error": {"reason": "not_object", "detail": "line is not a JSON object"}}


def test_an_email_reply_is_judged_on_what_was_written_this_time(tmp_path, monkeypatch) -> None:
    """With the shipped model: a thank-you reply whose quoted history asks for a manager and threatens the
    ombudsman raises no alert (the model reads the new text only), and its names in the reply line are
    redacted; with IMON_QUOTED_HISTORY=keep the same email alerts, which is what the cut is for."""
    text = ("Thanks, that worked. The router is fine now.\n\nKind regards,\nAnna\n\n"
            "On Mon, 3 Dec 2026 at 10:15, Acme Support <support@acme.example> wrote:\n"
            "> Hello Anna, could you please restart the router?\n>\n"
            "> On Sun, 2 Dec 2026, Anna Jansen <anna@example.com> wrote:\n"
            ">> This is the third time I write. I want to speak to a manager right now or I'm cancelling "
            "and going to the ombudsman.")
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps({"text": text, "channel": "email", "event_id": "m1"}) + "\n")

    def run(out: Path) -> dict:
        assert main(["score", "-i", str(inp), "-o", str(out), "-q"]) == 0
        return json.loads(out.read_text())

    cut = run(tmp_path / "cut.jsonl")
    assert cut["alerts"] == [] and cut["labels"]["escalation"] is False and cut["labels"]["human_requested"] is False
    assert 0 < cut["quoted_history_chars"] < len(text)
    assert "Anna" not in cut["text"] and "manager" in cut["text"]  # the record keeps the (redacted) thread
    monkeypatch.setenv("IMON_QUOTED_HISTORY", "keep")
    kept = run(tmp_path / "kept.jsonl")
    assert kept["quoted_history_chars"] == 0 and "escalation" in {a["type"] for a in kept["alerts"]}
