"""The character n-gram channel (models/lexical.py) and its fusion with the heads: pure numpy/sklearn."""

from __future__ import annotations

import numpy as np
import pytest

from models.base import BINARY_TASKS
from models.heads import BinaryHead, Heads, SentimentHead
from models.lexical import N_OUT, Lexical, fit_lexical, lexical_index
from models.scorer import explain
from tests.models.test_heads import _bow_tokens

# Dutch requests for a person, and routine Dutch / English turns: words the English encoder has no meaning for.
POS = ["ik wil een medewerker spreken", "kan ik een medewerker bellen", "graag een echte medewerker",
       "verbind me door met een medewerker aub", "medewerker nu alstublieft", "ik wil met een medewerker praten"]
NEG = ["mijn factuur klopt niet", "wanneer komt mijn pakket", "bedankt voor de hulp", "ik wil mijn adres wijzigen",
       "the parcel is late again", "thanks for the quick answer"]


def _fit(bits: int = 12) -> Lexical:
    texts = POS + NEG
    y = np.array([1] * len(POS) + [0] * len(NEG))
    idx = np.arange(len(texts))
    w = np.ones(len(texts))
    sent = np.array([1, 1, 1, 1, 1, 1, 0, 1, 2, 1, 0, 2])
    labels = {"sentiment": (idx, sent, w), **{t: (idx, y, w) for t in BINARY_TASKS}}
    return fit_lexical(texts, labels, seed=3, bits=bits, C=10.0)


def _heads(lex: Lexical | None, dim: int = 4) -> Heads:
    zero = np.zeros(dim, np.float32)
    return Heads(
        sentiment=SentimentHead(W=np.zeros((3, dim), np.float32), b=np.zeros(3, np.float32),
                                fuse_W=np.hstack([np.eye(3), np.eye(3)]).astype(np.float32), fuse_b=np.zeros(3, np.float32)),
        binary={t: BinaryHead(w=zero, b=0.0, platt_a=1.0, platt_b=1.5, platt_c=-0.5) for t in BINARY_TASKS},
        thresholds=dict.fromkeys(BINARY_TASKS, 0.5),
        lexical=lex,
    )


def test_lexical_channel_generalises_over_word_forms() -> None:
    lex = _fit()
    z = lex.logits(["Ik wil graag een MEDEWERKER", "mijn pakket is niet gekomen", ""])
    assert z.shape == (3, N_OUT)
    hr = z[:, lexical_index("human_requested")]
    assert hr[0] > 0 > hr[1]  # unseen sentences, case-insensitive
    assert lex.logits([]).shape == (0, N_OUT)


def test_fused_heads_roundtrip_and_need_the_texts(tmp_path) -> None:
    h = _heads(_fit())
    x = np.zeros((2, 4), np.float32)
    texts = ["een medewerker graag", "bedankt"]
    p = h.predict(x, texts)
    assert p["human_requested"][0] > 0.5 > p["human_requested"][1]
    np.testing.assert_allclose(p["sentiment"].sum(1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="pass the texts"):
        h.predict(x)
    with pytest.raises(ValueError, match="pass the texts"):
        h.predict(x, texts[:1])
    h.save(tmp_path / "h.npz")
    h2 = Heads.load(tmp_path / "h.npz")
    assert h2.lexical is not None and h2.lexical.bits == 12
    for k, v in p.items():
        np.testing.assert_allclose(h2.predict(x, texts)[k], v, rtol=1e-6, atol=1e-7)
    assert Heads.load(tmp_path / "h.npz").binary["escalation"].platt_b == pytest.approx(1.5)


def test_heads_without_the_channel_ignore_texts() -> None:
    h = _heads(None)
    x = np.zeros((1, 4), np.float32)
    np.testing.assert_allclose(h.predict(x)["escalation"], h.predict(x, ["anything"])["escalation"])


def test_evidence_cuts_the_window_out_of_the_text_for_the_lexical_channel() -> None:
    # the embedding heads are blind (zero weights): only the n-gram channel can point at the word
    h = _heads(_fit())
    texts = ["goedemorgen, ik wil nu een medewerker aan de lijn"]
    toks = [_bow_tokens(texts[0], ["a", "b", "c", "d"])]
    ev = explain(texts, [["human_requested"]], toks, h)
    assert ev[0]["human_requested"] and any("medewerker" in p for p in ev[0]["human_requested"])
    assert all("goedemorgen" not in p for p in ev[0]["human_requested"])


def test_logits_without_equal_rescoring_the_shortened_texts() -> None:
    lex = _fit()
    text = "Goedemorgen,  ik wil NU een medewerker!! aan de lijn"
    # whole tokens, a span that cuts "medewerker!!" before its "!!", one inside a token, one at the end
    spans = [(0, 12), (27, 37), (29, 33), (47, len(text)), (14, 16)]
    direct = lex.logits([text] + [text[:a] + " " + text[b:] for a, b in spans])
    other = "bedankt voor de hulp, medewerker"
    got = lex.logits_without([(text, spans), (other, []), (text, spans[:1])])
    np.testing.assert_allclose(got[0], direct, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1], lex.logits([other]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[2], direct[:2], rtol=1e-5, atol=1e-6)
    assert lex.logits_without([]) == []
