"""The bench's per-stage figures from a worker's /metrics text: means, and counts of slow batches and late
wake-ups between two scrapes (streams/bench.py)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from streams import bench, proctree
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


def test_parties_name_each_process_by_its_place_on_the_machine() -> None:
    procs = {10: (1, "imon", 5.0), 11: (10, "python3", 7.0), 12: (11, "python3", 1.0), 20: (1, "java", 3.0),
             21: (1, "prometheus", 2.0), 22: (1, "alertmanager", 0.5), 30: (1, "imon", 4.0), 40: (2, "kworker/0:1", 0.25),
             41: (99, "bash", 0.25)}  # 99 is gone: an orphan of an unknown parent is the rest's
    got = proctree.parties(procs, workers=[10], me=30)
    assert got == {"bench": 4.0, "worker": 5.0, "scorer": 8.0, "broker": 3.0, "prometheus": 2.0,
                   "alertmanager": 0.5, "rest": 0.5}
    # the soak names its own process "soak"
    assert proctree.parties(procs, workers=[10], me=30, me_as="soak")["soak"] == 4.0


def test_cpu_timeline_sees_a_busy_worker_each_second() -> None:
    """A real busy process read through /proc: each one-second sample gives it most of a core (on a 2-core
    machine shared with the suite it gets at least a fifth), and a sleeping one none."""
    import subprocess
    import sys
    import time

    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.3)
        tl = bench._CpuTimeline([busy.pid], period=1.0)
        tl.start()
        time.sleep(3.4)
        samples = tl.stop()
        quiet = bench._CpuTimeline([idle.pid], period=0.5)
        quiet.start()
        time.sleep(1.2)
        calm = quiet.stop()
    finally:
        busy.kill()
        idle.kill()
    assert [c["s"] for c in samples] == [0, 1, 2]
    assert all(c["worker"] >= 0.2 and c["busy"] >= c["worker"] - 0.05 for c in samples), samples
    assert all(c["scorer"] == 0.0 for c in samples)
    assert calm and all(c["worker"] == 0.0 for c in calm), calm


def test_the_periodic_scraper_scrapes_on_the_phase_boundary_once_and_keeps_that_scrape() -> None:
    """Rule 33: the scraper's ticks are placed so one falls on the boundary, and that scrape's body gives the
    boundary's stage totals: the worker is scraped once there, not by the scraper and the bench both."""
    import time

    from prometheus_client import start_http_server

    from streams.bench import _free_port

    m = Metrics.create(CollectorRegistry())
    m.stages.labels("score").observe(0.3)
    port = _free_port()
    server, _ = start_http_server(port, addr="127.0.0.1", registry=m.registry)
    try:
        t0 = time.monotonic()
        sc = bench._Scraper([port], 1.0, t0, 2.5)  # ticks at 0.5, 1.5, 2.5 (the boundary), 3.5, ...
        sc.start()
        time.sleep(2.0 - (time.monotonic() - t0))
        m.stages.labels("score").observe(0.05)  # before the boundary's scrape: in its totals
        time.sleep(3.0 - (time.monotonic() - t0))
        m.stages.labels("score").observe(0.05)  # after it: not
        time.sleep(3.8 - (time.monotonic() - t0))
        scrapes = sc.stop()
    finally:
        server.shutdown()
    began = [t for t, _ in scrapes]
    assert len(began) >= 3, began
    assert all(abs(t - want) < 0.4 for t, want in zip(began[:3], (0.5, 1.5, 2.5), strict=True)), began
    assert len(sc.at_boundary) == 1
    assert bench._stage_totals([port], sc.at_boundary)["score"][:2] == (0.35, 2.0)
    # the placement for the bench's defaults (a 30-s warm-up, every 5 s) and for a boundary off the 5-s grid
    for every, boundary, first, keep in ((5, 30.0, 5, 5), (5, 12.0, 2, 2), (5, 0.0, 0, 0), (5, 3.0, 3, 0)):
        s = bench._Scraper([], every, 0.0, boundary)
        assert (s.first, s.keep) == (first, keep) and s.first + s.keep * every == boundary
