"""Pauses of Python's cyclic garbage collector, as the worker metric ``imon_gc_pause_seconds``.

Why: a full (generation 2) collection walks every tracked object the process holds, and a worker holds
~500,000 of them from torch, transformers and Faust alone; each one stops the event loop, and with it the
batch in flight, for ~0.2 s on the reference machine (docs/RELIABILITY.md). Prometheus' own
``python_gc_collections_total`` counts collections but not how long they stopped the process.

The histogram is filled from ``gc.callbacks`` and read at scrape time by a custom collector: the callback
must not take prometheus_client's metric locks (plain ``threading.Lock``), because a collection can start
while the same thread holds one of them, which would deadlock. The callback only does arithmetic on
preallocated lists.
"""

from __future__ import annotations

import bisect
import gc
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

#: Pause buckets, seconds (young collections take well under a millisecond, a full one ~0.2 s).
GC_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
GENERATIONS = (0, 1, 2)


class GcPauses(Collector):
    """Counts every collection's pause per generation; register it, then :meth:`install` the callback."""

    def __init__(self) -> None:
        self._counts = {g: [0] * (len(GC_BUCKETS) + 1) for g in GENERATIONS}  # last slot: +Inf only
        self._sums = dict.fromkeys(GENERATIONS, 0.0)
        self._t0 = 0.0
        self._installed = False

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
            return
        self.observe(int(info.get("generation", 2)), time.perf_counter() - self._t0)

    def observe(self, generation: int, seconds: float) -> None:
        g = generation if generation in self._counts else 2
        self._counts[g][bisect.bisect_left(GC_BUCKETS, seconds)] += 1
        self._sums[g] += seconds

    def install(self) -> GcPauses:
        if not self._installed:
            gc.callbacks.append(self)
            self._installed = True
        return self

    def remove(self) -> None:
        if self._installed:
            gc.callbacks.remove(self)
            self._installed = False

    def collect(self) -> Iterator[HistogramMetricFamily]:
        fam = HistogramMetricFamily(
            "imon_gc_pause_seconds",
            "Seconds the worker, or its scorer process (IMON_SCORER_PROCESS), stood still in one cyclic garbage "
            "collection, by generation (2 = full collection: it walks every tracked object).",
            labels=["generation"],
        )
        for g in GENERATIONS:
            counts, total = list(self._counts[g]), self._sums[g]
            cum, buckets = 0, []
            for bound, c in zip((*GC_BUCKETS, float("inf")), counts, strict=True):
                cum += c
                buckets.append((str(bound) if bound != float("inf") else "+Inf", cum))
            fam.add_metric([str(g)], buckets, total)
        yield fam


def apply_threshold(threshold0: int) -> tuple[int, int, int]:
    """Collect fully once (the start-up garbage goes now, before any traffic), then set the young-generation
    threshold (allocations minus deallocations of tracked objects between young collections; 0 keeps
    Python's). Returns the thresholds in force."""
    if threshold0 < 0:
        raise ValueError(f"IMON_GC_THRESHOLD0 must be >= 0, got {threshold0}")
    gc.collect()
    if threshold0:
        _, t1, t2 = gc.get_threshold()
        gc.set_threshold(threshold0, t1, t2)
    t = gc.get_threshold()
    return int(t[0]), int(t[1]), int(t[2])
