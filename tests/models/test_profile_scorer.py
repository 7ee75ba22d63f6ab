"""scripts/profile_scorer.py (README's per-batch-size figures): one line per batch size, with and without
occlusion evidence, on the real scorer. It measures; nothing here asserts a speed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"batch +(\d+): +([\d.]+) utt/s, +([\d.]+) tokens/utt, encoder +([\d.]+) ms/utt = +([\d.]+) us/token, "
                  r"other +([\d.]+) ms/utt, torch threads (\d+)")

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("extra", [[], ["--no-evidence"]])
def test_profile_prints_one_line_per_batch_size(extra: list[str]) -> None:
    out = subprocess.run([sys.executable, "scripts/profile_scorer.py", "--n", "24", "--sizes", "4", "8", *extra],
                         cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True,
                         check=True, timeout=300)
    rows = [m.groups() for m in map(LINE.search, out.stdout.splitlines()) if m]
    assert [int(r[0]) for r in rows] == [4, 8], out.stdout
    for _, utt_s, tokens, enc_ms, us_tok, other_ms, threads in rows:
        assert float(utt_s) > 0 and float(tokens) > 2 and float(enc_ms) > 0 and float(us_tok) > 0
        assert float(other_ms) >= 0 and int(threads) >= 1
