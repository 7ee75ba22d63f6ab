"""models.labelled: a site's own labelled turns for `imon evaluate --labelled` and `imon train --extra-data`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models import labelled as L


def _write(path: Path, rows: list) -> Path:
    path.write_bytes(b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in rows))
    return path


def test_both_label_forms_defaults_and_redaction(tmp_path: Path) -> None:
    f = _write(tmp_path / "site.jsonl", [
        {"text": "Call me on 06 12345678, I want a person", "labels": {"human_requested": True, "sentiment": "Negative"},
         "language": "NL", "speaker": "customer", "queue": "ignored"},
        {"text": "thanks, that worked", "sentiment": "positive", "escalation": 0, "unfair_treatment": None},
        {"text": "Dear customer, how can I help?", "lang": "en", "speaker": "agent", "escalation": False},
    ])
    exs = L.load([f])
    assert [e.source for e in exs] == ["labelled:site"] * 3
    a, b, c = exs
    assert "12345678" not in a.text and a.lang == "nl" and a.speaker == "customer"
    assert a.labels == {"sentiment": 0, "escalation": None, "human_requested": 1, "unfair_treatment": None}
    assert b.lang == "und" and b.labels["sentiment"] == 2 and b.labels["escalation"] == 0
    assert b.labels["unfair_treatment"] is None
    assert c.speaker == "agent" and c.lang == "en"
    assert L.counts(exs) == {"sentiment": {"negative": 1, "positive": 1}, "escalation": {"0": 2},
                             "human_requested": {"1": 1}}


def test_every_bad_line_is_named_with_its_reason_and_nothing_is_read(tmp_path: Path) -> None:
    f = _write(tmp_path / "bad.jsonl", [
        {"text": "fine", "sentiment": "neutral"},
        b"{not json",
        b"\xff\xfe",
        {"labels": {"escalation": True}},
        {"text": "x", "sentiment": "angry"},
        {"text": "x", "escalation": "yes"},
        {"text": "x"},
        {"text": "x", "labels": {"escalatoin": True}},
        {"text": "x", "escalation": 1, "language": "de"},
        {"text": "x", "escalation": 1, "speaker": "robot"},
        [1, 2],
        b"   ",
    ])
    with pytest.raises(L.LabelledDataError) as e:
        L.load([f])
    got = {n: r for _, n, r in e.value.errors}
    assert sorted(got) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]  # line 1 is fine, line 12 blank
    assert got[2].startswith("not JSON") and got[3] == "not UTF-8 text" and "text" in got[4]
    assert "negative, neutral, positive" in got[5] and "true/false" in got[6] and got[7].startswith("no label")
    assert "escalatoin" in got[8] and "language" in got[9] and "speaker" in got[10] and "JSON object" in got[11]
    assert f"{f}:5: sentiment must be" in str(e.value) and str(e.value).startswith("10 bad line(s)")


def test_a_missing_path_and_an_empty_file_are_clear(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as e:
        L.load([tmp_path / "nope.jsonl"])
    assert e.value.filename == str(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(ValueError, match="no labelled turns"):
        L.load([tmp_path / "empty.jsonl"])


def test_a_feedback_folder_counts_the_latest_verdict_per_alert(tmp_path: Path) -> None:
    """The worker's IMON_FEEDBACK_DATA_DIR: a supervisor who changed their mind counts once, with the new verdict;
    other JSONL files in the folder are read as well."""
    def fb(alert: str, label: int, ts: str) -> dict:
        return {"schema_version": 1, "text": f"alert text {alert}", "task": "escalation", "label": label,
                "labels": {"escalation": label}, "alert_id": alert, "feedback_id": f"f-{alert}-{ts}",
                "verdict": "correct" if label else "incorrect", "ts": ts, "lang": "en", "speaker": "customer",
                "category": "feedback_escalation", "source": "feedback"}

    _write(tmp_path / "feedback-20261206.jsonl", [fb("a1", 1, "2026-12-06T10:00:00Z"), fb("a2", 1, "2026-12-06T10:00:00Z")])
    _write(tmp_path / "feedback-20261207.jsonl", [fb("a1", 0, "2026-12-07T09:00:00Z")])
    _write(tmp_path / "hand.jsonl", [{"text": "I am being treated unfairly because of my accent",
                                      "unfair_treatment": True, "language": "en"}])
    exs = L.load([tmp_path])
    by_text = {e.text: e for e in exs}
    assert len(exs) == 3
    assert by_text["alert text a1"].labels["escalation"] == 0 and by_text["alert text a2"].labels["escalation"] == 1
    assert by_text["I am being treated unfairly because of my accent"].source == "labelled:hand"
    assert by_text["alert text a2"].source == "labelled:feedback"  # one set named "feedback", not a glob


def test_split_is_stable_and_keeps_copies_together() -> None:
    from models.datasets import Example

    exs = [Example(text=f"turn {i % 150}", source="extra:x", labels={"escalation": i % 2}) for i in range(300)]
    tr, va = L.split(exs, 0.2)
    assert len(tr) + len(va) == 300 and 0.1 < len(va) / 300 < 0.3
    assert not {e.text for e in tr} & {e.text for e in va}
    assert L.split(exs, 0.2) == (tr, va) and L.split(exs, 0.0) == (list(exs), [])
    with pytest.raises(ValueError, match="val_share"):
        L.split(exs, 1.0)


def test_a_reply_is_read_as_the_worker_reads_it(tmp_path: Path) -> None:
    thread = ("Thanks, that worked.\n\nOn Mon, 3 Dec 2026, Acme <support@acme.example> wrote:\n"
              "> I want a manager now or I go to the ombudsman.")
    f = _write(tmp_path / "mail.jsonl", [
        {"text": thread, "channel": "email", "escalation": 0},
        {"text": "I want a manager now.", "channel": "chat", "escalation": 1},
    ])
    mail, chat = L.load([f])
    assert mail.text == "Thanks, that worked."  # its own words, as the worker scores it
    assert chat.text == "I want a manager now."
    assert "ombudsman" in L.load([f], history_cut=False)[0].text  # IMON_QUOTED_HISTORY=keep
    bad = _write(tmp_path / "bad.jsonl", [{"text": "hi", "channel": "fax", "sentiment": "neutral"}])
    with pytest.raises(L.LabelledDataError, match="channel must be one of"):
        L.load([bad])
