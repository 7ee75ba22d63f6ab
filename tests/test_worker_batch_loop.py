"""The worker's batch loop: one batch at a time, acks in order, and no event handled mid-rebalance.

Drives the real ``Worker._batches`` with the real ``Batcher``; the broker side (Kafka taking a batch's
outputs, the consumer's acks) is played by the test so it decides when Kafka "acknowledges". The fault
tests (tests/faults/test_rebalance.py, test_kill9.py) show the same loop on the real broker.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from streams.batching import Batcher
from tests.doubles import ScriptedScorer
from tests.faults.test_fuzz import OfflineWorker

TP = ("imon.interactions", 0)


class Harness:
    def __init__(self, w: OfflineWorker) -> None:
        self.worker = w.worker
        self.loop = w.loop
        self.processed: list[list[int]] = []
        self.acked: list[int] = []
        self.deliveries: list[asyncio.Future[None]] = []  # one per batch: "Kafka took its outputs"
        self.worker._current = lambda events: events  # type: ignore[method-assign]  # no consumer here

        async def handle_batch(events: Any) -> None:
            self.processed.append([e.offset for e in events])
            fut: asyncio.Future[None] = self.loop.create_future()
            self.deliveries.append(fut)
            await fut

        async def changelog_durable() -> None:
            return None

        self.worker.handle_batch = handle_batch  # type: ignore[method-assign]
        self.worker._changelog_durable = changelog_durable  # type: ignore[method-assign]
        self.pending: Batcher[Any] = Batcher(max_size=2, max_wait=0.0)
        harness = self

        class Stream:
            async def ack(self, e: Any) -> None:
                harness.acked.append(e.offset)

        self.task = self.loop.create_task(self.worker._batches(self.pending, Stream()))

    def put(self, *offsets: int) -> None:
        async def put_all() -> None:  # no yield in between: they arrive together
            for o in offsets:
                await self.pending.put(SimpleNamespace(offset=o, message=SimpleNamespace(tp=TP, offset=o)))

        self.loop.run_until_complete(put_all())

    def settle(self) -> None:
        self.loop.run_until_complete(asyncio.sleep(0.02))


@pytest.fixture()
def harness(tmp_path: Path) -> Iterator[Harness]:
    w = OfflineWorker(ScriptedScorer(), tmp_path)
    h = Harness(w)
    yield h
    h.task.cancel()
    with contextlib.suppress(BaseException):  # cancelled, or the failure under test
        w.loop.run_until_complete(h.task)
    w.close()


def test_one_batch_at_a_time_acked_in_order_after_kafka_took_it(harness: Harness) -> None:
    h = harness
    h.put(0, 1, 2, 3)
    h.settle()
    assert h.processed == [[0, 1]] and h.acked == [] and not h.worker._idle.is_set()
    h.deliveries[0].set_result(None)
    h.settle()
    assert h.acked == [0, 1] and h.processed == [[0, 1], [2, 3]]
    h.deliveries[1].set_result(None)
    h.settle()
    assert h.acked == [0, 1, 2, 3] and h.worker._idle.is_set()


def test_events_fetched_during_a_rebalance_wait_for_its_end(harness: Harness) -> None:
    """From a revoke until Faust's recovery has sought the input partitions, fetched events are held
    (not handled, not dropped: Faust does not always read a dropped record again); handled after."""
    h = harness
    app = h.worker.app
    app.flow_control.resume()
    app.rebalancing = True
    h.put(0, 1)
    h.settle()
    assert h.processed == [], "no event may be handled before the seek to the committed offsets"
    app.rebalancing = False
    h.settle()
    assert h.processed == [[0, 1]]
    h.deliveries[0].set_result(None)
    h.settle()
    assert h.acked == [0, 1]


def test_a_new_revoke_releases_the_held_events(harness: Harness) -> None:
    """A revoke stops the flow: the held events go to ``_current`` (which drops stale ones unacked, so
    Faust's wait for in-flight events cannot hang on them)."""
    h = harness
    app = h.worker.app
    seen: list[list[int]] = []
    h.worker._current = lambda events: seen.append([e.offset for e in events]) or []  # type: ignore[method-assign]
    app.flow_control.resume()
    app.rebalancing = True
    h.put(0, 1)
    h.settle()
    assert seen == []
    app.flow_control.suspend()
    h.settle()
    assert seen == [[0, 1]] and h.processed == []


def test_a_failed_batch_stops_the_loop_unacked(harness: Harness) -> None:
    h = harness
    h.put(0, 1)
    h.settle()
    h.deliveries[0].set_exception(ConnectionError("broker gone"))
    h.settle()
    assert h.task.done()
    with pytest.raises(ConnectionError):
        h.task.result()
    assert h.acked == [] and h.worker._idle.is_set()


def test_offsets_already_handled_are_acked_not_handled_again(harness: Harness) -> None:
    """After a restart Faust delivers again the records fetched before recovery's seek, which the
    worker has handled by then: they are acked and counted as duplicates, not handled again (a bad
    record would be dead-lettered twice). Offsets of a revoked partition are forgotten."""
    h = harness
    dup = h.worker.metrics.events.labels("duplicate", "other", "other")
    h.put(0, 1)
    h.settle()
    h.deliveries[0].set_result(None)
    h.settle()
    assert h.processed == [[0, 1]] and h.acked == [0, 1] and dup._value.get() == 0
    h.put(0, 1, 2)  # the seek: from the committed offset again
    h.settle()
    assert h.processed == [[0, 1], [2]] and h.acked == [0, 1, 0, 1] and dup._value.get() == 2
    h.deliveries[1].set_result(None)
    h.settle()
    assert h.acked == [0, 1, 0, 1, 2]
    assert h.worker._handled.ranges(TP) == [(0, 2)]
    h.worker._handled.forget([TP])
    h.put(2)
    h.settle()
    assert h.processed[-1] == [2], "a partition's offsets are forgotten when it is revoked"
