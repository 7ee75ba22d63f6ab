"""Small heads (logistic regression, or one hidden layer) on the frozen sentence embedding: calibrated probabilities, thresholds, label map.

With a lexical channel (``models.lexical``, on by default since heads 0.2) each task's calibrated
probability fuses the head's decision value with the channel's: ``sigmoid(a * head + b * lexical + c)``
for binary tasks, a 6 -> 3 multinomial stack for sentiment. Such heads need the texts as well as the
embeddings (``predict(x, texts)``).

Pure numpy, no network: this is the ``postprocess`` half of the scorer, unit-testable on its own.
Files: ``<stem>.npz`` (weights, float32) + ``<stem>.json`` (metadata: encoder, classes, calibration,
thresholds and how they were chosen, training data summary, seed, validation metrics).
"""

from __future__ import annotations

import errno
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.base import BINARY_TASKS, SENTIMENT_CLASSES
from models.lexical import Lexical, lexical_index

MODEL_NAME = "imon-heads"


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
    platt_a: float = 1.0  # calibrated p = sigmoid(platt_a * logit + platt_b * lexical + platt_c)
    platt_c: float = 0.0
    W1: np.ndarray | None = None  # (hidden, dim)
    b1: np.ndarray | None = None  # (hidden,)
    platt_b: float = 0.0  # weight of the lexical channel's decision value (0 without one)

    def logit(self, x: np.ndarray) -> np.ndarray:
        """The head's own uncalibrated decision value (before any fusion)."""
        return _hidden(x, self.W1, self.b1) @ self.w + self.b

    def fused(self, x: np.ndarray, zl: np.ndarray | None = None) -> np.ndarray:
        """Calibrated log-odds; monotone in the probability (used for occlusion evidence)."""
        z = self.platt_a * self.logit(x) + self.platt_c
        return z if zl is None else z + self.platt_b * zl

    def proba(self, x: np.ndarray, zl: np.ndarray | None = None) -> np.ndarray:
        return sigmoid(self.fused(x, zl))


@dataclass
class SentimentHead:
    W: np.ndarray  # (3, dim) or (3, hidden), rows in SENTIMENT_CLASSES order
    b: np.ndarray  # (3,)
    temperature: float = 1.0
    W1: np.ndarray | None = None  # (hidden, dim)
    b1: np.ndarray | None = None
    fuse_W: np.ndarray | None = None  # (3, 6): [head logits, lexical logits] -> calibrated logits
    fuse_b: np.ndarray | None = None  # (3,)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """The head's own logits (before calibration and fusion)."""
        return _hidden(x, self.W1, self.b1) @ self.W.T + self.b

    def calibrated(self, x: np.ndarray, zl: np.ndarray | None = None) -> np.ndarray:
        lg = self.logits(x)
        if self.fuse_W is None or zl is None:
            return lg / self.temperature
        assert self.fuse_b is not None
        return np.concatenate([lg, zl], axis=1) @ self.fuse_W.T + self.fuse_b

    def proba(self, x: np.ndarray, zl: np.ndarray | None = None) -> np.ndarray:
        return softmax(self.calibrated(x, zl))


