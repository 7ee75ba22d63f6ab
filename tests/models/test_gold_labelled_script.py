"""scripts/gold_labelled.py writes a gold half in the labelled format that models.labelled reads back as the same
turns, languages, speakers and labels as models.gold gives (the stand-in for a site's own labelled turns)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from models import datasets as D
from models import gold as G
from models import labelled as L

ROOT = Path(__file__).resolve().parents[2]


def test_the_gold_test_half_round_trips_through_the_labelled_format(tmp_path: Path) -> None:
    out = tmp_path / "gold_test_nl.jsonl"
    subprocess.run([sys.executable, "scripts/gold_labelled.py", "--part", "test", "--lang", "nl", "--out", str(out)],
                   cwd=ROOT, check=True, capture_output=True, text=True, timeout=120)
    want = G.examples(D.default_data_dir(), "nl", "test")
    got = L.load([out])
    assert len(got) == len(want) > 100
    for a, b in zip(got, want, strict=True):
        assert (a.text, a.lang, a.speaker, a.labels) == (b.text, b.lang, b.speaker, b.labels)  # redaction is idempotent
