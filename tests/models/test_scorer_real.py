"""The real encoder + shipped heads on a few obvious utterances (no network: local encoder folder)."""

from __future__ import annotations

import pytest

from models.base import Utterance
from models.encoder import EncoderNotFoundError, default_encoder_dir, minilm_encoder_dir, resolve_encoder_dir
from models.scorer import load_scorer
from streams.config import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scorer():
    s = load_scorer(Settings(torch_threads=2))
    s.warmup()
    return s


def test_encoder_dir_is_found_at_run_time_and_configurable(tmp_path) -> None:
    d = default_encoder_dir()
    assert (d / "config.json").is_file()
    assert resolve_encoder_dir(str(d)) == d.resolve()
    with pytest.raises(EncoderNotFoundError):
        resolve_encoder_dir(tmp_path)
    assert d.name == "multilingual-e5-small"  # the default since rule 37; the English-only one is still there
    assert (minilm_encoder_dir() / "config.json").is_file()


def test_obvious_examples(scorer) -> None:
    cases = [
        ("I want to speak to a real person", {"human_requested": True}),
        ("thanks, that fixed it!", {"sentiment": "positive", "escalation": False, "unfair_treatment": False}),
        ("Ik wil een medewerker spreken, geen chatbot.", {"human_requested": True}),
        ("You are a useless idiot.", {"unfair_treatment": True}),
        ("If this isn't fixed today I'm cancelling my contract and reporting you to the ombudsman.",
         {"escalation": True}),
        ("How do I change my address?", {"escalation": False, "human_requested": False, "unfair_treatment": False}),
    ]
    res = scorer.score([Utterance(text=t) for t, _ in cases])
    for (text, want), r in zip(cases, res, strict=True):
        for k, v in want.items():
            assert r.labels[k] == v, (text, k, r)


def test_scores_contract_and_evidence(scorer) -> None:
    r = scorer.score([Utterance(text="I want to speak to a real person right now")])[0]
    assert sum(r.sentiment.values()) == pytest.approx(1.0)
    assert set(r.labels) == {"sentiment", "escalation", "human_requested", "unfair_treatment"}
    assert r.labels["human_requested"]
    assert r.evidence["human_requested"], r
    for task, on in r.labels.items():
        if task != "sentiment" and not on:
            assert task not in r.evidence
    assert scorer.score([]) == []
    assert len(scorer.score([Utterance(text="")] * 3)) == 3


def batch_tolerance(scorer) -> float:
    """How far one text's scores may move with the batch it is scored in: bfloat16 (the default on CPUs with AMX)
    rounds a batch of 3 and a batch of 1 differently, and the 12 layers of multilingual-e5-small measured up to
    0.0019 apart (the 6 of all-MiniLM-L6-v2 under 1e-4); float32 agrees to 1e-4."""
    return 4e-3 if scorer.enc.dtype == "bfloat16" else 1e-4


def test_batch_and_single_agree(scorer) -> None:
    texts = ["my bill is wrong", "great, thanks", "get me a manager now"]
    batch = scorer.score([Utterance(text=t) for t in texts])
    tol = batch_tolerance(scorer)
    for t, b in zip(texts, batch, strict=True):
        s = scorer.score([Utterance(text=t)])[0]
        assert s.escalation == pytest.approx(b.escalation, abs=tol)
        assert s.sentiment["negative"] == pytest.approx(b.sentiment["negative"], abs=tol)


# Measured on these 356 held-out rows (bfloat16 default, 4 Dec 2026): 0.1.0+aac90a29 84 escalated, 71 negative,
# 8 asking for a human; the model before it (0.1.0+6dc3ebc9) 192 / 172 / 10. Limits leave room for float32 and
# other CPUs. The goal is far lower (docs/experiments/topic-openings.md): a blind probe of real-style openings
# gets 5 of 80 escalated, the held-out templates still about a third.
# The default since rule 37 (multilingual-e5-small, 0.1.0+2a42825d; 6 Dec 2026) measures 79 / 32 / 19: its
# human_requested threshold is lower (0.055 vs 0.140) and 17 of the 19 are one template pair, "I'd like some
# information about my phone line" (EN 0.99; NL 0.07-0.47). "phone line" pulls towards a request for a person in
# both models (all-MiniLM-L6-v2 0.74 on it), a training-data fault to mend; on the 238 hand-written and blind
# openings, fillers and agent lines of models/data/probes it flags none (all-MiniLM-L6-v2: 1;
# scripts/routine_probe.py). Hence 25, not 15, while that model was the default.
# Since rule 41 (0.1.0+80de98f0, 6 Dec 2026: the adapter re-fitted with counterfactual pairing on data with routine
# telephony and "<thing>, please." turns) it measures 33 / 7 / 6, all 6 that template's English copies; back to 15.
MAX_ESCALATED = 110
MAX_NEGATIVE = 100
MAX_HUMAN = 15


