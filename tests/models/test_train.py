"""A tiny `imon train --limit` run is reproducible: same seed -> identical heads."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from models import train
from streams.config import Settings

pytestmark = pytest.mark.slow


def _run(out, build, seed: int) -> None:
    p = argparse.ArgumentParser()
    train.add_arguments(p)
    args = p.parse_args(["--limit", "6", "--seed", str(seed), "--out", str(out), "--build-dir", str(build), "--no-eval"])
    assert train.run(args, Settings(torch_threads=2)) == 0


def test_train_limit_is_reproducible(tmp_path) -> None:
    build = tmp_path / "build"  # shared cache: the second run re-uses the first run's embeddings
    a, b = tmp_path / "a" / "heads.npz", tmp_path / "b" / "heads.npz"
    _run(a, build, seed=7)
    _run(b, build, seed=7)
    with np.load(a) as za, np.load(b) as zb:
        assert sorted(za.files) == sorted(zb.files)
        for k in za.files:
            np.testing.assert_array_equal(za[k], zb[k])
    ma, mb = (json.loads(p.with_suffix(".json").read_text()) for p in (a, b))
    assert ma["thresholds"] == mb["thresholds"] and ma["version"] == mb["version"]
    assert ma["seed"] == 7 and ma["limit"] == 6
    ra, rb = (json.loads((p.parent / "reference_scores.json").read_text()) for p in (a, b))
    assert ra == rb and "escalation" in ra


def test_shared_prior_weights_give_every_language_the_english_class_shares() -> None:
    from models.train import _shared_prior_weights

    y = np.array([1] * 10 + [0] * 90 + [1] * 60 + [0] * 40)
    lang = np.array(["en"] * 100 + ["nl"] * 100)
    w = _shared_prior_weights(y, lang)
    for g in ("en", "nl"):
        m = lang == g
        assert w[m].sum() == pytest.approx(100.0), "each language keeps its total weight"
        assert w[m & (y == 1)].sum() / w[m].sum() == pytest.approx(0.10), "positive share of the English rows"
    assert np.allclose(w[lang == "en"], 1.0)
    pooled = _shared_prior_weights(y, np.array(["nl"] * 200))  # no English rows: the pooled shares
    assert np.allclose(pooled, 1.0)


def test_weighted_threshold_counts_weighted_precision() -> None:
    from models.calibration import threshold_for_precision

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    p = np.clip(0.35 * y + rng.uniform(0, 0.65, 400), 0, 1)
    assert threshold_for_precision(p, y, 0.8) == threshold_for_precision(p, y, 0.8, w=np.ones(400))
    fewer_positives = np.where(y == 1, 0.25, 1.0)  # positives count a quarter: precision is harder to reach
    assert threshold_for_precision(p, y, 0.8, w=fewer_positives)[0] > threshold_for_precision(p, y, 0.8)[0]


def test_threshold_rows_own_leaves_proxy_sources_out_of_the_unfair_threshold_only() -> None:
    """Rule 18: with threshold_rows="own" the unfair_treatment threshold is chosen at its precision target on the
    validation rows that are not from Davidson / TweetEval hate or offensive; every other task, the calibration
    and the scores are as with "all"."""
    from models.base import BINARY_TASKS
    from models.calibration import threshold_for_precision
    from models.datasets import Example

    rng = np.random.default_rng(3)

    def rows(n: int, source: str) -> tuple[np.ndarray, list[Example]]:
        y = rng.integers(0, 2, n)
        x = rng.normal(size=(n, 6)).astype(np.float32)
        x[:, 0] += 2.5 * y - 1.2  # a separable-ish signal in one direction
        if source.startswith("davidson"):  # a proxy whose negatives score like positives: its labels mean
            x[y == 0, 0] += 2.0  # something else, so precision measured on it is not precision of our label
        exs = [Example(text=f"{source} {i}", source=source, lang="en",
                       labels={"sentiment": int(v) * 2 if i % 5 else 1, **{t: int(v) for t in BINARY_TASKS}})
               for i, v in enumerate(y)]
        return x, exs

    parts = [rows(300, "synth:en"), rows(300, "davidson")]
    X_tr = np.vstack([p[0] for p in parts])
    tr = [e for p in parts for e in p[1]]
    parts_va = [rows(200, "synth:en"), rows(200, "davidson")]
    X_va = np.vstack([p[0] for p in parts_va])
    va = [e for p in parts_va for e in p[1]]
    kw = {"seed": 1, "hidden": 0, "progress": False, "lexical": False}
    a = train.train_heads(X_tr, tr, X_va, va, threshold_rows="all", **kw)
    o = train.train_heads(X_tr, tr, X_va, va, threshold_rows="own", **kw)
    t = "unfair_treatment"
    own = np.array([not e.source.startswith("davidson") for e in va])
    p = o.binary[t].proba(X_va)
    y = np.array([e.label(t) for e in va])
    expected, _ = threshold_for_precision(p[own], y[own], train.DEFAULT_TARGET_PRECISION[t])
    assert o.thresholds[t] == expected and o.thresholds[t] < a.thresholds[t]
    for other in BINARY_TASKS:
        np.testing.assert_array_equal(o.binary[other].proba(X_va), a.binary[other].proba(X_va))
        if other != t:
            assert o.thresholds[other] == a.thresholds[other]
    np.testing.assert_array_equal(o.sentiment.proba(X_va), a.sentiment.proba(X_va))
    assert o.meta["threshold_rows"] == "own"
    with pytest.raises(ValueError, match="threshold_rows"):
        train.train_heads(X_tr, tr, X_va, va, threshold_rows="some", **kw)


def test_balanced_sentiment_decision_records_the_validation_class_shares() -> None:
    """Rule 44: ``sentiment_decision="balanced"`` leaves every probability as with argmax and stores the class
    shares of the sentiment-labelled validation rows as the prior the labels divide out; the version hash
    tells the two apart."""
    from models.base import BINARY_TASKS
    from models.datasets import Example

    rng = np.random.default_rng(5)

    def rows(n: int) -> tuple[np.ndarray, list[Example]]:
        y = rng.choice(3, size=n, p=[0.2, 0.6, 0.2])
        x = rng.normal(size=(n, 6)).astype(np.float32)
        x[:, 0] += 1.5 * (y - 1)
        exs = [Example(text=f"t {i}", source="synth:en", lang="en",
                       labels={"sentiment": int(v), **{t: int(v == 0) for t in BINARY_TASKS}}) for i, v in enumerate(y)]
        return x, exs

    (X_tr, tr), (X_va, va) = rows(400), rows(300)
    kw = {"seed": 1, "hidden": 0, "progress": False, "lexical": False}
    a = train.train_heads(X_tr, tr, X_va, va, **kw)
    b = train.train_heads(X_tr, tr, X_va, va, sentiment_decision="balanced", **kw)
    assert a.sentiment_prior is None
    shares = np.bincount([e.label("sentiment") for e in va], minlength=3) / len(va)
    np.testing.assert_allclose(b.sentiment_prior, shares)
    np.testing.assert_array_equal(a.sentiment.proba(X_va), b.sentiment.proba(X_va))
    assert a.thresholds == b.thresholds
    assert train.content_digest(a) != train.content_digest(b)
    with pytest.raises(ValueError, match="sentiment_decision"):
        train.train_heads(X_tr, tr, X_va, va, sentiment_decision="vote", **kw)


def test_identity_directions_make_the_sentiment_head_blind_to_them() -> None:
    """Rule 47: with ``identity_directions`` the sentiment head is fitted on embeddings with the directions the
    counterfactual copies differ in projected out, and the projection is folded into it: moving an input along
    such a direction no longer moves its sentiment, though the training rows tied that direction to sentiment."""
    from models.base import BINARY_TASKS
    from models.datasets import Example

    rng = np.random.default_rng(7)

    def rows(n: int, cda_groups: int = 0) -> tuple[np.ndarray, list[Example]]:
        y = rng.choice(3, size=n, p=[0.3, 0.4, 0.3])
        x = rng.normal(size=(n, 6)).astype(np.float32)
        x[:, 0] += 1.5 * (y - 1)
        x[:, 3] += 0.8 * (y - 1)  # the "identity" direction, spuriously tied to sentiment in the data
        exs = [Example(text=f"t {i}", source="synth:en", lang="en",
                       labels={"sentiment": int(v), **{t: int(v == 0) for t in BINARY_TASKS}}) for i, v in enumerate(y)]
        for g in range(cda_groups):  # three copies of one utterance that differ only along dimension 3
            base = rng.normal(size=6).astype(np.float32)
            for _ in range(3):
                v = base.copy()
                v[3] += rng.normal() * 2
                x = np.vstack([x, v])
                exs.append(Example(text=f"c {g}", source=f"cda:{g}:synth:en", lang="en", labels={"sentiment": 1}))
        return x, exs

    (X_tr, tr), (X_va, va) = rows(600, cda_groups=60), rows(300)
    kw = {"seed": 1, "hidden": 0, "progress": False, "lexical": False}
    a = train.train_heads(X_tr, tr, X_va, va, **kw)
    b = train.train_heads(X_tr, tr, X_va, va, identity_directions=1, **kw)
    shift = np.zeros(6, dtype=np.float32)
    shift[3] = 2.0
    assert np.abs(a.sentiment.proba(X_va + shift) - a.sentiment.proba(X_va)).mean() > 0.01
    np.testing.assert_allclose(b.sentiment.proba(X_va + shift), b.sentiment.proba(X_va), atol=1e-3)
    assert b.meta["identity_projection"]["k"] == 1 and b.meta["identity_projection"]["residual_share"] > 0.9
    for t in BINARY_TASKS:  # the binary heads are not touched
        np.testing.assert_array_equal(a.binary[t].proba(X_va), b.binary[t].proba(X_va))
    assert train.content_digest(a) != train.content_digest(b)
    with pytest.raises(ValueError, match="identity_directions"):
        train.train_heads(X_tr, tr, X_va, va, identity_directions=-1, **kw)


def test_head_seeds_fold_into_one_head_that_serves_the_mean_of_their_logits() -> None:
    """Rule 48: ``_fit_mlp_seeds`` fits one MLP per seed and folds them into one wider MLP whose logits are
    exactly the mean of theirs, so the heads file keeps its layout; one seed is ``_fit_mlp`` itself."""
    from models.heads import SentimentHead

    rng = np.random.default_rng(3)
    y = rng.choice(3, size=400)
    X = rng.normal(size=(400, 5)).astype(np.float32)
    X[:, 0] += y - 1
    w = np.ones(len(y))
    kw = {"epochs": 2, "progress": False}
    singles = [train._fit_mlp(X, y, w, 3, 8, seed, **kw) for seed in (5, 6, 7)]
    W1, b1, W2, b2 = train._fit_mlp_seeds(X, y, w, 3, 8, 5, 3, **kw)
    assert W1.shape == (24, 5) and b1.shape == (24,) and W2.shape == (3, 24) and b2.shape == (3,)
    assert W1.dtype == W2.dtype == np.float32
    folded = SentimentHead(W=W2, b=b2, W1=W1, b1=b1).logits(X)
    mean = np.mean([SentimentHead(W=s[2], b=s[3], W1=s[0], b1=s[1]).logits(X) for s in singles], axis=0)
    np.testing.assert_allclose(folded, mean, rtol=1e-5, atol=1e-5)
    assert not np.allclose(singles[0][2], singles[1][2])  # the seeds really differ
    one = train._fit_mlp_seeds(X, y, w, 3, 8, 5, 1, **kw)
    for a, b in zip(one, singles[0], strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="seeds"):
        train._fit_mlp_seeds(X, y, w, 3, 8, 5, 0, **kw)


def test_head_seeds_need_mlp_heads_and_are_recorded() -> None:
    from models.base import BINARY_TASKS
    from models.datasets import Example

    rng = np.random.default_rng(4)

    def rows(n: int) -> tuple[np.ndarray, list[Example]]:
        y = rng.choice(3, size=n)
        x = rng.normal(size=(n, 4)).astype(np.float32)
        x[:, 0] += 1.5 * (y - 1)
        return x, [Example(text=f"t {i}", source="synth:en", lang="en",
                           labels={"sentiment": int(v), **{t: int(v == 0) for t in BINARY_TASKS}}) for i, v in enumerate(y)]

    (X_tr, tr), (X_va, va) = rows(300), rows(200)
    kw = {"seed": 2, "progress": False, "lexical": False}
    with pytest.raises(ValueError, match="hidden"):
        train.train_heads(X_tr, tr, X_va, va, hidden=0, head_seeds=2, **kw)
    with pytest.raises(ValueError, match="head_seeds"):
        train.train_heads(X_tr, tr, X_va, va, hidden=8, head_seeds=0, **kw)
    h = train.train_heads(X_tr, tr, X_va, va, hidden=8, head_seeds=2, **kw)
    assert h.meta["head_seeds"]["seeds"] == [2, 3]
    assert h.sentiment.W1.shape == (16, 4) and all(b.W1.shape == (16, 4) for b in h.binary.values())


def test_extra_data_joins_training_and_validation_and_is_recorded(tmp_path) -> None:
    """`imon train --extra-data`: a site's labelled turns are split by a hash of their text into training and
    validation rows, weighted, and recorded (counts only, no text) in the heads' metadata."""
    extra = tmp_path / "site.jsonl"
    rows = [{"text": f"I want to speak to a person about bill {i}", "human_requested": True, "language": "en"}
            for i in range(20)]
    rows += [{"text": f"Wat kost abonnement {i} per maand?", "labels": {"human_requested": False, "sentiment": "neutral"},
              "language": "nl"} for i in range(20)]
    extra.write_text("".join(json.dumps(r) + "\n" for r in rows))
    p = argparse.ArgumentParser()
    train.add_arguments(p)
    out = tmp_path / "h" / "heads.npz"
    args = p.parse_args(["--limit", "6", "--seed", "3", "--out", str(out), "--build-dir", str(tmp_path / "b"), "--no-eval",
                         "--extra-data", str(extra), "--extra-weight", "3"])
    assert train.run(args, Settings(torch_threads=2)) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    ed = meta["extra_data"]
    assert ed["weight"] == 3.0 and ed["val_share"] == 0.2 and ed["paths"] == [str(extra)]
    n_tr = sum(ed["train"]["human_requested"].values())
    n_va = sum(ed["validation"].get("human_requested", {}).values())
    assert n_tr + n_va == 40 and n_va > 0 and n_tr > n_va
    assert meta["training_data"]["train"]["extra"]["rows"] == n_tr
    assert meta["training_data"]["validation"]["extra"]["rows"] == n_va
    assert "I want to speak" not in json.dumps(meta)  # counts only, never text


