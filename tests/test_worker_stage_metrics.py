"""The worker's own timing and cascade metrics, through the real ``Worker.handle_batch`` (no broker).

``imon_pipeline_stage_seconds`` must observe one value per batch for prepare/score/finish/publish and
one per event that carries a record timestamp for ``queued``; ``imon_cascade_utterances_total`` must
split a batch's utterances by the path the cascade says decided them.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace

import pytest

from models.base import Utterance, UtteranceScore
from tests.doubles import ScriptedScorer
from tests.faults.test_fuzz import OfflineWorker, valid_event


class RoutingScorer(ScriptedScorer):
    """Counts like models.cascade.CascadeScorer: ``routed`` grows by the utterances the
    transformer would have scored (here: those marked [esc])."""

    def __init__(self) -> None:
        super().__init__()
        self.routed = 0

    def score(self, batch: Sequence[Utterance]) -> list[UtteranceScore]:
        self.routed += sum("[esc]" in u.text for u in batch)
        return super().score(batch)


@pytest.fixture()
def offline(tmp_path: Path) -> Iterator[OfflineWorker]:
    w = OfflineWorker(RoutingScorer(), tmp_path)
    yield w
    w.close()


def _value(w: OfflineWorker, name: str, **labels: str) -> float:
    v = w.worker.metrics.registry.get_sample_value(name, labels)
    return 0.0 if v is None else v


def test_stages_and_cascade_paths_are_counted(offline: OfflineWorker) -> None:
    texts = ["hello [esc]", "fine thanks", "[esc] manager now", "ok"]
    raws = [valid_event(text=t, interaction_id=f"c{i}") for i, t in enumerate(texts)]
    sent = time.time() - 0.2  # the records were "produced" 200 ms ago
    events = [
        SimpleNamespace(value=r, message=SimpleNamespace(topic="interactions", partition=0, offset=i, timestamp=sent))
        for i, r in enumerate(raws)
    ]
    offline.loop.run_until_complete(offline.worker.handle_batch(events))

    for stage in ("prepare", "score", "finish", "publish"):
        assert _value(offline, "imon_pipeline_stage_seconds_count", stage=stage) == 1, stage
    assert _value(offline, "imon_pipeline_stage_seconds_count", stage="queued") == len(events)
    queued_mean = _value(offline, "imon_pipeline_stage_seconds_sum", stage="queued") / len(events)
    assert queued_mean >= 0.2
    assert _value(offline, "imon_cascade_utterances_total", path="transformer") == 2
    assert _value(offline, "imon_cascade_utterances_total", path="fast") == 2


def test_no_cascade_counts_without_a_cascade(tmp_path: Path) -> None:
    w = OfflineWorker(ScriptedScorer(), tmp_path)
    try:
        w.run([valid_event(text="hello")])
        assert _value(w, "imon_cascade_utterances_total", path="fast") == 0
        assert _value(w, "imon_cascade_utterances_total", path="transformer") == 0
        # events without a record timestamp (as in the fuzz tests) are simply not timed as queued
        assert _value(w, "imon_pipeline_stage_seconds_count", stage="queued") == 0
        assert _value(w, "imon_pipeline_stage_seconds_count", stage="score") == 1
    finally:
        w.close()


class DyingProcessScorer(ScriptedScorer):
    """Fails like models.procscorer.ProcessScorer whose child died: a batch raises ``dies`` times, and
    each call after a death starts a new child (``restarts``)."""

    def __init__(self, dies: int) -> None:
        super().__init__()
        self.dies, self.restarts, self._dead = dies, 0, False
        self.gc_pauses = [(2, 0.2)]  # one full collection in the child, handed over after the next call

    def take_gc_pauses(self) -> list[tuple[int, float]]:
        out, self.gc_pauses = self.gc_pauses, []
        return out

    def score(self, batch: Sequence[Utterance]) -> list[UtteranceScore]:
        if self._dead:
            self.restarts += 1
            self._dead = False
        if self.dies:
            self.dies -= 1
            self._dead = True
            raise RuntimeError("the scorer process died while scoring (exit code -9)")
        return super().score(batch)


@pytest.mark.parametrize(("dies", "scored", "restarts"), [(1, 1, 1), (2, 0, 1)])
def test_a_dead_scorer_process_is_retried_counted_and_then_dead_lettered(
    tmp_path: Path, dies: int, scored: int, restarts: int
) -> None:
    w = OfflineWorker(DyingProcessScorer(dies), tmp_path)
    try:
        outs = w.run([valid_event(text="hello")])
        assert sum(o.topic == "scored" for o in outs) == scored
        assert sum(o.topic == "dlq" for o in outs) == 1 - scored  # never lost: scored on the retry or dead-lettered
        assert _value(w, "imon_scorer_process_restarts_total") == restarts
        # the child's pauses stall the batch like the worker's own: counted with them, once
        assert _value(w, "imon_gc_pause_seconds_count", generation="2") == 1  # (no gc callback installed here)
    finally:
        w.close()


def test_the_scorer_process_cpu_and_memory_are_exported() -> None:
    from streams.metrics import Metrics

    m = Metrics.create(process=False)
    names = ("imon_scorer_process_cpu_seconds_total", "imon_scorer_process_resident_memory_bytes")
    assert [m.registry.get_sample_value(n) for n in names] == [0.0, 0.0]  # no scorer process (yet)
    child = subprocess.Popen([sys.executable, "-c", "import time; sum(range(3 * 10**7)); time.sleep(30)"])
    try:
        m.scorer_process.pid = lambda: child.pid
        deadline = time.monotonic() + 20
        while (m.registry.get_sample_value(names[0]) or 0) < 0.1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert m.registry.get_sample_value(names[0]) >= 0.1  # the busy loop's CPU
        assert m.registry.get_sample_value(names[1]) > 1e6  # an interpreter's resident memory
    finally:
        child.kill()
        child.wait()


def test_a_blocked_event_loop_shows_in_the_loop_lag_histogram() -> None:
    import asyncio

    from prometheus_client import CollectorRegistry

    from streams.metrics import Metrics
    from streams.worker import watch_event_loop

    reg = CollectorRegistry()
    m = Metrics.create(reg, process=False)

    async def main() -> None:
        watcher = asyncio.create_task(watch_event_loop(m.loop_lag, interval=0.05))
        await asyncio.sleep(0.12)
        time.sleep(0.4)  # a stretch of work that never yields, like bug 14's table walks
        await asyncio.sleep(0.12)
        watcher.cancel()

    asyncio.run(main())
    count = reg.get_sample_value("imon_event_loop_lag_seconds_count") or 0
    assert count >= 3
    assert (reg.get_sample_value("imon_event_loop_lag_seconds_bucket", {"le": "0.25"}) or 0) <= count - 1
    assert (reg.get_sample_value("imon_event_loop_lag_seconds_sum") or 0) >= 0.3
