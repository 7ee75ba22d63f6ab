"""Calibration, threshold choice and the metrics we report (numpy only)."""

from __future__ import annotations

from typing import Any

import numpy as np

from models.base import SENTIMENT_CLASSES
from models.heads import sentiment_decisions, sigmoid, softmax


def fit_temperature(logits: np.ndarray, y: np.ndarray, grid: np.ndarray | None = None) -> float:
    """Temperature T minimising the negative log-likelihood of softmax(logits / T) (grid + refine)."""
    grid = np.exp(np.linspace(np.log(0.2), np.log(5.0), 81)) if grid is None else grid

    def nll(t: float) -> float:
        p = softmax(logits / t)
        return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, 1))))

    best = min(grid, key=nll)
    fine = best * np.exp(np.linspace(-0.05, 0.05, 21))
    return float(min(fine, key=nll))


def fit_platt(z: np.ndarray, y: np.ndarray, iters: int = 200) -> tuple[float, float]:
    """Platt scaling p = sigmoid(a z + c) by damped Newton on the log-loss, with Platt's smoothed
    targets (so a separable validation set does not push a to infinity)."""
    n_pos, n_neg = float((y == 1).sum()), float((y == 0).sum())
    t = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))

    def loss(a: float, c: float) -> float:
        f = a * z + c  # log(1 + e^f) - t f, computed stably
        return float(np.sum(np.logaddexp(0.0, f) - t * f))

    a, c = 1.0, 0.0
    cur = loss(a, c)
    for _ in range(iters):
        p = sigmoid(a * z + c)
        g = np.array([np.sum((p - t) * z), np.sum(p - t)])
        w = p * (1 - p) + 1e-9
        h = np.array([[np.sum(w * z * z), np.sum(w * z)], [np.sum(w * z), np.sum(w)]]) + 1e-6 * np.eye(2)
        step = np.linalg.solve(h, g)
        lr = 1.0
        while lr > 1e-6:  # backtracking: a full Newton step can overshoot from a poor start
            na, nc = a - lr * step[0], c - lr * step[1]
            new = loss(na, nc)
            if new <= cur:
                break
            lr /= 2
        else:
            break
        done = abs(cur - new) < 1e-10 * max(1.0, abs(cur))
        a, c, cur = na, nc, new
        if done:
            break
    return float(a), float(c)


def threshold_for_precision(
    p: np.ndarray, y: np.ndarray, target: float, min_threshold: float = 0.05, w: np.ndarray | None = None
) -> tuple[float, str]:
    """Lowest threshold whose precision on (p, y) is >= ``target`` (most recall at that precision).

    Falls back to the F1-maximising threshold when the target is never reached, and says which rule
    was used. ``min_threshold`` keeps a near-zero threshold from firing on everything out of domain.
    ``w``: row weights (precision and recall of weighted counts).
    """
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    ws = np.ones(len(ys)) if w is None else np.asarray(w, dtype=np.float64)[order]
    tp = np.cumsum(ws * (ys == 1))
    fp = np.cumsum(ws * (ys == 0))
    prec = tp / np.maximum(tp + fp, 1e-12)
    rec = tp / max(float(ws[ys == 1].sum()), 1e-12)
    # only cut between distinct scores
    last = np.r_[ps[1:] != ps[:-1], True]
    ok = np.where(last & (prec >= target))[0]
    if len(ok):
        i = ok[np.argmax(rec[ok])]
        return max(float(ps[i]), min_threshold), f"precision>={target:g}"
    f1 = 2 * prec * rec / np.maximum(prec + rec, 1e-12)
    i = int(np.argmax(np.where(last, f1, -1)))
    return max(float(ps[i]), min_threshold), "max-F1 (precision target not reached)"


