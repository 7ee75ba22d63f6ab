"""Heads, calibration, thresholds, label map and evidence: pure numpy, no network."""

from __future__ import annotations

import json

import numpy as np
import pytest

from models.base import BINARY_TASKS, SENTIMENT_CLASSES
from models.calibration import (
    auc,
    binary_report,
    ece_binary,
    fit_platt,
    fit_temperature,
    sentiment_report,
    threshold_for_precision,
)
from models.encoder import TokenStates
from models.heads import BinaryHead, Heads, SentimentHead, decide, sentiment_decisions, sigmoid, softmax
from models.scorer import MAX_OCCLUSIONS, _windows, explain

DIM = 8


def make_heads(thr: float = 0.5) -> Heads:
    rng = np.random.default_rng(0)
    sent = SentimentHead(W=rng.normal(size=(3, DIM)).astype(np.float32), b=np.zeros(3, np.float32), temperature=1.3)
    binary = {
        t: BinaryHead(w=rng.normal(size=DIM).astype(np.float32), b=0.1, platt_a=0.8, platt_c=-0.2)
        for t in BINARY_TASKS
    }
    return Heads(sentiment=sent, binary=binary, thresholds=dict.fromkeys(BINARY_TASKS, thr), meta={"name": "t"})


def test_predict_shapes_and_sentiment_sums_to_one() -> None:
    h = make_heads()
    x = np.random.default_rng(1).normal(size=(5, DIM)).astype(np.float32)
    p = h.predict(x)
    assert p["sentiment"].shape == (5, 3)
    np.testing.assert_allclose(p["sentiment"].sum(1), 1.0, rtol=1e-6)
    for t in BINARY_TASKS:
        assert p[t].shape == (5,)
        assert ((p[t] >= 0) & (p[t] <= 1)).all()


def test_predict_rejects_wrong_dim() -> None:
    with pytest.raises(ValueError):
        make_heads().predict(np.zeros((2, DIM + 1)))


def test_decide_label_map_and_threshold_is_inclusive() -> None:
    probs = {
        "sentiment": np.array([[0.7, 0.2, 0.1], [0.1, 0.2, 0.7], [0.2, 0.6, 0.2]]),
        "escalation": np.array([0.5, 0.49, 0.9]),
        "human_requested": np.array([0.0, 1.0, 0.5]),
        "unfair_treatment": np.array([0.2, 0.2, 0.95]),
    }
    labels = decide(probs, dict.fromkeys(BINARY_TASKS, 0.5))
    assert [lab["sentiment"] for lab in labels] == ["negative", "positive", "neutral"]
    assert [lab["escalation"] for lab in labels] == [True, False, True]
    assert [lab["human_requested"] for lab in labels] == [False, True, True]
    assert all(isinstance(lab[t], bool) for lab in labels for t in BINARY_TASKS)


def test_decide_agent_turns_never_request_a_human_or_escalate() -> None:
    probs = {"sentiment": np.array([[0.8, 0.1, 0.1]] * 2)} | {t: np.array([0.99, 0.99]) for t in BINARY_TASKS}
    labels = decide(probs, dict.fromkeys(BINARY_TASKS, 0.5), ["agent", "customer"])
    assert labels[0]["human_requested"] is False and labels[0]["escalation"] is False
    assert labels[0]["unfair_treatment"] is True  # agents can be abusive/biased
    assert labels[1]["human_requested"] is True


def test_heads_roundtrip(tmp_path) -> None:
    h = make_heads(0.37)
    npz, meta = h.save(tmp_path / "h.npz")
    assert npz.exists() and meta.exists()
    h2 = Heads.load(npz)
    x = np.random.default_rng(2).normal(size=(4, DIM)).astype(np.float32)
    for k, v in h.predict(x).items():
        np.testing.assert_allclose(v, h2.predict(x)[k], rtol=1e-6)
    assert h2.thresholds == pytest.approx(dict.fromkeys(BINARY_TASKS, 0.37))


def test_sigmoid_softmax_are_stable() -> None:
    assert sigmoid(np.array([-1000.0, 0.0, 1000.0])) == pytest.approx([0.0, 0.5, 1.0])
    assert np.isfinite(softmax(np.array([[1000.0, 0.0, -1000.0]]))).all()


def test_threshold_reaches_target_precision() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(2000) < 0.3).astype(int)
    p = np.clip(0.5 * y + rng.normal(0.25, 0.2, size=2000), 0, 1)
    thr, rule = threshold_for_precision(p, y, 0.9)
    assert rule.startswith("precision")
    rep = binary_report(p, y, thr)
    assert rep["precision"] >= 0.9
    # lowest such threshold: a little lower must fall below the target
    assert binary_report(p, y, thr - 0.02)["precision"] < 0.9 or thr <= 0.05


