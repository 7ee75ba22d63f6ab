"""A stalled Faust table recovery turns /healthz unhealthy so the worker gets restarted (bug 11).

``RecoveryWatch`` is driven with a hand-held clock; the worker test drives ``Worker._watch_recovery``
against the real Faust app's Recovery service of an offline worker, putting it in the state a stuck
recovery was seen in (in recovery, changelog records left, none arriving).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from faust.types import TP

from streams.http import HealthState, RecoveryWatch
from streams.worker import _stuck_changelog_partitions
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


def test_the_reseek_nudge_comes_once_per_stall() -> None:
    w = RecoveryWatch(stall_s=60)
    w.observe(True, (2, 50), now=0.0)
    assert not w.nudge_due(9.9, after_s=10)
    assert w.nudge_due(10.0, after_s=10)
    assert not w.nudge_due(20.0, after_s=10)  # once per stall
    w.observe(True, (2, 40), now=30.0)  # progress: a new stall may need its own nudge
    assert not w.nudge_due(39.0, after_s=10)
    assert w.nudge_due(40.0, after_s=10)
    w.observe(False, (2, 0), now=50.0)
    assert not w.nudge_due(100.0, after_s=10)  # not in recovery


class _State:
    def __init__(self, position: int | None) -> None:
        self._position = position


def _consumer(positions: dict[TP, int | None], held: set[TP], reassigning: bool = False) -> SimpleNamespace:
    """The slice of Faust's and aiokafka's consumer state the re-seek reads (names as in aiokafka 0.14)."""
    assignment = SimpleNamespace(active=True, tps=set(positions), state_value=lambda tp: _State(positions[tp]))
    subs = SimpleNamespace(subscription=SimpleNamespace(assignment=assignment), reassignment_in_progress=reassigning)
    fetcher = SimpleNamespace(_subscriptions=subs, _records=dict.fromkeys(held, object()))
    return SimpleNamespace(_thread=SimpleNamespace(_consumer=SimpleNamespace(_fetcher=fetcher)))


def test_stuck_partitions_are_those_read_past_the_recovery_with_nothing_held() -> None:
    a, b, c, d = (TP("imon-x-conversations-changelog", i) for i in range(4))
    rec = SimpleNamespace(active_highwaters={a: 68, b: 79, c: 40, d: 30}, active_offsets={a: -1, b: 12, c: 40})
    # a: read to the end, recovery saw nothing (the bug 11 state); b: read past 12, recovery stuck at 12;
    # c: recovered to its highwater; d: not fetched yet (position = next offset the recovery needs)
    cons = _consumer({a: 69, b: 80, c: 41, d: 0}, held=set())
    assert _stuck_changelog_partitions(cons, rec) == {a: 0, b: 13}
    assert _stuck_changelog_partitions(_consumer({a: 69, b: 80, c: 41, d: 0}, held={a}), rec) == {b: 13}
    assert _stuck_changelog_partitions(_consumer({a: 69, b: 80, c: 41, d: 0}, set(), reassigning=True), rec) == {}
    assert _stuck_changelog_partitions(SimpleNamespace(), rec) == {}  # unreadable: no cure, no crash


def test_worker_seeks_stuck_changelogs_back_before_giving_up(
    offline: OfflineWorker, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    w = offline.worker
    w._recovery_watch = RecoveryWatch(stall_s=30)
    tp = TP(w.table.changelog_topic.get_topic_name(), 2)
    sought: list[dict[TP, int]] = []

    async def seek_wait(partitions: dict[TP, int]) -> None:
        sought.append(dict(partitions))

    monkeypatch.setattr(w.app.consumer, "seek_wait", seek_wait)
    monkeypatch.setattr("streams.worker._stuck_changelog_partitions", lambda consumer, rec: {tp: 0})

    def watch(now: float) -> None:
        async def tick() -> None:
            w._watch_recovery(now)
            await asyncio.sleep(0)

        offline.loop.run_until_complete(tick())

    rec = w.app.tables.recovery
    rec.active_highwaters[tp] = 61
    rec.active_offsets[tp] = -1
    rec.in_recovery = True
    with caplog.at_level(logging.WARNING):
        watch(0.0)
        watch(w.settings.recovery_reseek_s - 1)
        assert sought == []
        watch(w.settings.recovery_reseek_s)
        watch(w.settings.recovery_reseek_s + 1)
    assert sought == [{tp: 0}]  # once per stall
    assert w.health.failed is None
    assert w.metrics.registry.get_sample_value("imon_recovery_reseeks_total") == 1
    assert any("seeking" in r.getMessage() and ":2 back to 0" in r.getMessage() for r in caplog.records)
    rec.in_recovery = False
