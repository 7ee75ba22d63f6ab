"""Would a threshold per language help? Precision and recall per language on the validation split (issue #3).

For each binary task prints, per language, the heads' precision and recall at their one shared threshold on
the validation split ``imon train`` calibrated and thresholded on, and the threshold the same rule (the lowest
one whose precision reaches the task's target) would choose on that language's rows alone: once unweighted,
once with the rows weighted to the English rows' class shares (``imon train --shared-prior``'s weights, so
the way our Dutch data was made does not set the Dutch threshold). A Dutch threshold below the shared one
would flag more Dutch turns, not fewer.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/language_thresholds.py [--heads models/artifacts/heads.npz]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    import numpy as np

    from models.base import BINARY_TASKS
    from models.calibration import binary_report, threshold_for_precision
    from models.train import _labelled, _shared_prior_weights
    from models.validation import script_inputs

    _, heads, va, X = script_inputs(__doc__.split("\n")[0], argv)
    prob = heads.predict(X, [e.text for e in va])
    langs = np.array([e.lang for e in va])
    targets = {t: float(heads.meta["threshold_rule"][t]["target_precision"]) for t in BINARY_TASKS}
    print(f"heads {heads.meta.get('version')}, validation split: {len(va)} rows")
    for t in BINARY_TASKS:
        vi, vy, _ = _labelled(va, t)
        pv, thr = prob[t][vi], heads.thresholds[t]
        weights = _shared_prior_weights(vy, langs[vi])
        print(f"{t}: shared threshold {thr:.3f} (precision target {targets[t]:g})")
        for lang in sorted(set(langs[vi])):
            m = langs[vi] == lang
            r = binary_report(pv[m], vy[m], thr)
            own, _ = threshold_for_precision(pv[m], vy[m], targets[t])
            shared_prior, _ = threshold_for_precision(pv[m], vy[m], targets[t], w=weights[m])
            print(f"  {lang}: {r['n']:5d} rows, {r['positives']:4d} positive; at the shared threshold precision "
                  f"{r['precision']:.3f}, recall {r['recall']:.3f}; own threshold {own:.3f}, "
                  f"with English class shares {shared_prior:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