def test_threshold_falls_back_to_f1_when_target_unreachable() -> None:
    y = np.array([0, 1, 0, 1, 0, 1])
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    thr, rule = threshold_for_precision(p, y, 0.99)
    assert "F1" in rule and 0.05 <= thr <= 0.9


def test_platt_and_temperature_improve_calibration() -> None:
    rng = np.random.default_rng(4)
    z = rng.normal(size=5000)
    y = (rng.random(5000) < sigmoid(0.5 * z - 0.3)).astype(int)
    overconfident = 4 * z
    a, c = fit_platt(overconfident, y)
    assert a == pytest.approx(0.125, rel=0.2) and c == pytest.approx(-0.3, abs=0.15)
    assert ece_binary(sigmoid(a * overconfident + c), y) < ece_binary(sigmoid(overconfident), y)

    logits = rng.normal(size=(3000, 3)) * 3
    yy = np.array([rng.choice(3, p=softmax(row / 3)) for row in logits])
    assert fit_temperature(logits, yy) == pytest.approx(3.0, rel=0.2)


def test_metrics_known_values() -> None:
    y = np.array([0, 0, 1, 1])
    assert auc(np.array([0.1, 0.2, 0.8, 0.9]), y) == 1.0
    assert auc(np.array([0.5, 0.5, 0.5, 0.5]), y) == 0.5
    probs = np.eye(3)[[0, 1, 2, 2]]
    r = sentiment_report(probs, np.array([0, 1, 2, 1]))
    assert r["macro_recall"] == pytest.approx((1 + 0.5 + 1) / 3)
    # per class: recall over the true rows, precision over the decided ones, share of the decided labels
    assert (r["recall_negative"], r["recall_neutral"], r["recall_positive"]) == (1.0, 0.5, 1.0)
    assert (r["precision_negative"], r["precision_neutral"], r["precision_positive"]) == (1.0, 1.0, 0.5)
    assert (r["share_negative"], r["share_neutral"], r["share_positive"]) == (0.25, 0.25, 0.5)
    assert r["confusion"] == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]  # rows true, columns decided
    # positive: its two top scores tie, one of them positive (0.5); neutral: 1 at the top, then 2 of 4 (0.75)
    assert (r["pr_auc_negative"], r["pr_auc_positive"]) == (1.0, 0.5) and r["pr_auc_neutral"] == pytest.approx(0.75)
    b = binary_report(np.array([0.9, 0.8, 0.3, 0.2, 0.7]), np.array([1, 0, 1, 0, 0]), 0.5)
    assert b["confusion"] == [[1, 2], [1, 1]]  # [[tn, fp], [fn, tp]]
    # average precision: the positive at 0.9 (precision 1) and the one at 0.3 (2 of the top 4): (1 + 0.5) / 2
    assert b["pr_auc"] == pytest.approx(0.75)


def test_average_precision_ties_enter_together_and_bounds() -> None:
    from models.calibration import average_precision

    y = np.array([1, 0, 1, 0])
    assert average_precision(np.array([0.5, 0.5, 0.5, 0.5]), y) == pytest.approx(0.5)  # one tie: the positive rate
    assert average_precision(np.array([0.9, 0.1, 0.8, 0.2]), y) == 1.0
    assert average_precision(np.array([0.1, 0.9, 0.2, 0.8]), y) == pytest.approx((1 / 3 + 2 / 4) / 2)
    assert np.isnan(average_precision(np.array([0.3, 0.4]), np.array([0, 0])))


def test_windows_are_bounded_and_cover_the_text() -> None:
    # every length, long ones included: until 2026-12-04 texts of 49-192 words and more were cut to their
    # first 48 windows, so the end of a long text (often where a threat or a request stands) had no evidence
    for n in [*range(1, 400), 1000, 5000]:
        wins = _windows(n)
        assert 0 < len(wins) <= MAX_OCCLUSIONS, n
        assert all(0 <= a < b <= n for a, b in wins)
        covered = set()
        for a, b in wins:
            covered.update(range(a, b))
        assert covered == set(range(n)), n
    assert _windows(0) == []


