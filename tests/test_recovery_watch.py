"""A stalled Faust table recovery turns /healthz unhealthy so the worker gets restarted (bug 11).

``RecoveryWatch`` is driven with a hand-held clock; the worker test drives ``Worker._watch_recovery``
against the real Faust app's Recovery service of an offline worker, putting it in the state a stuck
recovery was seen in (in recovery, changelog records left, none arriving).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from faust.types import TP

from streams.http import HealthState, RecoveryWatch
from tests.doubles import ScriptedScorer
from tests.faults.test_fuzz import OfflineWorker


def test_no_progress_for_the_stall_time_trips_the_watch() -> None:
    w = RecoveryWatch(stall_s=60)
    assert not w.observe(True, (2, 118), now=100.0)
    assert not w.observe(True, (2, 118), now=159.9)
    assert w.observe(True, (2, 118), now=160.0)
    assert w.stalled_for(170.0) == pytest.approx(70.0)


def test_slow_progress_never_trips_the_watch() -> None:
    w = RecoveryWatch(stall_s=60)
    for i in range(100):  # one changelog record every 50 s: slow, but moving
        assert not w.observe(True, (2, 1000 - i), now=50.0 * i)


def test_leaving_recovery_or_a_new_generation_restarts_the_clock() -> None:
    w = RecoveryWatch(stall_s=60)
    w.observe(True, (2, 50), now=0.0)
    assert not w.observe(False, (2, 0), now=59.0)  # recovery ended
    assert not w.observe(True, (2, 50), now=100.0)  # a new recovery starts its own clock
    assert not w.observe(True, (3, 50), now=150.0)  # a rebalance (new generation) is progress
    assert not w.observe(True, (3, 50), now=209.0)
    assert w.observe(True, (3, 50), now=210.0)


def test_a_failed_health_state_is_not_alive_even_while_ticking() -> None:
    h = HealthState()
    h.tick()
    assert h.alive()
    h.fail("table recovery stalled for 120 s")
    h.tick()
    assert not h.alive()


@pytest.fixture()
def offline(tmp_path: Path) -> Iterator[OfflineWorker]:
    w = OfflineWorker(ScriptedScorer(), tmp_path)
    yield w
    w.close()


def test_worker_reports_unhealthy_when_its_recovery_reads_nothing(
    offline: OfflineWorker, caplog: pytest.LogCaptureFixture
) -> None:
    w = offline.worker
    w._recovery_watch = RecoveryWatch(stall_s=30)

    def watch(now: float) -> None:  # from inside the worker's loop, as the housekeeping timer does
        async def tick() -> None:
            w._watch_recovery(now)

        offline.loop.run_until_complete(tick())

    rec = w.app.tables.recovery
    watch(0.0)  # not in recovery: nothing to watch
    assert w.health.failed is None

    tp = TP(w.table.changelog_topic.get_topic_name(), 2)
    rec.active_highwaters[tp] = 61  # the stuck run: 61 records to read, offset still -1
    rec.active_offsets[tp] = -1
    rec.in_recovery = True
    with caplog.at_level(logging.WARNING):
        watch(1000.0)
        watch(1029.0)
        assert w.health.failed is None
        rec.active_offsets[tp] = 10  # a record arrived: progress
        watch(1030.0)
        watch(1059.0)
        assert w.health.failed is None
        watch(1060.0)
    assert w.health.failed is not None and not w.health.alive()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("table recovery read nothing for 30 s" in m and "51 changelog records left" in m for m in errors)
    stacks = [r.getMessage() for r in caplog.records if r.getMessage().startswith("task ")]
    assert stacks, "no task stacks logged for the stall"
    assert any(r.getMessage().startswith("consumer at the stall: flow_active=") for r in caplog.records)
    rec.in_recovery = False
