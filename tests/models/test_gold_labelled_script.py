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


def test_company_folds_split_a_half_into_two_disjoint_folds_of_about_equal_size(tmp_path: Path) -> None:
    data_dir = D.default_data_dir()
    folds = G.company_folds(data_dir, "dev")
    assert set(folds.values()) == {1, 2}
    turns = G.ibm_turns(data_dir)
    dev = [t for t in turns.values() if G.part_of(t["session_id"]) == "dev"]
    assert {t["company"] for t in dev} == set(folds)
    sizes = [sum(1 for t in dev if folds[t["company"]] == k) for k in (1, 2)]
    largest = max(sum(1 for t in dev if t["company"] == c) for c in folds)
    assert abs(sizes[0] - sizes[1]) <= largest  # greedy: never further apart than one company
    assert G.company_folds(data_dir, "dev") == folds  # deterministic
    written = {}
    for k in (1, 2):
        out = tmp_path / f"f{k}.jsonl"
        subprocess.run([sys.executable, "scripts/gold_labelled.py", "--part", "dev", "--company-fold", str(k),
                        "--lang", "en", "--out", str(out)], cwd=ROOT, check=True, capture_output=True, text=True,
                       timeout=120)
        written[k] = [e.text for e in L.load([out])]
    assert [len(written[1]), len(written[2])] == sizes  # every English turn of its companies, no other
    assert not set(written[1]) & set(written[2])