def _bow_tokens(text: str, vocab: list[str]) -> TokenStates:
    """Fake encoder output: [CLS] + one one-hot vector per whitespace word + [SEP], with char offsets."""
    vecs, wids, offs = [np.full(len(vocab), 0.1, np.float32)], [None], [(0, 0)]
    pos = 0
    for w, word in enumerate(text.split()):
        start = text.index(word, pos)
        pos = start + len(word)
        v = np.zeros(len(vocab), np.float32)
        key = word.lower().strip(",.!?")
        if key in vocab:
            v[vocab.index(key)] = 1.0
        vecs.append(v)
        wids.append(w)
        offs.append((start, pos))
    vecs.append(np.full(len(vocab), 0.1, np.float32))
    wids.append(None)
    offs.append((0, 0))
    return TokenStates(np.stack(vecs), wids, np.array(offs))


def test_occlusion_evidence_finds_the_driving_words() -> None:
    vocab = ["manager", "human", "hello", "bill", "idiot", "terrible"]
    w_hr = np.array([3.0, 3.0, 0, 0, 0, 0], np.float32)
    w_un = np.array([0, 0, 0, 0, 4.0, 0], np.float32)
    heads = Heads(
        sentiment=SentimentHead(W=np.array([[0, 0, 0, 0, 1, 3], [0] * 6, [0] * 6], np.float32), b=np.zeros(3, np.float32)),
        binary={
            "escalation": BinaryHead(w=w_hr, b=-1),
            "human_requested": BinaryHead(w=w_hr, b=-1),
            "unfair_treatment": BinaryHead(w=w_un, b=-1),
        },
        thresholds=dict.fromkeys(BINARY_TASKS, 0.5),
    )
    texts = ["hello I need a manager about my bill", "you idiot, the service is terrible!"]
    toks = [_bow_tokens(t, vocab) for t in texts]
    ev = explain(texts, [["human_requested"], ["unfair_treatment", "sentiment"]], toks, heads)
    assert any("manager" in p for p in ev[0]["human_requested"])
    assert all("hello" not in p and "bill" not in p for p in ev[0]["human_requested"])
    assert any("idiot" in p for p in ev[1]["unfair_treatment"])
    assert any("terrible" in p for p in ev[1]["sentiment"])
    assert all(p == p.strip(",.!? ") and p in texts[1] for p in ev[1]["sentiment"])  # verbatim substrings
    assert "escalation" not in ev[0]  # only what was asked for


def test_explain_skips_texts_without_positives() -> None:
    toks = [_bow_tokens("a b c", ["a"]), None]
    assert explain(["a b c", "d e"], [[], ["escalation"]], toks, make_heads()) == [{}, {}]


def test_sentiment_classes_order_is_the_contract() -> None:
    assert SENTIMENT_CLASSES == ("negative", "neutral", "positive")


def test_hidden_layer_heads_roundtrip_and_match_torch(tmp_path) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    W1, b1 = rng.normal(size=(4, DIM)).astype(np.float32), rng.normal(size=4).astype(np.float32)
    h = make_heads()
    h.sentiment = SentimentHead(W=rng.normal(size=(3, 4)).astype(np.float32), b=np.zeros(3, np.float32), W1=W1, b1=b1)
    h.binary["escalation"] = BinaryHead(w=rng.normal(size=4).astype(np.float32), b=0.2, W1=W1, b1=b1)
    x = rng.normal(size=(6, DIM)).astype(np.float32)
    lin = torch.nn.Linear(DIM, 4)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(W1))
        lin.bias.copy_(torch.from_numpy(b1))
        ref = torch.nn.GELU(approximate="tanh")(lin(torch.from_numpy(x))).numpy() @ h.binary["escalation"].w + 0.2
    np.testing.assert_allclose(h.binary["escalation"].logit(x), ref, rtol=1e-4, atol=1e-5)
    h.save(tmp_path / "m.npz")
    h2 = Heads.load(tmp_path / "m.npz")
    assert h2.dim == DIM
    for k, v in h.predict(x).items():
        np.testing.assert_allclose(v, h2.predict(x)[k], rtol=1e-5)


class _OneCharTokens:
    """Tokenizer double for text_windows: one token per character; a "word" is a run of non-spaces (as for
    tokenizers that split words on spaces only, so text without spaces is one long word)."""

    def __call__(self, texts, **_kw):  # noqa: ANN001, ANN204
        offs, wids = [], []
        for t in texts:
            o = [(k, k + 1) for k, ch in enumerate(t) if ch != " "]
            w, ids, prev = -1, [], -2
            for a, _ in o:
                w += a != prev + 1
                ids.append(w)
                prev = a
            offs.append(o)
            wids.append(ids)

        class Enc(dict):
            def word_ids(self, j: int) -> list[int]:
                return wids[j]

        return Enc(offset_mapping=offs)


