#!/usr/bin/env python3
"""Head ablation on the shipped encoder: refit the heads with and without the hidden layer and the
character n-gram channel (models/train.py ``train_heads``, same data, seed and calibration as `imon train`)
and report the held-out figures of each, and each one's macro-F1 per task and language on the validation
split, so the choice of head is one made on the validation split.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/head_ablation.py --out out/head_ablation.json

Needs the embedding cache of the shipped encoder (built by `imon train`; otherwise it encodes ~72,000
texts first, ~6 min on 2 cores). Each variant takes 15-65 s more. Nothing is written but ``--out``.

``--stacks`` instead keeps the shipped heads and refits only the sentiment fusion (head logits + n-gram
logits -> calibrated logits) on the validation split: shared (as shipped), English rows only, Dutch rows
only, class-balanced; plus the shipped stack with a prior-corrected decision (argmax of p / validation
prior). Reports macro-F1 / macro-recall / ECE per set (~10 s).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variants", nargs="+", default=["64/lex", "0/lex", "64/nolex", "0/nolex"],
                   help="HIDDEN/lex|nolex per variant: hidden units (0 = logistic regression), n-gram channel on/off "
                        "(default: all four; 64/lex is what ships)")
    p.add_argument("--stacks", action="store_true", help="compare sentiment fusions of the shipped heads instead")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--out", type=Path, default=None,
                   help="JSON results (default out/head_ablation.json, with --stacks out/head_stacks.json)")
    args = p.parse_args(argv)
    if args.out is None:
        args.out = Path("out/head_stacks.json" if args.stacks else "out/head_ablation.json")

    from sklearn.metrics import f1_score

    from models import datasets as D
    from models.embcache import EmbeddingCache
    from models.encoder import load_encoder
    from models.evaluate import evaluate_heads
    from models.heads import BINARY_TASKS
    from models.train import train_heads
    from streams.config import load_settings

    s = load_settings()
    enc = load_encoder(s.encoder_dir, device="cpu", threads=min(s.torch_threads or 2, 2), adapter=s.encoder_adapter)
    cache = EmbeddingCache(enc, None)
    data = D.default_data_dir()
    if args.stacks:
        return _stacks(cache, data, args.seed, args.out, enc.fingerprint)
    tr, va = D.load_split(data, "train", None, args.seed), D.load_split(data, "val", None, args.seed)
    X_tr, X_va = cache.encode([e.text for e in tr]), cache.encode([e.text for e in va])
    vi = [i for i, e in enumerate(va) if e.label("sentiment") is not None]
    vy = np.array([va[i].label("sentiment") for i in vi])
    results: dict[str, dict[str, float]] = {}
    for v in args.variants:
        hidden, lex = v.split("/")
        if lex not in ("lex", "nolex"):
            p.error(f"variant {v!r}: expected HIDDEN/lex or HIDDEN/nolex")
        t0 = time.time()
        h = train_heads(X_tr, tr, X_va, va, seed=args.seed, hidden=int(hidden), lexical=lex == "lex", progress=False)
        r = evaluate_heads(h, cache, data, None, args.seed)
        pva = h.predict(X_va, [e.text for e in va])  # the validation split, scored once for every figure below
        row = {"validation_sentiment_macro_f1": float(f1_score(vy, pva["sentiment"][vi].argmax(1), average="macro")),
               "tweeteval_sentiment_macro_recall": r["tweeteval_sentiment_val"]["sentiment"]["macro_recall"],
               "tweeteval_hate_offensive_macro_f1": r["tweeteval_hate_offensive_val"]["unfair_treatment"]["macro_f1"]}
        # per language on the validation split (the split that picks heads): what a per-language choice of
        # head (e.g. the n-gram channel only for Dutch) would have to be decided on
        for lang in ("en", "nl"):
            for t in ("sentiment", *BINARY_TASKS):
                idx = [i for i, e in enumerate(va) if e.lang == lang and e.label(t) is not None]
                if not idx:
                    continue
                y = np.array([va[i].label(t) for i in idx])
                pred = pva[t][idx].argmax(1) if t == "sentiment" else (pva[t][idx] >= h.thresholds[t]).astype(int)
                row[f"val_{lang}.{t}.macro_f1"] = float(f1_score(y, pred, average="macro"))
        for k in ("synth_test_en", "synth_test_nl"):
            for t, m in r[k].items():
                row[f"{k}.{t}.macro_f1"] = m["macro_f1"]
        row["seconds"] = time.time() - t0
        results[v] = row
        print(v, json.dumps({k: round(x, 3) for k, x in row.items()}), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"encoder": enc.fingerprint, "seed": args.seed, "variants": results}, indent=2))
    print(f"saved {args.out}", file=sys.stderr)
    return 0


def _stacks(cache: Any, data: Path, seed: int, out: Path, fingerprint: str) -> int:
    from sklearn.metrics import f1_score, recall_score

    from models import datasets as D
    from models.calibration import ece_multiclass
    from models.heads import Heads, default_heads_path, softmax
    from models.train import _balanced_weights, _fit_lr, _labelled

    h = Heads.load(default_heads_path())
    if h.lexical is None or h.sentiment.fuse_W is None or h.sentiment.fuse_b is None:
        raise SystemExit("the shipped heads have no n-gram channel: nothing to compare")
    lex = h.lexical

    def z(exs: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        ex = [e for e in exs if e.label("sentiment") is not None]
        texts = [e.text for e in ex]
        Z = np.hstack([h.sentiment.logits(cache.encode(texts)), lex.logits(texts)[:, :3]]).astype(np.float64)
        return Z, np.array([e.label("sentiment") for e in ex])

    va = D.load_split(data, "val", None, seed)
    vi, _, _ = _labelled(va, "sentiment")
    lang = np.array([va[i].lang for i in vi])
    Zv, yv = z([va[i] for i in vi])
    prior = np.bincount(yv, minlength=3) / len(yv)

    def fit(m: np.ndarray, balanced: bool) -> tuple[np.ndarray, np.ndarray]:
        w = _balanced_weights(yv[m], np.ones(int(m.sum()))) if balanced else np.ones(int(m.sum()))
        clf = _fit_lr(Zv[m], yv[m], w, 10.0, seed)  # the fusion `imon train` fits (models/train.py _fit_stack)
        return clf.coef_, clf.intercept_

    every = np.ones(len(yv), dtype=bool)
    stacks = {"shared (shipped)": (h.sentiment.fuse_W.astype(np.float64), h.sentiment.fuse_b.astype(np.float64)),
              "English rows only": fit(lang == "en", False), "Dutch rows only": fit(lang == "nl", False),
              "class-balanced": fit(every, True)}
    synth = D.synthetic("test", None, seed)
    sets = {"validation EN": (Zv[lang == "en"], yv[lang == "en"]), "validation NL": (Zv[lang == "nl"], yv[lang == "nl"]),
            "TweetEval val": z(D.tweeteval_sentiment(data)),
            "synth test EN": z([e for e in synth if e.lang == "en"]), "synth test NL": z([e for e in synth if e.lang == "nl"])}
    results: dict[str, dict[str, list[float]]] = {}
    rules = [*((n, W, b, False) for n, (W, b) in stacks.items()), ("shared, prior-corrected decision", *stacks["shared (shipped)"], True)]
    for name, W, b, corrected in rules:
        row = {}
        for sn, (Z, y) in sets.items():
            p = softmax(Z @ W.T + b)
            pred = (p / prior if corrected else p).argmax(1)
            row[sn] = [float(f1_score(y, pred, average="macro")), float(recall_score(y, pred, average="macro")),
                       float(ece_multiclass(p, y))]
        results[name] = row
        print(f"{name:34s}", "  ".join(f"{k} {v[0]:.3f}/{v[1]:.3f}/{v[2]:.3f}" for k, v in row.items()), flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"encoder": fingerprint, "seed": seed, "columns": "macro_f1, macro_recall, ece",
                               "validation_prior": prior.tolist(), "stacks": results}, indent=2))
    print(f"saved {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