@dataclass
class Heads:
    sentiment: SentimentHead
    binary: dict[str, BinaryHead]
    thresholds: dict[str, float]
    meta: dict[str, Any] = field(default_factory=dict)
    lexical: Lexical | None = None
    #: The class shares the sentiment probabilities were calibrated under (negative, neutral, positive), for
    #: the balanced and adapted decisions (``sentiment_decisions``); None: the label is the argmax of the
    #: probabilities.
    sentiment_prior: np.ndarray | None = None
    #: The adapted decision's class shares of the traffic scored (``models.labelshift``); None with a prior: the
    #: balanced decision (equal shares).
    sentiment_target: np.ndarray | None = None

    @property
    def sentiment_divisor(self) -> np.ndarray | None:
        """What ``sentiment_decisions`` divides the probabilities by: prior / target (balanced: the prior), or
        None for the argmax."""
        if self.sentiment_prior is None:
            return None
        if self.sentiment_target is None:
            return self.sentiment_prior
        return self.sentiment_prior / self.sentiment_target

    @property
    def dim(self) -> int:
        W = self.sentiment.W if self.sentiment.W1 is None else self.sentiment.W1
        return int(W.shape[1])

    def lexical_logits(self, texts: Sequence[str] | None, n: int) -> np.ndarray | None:
        """The lexical channel's (n, 6) decision values, or None for heads without one."""
        if self.lexical is None:
            return None
        if texts is None or len(texts) != n:
            raise ValueError("these heads fuse a lexical channel: pass the texts beside their embeddings")
        return self.lexical.logits(texts)

    def predict(self, x: np.ndarray, texts: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Calibrated probabilities: ``sentiment`` (n, 3) and one (n,) array per binary task.
        ``texts`` (the strings ``x`` was encoded from) are required when the heads have a lexical channel."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"embeddings must be (n, {self.dim}), got {x.shape}")
        zl = self.lexical_logits(texts, x.shape[0])
        out: dict[str, np.ndarray] = {"sentiment": self.sentiment.proba(x, None if zl is None else zl[:, :3])}
        for t in BINARY_TASKS:
            out[t] = self.binary[t].proba(x, None if zl is None else zl[:, lexical_index(t)])
        return out

    def decision_value(self, task: str, x: np.ndarray, zl: np.ndarray | None = None) -> np.ndarray:
        """Monotone score per task used to rank occlusions: calibrated (fused) log-odds, or the
        negative-class margin. ``zl``: the lexical logits of the same rows (heads with that channel)."""
        if task == "sentiment":
            lg = self.sentiment.calibrated(x, None if zl is None else zl[:, :3])
            return lg[:, 0] - np.logaddexp(lg[:, 1], lg[:, 2])
        return self.binary[task].fused(x, None if zl is None else zl[:, lexical_index(task)])

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
        if self.lexical is not None:
            arrays.update(self.lexical.arrays())
        if self.sentiment.fuse_W is not None and self.sentiment.fuse_b is not None:
            arrays["sentiment_fuse_W"] = self.sentiment.fuse_W.astype(np.float32)
            arrays["sentiment_fuse_b"] = self.sentiment.fuse_b.astype(np.float32)
        with path.open("wb") as f:  # np.savez on a file object: no surprise ".npz" suffix handling
            np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy stub mis-types **kwds
        meta_path = path.with_suffix(".json")
        meta_path.write_text(json.dumps(self.meta_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        return path, meta_path

    def meta_json(self) -> dict[str, Any]:
        """The metadata ``save`` writes beside the weights: ``meta`` with the calibration, thresholds and decision
        rule of these heads."""
        meta = dict(self.meta)
        meta["calibration"] = {
            "sentiment": {"method": "temperature", "temperature": self.sentiment.temperature},
            **{t: {"method": "platt", "a": h.platt_a, "c": h.platt_c} for t, h in self.binary.items()},
        }
        if self.lexical is not None:
            meta["calibration"]["sentiment"]["method"] = "multinomial stack of head and lexical logits"
            for t, h in self.binary.items():
                meta["calibration"][t].update({"method": "platt on head and lexical logits", "b": h.platt_b})
            meta["lexical"] = {"bits": self.lexical.bits, "analyzer": "char_wb", "ngram_range": [2, 5],
                               "tf": "sublinear", "norm": "l2"}
        meta["thresholds"] = dict(self.thresholds)
        if self.sentiment_prior is None:
            meta["sentiment_decision"] = {"rule": "argmax"}
        else:
            meta["sentiment_decision"] = {"rule": "balanced", "prior": _shares(self.sentiment_prior)}
            if self.sentiment_target is not None:
                meta["sentiment_decision"].update(rule="adapted", target=_shares(self.sentiment_target))
        return meta

    @classmethod
    def load(cls, path: Path) -> Heads:
        path = Path(path)
        if not path.is_file():  # name the file the user gave, not the .json beside it
            raise FileNotFoundError(errno.ENOENT, "no heads file here (train one with imon train)", str(path))
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
                fuse_W=opt("sentiment_fuse_W"),
                fuse_b=opt("sentiment_fuse_b"),
            )
            binary = {
                t: BinaryHead(
                    w=z[f"{t}_w"].astype(np.float32),
                    b=float(z[f"{t}_b"][0]),
                    platt_a=float(cal[t]["a"]),
                    platt_c=float(cal[t]["c"]),
                    W1=opt(f"{t}_W1"),
                    b1=opt(f"{t}_b1"),
                    platt_b=float(cal[t].get("b", 0.0)),
                )
                for t in BINARY_TASKS
            }
            lexical = Lexical.from_arrays(z, int(meta["lexical"]["bits"])) if "lexical" in meta else None
        if tuple(meta.get("classes", {}).get("sentiment", SENTIMENT_CLASSES)) != SENTIMENT_CLASSES:
            raise ValueError("heads file has a different sentiment class order")
        prior, target = _decision_from_meta(meta)
        return cls(sentiment=sent, binary=binary, thresholds={t: float(meta["thresholds"][t]) for t in BINARY_TASKS},
                   meta=meta, lexical=lexical, sentiment_prior=prior, sentiment_target=target)


def _shares(v: np.ndarray) -> dict[str, float]:
    return dict(zip(SENTIMENT_CLASSES, map(float, v), strict=True))


def _decision_from_meta(meta: dict[str, Any]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``sentiment_prior`` and ``sentiment_target`` of a heads file's decision rule, checked."""
    rule = meta.get("sentiment_decision", {"rule": "argmax"})
    name = rule.get("rule")
    if name == "argmax":
        return None, None
    if name not in ("balanced", "adapted"):
        raise ValueError(f"heads file: unknown sentiment decision {name!r} (argmax, balanced or adapted)")

    def shares(key: str) -> np.ndarray:
        v = np.array([float(rule[key][c]) for c in SENTIMENT_CLASSES], dtype=np.float64)
        if not np.all(v > 0):
            raise ValueError(f"heads file: the {name} sentiment decision needs a {key} > 0 for every class")
        return v / v.sum()

    return shares("prior"), shares("target") if name == "adapted" else None


def sentiment_decisions(probs: np.ndarray, divisor: np.ndarray | None = None) -> np.ndarray:
    """The decided sentiment class index per row of ``probs`` (n, 3): the argmax of p(c | x) / divisor(c)
    (``Heads.sentiment_divisor``), or of the calibrated probabilities without one.

    The probabilities were calibrated on the validation split and carry its class shares (the prior). The
    balanced decision (docs/experiments/rule_44.md) divides by the prior: the likelihood is left, so the class
    that was common in our validation data no longer wins where the model is unsure. The adapted decision
    (docs/experiments/rule_45.md) divides by prior / target: the posterior under the class shares of the traffic
    scored, estimated without labels (``models.labelshift``)."""
    p = np.asarray(probs, dtype=np.float64)
    return (p if divisor is None else p / divisor).argmax(axis=1)


def decide(
    probs: dict[str, np.ndarray], thresholds: dict[str, float], speakers: list[str] | None = None,
    sentiment_divisor: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """Labels per utterance: the sentiment class ``sentiment_decisions`` picks (argmax without
    ``sentiment_divisor``), and each binary task ``p >= threshold``.

    Escalation and human requests are about the *customer*: for agent/bot turns those two labels are
    always False (an agent saying "let me get my supervisor" is not a customer asking for one). The
    probabilities are still reported as computed.
    """
    n = probs["sentiment"].shape[0]
    sent = sentiment_decisions(probs["sentiment"], sentiment_divisor) if n else np.zeros(0, dtype=int)
    out = []
    for i in range(n):
        lab: dict[str, Any] = {"sentiment": SENTIMENT_CLASSES[int(sent[i])]}
        for t in BINARY_TASKS:
            lab[t] = bool(probs[t][i] >= thresholds[t])
        if speakers is not None and speakers[i] != "customer":
            lab["escalation"] = False
            lab["human_requested"] = False
        out.append(lab)
    return out
