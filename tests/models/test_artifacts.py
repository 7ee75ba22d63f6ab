"""The shipped heads: small, complete metadata, loadable without the network."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from models.base import BINARY_TASKS, SENTIMENT_CLASSES
from models.heads import Heads, default_heads_path


def test_shipped_heads_load_and_are_small() -> None:
    path = default_heads_path()
    assert path.stat().st_size < 3_000_000  # "a few MB": heads ~0.4 MB + the n-gram channel ~2.1 MB
    h = Heads.load(path)
    assert h.dim == 384
    for t in BINARY_TASKS:
        assert 0.0 < h.thresholds[t] < 1.0
    assert h.lexical is not None  # the n-gram channel ships with the heads
    p = h.predict(np.zeros((1, h.dim), np.float32), ["hello"])
    assert p["sentiment"].shape == (1, 3)


def test_shipped_metadata_is_complete() -> None:
    meta = json.loads(default_heads_path().with_suffix(".json").read_text())
    for key in ("name", "version", "encoder", "classes", "thresholds", "threshold_rule", "calibration",
                "training_data", "seed", "heldout_metrics"):
        assert key in meta, key
    assert meta["classes"]["sentiment"] == list(SENTIMENT_CLASSES)
    assert meta["encoder"]["fingerprint"]


def test_importing_the_model_package_loads_nothing_heavy() -> None:
    code = (
        "import sys, models.scorer, models.train, models.evaluate, models.encoder, models.synth;"
        "heavy = [m for m in ('torch', 'transformers', 'sklearn') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_shipped_drift_reference_loads_and_is_small() -> None:
    from streams.drift import load_reference

    path = default_heads_path().parent / "reference_scores.json"
    assert path.stat().st_size < 20_000
    ref = load_reference(path)
    assert set(ref) == {"sentiment_negative", "sentiment_positive", *BINARY_TASKS}
    for r in ref.values():
        assert r.n >= 1000
        assert sum(r.proportions) == pytest.approx(1.0)
