"""Labelled turns of a site's own traffic: what ``imon evaluate --labelled`` measures the model on and what
``imon train --extra-data`` adds to its training and validation rows.

The model is judged on text it never trained on, and a contact centre's own turns are the text that matters to
it. A file of them, labelled by the centre's people (or the supervisors' verdicts the worker keeps with
``IMON_FEEDBACK_DATA_DIR``), is read here into :class:`models.datasets.Example` rows.

Format: JSONL, one turn per line, any subset of the four tasks labelled (at least one)::

    {"text": "I want to speak to a person", "labels": {"human_requested": true, "sentiment": "negative"},
     "language": "en", "speaker": "customer"}

- ``labels`` may also be given as top-level keys (``{"text": ..., "escalation": 1}``); a key with ``null`` is
  unlabelled. Sentiment is ``negative`` / ``neutral`` / ``positive``; the binary tasks ``true``/``false`` or
  ``1``/``0``.
- ``language`` (or ``lang``): ``en``, ``nl`` or absent (then ``und``: the redactor runs every language's
  detectors and the evaluation reports the turns under ``und``). ``speaker``: ``customer`` (default),
  ``agent`` or ``bot``; as in serving, only customer turns can be escalations or requests for a human.
- ``channel``: ``voice``, ``chat``, ``email``, ``social`` or absent (checked, not used). Every turn is read as the
  worker reads it: a reply's own words, without the quoted history a mail program put below it
  (``IMON_QUOTED_HISTORY``, README "Email threads"), so a site's labelled emails, threads and all, are measured and
  trained on what the model sees in service.
- Other keys are ignored. A folder is read as every ``*.jsonl`` in it, sorted by name; the worker's feedback
  files (``feedback-*.jsonl``) are read with :func:`streams.feedback.read_examples`, so only the latest verdict
  on each alert counts.

Every text is redacted with the worker's :class:`streams.redaction.Redactor` first, exactly as the worker does
before it scores, so the model is measured on (and trained on) what it sees in service, and nothing read here
keeps the PII a file may hold. A file that breaks the format raises :class:`LabelledDataError`, which names
every bad line (the first 20) and why; nothing is read from it then, so no half-read file is ever measured.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from models.base import SENTIMENT_CLASSES
from models.datasets import TASKS, Example, _bucket

LANGUAGES = ("en", "nl")
SPEAKERS = ("customer", "agent", "bot")
MAX_TEXT_CHARS = 20_000
MAX_ERRORS_SHOWN = 20


class LabelledDataError(ValueError):
    """A labelled file that breaks the format; ``errors`` holds ``(path, line, reason)`` for every bad line."""

    def __init__(self, errors: Sequence[tuple[str, int, str]]) -> None:
        self.errors = list(errors)
        shown = "\n".join(f"  {p}:{n}: {r}" for p, n, r in self.errors[:MAX_ERRORS_SHOWN])
        more = len(self.errors) - MAX_ERRORS_SHOWN
        super().__init__(f"{len(self.errors)} bad line(s) in the labelled data:\n{shown}"
                         + (f"\n  ... and {more} more" if more > 0 else ""))


def _label(task: str, v: Any) -> int | None:
    """The label's index (sentiment) or 0/1 (binary tasks); None = unlabelled; ValueError with the reason."""
    if v is None:
        return None
    if task == "sentiment":
        if isinstance(v, str) and v.strip().lower() in SENTIMENT_CLASSES:
            return SENTIMENT_CLASSES.index(v.strip().lower())
        raise ValueError(f"sentiment must be one of {', '.join(SENTIMENT_CLASSES)}, got {v!r}")
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int) and v in (0, 1):
        return v
    raise ValueError(f"{task} must be true/false or 1/0, got {v!r}")


def parse_row(row: Any) -> tuple[str, dict[str, int | None], str, str]:
    """(text, labels, language, speaker) of one decoded line; ValueError with the reason."""
    if not isinstance(row, dict):
        raise ValueError(f"a line must be a JSON object, got {type(row).__name__}")
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError('"text" must be a non-empty string')
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f'"text" is longer than {MAX_TEXT_CHARS} characters')
    nested = row.get("labels")
    if nested is not None and not isinstance(nested, dict):
        raise ValueError('"labels" must be an object')
    source = nested if nested is not None else row
    unknown = sorted(k for k in (nested or {}) if k not in TASKS)
    if unknown:
        raise ValueError(f"unknown task(s) in labels: {', '.join(unknown)} (tasks: {', '.join(TASKS)})")
    labels = {t: _label(t, source.get(t)) for t in TASKS}
    if all(v is None for v in labels.values()):
        raise ValueError(f"no label: give at least one of {', '.join(TASKS)}")
    lang = row.get("language", row.get("lang"))
    if lang is None:
        lang = "und"
    elif not isinstance(lang, str) or lang.strip().lower() not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)} or absent, got {lang!r}")
    else:
        lang = lang.strip().lower()
    speaker = row.get("speaker", "customer")
    if speaker is None:
        speaker = "customer"
    if not isinstance(speaker, str) or speaker not in SPEAKERS:
        raise ValueError(f"speaker must be one of {', '.join(SPEAKERS)}, got {speaker!r}")
    return text, labels, lang, speaker


