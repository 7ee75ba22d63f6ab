"""The synthetic EN/NL set: deterministic, held-out templates really held out, sane labels."""

from __future__ import annotations

import json
from collections import Counter

from models import synth
from models.datasets import synth_dir


def test_generation_is_deterministic() -> None:
    a = synth.generate(seed=5)
    b = synth.generate(seed=5)
    assert a == b
    assert synth.generate(seed=6)["train"] != a["train"]


def test_templates_are_partitioned_across_splits() -> None:
    for cat in synth.CATEGORIES:
        for lang in ("en", "nl"):
            tpls = getattr(cat, lang)
            folds = Counter(synth.template_fold(i) for i in range(len(tpls)))
            assert folds["train"] and folds["val"] and folds["test"], (cat.name, lang)


def test_no_test_text_in_training_and_both_languages_everywhere() -> None:
    out = synth.generate()
    train = {r["text"].lower() for r in out["train"]}
    assert not train & {r["text"].lower() for r in out["test"]}
    for split, rows in out.items():
        langs = Counter(r["lang"] for r in rows)
        assert langs["en"] > 100 and langs["nl"] > 100, split
        cats = {r["category"] for r in rows}
        assert cats == {c.name for c in synth.CATEGORIES}, split


def test_label_semantics_of_key_categories() -> None:
    rows = synth.generate()["train"]
    by = {}
    for r in rows:
        by.setdefault(r["category"], []).append(r["labels"])
    assert all(lab["human_requested"] == 1 and lab["escalation"] == 1 for lab in by["human_polite"])
    assert all(lab["unfair_treatment"] == 0 and lab["escalation"] == 0 for lab in by["neg_identity_mention"])
    assert all(lab["escalation"] == 0 for lab in by["neg_mild_complaint"])
    assert all(lab["unfair_treatment"] == 1 for lab in by["unfair_agent"])
    assert all(lab["sentiment"] == 2 for lab in by["neg_positive"])


def test_committed_files_match_the_generator() -> None:
    """models/data/*.jsonl are generated; regenerate with `python -m models.synth` after editing."""
    out = synth.generate()
    for split, rows in out.items():
        lines = (synth_dir() / f"synth_{split}.jsonl").read_text(encoding="utf-8").splitlines()
        assert [json.loads(x) for x in lines] == rows, split
