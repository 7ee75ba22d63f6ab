"""The fast path and the cascade (models/fastpath.py, models/cascade.py).

A tiny fast path is built once in a tmp folder from the real local encoder (``--limit 10``, 800 distilled
tokens): ~20-30 s. Routing is checked against a recording transformer double, so "every positive decision
comes from the transformer" is checked exactly; one test runs the real cascade end to end. No timing tests.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from models import datasets as D
from models.base import BINARY_TASKS, SENTIMENT_CLASSES, Utterance, UtteranceScore
from models.cascade import (
    DEFAULT_COVER,
    CascadeScorer,
    choose_bands,
    compare,
    coverage_band,
    load_cascade,
    route_mask,
)
from models.fastpath import FastPath, FastPathMissingError, check_fastpath_dir, distill, fastpath_files
from models.heads import default_heads_path
from models.scorer import TransformerScorer, load_scorer
from streams.config import Settings
from tests.models.sample_texts import TEXTS

pytestmark = pytest.mark.slow



@pytest.fixture(scope="module")
def fast_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from models.fastpath import build

    d = tmp_path_factory.mktemp("fastpath")
    args = argparse.Namespace(
        seed=13, limit=10, data_dir=None, build_dir=d / "emb", hidden=16, C=2.0, fast_path_dir=d / "fp",
        transformer_heads=None, fast_dims=32, fast_sif=1e-3, fast_max_vocab=800, fast_refine_epochs=1,
        cascade_max_loss=0.01,
        no_progress=True,
    )
    assert build(args, Settings(torch_threads=1)) == 0
    return d / "fp"


class RecordingTransformer:
    """Stands in for TransformerScorer: records what it is asked to score; its results are marked."""

    version = "tf-double"
    encoder = "double"
    heads = argparse.Namespace(meta={})
    preprocess = staticmethod(TransformerScorer.preprocess)

    def __init__(self) -> None:
        self.seen: list[str] = []

    @staticmethod
    def windows(texts: Sequence[str]) -> list[list[tuple[int, int]]]:  # "long" = over 300 characters here
        return [[(0, len(t))] if len(t) <= 300 else [(0, 300), (250, len(t))] for t in texts]

    @property
    def thresholds(self) -> dict[str, float]:
        return {t: 0.5 for t in BINARY_TASKS}

    def score(self, batch: Sequence[Utterance]) -> list[UtteranceScore]:
        self.seen += [u.text for u in batch]
        return [
            UtteranceScore(sentiment={"negative": 0.2, "neutral": 0.5, "positive": 0.3}, escalation=0.9,
                           human_requested=0.1, unfair_treatment=0.1,
                           labels={"sentiment": "neutral", "escalation": True, "human_requested": False,
                                   "unfair_treatment": False},
                           evidence={"escalation": [u.text]})
            for u in batch
        ]

    def warmup(self) -> None:
        pass


def _probs(n: int, **over: np.ndarray) -> dict[str, np.ndarray]:
    p = {"sentiment": np.tile(np.array([[0.1, 0.8, 0.1]]), (n, 1)), **{t: np.full(n, 0.05) for t in BINARY_TASKS}}
    p.update(over)
    return p


# --- files and errors -------------------------------------------------------------------------------


def test_missing_fast_path_gives_the_fix(tmp_path: Path) -> None:
    with pytest.raises(FastPathMissingError, match=r"imon train --fast-path"):
        check_fastpath_dir(tmp_path)
    with pytest.raises(FastPathMissingError, match=r"imon train --fast-path"):
        load_scorer(Settings(fast_path=True, fast_path_dir=tmp_path))
    with pytest.raises(FastPathMissingError):
        load_cascade(tmp_path, RecordingTransformer())  # type: ignore[arg-type]


def test_build_writes_small_files_with_bands_chosen_on_validation(fast_dir: Path) -> None:
    static, heads = fastpath_files(fast_dir)
    assert (static / "model.safetensors").is_file() and (static / "tokenizer.json").is_file()
    fp = FastPath.load(fast_dir)
    meta = fp.heads.meta
    cas = meta["cascade"]
    assert set(cas["bands"]) == {"sentiment", *BINARY_TASKS}
    assert all(0.0 <= b <= 1.0 for b in cas["bands"].values())
    assert "validation" in cas["chosen_on"]
    assert cas["cover"] == DEFAULT_COVER == {"human_requested": 1.0}  # rule 52: every request for a person routed
    assert cas["validation"]["left_to_fast_path"]["human_requested"] == 0 or cas["bands"]["human_requested"] == 1.0
    for t, r in cas["validation"]["tasks"].items():  # the stated target holds on validation
        assert r["cascade_loss"] <= 0.01 + 1e-9 or cas["bands"][t] >= 1.0, (t, r)
    assert meta["distillation"]["distilled_tokens"] == 800 and meta["distillation"]["dims"] == 32
    assert meta["distillation"]["refine"]["dims"] == 384  # the refinement's map is folded into the vectors
    assert meta["distilled_from_fingerprint"]
    assert set(fp.heads.thresholds) == set(BINARY_TASKS)
    x = fp.static.encode(["hello there", "I want a manager"])
    assert x.shape == (2, 384) and np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-4)


def test_distillation_is_deterministic() -> None:
    from models.encoder import load_encoder

    enc = load_encoder(None, threads=1)
    counts = np.zeros(len(enc.tokenizer), dtype=np.int64)
    counts[1000:1100] = np.arange(100, 0, -1)
    a, ma = distill(enc, counts, dims=8, max_vocab=40, progress=False)
    b, _ = distill(enc, counts, dims=8, max_vocab=40, progress=False)
    assert a.shape == (len(enc.tokenizer), 8) and ma["distilled_tokens"] == 40
    assert np.array_equal(a, b)
    assert np.count_nonzero(np.abs(a).sum(1)) == 40  # only the kept tokens have vectors


# --- routing ------------------------------------------------------------------------------------------


def test_band_routes_near_threshold_and_positive_only() -> None:
    thr = dict.fromkeys(BINARY_TASKS, 0.5)
    esc = np.array([0.05, 0.42, 0.47, 0.55, 0.47])
    p = _probs(5, escalation=esc)
    speakers = ["customer"] * 4 + ["agent"]
    zero = route_mask(p, thr, dict.fromkeys(("sentiment", *BINARY_TASKS), 0.0), speakers)
    assert zero.tolist() == [False, False, False, True, False]  # only the positive
    band = route_mask(p, thr, {"escalation": 0.05}, speakers)
    assert band.tolist() == [False, False, True, True, False]  # + within 0.05 below; agent turn never
    wide = route_mask(p, thr, {"escalation": 0.1}, speakers)
    assert wide.tolist() == [False, True, True, True, False]
    # unfair_treatment counts for agents too
    assert route_mask(_probs(1, unfair_treatment=np.array([0.6])), thr, {}, ["agent"]).tolist() == [True]


def test_sentiment_band_routes_negative_and_ambiguous() -> None:
    thr = dict.fromkeys(BINARY_TASKS, 0.5)
    s = np.array([[0.6, 0.3, 0.1], [0.1, 0.8, 0.1], [0.35, 0.45, 0.2], [0.05, 0.5, 0.45]])
    assert route_mask(_probs(4, sentiment=s), thr, {}, ["customer"] * 4).tolist() == [True, False, False, False]
    assert route_mask(_probs(4, sentiment=s), thr, {"sentiment": 0.12}, ["customer"] * 4).tolist() == [
        True, False, True, True]
    # the fast path's balanced decision (rule 44): [0.35, 0.45, 0.2] / prior is negative, so it is routed
    prior = np.array([0.25, 0.5, 0.25])
    assert route_mask(_probs(4, sentiment=s), thr, {}, ["customer"] * 4, sentiment_divisor=prior).tolist() == [
        True, False, True, False]


def test_choose_bands_meets_target_on_validation_data() -> None:
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 2, n)
    exs = [D.Example(text=str(i), source="v", labels={"sentiment": int(rng.integers(0, 3)), "escalation": int(y[i]),
                                                      "human_requested": int(y[i]), "unfair_treatment": int(y[i])})
           for i in range(n)]
    good = _probs(n, **{t: np.where(y == 1, 0.9, 0.1) for t in BINARY_TASKS})
    good["sentiment"] = np.eye(3)[[e.label("sentiment") for e in exs]] * 0.8 + 0.2 / 3
    thr = dict.fromkeys(BINARY_TASKS, 0.5)
    bands, rep = choose_bands(good, thr, good, thr, exs)  # identical paths: nothing needs a band
    assert all(b == 0.0 for b in bands.values())
    noisy = {t: np.clip(good[t] + rng.normal(0, 0.35, n), 0, 1) for t in BINARY_TASKS}
    noisy["sentiment"] = np.tile([[0.2, 0.5, 0.3]], (n, 1))
    bands, rep = choose_bands(noisy, thr, good, thr, exs)
    assert all(b > 0 for b in bands.values())
    for r in rep["tasks"].values():
        assert r["cascade_loss"] <= 0.01
    assert compare(noisy, thr, good, thr, exs, dict.fromkeys(bands, 1.0))["routed_fraction"] == 1.0


def test_cascade_sends_every_positive_to_the_transformer(fast_dir: Path) -> None:
    fast = FastPath.load(fast_dir)
    bands = fast.heads.meta["cascade"]["bands"]
    tf = RecordingTransformer()
    cas = CascadeScorer(fast, tf, bands)  # type: ignore[arg-type]
    batch = [Utterance(text=t, speaker="agent" if i == 2 else "customer") for i, t in enumerate(TEXTS)]
    res = cas.score(batch)
    assert len(res) == len(batch) and all(isinstance(r, UtteranceScore) for r in res)
    mask, probs = cas.route(batch)
    assert sorted(tf.seen) == sorted(u.text for u, m in zip(batch, mask, strict=True) if m)
    assert cas.scored == len(batch) and cas.routed == int(mask.sum())
    for u, r, m in zip(batch, res, mask, strict=True):
        assert set(r.labels) == {"sentiment", *BINARY_TASKS}
        assert sum(r.sentiment.values()) == pytest.approx(1.0)
        assert set(r.sentiment) == set(SENTIMENT_CLASSES)
        if m:
            assert r.evidence == {"escalation": [u.text]}  # the transformer's own result, in order
        else:  # kept on the fast path: nothing alert-worthy, no evidence
            assert not any(r.labels[t] for t in BINARY_TASKS) and r.labels["sentiment"] != "negative"
            assert r.evidence == {}
    # fast-path positives always route, whatever the band
    zero = CascadeScorer(fast, RecordingTransformer(), dict.fromkeys(bands, 0.0))  # type: ignore[arg-type]
    m0, p0 = zero.route(batch)
    pos = (p0["sentiment"].argmax(1) == 0) | (p0["unfair_treatment"] >= fast.heads.thresholds["unfair_treatment"])
    assert (m0 | ~pos).all()
    # a band at least as wide as every threshold routes everything; a wider band never routes less
    everything = CascadeScorer(fast, RecordingTransformer(), dict.fromkeys(bands, 1.0))  # type: ignore[arg-type]
    assert everything.route(batch)[0].all()
    assert (cas.route(batch)[0] | ~m0).all()
    assert cas.score([]) == []
    # a text the transformer reads in windows always goes to it, whatever the fast path says
    long = Utterance(text="Thanks, that is all clear now. " * 12)
    assert zero.route([long])[0].tolist() == [True]


def test_load_scorer_returns_the_real_cascade(fast_dir: Path) -> None:
    sc = load_scorer(Settings(fast_path=True, fast_path_dir=fast_dir, torch_threads=1))
    assert isinstance(sc, CascadeScorer)
    assert sc.thresholds == sc.transformer.thresholds
    assert not isinstance(load_scorer(Settings(torch_threads=1)), CascadeScorer)  # off: unchanged
    r = sc.score([Utterance(text="I want to speak to a real person right now"), Utterance(text="thanks!")])
    assert r[0].labels["human_requested"] and r[0].evidence["human_requested"]
    assert sc.routed >= 1
    assert default_heads_path().is_file()


def test_compare_reports_the_transformers_own_flag_share_as_the_routing_floor() -> None:
    exs = [D.Example(text=str(i), source="v", labels={"sentiment": 1, "escalation": 0}) for i in range(20)]
    thr = dict.fromkeys(BINARY_TASKS, 0.5)
    neg = np.tile([[0.1, 0.8, 0.1]], (20, 1))
    neg[:5] = [0.8, 0.1, 0.1]  # 5 negative
    tf = _probs(20, sentiment=neg, escalation=np.r_[np.full(3, 0.9), np.full(17, 0.1)])  # 3 of them also escalate
    tf["human_requested"][19] = 0.9  # and one neutral turn asks for a person
    r = compare(_probs(20), thr, tf, thr, exs, dict.fromkeys(BINARY_TASKS, 0.0))
    assert r["transformer_flagged_fraction"] == pytest.approx(6 / 20)
    assert r["routed_fraction"] == 0.0  # the fast path saw nothing: a floor, not what this cascade routed
    # every one of the transformer's flags was left to the fast path, counted per task
    assert r["transformer_positives"] == {"sentiment_negative": 5, "escalation": 3, "human_requested": 1,
                                          "unfair_treatment": 0}
    assert r["left_to_fast_path"] == r["transformer_positives"]
    # against the gold labels: every turn is neutral and none escalates, so each flag left behind is a false one
    # (human_requested and unfair_treatment are unlabelled here: neither true nor false)
    assert r["left_to_fast_path_gold"] == {"sentiment_negative": {"true": 0, "false": 5},
                                           "escalation": {"true": 0, "false": 3},
                                           "human_requested": {"true": 0, "false": 0},
                                           "unfair_treatment": {"true": 0, "false": 0}}
    exs2 = [D.Example(text=str(i), source="v", labels={"sentiment": 0 if i < 2 else 1, "escalation": int(i < 2)})
            for i in range(20)]  # two of the transformer's negatives and escalations are right by gold
    g = compare(_probs(20), thr, tf, thr, exs2, dict.fromkeys(BINARY_TASKS, 0.0))["left_to_fast_path_gold"]
    assert g["sentiment_negative"] == {"true": 2, "false": 3} and g["escalation"] == {"true": 2, "false": 1}
    assert compare(_probs(20), thr, tf, thr, exs, dict.fromkeys(BINARY_TASKS, 1.0) | {"sentiment": 1.0}
                   )["left_to_fast_path"] == dict.fromkeys(r["transformer_positives"], 0)


def test_coverage_floor_routes_the_transformers_own_requests_for_a_person() -> None:
    """rule 52: the human_requested band is raised until the routing sends the chosen share of the
    transformer's own positive decisions (customer turns) on validation to it; the floor only widens."""
    n = 200
    speakers = ["customer"] * (n - 10) + ["agent"] * 10
    # the other tasks: both paths alike, two classes each (a task without both classes gets band 1: all routed)
    exs = [D.Example(text=str(i), source="v", speaker=speakers[i],
                     labels={"sentiment": i % 2, "escalation": int(i % 7 == 0), "human_requested": int(i < 20),
                             "unfair_treatment": int(i % 7 == 0)})
           for i in range(n)]
    thr = dict.fromkeys(BINARY_TASKS, 0.5)
    tf_hr = np.r_[np.full(20, 0.9), np.full(n - 30, 0.1), np.full(10, 0.9)]  # 20 requests; agents never count
    fast_hr = np.r_[np.linspace(0.05, 0.45, 20), np.full(n - 30, 0.02), np.full(10, 0.9)]  # the fast path misses
    tf, fast = _probs(n, human_requested=tf_hr), _probs(n, human_requested=fast_hr)
    positives = tf_hr >= 0.5
    positives[-10:] = False  # agent turns are never human_requested (models.heads.decide)
    assert coverage_band(fast, thr, positives, speakers, "human_requested", 1.0) == pytest.approx(0.45)
    # half of them: the 10 highest fast probabilities start at 0.05 + 10 * 0.4 / 19 = 0.2605 -> band 0.24
    assert coverage_band(fast, thr, positives, speakers, "human_requested", 0.5) == pytest.approx(0.24)
    assert coverage_band(fast, thr, positives, speakers, "human_requested", 0.0) == 0.0
    assert coverage_band(fast, thr, np.zeros(n, bool), speakers, "human_requested", 1.0) == 0.0
    with pytest.raises(ValueError, match="binary task"):
        coverage_band(fast, thr, positives, speakers, "sentiment", 1.0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        coverage_band(fast, thr, positives, speakers, "human_requested", 1.5)
    plain, rep0 = choose_bands(fast, thr, tf, thr, exs, max_loss=0.2)  # loss-based only: a narrow band
    assert rep0["cover"] == {} and rep0["left_to_fast_path"]["human_requested"] > 0
    floored, rep = choose_bands(fast, thr, tf, thr, exs, max_loss=0.2, cover={"human_requested": 1.0})
    assert floored["human_requested"] == pytest.approx(max(0.45, plain["human_requested"]))
    assert rep["left_to_fast_path"]["human_requested"] == 0
    assert rep["cover"] == {"human_requested": {"share": 1.0, "floor_band": pytest.approx(0.45),
                                                "transformer_positives": 20}}
    assert {t: b for t, b in floored.items() if t != "human_requested"} == \
        {t: b for t, b in plain.items() if t != "human_requested"}


def test_cascade_version_names_its_bands(fast_dir: Path) -> None:
    fast = FastPath.load(fast_dir)
    a = CascadeScorer(fast, RecordingTransformer(), {"sentiment": 0.36, "escalation": 0.04,  # type: ignore[arg-type]
                                                     "human_requested": 0.2, "unfair_treatment": 0.12})
    b = CascadeScorer(fast, RecordingTransformer(), {"sentiment": 0.36, "escalation": 0.04,  # type: ignore[arg-type]
                                                     "human_requested": 0.0, "unfair_treatment": 0.12})
    assert a.version.endswith(".b36-4-20-12") and b.version.endswith(".b36-4-0-12")
    assert a.version.startswith("tf-double+fast.")


def test_bands_only_re_bands_an_existing_fast_path_without_distilling(fast_dir: Path, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """`imon train --fast-path --bands-only`: the same validation choice as the build, with a coverage floor
    when asked; the static vectors and heads are left as they are."""
    import shutil

    from models import train

    d = tmp_path / "fp"
    shutil.copytree(fast_dir, d)
    static, heads = fastpath_files(d)
    weights = (static / "model.safetensors").read_bytes()
    built = FastPath.load(d).heads.meta["cascade"]
    p = argparse.ArgumentParser()
    train.add_arguments(p)
    common = ["--fast-path", "--bands-only", "--fast-path-dir", str(d), "--limit", "10", "--seed", "13",
              "--build-dir", str(fast_dir.parent / "emb")]
    assert train.run(p.parse_args(common), Settings(torch_threads=1)) == 0  # no floor: the build's own bands
    again = FastPath.load(d).heads.meta["cascade"]
    assert again["bands"] == built["bands"] and again["validation"] == built["validation"]
    assert train.run(p.parse_args([*common, "--cascade-cover", "human_requested=1"]), Settings(torch_threads=1)) == 0
    fp = FastPath.load(d)
    cas = fp.heads.meta["cascade"]
    assert cas["cover"] == {"human_requested": 1.0} and "human_requested routes >= 1" in cas["target"]
    assert cas["bands"]["human_requested"] >= built["bands"]["human_requested"]
    assert cas["validation"]["left_to_fast_path"]["human_requested"] == 0 or cas["bands"]["human_requested"] == 1.0
    assert (static / "model.safetensors").read_bytes() == weights
    assert fp.heads.meta["version"] == FastPath.load(fast_dir).heads.meta["version"]
    assert "re-banded fast path" in capsys.readouterr().out
    for bad in ("human_requested", "sentiment=1", "human_requested=2", "human_requested=x"):
        with pytest.raises(SystemExit):
            p.parse_args(["--cascade-cover", bad])
    for alone in (["--bands-only"], ["--cascade-cover", "human_requested=1"]):  # without --fast-path: usage error
        with pytest.raises(SystemExit) as e:
            train.run(p.parse_args(alone), Settings(torch_threads=1))
        assert e.value.code == 2 and f"{alone[0]} goes with --fast-path" in capsys.readouterr().err
    from models import evaluate

    pe = argparse.ArgumentParser()
    evaluate.add_arguments(pe)
    assert evaluate.run(pe.parse_args(["--cascade-bands", "human_requested=0.3"]), Settings(torch_threads=1)) == 2
    assert "--cascade-bands goes with --cascade" in capsys.readouterr().err
    for bad in ("human_requested", "sentimnet=0.1", "escalation=1.5"):
        with pytest.raises(SystemExit):
            pe.parse_args(["--cascade-bands", bad])


def test_evaluate_cascade_reports_real_text_and_real_requests(fast_dir: Path, tmp_path: Path) -> None:
    """Quality on the gold test half and the RSiCS requests, and speed on the RSiCS random requests, beside the
    synthetic set and the simulated stream (a quick run: every set capped, one round, no timing asserted)."""
    from models.cascade import evaluate_cascade, format_cascade
    from models.embcache import EmbeddingCache

    tf = load_scorer(Settings(torch_threads=1))
    assert isinstance(tf, TransformerScorer)
    built = FastPath.load(fast_dir).heads.meta["cascade"]["bands"]
    rep = evaluate_cascade(tf, FastPath.load(fast_dir), EmbeddingCache(tf.enc, tmp_path), D.default_data_dir(),
                           limit=10, seed=13, stream_n=32, batch_size=32, rounds=1, progress=False,
                           bands={"human_requested": 1.0})  # what-if: every customer turn routed
    assert rep["built_bands"] == built and rep["bands"] == built | {"human_requested": 1.0}
    q = rep["quality"]
    assert {"gold_ibm_en_test", "gold_ibm_nl_test", "gold_rsics_en", "gold_rsics_nl", "gold_rsics_en_random",
            "gold_rsics_nl_random"} <= set(q)
    for name in ("gold_rsics_en_random", "gold_rsics_nl_random"):
        assert q[name]["n"] == 60 and 0 <= q[name]["transformer_flagged_fraction"] <= 1
    rs = rep["speed"]["rsics_random_requests"]
    assert rs["utterances"] == 120 and 0 <= rs["routed_fraction"] <= 1 and rs["ratio_median"] > 0
    for r in q.values():  # a band of 1 leaves none of the transformer's requests for a person to the fast path
        assert r["left_to_fast_path"]["human_requested"] == 0
    text = format_cascade(rep)
    assert "real requests (RSiCS random, 120 utterances)" in text and "gold_ibm_nl_test" in text
    assert "transformer flags left to the fast path:" in text and text.startswith("bands {")
    with pytest.raises(ValueError, match="unknown task"):
        evaluate_cascade(tf, FastPath.load(fast_dir), EmbeddingCache(tf.enc, tmp_path), D.default_data_dir(),
                         limit=10, bands={"sentimnet": 0.1})
