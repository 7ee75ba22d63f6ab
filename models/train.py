"""``imon train``: fit the calibrated heads on the frozen encoder and write ``models/artifacts/heads.*``.

Steps (seeded, reproducible: same data + seed + encoder -> byte-identical heads):
1. examples: public sets (``shared/data``) + our synthetic EN/NL set (``models/data``), each labelling
   only the tasks it speaks to (see ``models/datasets.py``);
2. embeddings from the frozen encoder, cached under ``models/build/`` (only new texts are encoded);
3. one logistic-regression head per task on the embedding (class-balanced, per-source weights);
4. calibration on the *validation* split: temperature (sentiment), Platt scaling (binary heads);
5. per-task thresholds on validation: the lowest threshold reaching the stated precision;
6. held-out evaluation (TweetEval sentiment val, synthetic test templates) written into the metadata.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import logging
import random
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from models import datasets as D
from models.base import BINARY_TASKS, SENTIMENT_CLASSES

log = logging.getLogger(__name__)

MODEL_VERSION = "0.1.0"
#: Precision each binary decision must reach on validation data (alerts page people: favour precision,
#: most for human requests which start an SLA clock).
DEFAULT_TARGET_PRECISION = {"escalation": 0.85, "human_requested": 0.90, "unfair_treatment": 0.85}


def _balanced_weights(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Sample weights so every class has the same total weight (mean weight 1)."""
    out = w.astype(np.float64).copy()
    classes = np.unique(y)
    for c in classes:
        m = y == c
        out[m] *= w.sum() / (len(classes) * w[m].sum())
    return out * (len(out) / out.sum())


def _fit_lr(X: np.ndarray, y: np.ndarray, w: np.ndarray, C: float, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=C, max_iter=2000, tol=1e-6, random_state=seed)
    clf.fit(X, y, sample_weight=w)
    return clf


def _labelled(exs: list[D.Example], task: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    idx = np.array([i for i, e in enumerate(exs) if e.label(task) is not None], dtype=int)
    y = np.array([exs[i].label(task) for i in idx], dtype=int)
    w = np.array([exs[i].weight for i in idx], dtype=np.float64)
    return idx, y, w


def _summary(exs: list[D.Example]) -> dict[str, Any]:
    by_src: dict[str, Counter[str]] = {}
    for e in exs:
        src = e.source.split(":")[0]
        c = by_src.setdefault(src, Counter())
        c["rows"] += 1
        for t in D.TASKS:
            v = e.label(t)
            if v is not None:
                c[f"{t}={SENTIMENT_CLASSES[v] if t == 'sentiment' else v}"] += 1
    return {s: dict(sorted(c.items())) for s, c in sorted(by_src.items())}


def train_heads(
    X_tr: np.ndarray,
    tr: list[D.Example],
    X_va: np.ndarray,
    va: list[D.Example],
    seed: int,
    C: float = 2.0,
    target_precision: dict[str, float] | None = None,
) -> Any:
    """Fit, calibrate and threshold all heads. Returns :class:`models.heads.Heads` (meta partly filled)."""
    from models.calibration import fit_platt, fit_temperature, threshold_for_precision
    from models.heads import BinaryHead, Heads, SentimentHead

    target_precision = {**DEFAULT_TARGET_PRECISION, **(target_precision or {})}
    idx, y, w = _labelled(tr, "sentiment")
    clf = _fit_lr(X_tr[idx], y, _balanced_weights(y, w), C, seed)
    sent = SentimentHead(W=clf.coef_.astype(np.float32), b=clf.intercept_.astype(np.float32))
    vi, vy, _ = _labelled(va, "sentiment")
    sent.temperature = fit_temperature(sent.logits(X_va[vi]), vy)

    binary: dict[str, BinaryHead] = {}
    thresholds: dict[str, float] = {}
    rules: dict[str, str] = {}
    for t in BINARY_TASKS:
        idx, y, w = _labelled(tr, t)
        clf = _fit_lr(X_tr[idx], y, _balanced_weights(y, w), C, seed)
        head = BinaryHead(w=clf.coef_[0].astype(np.float32), b=float(clf.intercept_[0]))
        vi, vy, _ = _labelled(va, t)
        head.platt_a, head.platt_c = fit_platt(head.logit(X_va[vi]).astype(np.float64), vy)
        thresholds[t], rules[t] = threshold_for_precision(head.proba(X_va[vi]), vy, target_precision[t])
        binary[t] = head
    heads = Heads(sentiment=sent, binary=binary, thresholds=thresholds)
    heads.meta["threshold_rule"] = {t: {"target_precision": target_precision[t], "rule": rules[t]} for t in BINARY_TASKS}
    return heads


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=None, help="heads file to write (default: models/artifacts/heads.npz)")
    parser.add_argument("--seed", type=int, default=13, help="random seed (default 13)")
    parser.add_argument("--limit", type=int, default=None, help="cap rows per source (quick/test runs)")
    parser.add_argument("--data-dir", type=Path, default=None, help="public data folder (default: ../shared/data)")
    parser.add_argument("--build-dir", type=Path, default=None, help="embedding cache (default: models/build)")
    parser.add_argument("--C", type=float, default=2.0, help="inverse L2 strength of the heads (default 2.0)")
    parser.add_argument("--no-eval", action="store_true", help="skip the held-out evaluation")


