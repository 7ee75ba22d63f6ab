"""The gold set (real customer-care turns labelled by hand): complete, valid, never trained on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models import gold as G
from models.datasets import default_data_dir

DATA = default_data_dir()


def test_every_ibm_turn_is_labelled_once_with_its_role() -> None:
    labels = G.load_labels()
    turns = G.ibm_turns(DATA)
    assert set(labels) == set(turns), "the gold set labels every IBM customer-care turn, and only those"
    assert all(labels[t]["role"] == turns[t]["role"] for t in labels)
    customer = [r for r in labels.values() if r["role"] == "customer"]
    # the set has positives for every task, else its macro-F1 says nothing
    for t in ("escalation", "human_requested", "unfair_treatment"):
        assert sum(r[t] for r in labels.values() if r[t] is not None) >= 5, t
    assert {r["sentiment"] for r in customer} == {"negative", "neutral", "positive"}


def test_second_labelling_and_dutch_cover_subsets() -> None:
    labels = G.load_labels()
    second = G.load_labels("ibm_second.jsonl")
    assert 200 <= len(second) < len(labels) and set(second) <= set(labels)
    nl = [json.loads(x) for x in (G.GOLD_DIR / "ibm_nl.jsonl").read_text(encoding="utf-8").splitlines()]
    ids = [r["tweet_id"] for r in nl]
    assert len(ids) == len(set(ids)) and set(ids) <= set(labels) and len(ids) >= 500
    assert all(isinstance(r["text_nl"], str) and r["text_nl"].strip() for r in nl)


def test_examples_are_redacted_and_carry_labels() -> None:
    en, nl = G.examples(DATA, "en"), G.examples(DATA, "nl")
    assert len(en) == len(G.load_labels()) and 500 <= len(nl) < len(en)
    assert all(e.lang == "nl" for e in nl) and {e.speaker for e in en} == {"customer", "agent"}
    assert not any("://" in e.text and "<URL>" not in e.text for e in en), "links are redacted as in the worker"
    assert all(e.label("escalation") is None for e in en if e.speaker == "agent")
    with pytest.raises(ValueError, match="lang"):
        G.examples(DATA, "de")


def test_gold_text_is_never_in_training_or_validation_data() -> None:
    from models import datasets as D

    gold = {e.text.lower() for e in G.examples(DATA, "en")} | {e.text.lower() for e in G.examples(DATA, "nl")}
    for split in ("train", "val"):
        seen = {e.text.lower() for e in D.load_split(DATA, split, None, 13)}
        assert not gold & seen, f"gold text found in the {split} split"


def _write(tmp: Path, rows: list[dict]) -> Path:
    (tmp / "ibm_labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return tmp


@pytest.mark.parametrize(
    ("row", "msg"),
    [
        ({"sentiment": "angry"}, "sentiment must be"),
        ({"role": "agent", "escalation": 0}, "customer-turn task"),
        ({"unfair_treatment": 2}, "must be 0 or 1"),
        ({"tweet_id": ""}, "tweet_id missing"),
    ],
)
def test_bad_label_files_are_refused_with_the_line(tmp_path: Path, row: dict, msg: str) -> None:
    ok = {"tweet_id": "1", "role": "customer", "sentiment": "neutral", "escalation": 0, "human_requested": 0,
          "unfair_treatment": 0}
    bad = {**ok, "tweet_id": "2", **row}
    if bad.get("role") == "agent":
        bad["human_requested"] = None
    with pytest.raises(ValueError, match=f"line 2: .*{msg}"):
        G.load_labels(gold_dir=_write(tmp_path, [ok, bad]))
    with pytest.raises(ValueError, match="labelled twice"):
        G.load_labels(gold_dir=_write(tmp_path, [ok, ok]))


def test_cohen_kappa_and_bootstrap() -> None:
    assert G.cohen_kappa([0, 1, 1, 0], [0, 1, 1, 0]) == pytest.approx(1.0)
    # 20 items: agree on 15 (10 zeros, 5 ones): p_o = .75; a has 12 zeros, b 13: p_e = .6*.65 + .4*.35 = .53
    a = [0] * 12 + [1] * 8
    b = [0] * 10 + [1] * 2 + [0] * 3 + [1] * 5
    assert G.cohen_kappa(a, b) == pytest.approx((0.75 - 0.53) / (1 - 0.53))
    with pytest.raises(ValueError):
        G.cohen_kappa([0], [0, 1])
    x = np.arange(200, dtype=float)
    lo, hi = G.bootstrap_ci(lambda i: float(x[i].mean()), len(x))
    assert lo < x.mean() < hi and hi - lo < 40


def test_agreement_is_reported_per_task() -> None:
    ag = G.agreement()
    assert set(ag) == {"sentiment", "escalation", "human_requested", "unfair_treatment"}
    assert all(0 <= r["agreement"] <= 1 and r["n"] >= 100 for r in ag.values())


def test_evaluate_reports_the_gold_set_with_intervals() -> None:
    """The shipped heads on a slice of the gold set through `imon evaluate`'s own report function."""
    from models.embcache import EmbeddingCache
    from models.encoder import load_encoder
    from models.evaluate import _eval_set
    from models.heads import Heads, default_heads_path
    from streams.config import Settings

    s = Settings()
    enc = load_encoder(s.encoder_dir, device="cpu", threads=2, adapter=s.encoder_adapter)
    exs = G.examples(DATA, "en", "dev")[:160]
    r = _eval_set(Heads.load(default_heads_path()), EmbeddingCache(enc, None).encode([e.text for e in exs]), exs,
                  ci=True)
    assert {"sentiment", "escalation"} <= set(r)
    for task in r.values():
        lo, hi = task["macro_f1_ci"]
        assert 0 <= lo <= task["macro_f1"] <= hi <= 1
    assert r["escalation"]["n"] == sum(e.speaker == "customer" for e in exs), "agent turns are not scored for escalation"
    # the confusion matrices add up to the rows scored, and the printed report carries them and the PR-AUC
    for task in r.values():
        assert sum(map(sum, task["confusion"])) == task["n"] and 0 <= task["pr_auc"] <= 1
    assert sum(row[2] for row in r["sentiment"]["confusion"]) / r["sentiment"]["n"] == r["sentiment"]["share_positive"]
    from models.evaluate import format_confusion, format_report

    assert "PR-AUC" in format_report({"gold": r}).splitlines()[0]
    lines = format_confusion({"gold": r}).splitlines()
    assert len(lines) == 1 + len(r) and all(str(t["confusion"][0][0]) in "".join(lines) for t in r.values())


