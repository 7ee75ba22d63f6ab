"""The blind PII probes (models/data/probes/pii_blind*.jsonl: contact-centre texts written by helpers that could not
read the redactor) stay where they are: no text makes the redactor fail, the share of gold spans found whole does not
fall, and no more texts without personal data lose anything. Floors are the figures of 7 Dec 2026 (probes 3 and 4:
after session 46's answer rule) less a margin of a few spans; docs/PRIVACY.md has the figures and the blind ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("probe", "turns", "whole_floor", "clean_touched_max"),
    [
        ("pii_blind.jsonl", False, 0.88, 6),
        ("pii_blind2.jsonl", False, 0.84, 5),
        ("pii_blind3.jsonl", False, 0.82, 11),
        ("pii_blind4.jsonl", False, 0.75, 19),
        ("pii_blind5.jsonl", False, 0.74, 19),
        # a call as the worker gets it: one event per turn through Processor.prepare, with its memory
        ("pii_blind3.jsonl", True, 0.82, 11),
        ("pii_blind4.jsonl", True, 0.75, 19),
        ("pii_blind5.jsonl", True, 0.73, 19),
    ],
)
def test_blind_probe_does_not_regress(
    tmp_path: Path, probe: str, turns: bool, whole_floor: float, clean_touched_max: int
) -> None:
    out = tmp_path / "probe.json"
    subprocess.run(
        [sys.executable, "scripts/pii_probe.py", "--probe", f"models/data/probes/{probe}", "--json", str(out)]
        + (["--turns"] if turns else []),
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    report = json.loads(out.read_text())
    every = report["per"]["all"]
    assert report["failed"] == []
    assert every["whole"] / every["gold"] >= whole_floor, every
    assert report["clean_texts_touched"] <= clean_touched_max
    # probe 4's writer labelled last-four digits as CARD and SSN: not a whole identifier, and not redacted
    structured = ("EMAIL", "IBAN", "BSN", "IP", "URL") if probe in ("pii_blind4.jsonl", "pii_blind5.jsonl") else (
        "EMAIL", "CARD", "IBAN", "BSN", "SSN", "IP", "URL"
    )
    for typ in structured:
        got = report["per"].get(typ)
        if got:  # the structured types with checksums or a fixed shape lose at most their spoken forms
            assert got.get("missed", 0) == 0, (typ, got)
