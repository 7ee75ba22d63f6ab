"""The written rows (models/data/written.jsonl) and the per-language class balance they came with."""

from __future__ import annotations

import csv
import json
from collections import Counter

import numpy as np
import pytest

from models import datasets as D
from models.gold import GOLD_DIR
from models.train import _balanced_weights

ROWS = [json.loads(x) for x in (D.synth_dir() / D.WRITTEN_FILE).read_text(encoding="utf-8").splitlines()]
#: batch 3, kept apart: not in training (models/data/WRITTEN.md, docs/experiments/rule_4.md)
BATCH3 = [json.loads(x) for x in (D.synth_dir() / "written_batch3.jsonl").read_text(encoding="utf-8").splitlines()]
#: batch 4 (unfair_treatment on both sides of its boundary): trains unfair_treatment only (rule 19)
BATCH4 = [json.loads(x) for x in (D.synth_dir() / "written_batch4.jsonl").read_text(encoding="utf-8").splitlines()]
#: batch 5 (near misses that talk about people, and reports): kept apart unless --written-batch 5=... (rule 20)
BATCH5 = [json.loads(x) for x in (D.synth_dir() / "written_batch5.jsonl").read_text(encoding="utf-8").splitlines()]
#: batch 6 (escalation on both sides of its boundary in ordinary requests; rule 51)
BATCH6 = [json.loads(x) for x in (D.synth_dir() / "written_batch6.jsonl").read_text(encoding="utf-8").splitlines()]
#: Dutch translations of English training rows, kept apart too (docs/experiments/rule_5.md)
TRANSLATED = [json.loads(x) for x in
              (D.synth_dir() / "written_nl_translations.jsonl").read_text(encoding="utf-8").splitlines()]


def test_written_rows_are_valid_unique_and_balanced_over_languages() -> None:
    assert len(ROWS) == 5082  # batch 1 (2,690) + batch 2 (2,392), models/data/WRITTEN.md
    assert Counter(r["lang"] for r in ROWS) == {"en": 2524, "nl": 2558}
    assert len(BATCH3) == 1795 and Counter(r["lang"] for r in BATCH3) == {"en": 600, "nl": 1195}
    assert len(TRANSLATED) == 1200 and {r["lang"] for r in TRANSLATED} == {"nl"}
    assert len(BATCH4) == 600 and Counter((r["lang"], r["unfair_treatment"]) for r in BATCH4) == {
        ("nl", 1): 203, ("nl", 0): 197, ("en", 1): 100, ("en", 0): 100}
    assert len(BATCH5) == 600 and Counter((r["lang"], r["unfair_treatment"]) for r in BATCH5) == {
        ("nl", 1): 120, ("nl", 0): 280, ("en", 1): 60, ("en", 0): 140}
    assert len(BATCH6) == 600 and Counter((r["lang"], r["escalation"]) for r in BATCH6) == {
        ("nl", 1): 150, ("nl", 0): 150, ("en", 1): 150, ("en", 0): 150}
    assert {r["speaker"] for r in BATCH6} == {"customer"}
    kept_apart = BATCH3 + BATCH4 + BATCH5 + BATCH6 + TRANSLATED
    assert len({r["text"].strip().lower() for r in ROWS + kept_apart}) == len(ROWS) + len(kept_apart)
    for r in ROWS + kept_apart:
        assert r["sentiment"] in ("negative", "neutral", "positive") and r["speaker"] in ("customer", "agent")
        assert all(r[t] in (0, 1) for t in ("escalation", "human_requested", "unfair_treatment"))
        if r["speaker"] == "agent":
            assert r["escalation"] == r["human_requested"] == 0
    for lang in ("en", "nl"):  # every task has positives and negatives in both languages
        for t in ("escalation", "human_requested", "unfair_treatment"):
            c = Counter(r[t] for r in ROWS if r["lang"] == lang)
            assert c[0] > 0 and c[1] >= 50, (lang, t)


def test_written_split_is_disjoint_and_stable() -> None:
    tr, va = D.written("train"), D.written("val")
    assert not {e.text for e in tr} & {e.text for e in va}
    assert len(tr) + len(va) == len(ROWS) and 0.15 < len(va) / len(ROWS) < 0.25
    assert [e.text for e in D.written("val")] == [e.text for e in va]
    assert {e.source for e in tr} == {"written:en", "written:nl"}
    with pytest.raises(ValueError, match="train and val"):
        D.written("test")


