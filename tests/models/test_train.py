"""A tiny `imon train --limit` run is reproducible: same seed -> identical heads."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from models import train
from streams.config import Settings

pytestmark = pytest.mark.slow


def _run(out, build, seed: int) -> None:
    p = argparse.ArgumentParser()
    train.add_arguments(p)
    args = p.parse_args(["--limit", "6", "--seed", str(seed), "--out", str(out), "--build-dir", str(build), "--no-eval"])
    assert train.run(args, Settings(torch_threads=2)) == 0


def test_train_limit_is_reproducible(tmp_path) -> None:
    build = tmp_path / "build"  # shared cache: the second run re-uses the first run's embeddings
    a, b = tmp_path / "a" / "heads.npz", tmp_path / "b" / "heads.npz"
    _run(a, build, seed=7)
    _run(b, build, seed=7)
    with np.load(a) as za, np.load(b) as zb:
        assert sorted(za.files) == sorted(zb.files)
        for k in za.files:
            np.testing.assert_array_equal(za[k], zb[k])
    ma, mb = (json.loads(p.with_suffix(".json").read_text()) for p in (a, b))
    assert ma["thresholds"] == mb["thresholds"] and ma["version"] == mb["version"]
    assert ma["seed"] == 7 and ma["limit"] == 6
    ra, rb = (json.loads((p.parent / "reference_scores.json").read_text()) for p in (a, b))
    assert ra == rb and "escalation" in ra
