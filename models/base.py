"""The scorer interface the stream worker and ``imon score`` rely on.

A scorer turns a batch of (already redacted) utterances into :class:`UtteranceScore` objects. It
follows the transformers-pipeline shape: ``preprocess`` (tokenise) -> ``forward`` (network) ->
``postprocess`` (heads, calibration, thresholds, evidence), so label maps, thresholds and
explanations are testable without running the network.
"""

from __future__ import annotations

import abc
import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

SENTIMENT_CLASSES = ("negative", "neutral", "positive")
BINARY_TASKS = ("escalation", "human_requested", "unfair_treatment")


def task_value_arg(value: str, tasks: Sequence[str], what: str) -> tuple[str, float]:
    """A command-line ``TASK=VALUE`` (``"human_requested=0.2"``) -> (task, value), with TASK one of ``tasks``
    and VALUE in [0, 1]; else ``argparse.ArgumentTypeError`` naming ``what`` (shown as the option's error)."""
    task, sep, raw = value.partition("=")
    try:
        v = float(raw)
    except ValueError:
        v = -1.0
    if not sep or task.strip() not in tasks or not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(
            f"expected TASK={what} with TASK one of {', '.join(tasks)} and {what} in [0, 1], got {value!r}")
    return task.strip(), v


@dataclass(frozen=True)
class Utterance:
    """One utterance to score. ``text`` must already be redacted."""

    text: str
    speaker: str = "customer"  # customer | agent | bot
    language: str | None = None  # BCP-47-ish code, e.g. "en", "nl"; None = unknown


@dataclass(frozen=True)
class UtteranceScore:
    """Scores, decisions and evidence for one utterance (the ``imon score`` contract)."""

    sentiment: dict[str, float]  # {"negative": p, "neutral": p, "positive": p}, sums to 1
    escalation: float
    human_requested: float
    unfair_treatment: float
    labels: dict[str, Any]  # {"sentiment": "negative"|..., "escalation": bool, ...}
    evidence: dict[str, list[str]] = field(default_factory=dict)  # task -> phrases that drove a positive

    def scores_dict(self) -> dict[str, Any]:
        return {
            "sentiment": dict(self.sentiment),
            "escalation": self.escalation,
            "human_requested": self.human_requested,
            "unfair_treatment": self.unfair_treatment,
        }


class Scorer(abc.ABC):
    """A loaded model. Load once per worker; ``score`` is called off the event loop, in batches."""

    name: str
    version: str
    encoder: str

    @property
    @abc.abstractmethod
    def thresholds(self) -> dict[str, float]:
        """Decision threshold per binary task (probability)."""

    @abc.abstractmethod
    def score(self, batch: Sequence[Utterance]) -> list[UtteranceScore]:
        """Score a batch; returns one result per input, in order."""

    def warmup(self) -> None:
        """Run one tiny batch so the first real batch does not pay for lazy initialisation."""
        self.score([Utterance(text="hello, I need help with my bill")])