def test_text_windows_cut_a_word_longer_than_half_a_window() -> None:
    from models.scorer import text_windows

    tok = _OneCharTokens()
    spaced = " ".join(["abcd"] * 100)  # 400 tokens in words of 4
    (wins,) = text_windows(tok, [spaced], 126, overlap=32)
    assert all(spaced[a - 1] == " " for a, _ in wins[1:]) and all(b == len(spaced) or spaced[b] == " " for _, b in wins)
    glued = "a b c " + "x" * 600  # a 600-token "word": windows are cut inside it, at least half full
    (wins,) = text_windows(tok, [glued], 126, overlap=32)
    assert wins[-1][1] == len(glued) and len(wins) <= 8
    assert all(b - a >= 63 for a, b in wins[:-1]), wins


def test_balanced_sentiment_decision_divides_out_the_calibration_prior(tmp_path) -> None:
    """Rule 44: with a prior, the label is the argmax of p(c | x) / prior(c); without, the argmax of p."""
    probs = np.array([[0.40, 0.45, 0.15], [0.10, 0.60, 0.30], [0.05, 0.15, 0.80]])
    prior = np.array([0.3, 0.5, 0.2])
    assert sentiment_decisions(probs).tolist() == [1, 1, 2]
    assert sentiment_decisions(probs, prior).tolist() == [0, 2, 2]  # 1.33 > 0.9; 1.5 > 1.2
    binary = {t: np.zeros(3) for t in BINARY_TASKS}
    labels = decide({"sentiment": probs, **binary}, dict.fromkeys(BINARY_TASKS, 0.5), None, prior)
    assert [lab["sentiment"] for lab in labels] == ["negative", "positive", "positive"]
    y = np.array([0, 2, 2])
    assert sentiment_report(probs, y, prior)["accuracy"] == 1.0
    assert sentiment_report(probs, y)["accuracy"] == pytest.approx(1 / 3)
    assert sentiment_report(probs, y, prior)["ece"] == sentiment_report(probs, y)["ece"]  # probabilities untouched

    h = make_heads()
    h.sentiment_prior = prior
    npz, meta_path = h.save(tmp_path / "h.npz")
    assert json.loads(meta_path.read_text())["sentiment_decision"]["rule"] == "balanced"
    np.testing.assert_allclose(Heads.load(npz).sentiment_prior, prior)
    h.sentiment_prior = None
    npz, meta_path = h.save(tmp_path / "h.npz")
    assert json.loads(meta_path.read_text())["sentiment_decision"] == {"rule": "argmax"}
    assert Heads.load(npz).sentiment_prior is None
    meta = json.loads(meta_path.read_text())
    for bad, match in (({"rule": "vote"}, "unknown sentiment decision"),
                       ({"rule": "balanced", "prior": {"negative": 0.5, "neutral": 0.5, "positive": 0.0}}, "prior > 0")):
        meta["sentiment_decision"] = bad
        meta_path.write_text(json.dumps(meta))
        with pytest.raises(ValueError, match=match):
            Heads.load(npz)


def test_adapted_sentiment_decision_reweights_by_the_target_shares(tmp_path) -> None:
    """Rule 45: with a prior and a target, the label is the argmax of p(c | x) * target(c) / prior(c); the file
    keeps both, and a target share of 0 is refused (it would remove the class)."""
    probs = np.array([[0.40, 0.45, 0.15], [0.10, 0.60, 0.30], [0.30, 0.30, 0.40]])
    h = make_heads()
    h.sentiment_prior = np.array([0.3, 0.5, 0.2])
    assert h.sentiment_divisor is h.sentiment_prior  # balanced
    h.sentiment_target = np.array([0.1, 0.8, 0.1])
    np.testing.assert_allclose(h.sentiment_divisor, [3.0, 0.625, 2.0])
    # 0.40/3 < 0.45/0.625; 0.30/2 < 0.60/0.625; 0.40/2 = 0.2 < 0.30/0.625 = 0.48: everything neutral
    assert sentiment_decisions(probs, h.sentiment_divisor).tolist() == [1, 1, 1]
    npz, meta_path = h.save(tmp_path / "h.npz")
    rule = json.loads(meta_path.read_text())["sentiment_decision"]
    assert rule["rule"] == "adapted" and rule["target"]["neutral"] == pytest.approx(0.8)
    back = Heads.load(npz)
    np.testing.assert_allclose(back.sentiment_target, h.sentiment_target)
    np.testing.assert_allclose(back.sentiment_divisor, h.sentiment_divisor)
    rule["target"]["positive"] = 0.0
    meta = json.loads(meta_path.read_text())
    meta["sentiment_decision"] = rule
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="target > 0"):
        Heads.load(npz)
