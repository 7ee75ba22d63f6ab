"""scripts/sentiment_decision.py: the shipped heads' sentiment decision set from the split they were calibrated on."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from models.heads import Heads, default_heads_path

ROOT = Path(__file__).resolve().parents[2]


def _run(rule: str, heads: Path) -> str:
    out = subprocess.run([sys.executable, "scripts/sentiment_decision.py", rule, "--heads", str(heads)], cwd=ROOT,
                         capture_output=True, text=True, check=True, timeout=120)
    return out.stdout


def test_balanced_then_argmax_restores_the_heads_and_their_version(tmp_path: Path) -> None:
    src = default_heads_path()
    heads = tmp_path / "heads.npz"
    shutil.copy(src, heads)
    shutil.copy(src.with_suffix(".json"), heads.with_suffix(".json"))
    shipped = json.loads(src.with_suffix(".json").read_text())
    shipped_rule = shipped.get("sentiment_decision", {"rule": "argmax"})["rule"]
    assert f"already decided by {shipped_rule}; nothing written" in _run(shipped_rule, heads)
    assert json.loads(heads.with_suffix(".json").read_text()) == shipped  # left as it is

    _run("argmax", heads)
    before = json.loads(heads.with_suffix(".json").read_text())
    _run("balanced", heads)
    meta = json.loads(heads.with_suffix(".json").read_text())
    counts = np.array([sum(s.get(f"sentiment={c}", 0) for s in meta["training_data"]["validation"].values())
                       for c in ("negative", "neutral", "positive")], dtype=float)
    prior = meta["sentiment_decision"]["prior"]
    np.testing.assert_allclose([prior["negative"], prior["neutral"], prior["positive"]], counts / counts.sum())
    assert Heads.load(heads).sentiment_prior is not None
    assert meta["version"] != before["version"] and meta["sentiment_decision_set_from"] == before["version"]

    _run("argmax", heads)
    meta = json.loads(heads.with_suffix(".json").read_text())
    assert meta["sentiment_decision"] == {"rule": "argmax"} and Heads.load(heads).sentiment_prior is None
    assert meta["version"] == before["version"] and "sentiment_decision_set_from" not in meta
    assert heads.read_bytes() == src.read_bytes()  # the weights are not touched
