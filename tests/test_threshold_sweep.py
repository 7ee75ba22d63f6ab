"""scripts/threshold_sweep.py: precision and recall per threshold and language on labelled turns, and a usage
error (exit status 2) when the turns cannot answer the question."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}


def _write(path: Path, rows: list[tuple[str, str, int]]) -> Path:
    path.write_text("".join(json.dumps({"text": t, "language": lang, "labels": {"human_requested": y}}) + "\n"
                            for t, lang, y in rows))
    return path


def test_sweep_reports_each_threshold_per_language(tmp_path: Path) -> None:
    f = _write(tmp_path / "turns.jsonl", [
        ("I want to talk to a real person now", "en", 1), ("Can I speak to an agent please", "en", 1),
        ("My invoice is wrong this month", "en", 0), ("When does my contract end?", "en", 0),
        ("Ik wil een medewerker spreken", "nl", 1), ("Wanneer komt de monteur?", "nl", 0)])
    r = subprocess.run([sys.executable, "scripts/threshold_sweep.py", "--labelled", str(f), "--task", "human_requested",
                        "--thresholds", "0.5", "--targets", "0.9"], cwd=ROOT, env=ENV, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines() if line.strip().startswith("0.500")]
    assert [row[1] for row in rows] == ["en", "nl"]
    assert all(int(row[2]) <= 3 for row in rows)  # flagged never more than the language's turns
    assert "human_requested on 6 turns (3 positive)" in r.stdout
    assert "lowest threshold for precision >= 0.9" in r.stdout


def test_one_class_is_a_usage_error(tmp_path: Path) -> None:
    f = _write(tmp_path / "turns.jsonl", [("When does my contract end?", "en", 0)])
    r = subprocess.run([sys.executable, "scripts/threshold_sweep.py", "--labelled", str(f), "--task", "human_requested"],
                       cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "both classes of human_requested" in r.stderr
