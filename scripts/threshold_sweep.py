"""Precision and recall of a binary task at several thresholds, per language, on labelled turns (issue #3).

Answers "would another threshold help on this traffic?" before anyone changes one: on the labelled turns given
(the format of ``imon evaluate --labelled``, models/labelled.py), for each threshold, per language, how many
turns are flagged and the precision and recall of the flags; then the lowest threshold whose precision reaches
each target on all the rows together (the rule ``imon train`` fits thresholds by, models/calibration.py). If
precision does not rise with the threshold, the scores do not separate the turns and no threshold will.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/gold_labelled.py --part dev --out out/gold_dev.jsonl
    HF_HUB_OFFLINE=1 .venv/bin/python scripts/threshold_sweep.py --labelled out/gold_dev.jsonl --task escalation
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 2)[2],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labelled", type=Path, action="append", required=True, metavar="PATH",
                    help="labelled JSONL file or folder (repeatable)")
    ap.add_argument("--task", choices=("escalation", "human_requested", "unfair_treatment"), default="escalation")
    ap.add_argument("--thresholds", type=float, nargs="+", default=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
                    help="thresholds to report besides the heads' own (default 0.1 ... 0.8)")
    ap.add_argument("--targets", type=float, nargs="+", default=[0.6, 0.75, 0.9],
                    help="precision targets to find the lowest threshold for (default 0.6 0.75 0.9)")
    ap.add_argument("--heads", type=Path, default=None, help="heads file (default: the shipped heads)")
    ap.add_argument("--build-dir", type=Path, default=None, help="embedding cache folder (default: models/build)")
    args = ap.parse_args(argv)

    import numpy as np

    from models import labelled as L
    from models.calibration import threshold_for_precision
    from models.embcache import EmbeddingCache
    from models.encoder import load_encoder
    from models.heads import Heads, default_heads_path
    from streams.config import Settings

    try:
        exs = [e for e in L.load(args.labelled) if e.label(args.task) is not None]
    except ValueError as e:
        print(f"threshold_sweep: {e}", file=sys.stderr)
        return 2
    ys = np.array([e.label(args.task) for e in exs])
    if len(set(ys.tolist())) < 2:
        print(f"threshold_sweep: the files need turns of both classes of {args.task}", file=sys.stderr)
        return 2
    s = Settings()
    heads = Heads.load(args.heads or (Path(s.heads_path) if s.heads_path else default_heads_path()))
    enc = load_encoder(s.encoder_dir, device=s.device, threads=s.torch_threads or 2, adapter=s.encoder_adapter,
                       dtype=s.encoder_dtype)
    X = EmbeddingCache(enc, args.build_dir).encode([e.text for e in exs])
    p = heads.predict(X, [e.text for e in exs])[args.task]
    langs = np.array([e.lang for e in exs])
    own = float(heads.thresholds[args.task])
    print(f"{args.task} on {len(exs)} turns ({int(ys.sum())} positive), heads {heads.meta.get('version')}, "
          f"their threshold {own:.3f}")
    print(f"{'threshold':>9} {'language':>8} {'flagged':>7} {'precision':>9} {'recall':>6}")
    for t in sorted({own, *args.thresholds}):
        for lang in sorted(set(langs.tolist())):
            m = langs == lang
            d = (p >= t) & m
            tp, pos = int((d & (ys == 1)).sum()), int(((ys == 1) & m).sum())
            prec = f"{tp / d.sum():.2f}" if d.sum() else "-"
            rec = f"{tp / pos:.2f}" if pos else "-"
            print(f"{t:>9.3f} {lang:>8} {int(d.sum()):>7} {prec:>9} {rec:>6}")
    for target in args.targets:
        t, rule = threshold_for_precision(p, ys, target)
        print(f"lowest threshold for precision >= {target:g} on all rows: {t:.3f} ({rule})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
