"""The real encoder + shipped heads on a few obvious utterances (no network: local encoder folder)."""

from __future__ import annotations

import pytest

from models.base import Utterance
from models.encoder import EncoderNotFoundError, default_encoder_dir, resolve_encoder_dir
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


def test_batch_and_single_agree(scorer) -> None:
    texts = ["my bill is wrong", "great, thanks", "get me a manager now"]
    batch = scorer.score([Utterance(text=t) for t in texts])
    for t, b in zip(texts, batch, strict=True):
        s = scorer.score([Utterance(text=t)])[0]
        assert s.escalation == pytest.approx(b.escalation, abs=1e-4)
        assert s.sentiment["negative"] == pytest.approx(b.sentiment["negative"], abs=1e-4)


# Measured on these 356 held-out rows (bfloat16 default, 4 Dec 2026): 0.1.0+aac90a29 84 escalated, 71 negative,
# 8 asking for a human; the model before it (0.1.0+6dc3ebc9) 192 / 172 / 10. Limits leave room for float32 and
# other CPUs. The goal is far lower (docs/experiments/topic-openings.md): a blind probe of real-style openings
# gets 5 of 80 escalated, the held-out templates still about a third.
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
