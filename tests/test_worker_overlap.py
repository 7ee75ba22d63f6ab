"""The worker's batch loop overlaps batch N's publish with batch N+1's scoring, in order.

Drives the real ``Worker._batches`` with the real ``Batcher``; the broker side (the producer's delivery
futures, the consumer's acks) is played by the test so it decides when Kafka "acknowledges". The fault
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


class Harness:
    def __init__(self, w: OfflineWorker) -> None:
        self.worker = w.worker
        self.loop = w.loop
        self.processed: list[list[int]] = []
        self.acked: list[int] = []
        self.deliveries: list[asyncio.Future[None]] = []  # one per batch: "Kafka took its outputs"
        self.worker._current = lambda events: events  # type: ignore[method-assign]  # no consumer here

        async def process_batch(events: Any) -> list[int]:
            self.processed.append([e.offset for e in events])
            return [e.offset for e in events]

        async def send(outs: Any) -> list[asyncio.Future[None]]:
            fut: asyncio.Future[None] = self.loop.create_future()
            self.deliveries.append(fut)
            return [fut]

        async def await_sent(futs: Any) -> None:
            await asyncio.gather(*futs)

        async def changelog_durable() -> None:
            return None

        self.worker.process_batch = process_batch  # type: ignore[method-assign]
        self.worker._send = send  # type: ignore[method-assign]
        self.worker._await_sent = await_sent  # type: ignore[method-assign]
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
                await self.pending.put(SimpleNamespace(offset=o))

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


def test_next_batch_is_scored_while_the_previous_one_is_being_acknowledged(harness: Harness) -> None:
    h = harness
    h.put(0, 1)
    h.settle()
    assert h.processed == [[0, 1]] and h.acked == []
    h.put(2, 3)
    h.settle()
    assert h.processed == [[0, 1], [2, 3]], "batch 2 must be scored while batch 1 waits for Kafka"
    assert h.acked == [] and not h.worker._idle.is_set()
    # Kafka answers batch 2 first: still, batch 1 is acked before batch 2.
    h.deliveries[1].set_result(None)
    h.settle()
    assert h.acked == []
    h.deliveries[0].set_result(None)
    h.settle()
    assert h.acked == [0, 1, 2, 3]
    assert h.worker._idle.is_set() and h.worker._in_flight == 0


def test_at_most_two_batches_are_in_flight(harness: Harness) -> None:
    h = harness
    h.put(0, 1)
    h.settle()
    h.put(2, 3, 4, 5)
    h.settle()
    # batch 3 waits for batch 1's acknowledgement before it is handed over
    assert h.processed == [[0, 1], [2, 3]]
    assert len(h.deliveries) == 2, "batch 3 must not be sent before batch 1 is acked"
    h.deliveries[0].set_result(None)
    h.settle()
    assert h.acked == [0, 1] and len(h.deliveries) == 3
    h.deliveries[1].set_result(None)
    h.deliveries[2].set_result(None)
    h.settle()
    assert h.acked == [0, 1, 2, 3, 4, 5]


def test_a_failed_delivery_stops_the_loop_without_waiting_for_more_events(harness: Harness) -> None:
    h = harness
    h.put(0, 1)
    h.settle()
    h.deliveries[0].set_exception(ConnectionError("broker gone"))
    h.settle()
    assert h.task.done(), "the loop must stop on a failed send even when no further event arrives"
    with pytest.raises(ConnectionError):
        h.task.result()
    assert h.acked == [] and h.worker._idle.is_set()


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
