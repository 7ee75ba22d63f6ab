"""The production scorer: frozen transformer encoder + calibrated linear heads + occlusion evidence.

``load_scorer(settings)`` builds it once per worker; ``score(batch)`` is synchronous and CPU/GPU bound
(call it off the event loop). Shape: ``preprocess`` (clean text) -> ``forward`` (encoder, batched,
``torch.inference_mode``) -> ``postprocess`` (heads, calibration, thresholds) -> ``explain``
(occlusion evidence, for positive decisions only).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from models.base import BINARY_TASKS, Scorer, Utterance, UtteranceScore
from models.heads import Heads, decide, default_heads_path

if TYPE_CHECKING:
    from models.encoder import Encoder
    from streams.config import Settings

log = logging.getLogger(__name__)

#: Most word windows re-scored per utterance when explaining (bounds the cost of an explanation).
MAX_OCCLUSIONS = 24
#: Phrases returned per task.
MAX_PHRASES = 3
_WS = re.compile(r"\s+")


class HeadsEncoderMismatchError(RuntimeError):
    """The heads were trained on a different encoder than the one configured."""


def _windows(n_words: int) -> list[tuple[int, int]]:
    """Word windows [start, end) to occlude: single words and pairs for short texts, wider windows with
    50 % overlap for long ones, at most :data:`MAX_OCCLUSIONS`."""
    if n_words <= 0:
        return []
    if n_words <= 12:
        wins = [(i, i + 1) for i in range(n_words)] + [(i, i + 2) for i in range(n_words - 1)]
        return wins[:MAX_OCCLUSIONS] if len(wins) <= MAX_OCCLUSIONS else [(i, i + 1) for i in range(n_words)]
    size = max(2, -(-n_words * 2 // MAX_OCCLUSIONS))  # ceil so that stride*count covers the text
    stride = max(1, size // 2)
    wins = [(s, min(s + size, n_words)) for s in range(0, n_words, stride)]
    return wins[:MAX_OCCLUSIONS]


def _clean_phrase(words: list[str]) -> str:
    return " ".join(words).strip(" ,.;:!?\"'()[]")


def explain(
    texts: Sequence[str],
    tasks_per_text: Sequence[Sequence[str]],
    embed: Callable[[list[str]], np.ndarray],
    heads: Heads,
    base_emb: np.ndarray,
) -> list[dict[str, list[str]]]:
    """Occlusion evidence: for each text and each task asked for, the word windows whose removal most
    lowers that task's decision value (binary logit, or the negative-sentiment margin).

    All occluded variants of all texts are embedded in one ``embed`` call. Windows that lower the score
    are ranked by the drop; overlapping/adjacent winners are merged into one phrase.
    """
    variants: list[str] = []
    spans: list[tuple[int, list[tuple[int, int]], int]] = []  # (text idx, windows, offset into variants)
    words_of: dict[int, list[str]] = {}
    for i, (text, tasks) in enumerate(zip(texts, tasks_per_text, strict=True)):
        if not tasks:
            continue
        words = _WS.split(text.strip())
        words_of[i] = words
        wins = _windows(len(words)) if len(words) > 1 else []
        spans.append((i, wins, len(variants)))
        variants += [" ".join(words[:a] + words[b:]) for a, b in wins]
    out: list[dict[str, list[str]]] = [{} for _ in texts]
    if not spans:
        return out
    var_emb = embed(variants) if variants else np.zeros((0, base_emb.shape[1]), np.float32)
    for i, wins, off in spans:
        words = words_of[i]
        for task in tasks_per_text[i]:
            if not wins:  # a single word: it is the evidence
                out[i][task] = [_clean_phrase(words)] if words and words[0] else []
                continue
            base = heads.decision_value(task, base_emb[i : i + 1])[0]
            vals = heads.decision_value(task, var_emb[off : off + len(wins)])
            drops = base - vals
            order = [int(k) for k in np.argsort(-drops) if drops[k] > 0]
            chosen: list[tuple[int, int]] = []
            for k in order:
                a, b = wins[k]
                if any(a < cb and ca < b for ca, cb in chosen):
                    continue
                chosen.append((a, b))
                if len(chosen) == MAX_PHRASES:
                    break
            chosen.sort()
            merged: list[list[int]] = []
            for a, b in chosen:
                if merged and a <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], b)
                else:
                    merged.append([a, b])
            phrases = [p for a, b in merged if (p := _clean_phrase(words[a:b]))]
            out[i][task] = phrases
    return out


class TransformerScorer(Scorer):
    """all-MiniLM-L6-v2 (or any local HF encoder) + heads from ``models/artifacts``."""

    def __init__(self, encoder: Encoder, heads: Heads, batch_size: int = 64, with_evidence: bool = True) -> None:
        self.enc = encoder
        self.heads = heads
        self.batch_size = batch_size
        self.with_evidence = with_evidence
        self.name = str(heads.meta.get("name", "imon-minilm-heads"))
        self.version = str(heads.meta.get("version", "0"))
        self.encoder = str(heads.meta.get("encoder", {}).get("name", encoder.name))

    @property
    def thresholds(self) -> dict[str, float]:
        return dict(self.heads.thresholds)

    # --- pipeline stages ------------------------------------------------------------------------

    @staticmethod
    def preprocess(batch: Sequence[Utterance]) -> list[str]:
        return [_WS.sub(" ", u.text).strip() for u in batch]

    def forward(self, texts: list[str]) -> np.ndarray:
        return self.enc.encode(texts, batch_size=self.batch_size)

    def postprocess(
        self, emb: np.ndarray, batch: Sequence[Utterance]
    ) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
        probs = self.heads.predict(emb)
        labels = decide(probs, self.heads.thresholds, [u.speaker for u in batch])
        return probs, labels

    def score(self, batch: Sequence[Utterance]) -> list[UtteranceScore]:
        if not batch:
            return []
        texts = self.preprocess(batch)
        emb = self.forward(texts)
        probs, labels = self.postprocess(emb, batch)
        evidence: list[dict[str, list[str]]] = [{} for _ in batch]
        if self.with_evidence:
            wanted = [
                [t for t in BINARY_TASKS if lab[t]] + (["sentiment"] if lab["sentiment"] == "negative" else [])
                for lab in labels
            ]
            if any(wanted):
                evidence = explain(texts, wanted, self.forward, self.heads, emb)
        out = []
        for i, lab in enumerate(labels):
            s = probs["sentiment"][i].astype(np.float64)
            s = s / s.sum()
            out.append(
                UtteranceScore(
                    sentiment={"negative": float(s[0]), "neutral": float(s[1]), "positive": float(s[2])},
                    escalation=float(probs["escalation"][i]),
                    human_requested=float(probs["human_requested"][i]),
                    unfair_treatment=float(probs["unfair_treatment"][i]),
                    labels=lab,
                    evidence=evidence[i],
                )
            )
        return out

    def warmup(self) -> None:
        # two sizes so both the single-utterance and the batched code paths are initialised
        self.score([Utterance(text="hello, I need help with my bill")])
        self.score([Utterance(text="I want to speak to a manager right now, this is the third time!")] * 4)


def load_scorer(settings: Settings) -> Scorer:
    """Load encoder (``settings.encoder_dir`` or the packaged all-MiniLM-L6-v2) and heads
    (``settings.heads_path`` or ``models/artifacts/heads.npz``) on ``settings.device``.

    Raises :class:`HeadsEncoderMismatchError` when the heads were trained on another encoder.
    """
    from models.encoder import load_encoder

    heads_path = Path(settings.heads_path) if settings.heads_path else default_heads_path()
    heads = Heads.load(heads_path)
    enc = load_encoder(settings.encoder_dir, device=settings.device, threads=settings.torch_threads)
    want = heads.meta.get("encoder", {}).get("fingerprint")
    if want and want != enc.fingerprint:
        raise HeadsEncoderMismatchError(
            f"heads {heads_path} were trained on encoder {want}, but {enc.path} is {enc.fingerprint}; "
            "run `imon train` for this encoder or point IMON_HEADS_PATH at matching heads"
        )
    if enc.dim != heads.dim:
        raise HeadsEncoderMismatchError(f"encoder dim {enc.dim} != heads dim {heads.dim}")
    log.info("scorer %s %s on %s (%s)", heads.meta.get("name"), heads.meta.get("version"), enc.path, settings.device)
    return TransformerScorer(enc, heads)
