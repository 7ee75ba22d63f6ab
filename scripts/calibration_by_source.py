"""Why one calibration map misses the ECE target on the synthetic test: calibration error per source (issue #3).

The binary heads' probabilities come from one fused calibration (``imon train``: a logistic regression of the
labels on the head's and the n-gram channel's decision values) fitted on the whole validation split. For each
binary task this prints, on that split, the expected calibration error pooled and per source, and the same after
refitting the calibration with every source given the same total weight (and the threshold chosen again by the
task's precision rule): if the sources only differed in size, that would even them out; if they disagree about
what a score means, it cannot.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/calibration_by_source.py [--heads models/artifacts/heads.npz]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    import numpy as np

    from models.base import BINARY_TASKS
    from models.calibration import binary_report, ece_binary, threshold_for_precision
    from models.lexical import lexical_index
    from models.train import _fit_stack, _labelled
    from models.validation import script_inputs

    a, heads, va, X = script_inputs(__doc__.split("\n")[0], argv)
    if heads.lexical is None:
        raise SystemExit("these heads have no n-gram channel; the script compares fused calibrations")
    texts = [e.text for e in va]
    zl = heads.lexical_logits(texts, len(texts))
    assert zl is not None  # the heads have the channel (checked above)
    sources = np.array([e.source.split(":")[0] for e in va])
    targets = {t: float(heads.meta["threshold_rule"][t]["target_precision"]) for t in BINARY_TASKS}
    print(f"heads {heads.meta.get('version')}, validation split: {len(va)} rows; ECE shipped -> refitted with "
          "equal weight per source")
    for t in BINARY_TASKS:
        vi, vy, _ = _labelled(va, t)
        head, src = heads.binary[t], sources[vi]
        z = np.column_stack([head.logit(X[vi]), zl[vi, lexical_index(t)]])
        names, counts = np.unique(src, return_counts=True)
        w = np.array([len(vi) / (len(names) * counts[list(names).index(x)]) for x in src])
        W, c = _fit_stack(z, vy, a.seed, w)
        refit = 1.0 / (1.0 + np.exp(-(z @ W[0] + c[0])))
        shipped = head.proba(X[vi], zl[vi, lexical_index(t)])
        thr, _ = threshold_for_precision(refit, vy, targets[t])
        f1_old = binary_report(shipped, vy, heads.thresholds[t])["f1"]
        f1_new = binary_report(refit, vy, thr)["f1"]
        print(f"{t}: pooled ECE {ece_binary(shipped, vy):.3f} -> {ece_binary(refit, vy):.3f}; F1 at the precision "
              f"rule's threshold {f1_old:.3f} ({heads.thresholds[t]:.3f}) -> {f1_new:.3f} ({thr:.3f})")
        for name in names:
            m = src == name
            if len(np.unique(vy[m])) < 2:
                continue  # one class only: every score is "too high" or nothing; ECE says little
            print(f"  {name:20s} {int(m.sum()):5d} rows, positive share {vy[m].mean():.3f}, mean score "
                  f"{shipped[m].mean():.3f}; ECE {ece_binary(shipped[m], vy[m]):.3f} -> {ece_binary(refit[m], vy[m]):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
