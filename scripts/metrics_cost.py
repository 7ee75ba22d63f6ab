"""What one scrape of a worker's /metrics costs the worker (issue #7): size and generation time of its
exposition once every label set of ``imon_score`` has been seen (5 tasks x 5 queues x 4 channels x 3 speakers,
as after a day of traffic), made by ``streams.metrics.exposition`` (what the worker's HTTP thread serves, holding the
interpreter's lock its event loop needs; since rule 31) beside ``prometheus_client.generate_latest`` of the same
registry (what it served before).

    .venv/bin/python scripts/metrics_cost.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=30, help="scrapes to time (default 30)")
    a = ap.parse_args(argv)
    from prometheus_client import CollectorRegistry, generate_latest

    from streams.config import DEFAULT_QUEUES
    from streams.metrics import CHANNELS, TASKS, Metrics, exposition

    m = Metrics.create(CollectorRegistry())
    for task in TASKS:
        for q in DEFAULT_QUEUES:
            for ch in CHANNELS:
                for sp in ("customer", "agent", "bot"):
                    m.scores.labels(task, q, ch, sp).observe(0.42)
    text = exposition(m.registry)
    times: dict[str, list[float]] = {"/metrics (exposition)": [], "generate_latest": []}
    for _ in range(a.rounds):  # interleaved
        for name, fn in (("/metrics (exposition)", exposition), ("generate_latest", generate_latest)):
            t = time.perf_counter()
            fn(m.registry)
            times[name].append(time.perf_counter() - t)
    lines = text.count(b"\n")
    score_lines = sum(1 for ln in text.splitlines() if ln.startswith(b"imon_score{") or ln.startswith(b"imon_score_"))
    print(f"exposition: {len(text):,} bytes, {lines:,} lines ({score_lines:,} of imon_score)")
    for name, xs in times.items():
        print(f"  {name}: median {statistics.median(xs) * 1000:.1f} ms, min {min(xs) * 1000:.1f} ms over {a.rounds} rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
