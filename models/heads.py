"""Small heads (logistic regression, or one hidden layer) on the frozen sentence embedding: calibrated probabilities, thresholds, label map.

Pure numpy, no network: this is the ``postprocess`` half of the scorer, unit-testable on its own.
Files: ``<stem>.npz`` (weights, float32) + ``<stem>.json`` (metadata: encoder, classes, calibration,
thresholds and how they were chosen, training data summary, seed, validation metrics).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.base import BINARY_TASKS, SENTIMENT_CLASSES

MODEL_NAME = "imon-minilm-heads"


def default_heads_path() -> Path:
    return Path(__file__).resolve().parent / "artifacts" / "heads.npz"


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free


def gelu(z: np.ndarray) -> np.ndarray:
    """tanh-approximated GELU, identical to ``torch.nn.GELU(approximate="tanh")`` used in training."""
    return 0.5 * z * (1.0 + np.tanh(0.7978845608028654 * (z + 0.044715 * z**3)))


def _hidden(x: np.ndarray, W1: np.ndarray | None, b1: np.ndarray | None) -> np.ndarray:
    return x if W1 is None else gelu(x @ W1.T + b1)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@dataclass
class BinaryHead:
    """Logistic regression on the embedding, or on one GELU hidden layer (``W1``/``b1``) when set."""

    w: np.ndarray  # (dim,) or (hidden,)
    b: float
    platt_a: float = 1.0  # calibrated p = sigmoid(platt_a * logit + platt_c)
    platt_c: float = 0.0
    W1: np.ndarray | None = None  # (hidden, dim)
    b1: np.ndarray | None = None  # (hidden,)

    def logit(self, x: np.ndarray) -> np.ndarray:
        """Uncalibrated decision value; monotone in the probability (used for occlusion evidence)."""
        return _hidden(x, self.W1, self.b1) @ self.w + self.b

    def proba(self, x: np.ndarray) -> np.ndarray:
        return sigmoid(self.platt_a * self.logit(x) + self.platt_c)


@dataclass
class SentimentHead:
    W: np.ndarray  # (3, dim) or (3, hidden), rows in SENTIMENT_CLASSES order
    b: np.ndarray  # (3,)
    temperature: float = 1.0
    W1: np.ndarray | None = None  # (hidden, dim)
    b1: np.ndarray | None = None

    def logits(self, x: np.ndarray) -> np.ndarray:
        return _hidden(x, self.W1, self.b1) @ self.W.T + self.b

    def proba(self, x: np.ndarray) -> np.ndarray:
        return softmax(self.logits(x) / self.temperature)


@dataclass
class Heads:
    sentiment: SentimentHead
    binary: dict[str, BinaryHead]
    thresholds: dict[str, float]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        W = self.sentiment.W if self.sentiment.W1 is None else self.sentiment.W1
        return int(W.shape[1])

    def predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Calibrated probabilities: ``sentiment`` (n, 3) and one (n,) array per binary task."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"embeddings must be (n, {self.dim}), got {x.shape}")
        out: dict[str, np.ndarray] = {"sentiment": self.sentiment.proba(x)}
        for t in BINARY_TASKS:
            out[t] = self.binary[t].proba(x)
        return out

    def decision_value(self, task: str, x: np.ndarray) -> np.ndarray:
        """Monotone score per task used to rank occlusions: binary logit, or the negative-class margin."""
        if task == "sentiment":
            lg = self.sentiment.logits(x)
            return lg[:, 0] - np.logaddexp(lg[:, 1], lg[:, 2])
        return self.binary[task].logit(x)

    # --- persistence ------------------------------------------------------------------------

    def save(self, path: Path) -> tuple[Path, Path]:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {
            "sentiment_W": self.sentiment.W.astype(np.float32),
            "sentiment_b": self.sentiment.b.astype(np.float32),
        }
        if self.sentiment.W1 is not None and self.sentiment.b1 is not None:
            arrays["sentiment_W1"] = self.sentiment.W1.astype(np.float32)
            arrays["sentiment_b1"] = self.sentiment.b1.astype(np.float32)
        for t, h in self.binary.items():
            arrays[f"{t}_w"] = h.w.astype(np.float32)
            arrays[f"{t}_b"] = np.array([h.b], dtype=np.float32)
            if h.W1 is not None and h.b1 is not None:
                arrays[f"{t}_W1"] = h.W1.astype(np.float32)
                arrays[f"{t}_b1"] = h.b1.astype(np.float32)
        with path.open("wb") as f:  # np.savez on a file object: no surprise ".npz" suffix handling
            np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy stub mis-types **kwds
        meta = dict(self.meta)
        meta["calibration"] = {
            "sentiment": {"method": "temperature", "temperature": self.sentiment.temperature},
            **{t: {"method": "platt", "a": h.platt_a, "c": h.platt_c} for t, h in self.binary.items()},
        }
        meta["thresholds"] = dict(self.thresholds)
        meta_path = path.with_suffix(".json")
        meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        return path, meta_path

    @classmethod
    def load(cls, path: Path) -> Heads:
        path = Path(path)
        meta = json.loads(path.with_suffix(".json").read_text())
        cal = meta["calibration"]
        with np.load(path) as z:

            def opt(key: str) -> np.ndarray | None:
                return z[key].astype(np.float32) if key in z.files else None

            sent = SentimentHead(
                W=z["sentiment_W"].astype(np.float32),
                b=z["sentiment_b"].astype(np.float32),
                temperature=float(cal["sentiment"]["temperature"]),
                W1=opt("sentiment_W1"),
                b1=opt("sentiment_b1"),
            )
            binary = {
                t: BinaryHead(
                    w=z[f"{t}_w"].astype(np.float32),
                    b=float(z[f"{t}_b"][0]),
                    platt_a=float(cal[t]["a"]),
                    platt_c=float(cal[t]["c"]),
                    W1=opt(f"{t}_W1"),
                    b1=opt(f"{t}_b1"),
                )
                for t in BINARY_TASKS
            }
        if tuple(meta.get("classes", {}).get("sentiment", SENTIMENT_CLASSES)) != SENTIMENT_CLASSES:
            raise ValueError("heads file has a different sentiment class order")
        return cls(sentiment=sent, binary=binary, thresholds={t: float(meta["thresholds"][t]) for t in BINARY_TASKS}, meta=meta)


def decide(
    probs: dict[str, np.ndarray], thresholds: dict[str, float], speakers: list[str] | None = None
) -> list[dict[str, Any]]:
    """Labels per utterance: sentiment argmax name, and each binary task ``p >= threshold``.

    Escalation and human requests are about the *customer*: for agent/bot turns those two labels are
    always False (an agent saying "let me get my supervisor" is not a customer asking for one). The
    probabilities are still reported as computed.
    """
    n = probs["sentiment"].shape[0]
    out = []
    for i in range(n):
        lab: dict[str, Any] = {"sentiment": SENTIMENT_CLASSES[int(np.argmax(probs["sentiment"][i]))]}
        for t in BINARY_TASKS:
            lab[t] = bool(probs[t][i] >= thresholds[t])
        if speakers is not None and speakers[i] != "customer":
            lab["escalation"] = False
            lab["human_requested"] = False
        out.append(lab)
    return out
