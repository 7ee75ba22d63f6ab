"""A scripted scorer for unit tests of the processing logic (dedup, SLA, cooldown, consent).

It is a test double of the :class:`models.base.Scorer` interface, never shipped: the scores come
from markers in the test text (``[esc]``, ``[human]``, ``[unfair]``, ``[neg]``, ``[pos]``) so the
conversation logic can be checked exactly. Integration tests use the real model.
"""

from __future__ import annotations

from collections.abc import Sequence

from models.base import Scorer, Utterance, UtteranceScore


class ScriptedScorer(Scorer):
    name = "scripted-test-double"
    version = "0"
    encoder = "none"

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.seen_texts: list[str] = []  # every text it was given, in order

    @property
    def thresholds(self) -> dict[str, float]:
        return {"escalation": 0.5, "human_requested": 0.5, "unfair_treatment": 0.5}

    def score(self, batch: Sequence[Utterance]) -> list[UtteranceScore]:
        self.calls.append(len(batch))
        self.seen_texts.extend(u.text for u in batch)
        out = []
        for u in batch:
            t = u.text
            neg = 0.8 if "[neg]" in t else 0.1
            pos = 0.8 if "[pos]" in t else 0.1
            sent = {"negative": neg, "neutral": max(0.0, 1 - neg - pos), "positive": pos}
            probs = {
                "escalation": 0.9 if "[esc]" in t else 0.05,
                "human_requested": 0.9 if "[human]" in t else 0.05,
                "unfair_treatment": 0.9 if "[unfair]" in t else 0.05,
            }
            labels: dict[str, object] = {"sentiment": max(sent, key=sent.__getitem__)}
            labels.update({k: v >= 0.5 for k, v in probs.items()})
            evidence = {k: ["marker"] for k, v in probs.items() if v >= 0.5}
            out.append(UtteranceScore(sentiment=sent, labels=labels, evidence=evidence, **probs))
        return out