def _file_rows(path: Path) -> Iterable[tuple[int, Any]]:
    """(line number, decoded row) of a JSONL file; a line that is not JSON gives (n, ValueError)."""
    if path.name.startswith("feedback-"):
        return  # read once per folder by streams.feedback.read_examples (latest verdict per alert)
    with path.open("rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield n, ValueError("not UTF-8 text")
                continue
            if not line.strip():
                continue
            try:
                yield n, json.loads(line)
            except json.JSONDecodeError as e:
                yield n, ValueError(f"not JSON ({e.msg} at column {e.colno})")


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(path.glob("*.jsonl"))
    if path.is_file():
        return [path]
    raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))


#: Where the kept feedback rows of a folder are said to come from (errors name it; reports call the set "feedback").
FEEDBACK_ROWS = "feedback-*.jsonl"


CHANNELS = ("voice", "chat", "email", "social")


def load(paths: Sequence[str | Path], source: str = "labelled", history_cut: bool | None = None) -> list[Example]:
    """Every labelled turn in ``paths`` (files or folders), redacted, in file order; ``source`` prefixes each
    row's ``Example.source`` (``<source>:<file stem>``). ``history_cut``: read replies without the quoted history
    below them (None: as ``IMON_QUOTED_HISTORY`` says, like the worker). Raises
    :class:`LabelledDataError` naming every bad line, ``FileNotFoundError`` for a path that is not there, and
    ``ValueError`` when nothing labelled is found at all."""
    from streams.email_thread import html_to_text, own_words
    from streams.feedback import read_examples
    from streams.redaction import Redactor

    if history_cut is None:
        from streams.config import load_settings

        history_cut = load_settings().quoted_history == "cut"
    red = Redactor()
    out: list[Example] = []
    errors: list[tuple[str, int, str]] = []
    for p in map(Path, paths):
        files = _files(p)
        rows: list[tuple[Path, int, Any]] = [(f, n, r) for f in files for n, r in _file_rows(f)]
        if p.is_dir() and any(f.name.startswith("feedback-") for f in files):
            rows += [(p / FEEDBACK_ROWS, i + 1, r) for i, r in enumerate(read_examples(p))]
        for f, n, r in rows:
            try:
                if isinstance(r, ValueError):
                    raise r
                text, labels, lang, speaker = parse_row(r)
                channel = r.get("channel")
                if channel is not None and channel not in CHANNELS:
                    raise ValueError(f"channel must be one of {', '.join(CHANNELS)} or absent, got {channel!r}")
            except ValueError as e:
                errors.append((str(f), n, str(e)))
                continue
            red_text = red.redact(html_to_text(text), None if lang == "und" else lang).text.strip()
            if history_cut:
                red_text = own_words(red_text).text
            stem = "feedback" if f.name == FEEDBACK_ROWS else f.stem  # the set's name in reports
            out.append(Example(text=red_text, source=f"{source}:{stem}", lang=lang, speaker=speaker, labels=labels))
    if errors:
        raise LabelledDataError(errors)
    if not out:
        raise ValueError(f"no labelled turns in {', '.join(map(str, paths))}")
    return out


def split(exs: Sequence[Example], val_share: float = 0.2) -> tuple[list[Example], list[Example]]:
    """(train, validation) by a stable hash of each redacted text, so a turn (and every copy of it) always
    falls on the same side, on every machine and run."""
    if not 0.0 <= val_share < 1.0:
        raise ValueError(f"val_share must be in [0, 1), got {val_share}")
    cut = int(round(val_share * 1000))
    tr: list[Example] = []
    va: list[Example] = []
    for e in exs:
        (va if _bucket(e.text, 1000) < cut else tr).append(e)
    return tr, va


def counts(exs: Sequence[Example]) -> dict[str, dict[str, int]]:
    """Labelled rows per task and class, for logs and the heads' metadata (no text)."""
    out: dict[str, dict[str, int]] = {}
    for t in TASKS:
        c: dict[str, int] = {}
        for e in exs:
            v = e.label(t)
            if v is not None:
                k = SENTIMENT_CLASSES[v] if t == "sentiment" else str(v)
                c[k] = c.get(k, 0) + 1
        if c:
            out[t] = dict(sorted(c.items()))
    return out
