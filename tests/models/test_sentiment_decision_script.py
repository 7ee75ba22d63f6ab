"""scripts/sentiment_decision.py: the shipped heads' sentiment decision set from the split they were calibrated on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

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


def test_adapted_needs_texts_and_only_it_takes_them(tmp_path: Path) -> None:
    for argv in (["adapted"], ["balanced", "--rsics"], ["argmax", "--texts", str(tmp_path / "t.jsonl")]):
        out = subprocess.run([sys.executable, "scripts/sentiment_decision.py", *argv], cwd=ROOT, capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 2 and "--texts or --rsics goes with adapted" in out.stderr, argv


def test_read_texts_leaves_out_what_may_not_or_cannot_be_scored(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from sentiment_decision import read_texts

    f = tmp_path / "t.jsonl"
    f.write_text("\n".join(json.dumps(x) for x in (
        {"text": "my bill is wrong"}, {"text": "no consent", "consent": {"ai_analysis": False}},
        {"type": "interaction_end", "text": "x"}, {"text": ""}, {"speaker": "agent", "text": "happy to help"},
        {"no": "text"}, [1, 2])) + "\n\n")
    assert read_texts(f) == (["my bill is wrong", "happy to help"], 5)
    f.write_text('{"text": "ok"}\n{broken\n')
    with pytest.raises(SystemExit, match="line 2: not JSON"):
        read_texts(f)


def test_adapted_writes_the_estimated_shares_and_argmax_restores_the_file(tmp_path: Path) -> None:
    """Loads the encoder and scores a small file of turns: the estimate and its provenance are in the heads file,
    the version changes and names the trained one, and argmax brings the trained file back."""
    src = default_heads_path()
    heads = tmp_path / "heads.npz"
    shutil.copy(src, heads)
    shutil.copy(src.with_suffix(".json"), heads.with_suffix(".json"))
    _run("argmax", heads)
    trained = json.loads(heads.with_suffix(".json").read_text())
    turns = tmp_path / "turns.jsonl"
    turns.write_text("".join(json.dumps({"text": t}) + "\n" for t in (
        "Where is my parcel? It was due on Monday.", "Thank you so much, that fixed it!",
        "This is the third time I am calling and nobody helps, I am furious.", "Can I change my delivery address?",
        "Ik wil mijn abonnement opzeggen.", "Great service, thanks again.")))
    out = subprocess.run([sys.executable, "scripts/sentiment_decision.py", "adapted", "--texts", str(turns),
                          "--heads", str(heads)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    meta = json.loads(heads.with_suffix(".json").read_text())
    rule = meta["sentiment_decision"]
    assert rule["rule"] == "adapted" and sum(rule["target"].values()) == pytest.approx(1.0)
    assert meta["sentiment_target_estimate"]["texts"] == 6 and meta["sentiment_target_estimate"]["left_out"] == 0
    assert meta["version"] != trained["version"] and meta["sentiment_decision_set_from"] == trained["version"]
    h = Heads.load(heads)
    assert h.sentiment_target is not None and h.sentiment_divisor is not None
    _run("argmax", heads)
    # the shipped file predates rule 44 and does not name its rule; written again, it says argmax
    assert json.loads(heads.with_suffix(".json").read_text()) == {**trained, "sentiment_decision": {"rule": "argmax"}}
    assert heads.read_bytes() == src.read_bytes()