def test_a_written_batch_carries_only_the_tasks_it_is_asked_for_and_splits_like_the_written_rows() -> None:
    """Rules 17 and 19: a written batch trains and validates the tasks named, its other labels left out, on the
    same text hash as written.jsonl; with no task it adds nothing; unknown batches and tasks are refused."""
    tasks = ("sentiment", "unfair_treatment")
    tr, va = D.written_batch(3, "train", tasks), D.written_batch(3, "val", tasks)
    assert len(tr) + len(va) == len(BATCH3) and not {e.text for e in tr} & {e.text for e in va}
    assert 0.15 < len(va) / len(BATCH3) < 0.25
    by_text = {r["text"]: r for r in BATCH3}
    for e in tr + va:
        assert set(e.labels) == set(tasks) and e.source == f"written3:{e.lang}"
        assert e.label("escalation") is None and e.label("human_requested") is None
        assert e.label("unfair_treatment") == by_text[e.text]["unfair_treatment"]
        assert D.SENTIMENT_CLASSES[e.label("sentiment")] == by_text[e.text]["sentiment"]
    assert D.written_batch(3, "train", ()) == []
    with pytest.raises(ValueError, match="unknown task"):
        D.written_batch(3, "train", ("escalatoin",))
    with pytest.raises(ValueError, match="no written batch"):
        D.written_batch(7, "train", tasks)
    with pytest.raises(ValueError, match="train and val"):
        D.written_batch(3, "test", tasks)


def test_written_batch_option_parses_and_refuses_bad_values() -> None:
    import argparse

    from models import train

    p = argparse.ArgumentParser()
    train.add_arguments(p)
    a = p.parse_args(["--written-batch", "3=sentiment, unfair_treatment", "--written-batch", "4="])
    assert dict(a.written_batch) == {3: ("sentiment", "unfair_treatment"), 4: ()}
    for bad in ("9=sentiment", "3", "x=sentiment", "3=escalatoin"):
        with pytest.raises(SystemExit):
            p.parse_args(["--written-batch", bad])


def test_written_rows_are_not_gold_text() -> None:
    def norm(t: str) -> str:
        return " ".join(t.lower().split())

    gold = {norm(json.loads(x)["text"]) for x in
            (D.default_data_dir() / "ibm_twitter_customer_care" / "utterances.jsonl").read_text(encoding="utf-8").splitlines()}
    gold |= {norm(json.loads(x)["text_nl"]) for x in
             (GOLD_DIR / "ibm_nl.jsonl").read_text(encoding="utf-8").splitlines()}
    assert len(gold) > 1500
    with (D.default_data_dir() / "rsics_customer_service" / "rsics_tagged_selections.csv").open(encoding="utf-8") as f:
        gold |= {norm(r["text"]) for r in csv.DictReader(f)}  # the second real-text set (models/gold_rsics.py)
    gold |= {norm(json.loads(x)["text_nl"]) for x in (GOLD_DIR / "rsics_nl.jsonl").read_text(encoding="utf-8").splitlines()}
    assert not gold & {norm(r["text"]) for r in ROWS + BATCH3 + BATCH4 + BATCH5 + BATCH6 + TRANSLATED}


def test_class_balance_within_each_language_removes_the_language_signal() -> None:
    # English: 10 % positives; Dutch: 60 % positives (the synthetic Dutch skew)
    y = np.array([1] * 10 + [0] * 90 + [1] * 60 + [0] * 40)
    lang = np.array(["en"] * 100 + ["nl"] * 100)
    w = np.ones(len(y))
    plain, within = _balanced_weights(y, w), _balanced_weights(y, w, lang)
    assert plain[y == 1].sum() == pytest.approx(plain[y == 0].sum())
    share = {g: plain[(lang == g) & (y == 1)].sum() / plain[lang == g].sum() for g in ("en", "nl")}
    assert share["nl"] > 0.7 and share["en"] < 0.2, "overall balance leaves Dutch mostly positive"
    for g in ("en", "nl"):
        m = lang == g
        assert within[m & (y == 1)].sum() == pytest.approx(within[m & (y == 0)].sum())
        assert within[m].sum() == pytest.approx(100.0), "each language keeps its total weight"
    assert within.mean() == pytest.approx(1.0)


def test_no_blind_probe_row_is_a_written_row() -> None:
    """The probes (models/data/probes/blind*.jsonl) measure; nothing may train on them."""
    written = {" ".join(r["text"].lower().split()) for r in ROWS + BATCH3 + BATCH4 + BATCH5 + BATCH6 + TRANSLATED}
    probes = sorted((D.synth_dir() / "probes").glob("blind*.jsonl"))
    assert len(probes) >= 5
    for path in probes:
        for line in path.read_text(encoding="utf-8").splitlines():
            assert " ".join(json.loads(line)["text"].lower().split()) not in written, path.name
