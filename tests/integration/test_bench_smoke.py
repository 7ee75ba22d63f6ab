"""`imon bench` end to end on the real broker, tiny: every phase runs and the JSON has what the README's
tables are built from. No speed is asserted (the bench measures; it is not a timed test)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def test_a_small_bench_run_reports_every_phase(kafka_bootstrap: str, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    # Python's own GC threshold: with the default 50,000 a run this small may see no collection at all
    env = {**os.environ, "IMON_KAFKA_BOOTSTRAP": kafka_bootstrap, "HF_HUB_OFFLINE": "1", "IMON_GC_THRESHOLD0": "700"}
    proc = subprocess.run(
        [sys.executable, "-m", "streams.cli", "bench", "--events", "300", "--raw-utterances", "60",
         "--latency-rate", "20", "--latency-seconds", "3", "--partitions", "2", "--out", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(out.read_text())
    assert res["raw_scorer"]["utterances"] == 60 and res["raw_scorer"]["utterances_per_s"] > 0
    pipe = res["pipeline"]
    assert pipe["utterances"] > 0 and pipe["utterances_per_s"] > 0
    assert res["pipeline_vs_raw"] == pytest.approx(pipe["utterances_per_s"] / res["raw_scorer"]["utterances_per_s"],
                                                   abs=1e-3)
    assert {"queued", "prepare", "score", "finish", "publish"} <= set(pipe["stages"])
    assert "gc0" in pipe["stages"] or "gc0" in res["latency"]["stages"]  # imon_gc_pause_seconds is scraped
    lat = res["latency"]
    assert lat["utterances"] > 0 and 0 < lat["ms"]["p50"] <= lat["ms"]["p99"] <= lat["ms"]["max"]
    assert res["settings"]["encoder_dtype_resolved"] in ("float32", "bfloat16")
    assert res["worker_rss_bytes"] > 0
    # Where the cores went (Linux /proc): the raw scorer runs in the bench process, the pipeline in the worker.
    assert res["raw_scorer"]["cpu"]["cores_used"]["bench"] > 0
    for phase in (pipe, lat):
        use = phase["cpu"]["cores_used"]
        assert use["worker"] > 0 and 0 < use["machine"] <= phase["cpu"]["cores"] + 0.1, phase["cpu"]
    assert res["pipeline_vs_raw_per_core"] > 0
    assert (tmp_path / "bench.worker.log").exists()
