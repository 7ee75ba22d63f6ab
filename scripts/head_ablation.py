#!/usr/bin/env python3
"""Head ablation on the shipped encoder: refit the heads with and without the hidden layer and the
character n-gram channel (models/train.py ``train_heads``, same data, seed and calibration as `imon train`)
and report the held-out figures of each, so the choice of head is one made on the validation split.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/head_ablation.py --out out/head_ablation.json

Needs the embedding cache of the shipped encoder (built by `imon train`; otherwise it encodes ~72,000
texts first, ~6 min on 2 cores). Each variant takes 15-65 s more. Nothing is written but ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variants", nargs="+", default=["64/lex", "0/lex", "64/nolex", "0/nolex"],
                   help="HIDDEN/lex|nolex per variant: hidden units (0 = logistic regression), n-gram channel on/off "
                        "(default: all four; 64/lex is what ships)")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--out", type=Path, default=Path("out/head_ablation.json"))
    args = p.parse_args(argv)

    from sklearn.metrics import f1_score

    from models import datasets as D
    from models.embcache import EmbeddingCache
    from models.encoder import load_encoder
    from models.evaluate import evaluate_heads
    from models.train import train_heads
    from streams.config import load_settings

    s = load_settings()
    enc = load_encoder(s.encoder_dir, device="cpu", threads=min(s.torch_threads or 2, 2), adapter=s.encoder_adapter)
    cache = EmbeddingCache(enc, None)
    data = D.default_data_dir()
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
        pv = h.predict(X_va[vi], [va[i].text for i in vi])["sentiment"]
        row = {"validation_sentiment_macro_f1": float(f1_score(vy, pv.argmax(1), average="macro")),
               "tweeteval_sentiment_macro_recall": r["tweeteval_sentiment_val"]["sentiment"]["macro_recall"],
               "tweeteval_hate_offensive_macro_f1": r["tweeteval_hate_offensive_val"]["unfair_treatment"]["macro_f1"]}
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


if __name__ == "__main__":
    raise SystemExit(main())
