#!/usr/bin/env python3
"""Project identity directions out of the sentiment head's input (docs/experiments/rule_46.md).

The directions come from the counterfactual copies ``imon train`` draws (``models.cda``: the same utterance with
different names or identity terms, disjoint from the bias audit's): each copy's embedding minus the mean of its
group, stacked, and their top ``--k`` principal directions U (uncentred SVD). The sentiment head's first layer W1
becomes W1 (I - U^T U); nothing else in the heads changes, and scoring costs the same. Writes a copy of the heads
file with its own version hash.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/identity_projection.py --out out/s39/proj/heads.npz
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import datasets as D  # noqa: E402
from models.cda import cda_group, identity_directions  # noqa: E402
from models.heads import Heads, default_heads_path  # noqa: E402
from models.train import MODEL_VERSION, content_digest  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--heads", type=Path, default=default_heads_path(), help="heads file (.npz) to read")
    ap.add_argument("--out", type=Path, required=True, help="heads file to write (a copy; never in place)")
    ap.add_argument("--k", type=int, default=8, help="directions to project out (rule 46: 8)")
    ap.add_argument("--data-dir", type=Path, default=None, help="public data folder (default: ../shared/data)")
    args = ap.parse_args(argv)
    if args.out.resolve() == args.heads.resolve():
        ap.error("--out must differ from --heads")
    from models.embcache import EmbeddingCache
    from models.encoder import configured_encoder
    from streams.config import load_settings

    heads = Heads.load(args.heads)
    if heads.sentiment.W1 is None:
        raise SystemExit("these heads' sentiment head has no hidden layer to project into")
    train = D.split_of(heads.meta, args.data_dir or D.default_data_dir(), "train")
    cda = [e for e in train if cda_group(e) is not None]
    if not cda:
        raise SystemExit("no counterfactual copies in the training split")
    try:
        enc = configured_encoder(load_settings(), heads.meta)
    except ValueError as e:
        raise SystemExit(str(e)) from None
    emb = EmbeddingCache(enc, None).encode([e.text for e in cda], progress=True)
    U, share = identity_directions(np.asarray(emb, dtype=np.float64), [str(cda_group(e)) for e in cda], args.k)
    W1 = heads.sentiment.W1.astype(np.float64)
    heads.sentiment.W1 = (W1 - (W1 @ U.T) @ U).astype(np.float32)
    old = heads.meta.get("version")
    heads.meta["identity_projection"] = {"k": args.k, "residual_share": round(share, 4), "copies": len(cda),
                                         "groups": len({cda_group(e) for e in cda}), "from": old}
    heads.meta["version"] = f"{MODEL_VERSION}+{content_digest(heads)}"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    heads.save(args.out)
    print(f"{old} -> {heads.meta['version']}: {args.k} identity directions ({share:.1%} of the residuals' "
          f"variance, {len(cda)} copies) projected out of the sentiment head; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
