"""The bench's per-stage figures from a worker's /metrics text: means, and counts of slow batches and late
wake-ups between two scrapes (streams/bench.py)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from streams import bench
from streams.metrics import Metrics


def scrape(reg: CollectorRegistry) -> list[Any]:
    return list(text_string_to_metric_families(generate_latest(reg).decode()))


def test_stage_means_count_slow_batches_and_late_wakeups(monkeypatch: Any) -> None:
    m = Metrics.create(CollectorRegistry())
    monkeypatch.setattr(bench, "_families", lambda port: scrape(m.registry))
    m.stages.labels("score").observe(0.05)
    before = bench._stage_totals([1])
    for secs in (0.02, 0.12, 0.3, 0.6):
        m.stages.labels("score").observe(secs)
    for secs in (0.001, 0.2, 0.26):
        m.loop_lag.observe(secs)
    got = bench._stage_means(before, bench._stage_totals([1]))
    assert got["score"] == {"mean_ms": 260.0, "count": 4, "over_100_ms": 3, "over_250_ms": 2}
    assert got["loop"] == {"mean_ms": 153.67, "count": 3, "over_100_ms": 2, "over_250_ms": 1}
