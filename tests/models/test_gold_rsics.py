"""The RSiCS gold set (models/gold_rsics.py, models/data/gold/RSICS.md): the sample is drawn as documented, the
label files are complete and valid, and scripts/gold_labelled.py writes them in the labelled format."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from models import datasets as D
from models import gold_rsics as R
from models import labelled as L

ROOT = Path(__file__).resolve().parents[2]


def test_the_sample_is_the_documented_one() -> None:
    rows = R.sample(D.default_data_dir())
    assert R.sample(D.default_data_dir()) == rows  # no randomness beyond the hash ranks
    by = Counter((r["stratum"], r["source"]) for r in rows)
    assert all(by[("random", s)] == R.PER_SOURCE_RANDOM for s in R.AGENT_SOURCES)
    assert sum(v for (st, _), v in by.items() if st == "flagged") == R.FLAGGED
    assert len({r["request_id"] for r in rows}) == len({r["text"] for r in rows}) == len(rows) == 300
    reqs = R.requests(D.default_data_dir())
    assert all("1" in (reqs[r["request_id"]]["rant"], reqs[r["request_id"]]["express_emotion"])
               for r in rows if r["stratum"] == "flagged")


def test_every_sampled_request_is_labelled_once_and_the_files_agree() -> None:
    labels = R.load_labels()
    rows = R.sample(D.default_data_dir())
    assert set(labels) == {r["request_id"] for r in rows}
    assert all(labels[r["request_id"]]["stratum"] == r["stratum"] for r in rows)
    second = R.load_labels("rsics_second.jsonl")
    assert set(second) == {r["request_id"] for r in rows if R.bucket("second", r["request_id"], 5) == 0}
    nl = [r for r in R.labelled_rows(D.default_data_dir(), "nl")]
    assert len(nl) == sum(1 for r in rows if R.bucket("nl", r["request_id"], 2) == 0)
    agree = R.agreement()
    assert agree["sentiment"]["n"] == len(second) and 0.0 <= agree["sentiment"]["agreement"] <= 1.0


def test_a_bad_label_is_named(tmp_path: Path) -> None:
    row = {"request_id": "1", "stratum": "random", "sentiment": "angry", "escalation": 0, "human_requested": 0,
           "unfair_treatment": 0}
    (tmp_path / "rsics_labels.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(ValueError, match="line 1: sentiment must be one of"):
        R.load_labels(gold_dir=tmp_path)
    (tmp_path / "rsics_labels.jsonl").write_text(json.dumps({**row, "sentiment": "neutral"}) + "\n" +
                                                 json.dumps({**row, "sentiment": "neutral"}) + "\n")
    with pytest.raises(ValueError, match="line 2: request_id 1 labelled twice"):
        R.load_labels(gold_dir=tmp_path)


def test_the_script_writes_a_stratum_in_the_labelled_format(tmp_path: Path) -> None:
    out = tmp_path / "rsics_flagged.jsonl"
    subprocess.run([sys.executable, "scripts/gold_labelled.py", "--set", "rsics", "--stratum", "flagged",
                    "--out", str(out)], cwd=ROOT, check=True, capture_output=True, text=True, timeout=120)
    got = L.load([out])
    want = [r for lang in ("en", "nl") for r in R.labelled_rows(D.default_data_dir(), lang) if r["stratum"] == "flagged"]
    assert len(got) == len(want) >= R.FLAGGED
    assert all(e.speaker == "customer" and e.labels["escalation"] in (0, 1) for e in got)
    assert [e.lang for e in got] == [r["language"] for r in want]
    bad = subprocess.run([sys.executable, "scripts/gold_labelled.py", "--set", "rsics", "--part", "test",
                          "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--set rsics takes --part eval or dev" in bad.stderr


def test_examples_are_the_labelled_rows_redacted_and_pairs_share_labels() -> None:
    data_dir = D.default_data_dir()
    for lang in ("en", "nl"):
        rows, exs = R.labelled_rows(data_dir, lang), R.examples(data_dir, lang)
        assert len(rows) == len(exs)
        assert [e.labels["escalation"] for e in exs] == [r["labels"]["escalation"] for r in rows]
        assert {e.source for e in exs} == {f"gold_rsics_{lang}"} and {e.speaker for e in exs} == {"customer"}
    assert len(R.examples(data_dir, "en", "random")) == 3 * R.PER_SOURCE_RANDOM
    pairs = R.pairs(data_dir)
    assert len(pairs) == len(R.examples(data_dir, "nl"))
    assert all(a.labels == b.labels and a.lang == "en" and b.lang == "nl" for a, b in pairs)
    with pytest.raises(ValueError, match="stratum must be one of"):
        R.examples(data_dir, "en", "angry")


def test_the_dev_part_is_disjoint_from_eval_and_labelled() -> None:
    data_dir = D.default_data_dir()
    ev, dev = R.sample(data_dir, "eval"), R.sample(data_dir, "dev")
    assert len(dev) == len(ev) and not {r["request_id"] for r in ev} & {r["request_id"] for r in dev}
    assert set(R.load_labels(R.PARTS["dev"])) == {r["request_id"] for r in dev}
    assert len(R.labelled_rows(data_dir, "nl", part="dev")) == sum(
        1 for r in dev if R.bucket("nl", r["request_id"], 2) == 0)
    with pytest.raises(ValueError, match="part must be one of"):
        R.sample(data_dir, "test")
