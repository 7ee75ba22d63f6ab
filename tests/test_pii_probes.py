"""The blind PII probes (models/data/probes/pii_blind*.jsonl: contact-centre texts written by helpers that could not
read the redactor) stay where they are: no text makes the redactor fail, the share of gold spans found whole does not
fall, and no more texts without personal data lose anything. Floors are the figures of 7 Dec 2026 (probes 3 and 4:
after session 46's answer rule; probes 4 to 6: after session 47's name rules) less a margin of a few spans;
docs/PRIVACY.md has the figures and the blind ones."""

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
        # Company accounts whose words name no organisation are redacted like a person's handle (rule 55):
        # probes 1, 2, 3 and 5 have 1, 2, 1 and 1 "clean" texts that lose one.
        ("pii_blind.jsonl", False, 0.88, 7),
        ("pii_blind2.jsonl", False, 0.84, 12),  # 5 of its "clean" texts hold a plate its writer did not label
        ("pii_blind3.jsonl", False, 0.82, 12),
        ("pii_blind4.jsonl", False, 0.82, 19),
        ("pii_blind5.jsonl", False, 0.82, 20),
        ("pii_blind6.jsonl", False, 0.74, 6),
        ("pii_blind7.jsonl", False, 0.74, 5),  # 4 of its clean texts name a company's account by its brand alone
        # a call as the worker gets it: one event per turn through Processor.prepare, with its memory
        ("pii_blind3.jsonl", True, 0.82, 12),
        ("pii_blind4.jsonl", True, 0.81, 19),
        ("pii_blind5.jsonl", True, 0.81, 20),
        ("pii_blind6.jsonl", True, 0.73, 6),
        ("pii_blind7.jsonl", True, 0.73, 5),
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
    # probe 4's and 5's writers labelled last-four digits as CARD and SSN: not a whole identifier, and not redacted;
    # probe 6's labelled a bare BSN in a signature (no cue: see the xfail in tests/test_redaction.py), "card ending
    # 4410" and an IP address read out in words
    structured = {
        "pii_blind4.jsonl": ("EMAIL", "IBAN", "BSN", "IP", "URL"),
        "pii_blind5.jsonl": ("EMAIL", "IBAN", "BSN", "IP", "URL"),
        "pii_blind6.jsonl": ("EMAIL", "IBAN", "SSN", "URL"),
        # probe 7's writer was told numbers need only look real: an IBAN one character short, Luhn-invalid cards
        "pii_blind7.jsonl": ("EMAIL", "URL"),
    }.get(probe, ("EMAIL", "CARD", "IBAN", "BSN", "SSN", "IP", "URL"))
    for typ in structured:
        got = report["per"].get(typ)
        if got:  # the structured types with checksums or a fixed shape lose at most their spoken forms
            assert got.get("missed", 0) == 0, (typ, got)