def test_a_bad_extra_data_file_stops_at_once_with_status_2(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "escalation": "maybe"}\n')
    p = argparse.ArgumentParser()
    train.add_arguments(p)
    for argv, msg in (([ "--extra-data", str(bad)], f"{bad}:1: escalation must be true/false"),
                      (["--extra-data", str(bad), "--extra-weight", "0"], "--extra-weight must be > 0")):
        with pytest.raises(SystemExit) as e:
            train.run(p.parse_args(argv), Settings(torch_threads=2))
        assert e.value.code == 2 and msg in capsys.readouterr().err


def test_extra_tasks_keep_only_the_chosen_labels(tmp_path, caplog) -> None:
    """--extra-tasks: the extra turns train the chosen tasks only; turns left with no label are dropped, and a
    choice that leaves none is a usage error."""
    import logging

    extra = tmp_path / "site.jsonl"
    rows = [{"text": f"turn {i}", "labels": {"sentiment": "neutral", "escalation": i % 2}} for i in range(10)]
    rows += [{"text": f"only escalation {i}", "escalation": True} for i in range(5)]
    extra.write_text("".join(json.dumps(r) + "\n" for r in rows))
    p = argparse.ArgumentParser()
    train.add_arguments(p)
    args = p.parse_args(["--extra-data", str(extra), "--extra-tasks", "sentiment", "--extra-val-share", "0"])
    assert args.extra_tasks == ("sentiment",)
    with caplog.at_level(logging.INFO, logger="models.train"):
        tr, va = train._extra_data(args)
    assert len(tr) == 10 and va == []
    assert all(e.labels["sentiment"] == 1 and e.labels["escalation"] is None for e in tr)
    assert "'sentiment': {'neutral': 10}" in caplog.text and "escalation" not in caplog.text.split("labels per task")[1]
    assert train._extra_summary(args, tr, va)["tasks"] == ["sentiment"]
    with pytest.raises(SystemExit) as e:
        train._extra_data(p.parse_args(["--extra-data", str(extra), "--extra-tasks", "unfair_treatment"]))
    assert e.value.code == 2
    assert p.parse_args(["--extra-tasks", "sentiment, escalation,"]).extra_tasks == ("sentiment", "escalation")
    for bad in ("", "sentimnet"):
        with pytest.raises(SystemExit):
            p.parse_args(["--extra-tasks", bad])