def run(args: argparse.Namespace, settings: Any) -> int:
    import torch

    from models.embcache import EmbeddingCache
    from models.encoder import load_encoder
    from models.evaluate import evaluate_heads, format_report
    from models.heads import MODEL_NAME, default_heads_path

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    threads = min(settings.torch_threads or 2, 2)  # shared 2-core box: never more than 2
    enc = load_encoder(settings.encoder_dir, device=settings.device, threads=threads)
    cache = EmbeddingCache(enc, args.build_dir)
    data_dir = args.data_dir or D.default_data_dir()

    tr = D.load_split(data_dir, "train", args.limit, args.seed)
    va = D.load_split(data_dir, "val", args.limit, args.seed)
    log.info("train %d examples, validation %d", len(tr), len(va))
    X_tr = cache.encode([e.text for e in tr])
    X_va = cache.encode([e.text for e in va])

    heads = train_heads(X_tr, tr, X_va, va, seed=args.seed, C=args.C)
    buf = io.BytesIO()
    np.savez(buf, *(a for a in (heads.sentiment.W, heads.sentiment.b, *[h.w for h in heads.binary.values()])))
    digest = hashlib.sha256(buf.getvalue() + repr(sorted(heads.thresholds.items())).encode()).hexdigest()[:8]
    heads.meta.update(
        {
            "name": MODEL_NAME,
            "version": f"{MODEL_VERSION}+{digest}",
            "encoder": {"name": enc.name, "fingerprint": enc.fingerprint, "max_length": enc.max_length,
                        "pooling": "mean", "normalize": "l2", "dim": enc.dim},
            "classes": {"sentiment": list(SENTIMENT_CLASSES), "binary": list(BINARY_TASKS)},
            "head": {"type": "logistic_regression", "C": args.C, "class_weight": "balanced x source weight"},
            "seed": args.seed,
            "limit": args.limit,
            "training_data": {"train": _summary(tr), "validation": _summary(va)},
        }
    )
    if not args.no_eval:
        results = evaluate_heads(heads, cache, data_dir, args.limit, args.seed)
        heads.meta["heldout_metrics"] = results
        print(format_report(results))
    out = args.out or (Path(settings.heads_path) if settings.heads_path else default_heads_path())
    npz, meta = heads.save(out)
    print(f"wrote {npz} and {meta} (version {heads.meta['version']})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m models.train`` (the same as ``imon train``)."""
    from streams.config import load_settings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(prog="imon train", description=__doc__.split("\n")[0])
    add_arguments(p)
    return run(p.parse_args(argv), load_settings())


if __name__ == "__main__":
    raise SystemExit(main())
