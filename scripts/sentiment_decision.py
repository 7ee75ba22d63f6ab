#!/usr/bin/env python3
"""Set how a trained heads file decides sentiment, without training it again (docs/experiments/rule_44.md).

``balanced``: the label becomes the argmax of p(c | x) / prior(c) (``models.heads.sentiment_decisions``), the
prior being the class shares of the validation rows the heads' sentiment calibration was fitted on. They are
counted here from the same split ``imon train`` drew (``models.datasets.load_split`` with the file's seed, row
cap and written batches) and checked against the counts the file recorded when it was trained. ``argmax``: the
most probable class (the rule before rule 44). The weights are not touched. When the decision changes, the version's
hash is recomputed (``models.train.content_digest``), so the two decisions never share a version, and switching
back restores the version the file had; a file that already decides that way is left as it is. ``imon train --sentiment-decision`` writes the same thing when it trains.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/sentiment_decision.py balanced --heads models/artifacts/heads.npz

Only for heads calibrated without validation weights (``shared_prior`` "off"): with them, the prior is the
weighted shares, which only a training run knows.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import datasets as D  # noqa: E402
from models.base import SENTIMENT_CLASSES  # noqa: E402
from models.heads import Heads, default_heads_path  # noqa: E402
from models.train import MODEL_VERSION, SENTIMENT_DECISIONS, content_digest  # noqa: E402


def validation_prior(meta: dict, data_dir: Path) -> np.ndarray:
    """Class shares (negative, neutral, positive) of the sentiment-labelled validation rows of the heads'
    training run, checked against the counts it recorded."""
    if meta.get("shared_prior", "off") != "off":
        raise SystemExit(f"these heads were calibrated with shared_prior={meta['shared_prior']!r}: retrain them with "
                         "imon train --sentiment-decision instead")
    td = meta.get("training_data") or {}
    batches = {**D.WRITTEN_BATCHES_DEFAULT, **{int(k): tuple(v) for k, v in td.get("written_batches", {}).items()}}
    va = D.load_split(data_dir, "val", meta.get("limit"), int(meta["seed"]), batches)
    ys = [y for y in (e.label("sentiment") for e in va) if y is not None]
    counts = np.bincount(np.array(ys, dtype=int), minlength=len(SENTIMENT_CLASSES)).astype(np.float64)
    recorded = np.array([sum(int(s.get(f"sentiment={c}", 0)) for s in td.get("validation", {}).values())
                         for c in SENTIMENT_CLASSES], dtype=np.float64)
    if not np.array_equal(counts, recorded):
        raise SystemExit(f"the validation split drawn now ({counts.astype(int).tolist()}) is not the one these heads "
                         f"were calibrated on ({recorded.astype(int).tolist()}): the data or the code changed since")
    if not np.all(counts > 0):
        raise SystemExit("the validation split lacks a sentiment class: no balanced decision")
    return counts / counts.sum()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rule", choices=SENTIMENT_DECISIONS, help="argmax or balanced")
    ap.add_argument("--heads", type=Path, default=default_heads_path(), help="heads file (.npz) to read")
    ap.add_argument("--out", type=Path, default=None, help="heads file to write (default: --heads, in place)")
    ap.add_argument("--data-dir", type=Path, default=None, help="public data folder (default: ../shared/data)")
    args = ap.parse_args(argv)
    heads = Heads.load(args.heads)
    old = heads.meta.get("version")
    if (heads.sentiment_prior is None) == (args.rule == "argmax"):
        print(f"{old}: sentiment already decided by {args.rule}; nothing written")
        return 0
    if args.rule == "balanced":
        heads.sentiment_prior = validation_prior(heads.meta, args.data_dir or D.default_data_dir())
    else:
        heads.sentiment_prior = None
    if args.rule == "argmax" and heads.meta.get("sentiment_decision_set_from"):
        heads.meta["version"] = heads.meta.pop("sentiment_decision_set_from")  # back to the file as trained
    else:
        heads.meta["version"] = f"{MODEL_VERSION}+{content_digest(heads)}"
        heads.meta["sentiment_decision_set_from"] = old  # heldout_metrics were measured under that version
    # Only the metadata changes: the weights file is copied byte for byte when written elsewhere, never re-encoded
    # (np.savez's zip headers differ between Python builds).
    npz = Path(args.out or args.heads)
    if npz.resolve() != Path(args.heads).resolve():
        npz.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(args.heads, npz)
    meta = npz.with_suffix(".json")
    meta.write_text(json.dumps(heads.meta_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    prior = "" if heads.sentiment_prior is None else " prior " + ", ".join(
        f"{c} {v:.4f}" for c, v in zip(SENTIMENT_CLASSES, heads.sentiment_prior, strict=True))
    print(f"{old} -> {heads.meta['version']}: sentiment decided by {args.rule}{prior}; wrote {npz} and {meta}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