def confusion(pred: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """The (k, k) confusion matrix of class indices: rows the true class, columns the decided one."""
    return np.bincount(np.asarray(y, dtype=int) * k + np.asarray(pred, dtype=int), minlength=k * k).reshape(k, k)


def per_class(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 of each class of a confusion matrix (0 where a class was never decided / true)."""
    tp = np.diag(cm).astype(np.float64)
    prec = tp / np.maximum(cm.sum(axis=0), 1)
    rec = tp / np.maximum(cm.sum(axis=1), 1)
    return prec, rec, 2 * prec * rec / np.maximum(prec + rec, 1e-12)


def binary_macro_f1(p: np.ndarray, y: np.ndarray, threshold: float) -> float:
    """Macro-F1 of ``p >= threshold`` (what ``binary_report`` reports; alone, for bootstraps)."""
    return float(per_class(confusion(p >= threshold, y, 2))[2].mean())


def binary_report(p: np.ndarray, y: np.ndarray, threshold: float) -> dict[str, Any]:
    """Precision, recall, F1 of the positive class, macro-F1, ROC AUC, PR-AUC (average precision), calibration
    error and the confusion matrix [[tn, fp], [fn, tp]] (rows: true 0 / 1; columns: decided 0 / 1)."""
    cm = confusion(p >= threshold, y, 2)
    prec, rec, f1 = per_class(cm)
    return {
        "n": int(len(y)),
        "positives": int((y == 1).sum()),
        "precision": float(prec[1]),
        "recall": float(rec[1]),
        "f1": float(f1[1]),
        "macro_f1": float(f1.mean()),
        "auc": auc(p, y),
        "pr_auc": average_precision(p, y),
        "ece": ece_binary(p, y),
        "confusion": cm.tolist(),
    }


def average_precision(p: np.ndarray, y: np.ndarray) -> float:
    """Area under the precision-recall curve as average precision: the sum over the distinct scores, highest
    first, of (recall gained at that score) x (precision at it); rows sharing a score enter together. NaN
    without positives. A random score gives about the positive rate; a perfect one 1."""
    p, y = np.asarray(p, dtype=np.float64), np.asarray(y) == 1
    n_pos = int(y.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    last = np.r_[ps[1:] != ps[:-1], True]  # the last row of each run of equal scores
    tp = np.cumsum(ys)[last]
    seen = np.flatnonzero(last) + 1
    recall_gain = np.diff(np.r_[0, tp]) / n_pos
    return float(np.sum(recall_gain * tp / seen))


def auc(p: np.ndarray, y: np.ndarray) -> float:
    """ROC AUC by the rank statistic (ties averaged)."""
    n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(p, kind="stable")
    ranks = np.empty(len(p))
    ranks[order] = np.arange(1, len(p) + 1)
    # average ties
    _, inv, counts = np.unique(p, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=ranks)
    ranks = sums[inv] / counts[inv]
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def ece_binary(p: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error of P(y=1): |mean p - positive rate| over equal-width bins, weighted."""
    idx = np.minimum((p * bins).astype(int), bins - 1)
    e = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            e += m.mean() * abs(p[m].mean() - (y[m] == 1).mean())
    return float(e)


def ece_multiclass(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """Top-label ECE: confidence of the argmax vs its accuracy."""
    conf = probs.max(1)
    correct = (probs.argmax(1) == y).astype(float)
    idx = np.minimum((conf * bins).astype(int), bins - 1)
    e = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            e += m.mean() * abs(conf[m].mean() - correct[m].mean())
    return float(e)


def sentiment_macro_f1(probs: np.ndarray, y: np.ndarray, divisor: np.ndarray | None = None) -> float:
    """Macro-F1 of the decided labels (what ``sentiment_report`` reports; alone, for bootstraps)."""
    return float(per_class(confusion(sentiment_decisions(probs, divisor), y, probs.shape[1]))[2].mean())


def sentiment_report(probs: np.ndarray, y: np.ndarray, divisor: np.ndarray | None = None) -> dict[str, Any]:
    """Macro-recall, macro-F1 and accuracy of the decided labels (``heads.sentiment_decisions`` with
    ``divisor``: the heads' own rule), each class's precision, recall, share of the decided labels and PR-AUC
    (one class against the rest, on its probability) and their mean, the calibration error of the probabilities,
    and the confusion matrix (rows: true negative / neutral / positive; columns: decided)."""
    pred = sentiment_decisions(probs, divisor)
    k = probs.shape[1]
    cm = confusion(pred, y, k)
    prec, rec, f1 = per_class(cm)
    out: dict[str, Any] = {
        "n": int(len(y)),
        "macro_recall": float(rec.mean()),
        "macro_f1": float(f1.mean()),
        "accuracy": float(np.mean(pred == y)),
        "ece": ece_multiclass(probs, y),
    }
    for c, name in enumerate(SENTIMENT_CLASSES[:k]):
        out.update({f"precision_{name}": float(prec[c]), f"recall_{name}": float(rec[c]),
                    f"share_{name}": float(cm[:, c].sum() / max(len(y), 1)),
                    f"pr_auc_{name}": average_precision(probs[:, c], (y == c).astype(int))})
    out["pr_auc"] = float(np.mean([out[f"pr_auc_{c}"] for c in SENTIMENT_CLASSES[:k]]))
    out["confusion"] = cm.tolist()
    return out