def test_held_out_openings_and_fillers_are_routine(scorer) -> None:
    """A bare topic opening ("It's about my contract.") or a filler of a live call ("Bent u er nog?")
    is neither an escalation nor a complaint. The synthetic set used to show a topic sentence only in
    front of a complaint; measured on its *test* split (templates no training row uses).
    """
    import json

    from models.datasets import synth_dir

    rows = [json.loads(line) for line in (synth_dir() / "synth_test.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r["category"] in ("neg_topic_opening", "neg_filler")]
    assert len(rows) >= 200
    res = scorer.score([Utterance(text=r["text"], speaker=r["speaker"], language=r["lang"]) for r in rows])
    escalated = sum(r.labels["escalation"] for r in res)
    negative = sum(r.labels["sentiment"] == "negative" for r in res)
    human = sum(r.labels["human_requested"] for r in res)
    assert escalated <= MAX_ESCALATED, (escalated, len(rows))
    assert negative <= MAX_NEGATIVE, (negative, len(rows))
    assert human <= MAX_HUMAN, (human, len(rows))


# --- long texts: windows (docs/experiments/rule_9.md to rule_11.md) ------------------------------------------

_STORY = ("I ordered a new router last month and set it up following the guide in the box. The lights came on and "
          "the connection worked for a few days. Then the speed dropped in the evenings, mostly around eight. I "
          "restarted it several times, moved it to the hallway and changed the channel as your website suggests. ")


def test_text_windows_cover_long_texts_on_word_boundaries(scorer) -> None:
    from models.scorer import WINDOW_OVERLAP, text_windows

    tok = scorer.enc.tokenizer
    short = "How do I change my address?"
    long = _STORY * 6  # ~500 tokens
    spans = text_windows(tok, [short, long, "x" * 126], 126)
    assert spans[0] == [(0, len(short))] and spans[2] == [(0, 126)]
    wins = spans[1]
    assert len(wins) >= 4
    assert wins[0][0] == 0 and wins[-1][1] == len(long.rstrip())
    for (a, b), (c, d) in zip(wins, wins[1:], strict=False):
        assert a < c < b < d  # they overlap and move on
        assert long[c - 1] == " " and (b == len(long) or not long[b].isalnum())  # whole words only
        assert len(tok(long[c:b], add_special_tokens=False)["input_ids"]) >= WINDOW_OVERLAP // 2
    for a, b in wins:
        assert len(tok(long[a:b], add_special_tokens=False)["input_ids"]) <= 126
    covered = text_windows(tok, [long], 126, max_windows=2)[0]
    assert len(covered) == 2  # capped: the rest of a text too long for max_windows is not scored


def test_merge_windows_takes_the_highest_window_for_statements_only() -> None:
    import numpy as np

    from models.scorer import first_windows, merge_windows

    owner = [0, 1, 1, 1, 2]
    assert first_windows(owner, 3).tolist() == [0, 1, 4]
    view = {"sentiment": np.eye(3, dtype=np.float32), "escalation": np.array([0.1, 0.2, 0.3], np.float32),
            "human_requested": np.array([0.1, 0.2, 0.3], np.float32),
            "unfair_treatment": np.array([0.5, 0.0, 0.0], np.float32)}
    per = {"sentiment": np.full((5, 3), 1 / 3, np.float32), "escalation": np.full(5, 0.9, np.float32),
           "human_requested": np.array([0.0, 0.1, 0.8, 0.4, 0.0], np.float32),
           "unfair_treatment": np.array([0.0, 0.0, 0.0, 0.6, 0.0], np.float32)}
    m = merge_windows(view, per, owner)
    assert m["escalation"].tolist() == pytest.approx([0.1, 0.2, 0.3])  # the view, not the 0.9 windows
    assert (m["sentiment"] == view["sentiment"]).all()
    assert m["human_requested"].tolist() == pytest.approx([0.1, 0.8, 0.3])
    assert m["unfair_treatment"].tolist() == pytest.approx([0.5, 0.6, 0.0])


def test_a_request_for_a_person_at_the_end_of_a_long_text_is_found(scorer) -> None:
    ask = "Please, I want to speak to a real person about this."
    long = _STORY * 2 + ask  # the request lies past the encoder's 128 tokens
    r = scorer.score([Utterance(text=long)])[0]
    assert r.labels["human_requested"], r
    assert any("person" in p or "speak" in p for p in r.evidence["human_requested"]), r.evidence
    # the same text truncated to what the encoder reads, as the scorer did before windows: not found
    only_first = {"windows": lambda texts: [[(0, len(t))] for t in texts]}
    scorer.__dict__.update(only_first)
    try:
        assert not scorer.score([Utterance(text=long)])[0].labels["human_requested"]
    finally:
        del scorer.__dict__["windows"]


def test_short_texts_score_as_one_window(scorer) -> None:
    texts = ["my bill is wrong", "get me a manager now", _STORY]
    assert [len(w) for w in scorer.windows(texts)] == [1, 1, 1]
    a = scorer.score([Utterance(text=t) for t in texts] + [Utterance(text=_STORY * 3)])[:3]
    b = scorer.score([Utterance(text=t) for t in texts])
    # a long text in the batch does not change its neighbours' scores (beyond padding's rounding in bfloat16)
    tol = max(batch_tolerance(scorer), 1e-3)
    for x, y in zip(a, b, strict=True):
        assert x.escalation == pytest.approx(y.escalation, abs=tol)
        assert x.sentiment == pytest.approx(y.sentiment, abs=tol)
        assert x.labels == y.labels