def test_pairs_are_the_same_turn_in_both_languages() -> None:
    pairs = G.pairs(DATA, "dev")
    assert len(pairs) == len(G.examples(DATA, "nl", "dev")) >= 250
    for en, nl in pairs:
        assert (en.lang, nl.lang) == ("en", "nl") and en.speaker == nl.speaker and en.labels == nl.labels
    assert sum(en.text != nl.text for en, nl in pairs) > 0.9 * len(pairs)
    assert len(G.pairs(DATA)) == len(G.pairs(DATA, "dev")) + len(G.pairs(DATA, "test"))


def test_language_consistency_compares_the_same_turns_in_english_and_dutch() -> None:
    """`imon evaluate`'s EN-vs-NL report with the shipped heads and the real encoder: on a slice of real pairs
    it counts what it says; a pair whose two sides are the same text differs by exactly nothing."""
    from models.embcache import EmbeddingCache
    from models.encoder import load_encoder
    from models.evaluate import format_language_consistency, language_consistency
    from models.heads import Heads, default_heads_path
    from streams.config import Settings

    s = Settings()
    enc = load_encoder(s.encoder_dir, device="cpu", threads=2, adapter=s.encoder_adapter)
    cache = EmbeddingCache(enc, None)
    heads = Heads.load(default_heads_path())
    pairs = G.pairs(DATA, "dev")[:120]
    r = language_consistency(heads, lambda t: cache.encode(t, progress=False), pairs)
    assert set(r) == {"sentiment", "escalation", "human_requested", "unfair_treatment"}
    assert r["escalation"]["n"] == sum(en.speaker == "customer" for en, _ in pairs) < r["sentiment"]["n"] == 120
    for t in r.values():
        lo, hi = t["mean_diff_ci"]
        assert lo <= t["mean_diff"] <= hi and t["mean_diff"] == pytest.approx(t["mean_nl"] - t["mean_en"], abs=1e-6)
        assert 0 <= t["flagged_en"] <= t["n"] and 0 <= t["flagged_nl"] <= t["n"] and 0 <= t["agreement"] <= 1
    same = language_consistency(heads, lambda t: cache.encode(t, progress=False), [(en, en) for en, _ in pairs])
    assert all(t["mean_diff"] == 0 and t["agreement"] == 1 for t in same.values())
    assert "escalation" in format_language_consistency({"dev": r})
