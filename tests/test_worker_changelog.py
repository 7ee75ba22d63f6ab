"""The worker acks a batch only after Kafka took every changelog record of its state (bug 9).

Faust's ``producer.flush()`` can return with table changelog records still queued in its buffer, so
the worker keeps the future of each record the table sends and waits for all of them. Once the producer
has started, the worker sends those records itself, through the producer driver, in the order written. These tests
drive ``Worker._changelog_durable`` with futures the test resolves; the fault tests
(tests/faults/test_rebalance.py, test_kill9.py) show the effect on the real broker.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.doubles import ScriptedScorer
from tests.faults.test_fuzz import OfflineWorker


@pytest.fixture()
def offline(tmp_path: Path) -> Iterator[OfflineWorker]:
    w = OfflineWorker(ScriptedScorer(), tmp_path)
    yield w
    w.close()


def test_table_changelog_sends_are_tracked(offline: OfflineWorker) -> None:
    async def write() -> object:
        return offline.worker.table.send_changelog(0, b"conversation-1", {"seen": ["e1"]})

    fut = offline.loop.run_until_complete(write())
    assert offline.worker._changelog_sends == [fut]


class RecordingProducer:
    """Stands in for Faust's producer driver in these offline tests (the broker tests use the real one):
    records each send and returns a future the test settles, as Kafka's acknowledgement would."""

    started = True

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.sent: list[tuple[str, bytes, bytes, int]] = []
        self.acks: list[asyncio.Future[str]] = []
        self.fail_next: Exception | None = None

    def key_partition(self, topic: str, key: bytes) -> Any:
        return SimpleNamespace(partition=len(key) % 4)

    async def send(self, topic: str, key: bytes, value: bytes, *, partition: int, timestamp: Any, headers: Any) -> Any:
        await asyncio.sleep(0)  # the real one can yield (metadata, a full buffer): writes may land meanwhile
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc
        self.sent.append((topic, key, value, partition))
        self.acks.append(self.loop.create_future())
        return self.acks[-1]


@pytest.fixture()
def direct(offline: OfflineWorker) -> RecordingProducer:
    """The offline worker with a started producer: its table's changelog records go the worker's own way."""
    producer = RecordingProducer(offline.loop)
    offline.worker.app._producer = producer  # type: ignore[assignment]

    async def started() -> RecordingProducer:
        return producer

    offline.worker.app.maybe_start_producer = started  # type: ignore[method-assign]
    return producer


def test_changelog_records_are_sent_in_the_order_written(offline: OfflineWorker, direct: RecordingProducer) -> None:
    w = offline.worker

    async def write() -> list[Any]:
        futs = [w.table.send_changelog(None, b"conv-1", {"n": 1}), w.table.send_changelog(None, b"conv-22", {"n": 1})]
        await asyncio.sleep(0)  # the sender has started: a write now lands while it is sending
        futs.append(w.table.send_changelog(None, b"conv-1", {"n": 2}))
        futs.append(w.table.send_changelog(None, b"conv-1", None, value_serializer="raw"))  # a delete
        await w._flush_changelog()
        return futs

    futs = offline.loop.run_until_complete(write())
    name = w.table.changelog_topic.get_topic_name()
    assert [(t, k, json.loads(v) if v else v, p) for t, k, v, p in direct.sent] == [
        (name, b"conv-1", {"n": 1}, 2), (name, b"conv-22", {"n": 1}, 3), (name, b"conv-1", {"n": 2}, 2),
        (name, b"conv-1", None, 2)]
    assert [f.message.partition for f in futs] == [2, 3, 2, 2]  # what Faust's table reads from the future
    assert w._changelog_sends == futs
    assert not any(f.done() for f in futs), "a record counted durable before Kafka acknowledged it"
    for i, ack in enumerate(direct.acks):
        ack.set_result(f"offset {i}")
    offline.loop.run_until_complete(asyncio.wait_for(w._changelog_durable(), 1))
    assert [f.result() for f in futs] == [f"offset {i}" for i in range(4)]


def test_a_changelog_record_the_producer_refuses_stops_the_ack(offline: OfflineWorker, direct: RecordingProducer) -> None:
    w = offline.worker
    direct.fail_next = ConnectionError("broker gone")

    async def write_and_wait() -> None:
        w.table.send_changelog(None, b"conv-1", {"n": 1})
        w.table.send_changelog(None, b"conv-2", {"n": 1})
        await w._flush_changelog()
        direct.acks[0].set_result("offset 0")
        await w._changelog_durable()

    with pytest.raises(ConnectionError):
        offline.loop.run_until_complete(asyncio.wait_for(write_and_wait(), 1))
    assert [k for _, k, _, _ in direct.sent] == [b"conv-2"]  # the records after it are still sent


def test_a_failed_acknowledgement_stops_the_ack(offline: OfflineWorker, direct: RecordingProducer) -> None:
    w = offline.worker

    async def write_and_wait() -> None:
        w.table.send_changelog(None, b"conv-1", {"n": 1})
        await w._flush_changelog()
        direct.acks[0].set_exception(ConnectionError("not acknowledged"))
        await w._changelog_durable()

    with pytest.raises(ConnectionError):
        offline.loop.run_until_complete(asyncio.wait_for(write_and_wait(), 1))


def test_durable_waits_for_every_send(offline: OfflineWorker) -> None:
    loop, w = offline.loop, offline.worker
    first, second = loop.create_future(), loop.create_future()
    w._changelog_sends.extend([first, second])
    waiting = loop.create_task(w._changelog_durable())
    loop.run_until_complete(asyncio.sleep(0.01))
    assert not waiting.done()
    first.set_result(None)
    loop.run_until_complete(asyncio.sleep(0.01))
    assert not waiting.done(), "acked while a changelog record was still unsent"
    later = loop.create_future()  # a record written while waiting (a timer) is waited for too
    w._changelog_sends.append(later)
    second.set_result(None)
    loop.run_until_complete(asyncio.sleep(0.01))
    assert not waiting.done()
    later.set_result(None)
    loop.run_until_complete(asyncio.wait_for(waiting, 1))
    assert w._changelog_sends == []


def test_a_failed_changelog_send_stops_the_ack(offline: OfflineWorker) -> None:
    loop, w = offline.loop, offline.worker
    failed = loop.create_future()
    failed.set_exception(ConnectionError("broker gone"))
    w._changelog_sends.append(failed)
    with pytest.raises(ConnectionError):
        loop.run_until_complete(w._changelog_durable())


def test_a_resume_of_a_running_flow_keeps_the_queued_events(offline: OfflineWorker) -> None:
    """Bug 10: Faust's recovery calls ``flow_control.resume()`` on a running flow after the input
    partitions were resumed; mode's resume empties the agent's queue, losing fetched records."""
    from mode.utils.queues import FlowControlQueue

    async def scenario() -> tuple[int, int]:
        fc = offline.worker.app.flow_control
        q: FlowControlQueue[str] = FlowControlQueue(flow_control=fc, clear_on_resume=True)
        fc.resume()  # start running
        await q.put("fetched before the seek")
        fc.resume()  # the redundant resume at the end of recovery
        kept = q.qsize()
        fc.suspend()  # a rebalance: suspended, and the events queued before it must go
        fc.resume()
        return kept, q.qsize()

    kept, after_rebalance = offline.loop.run_until_complete(scenario())
    assert kept == 1, "a resume of a running flow dropped a queued event"
    assert after_rebalance == 0, "a resume after a real suspend must still clear the queue"


def test_faust_data_folder_is_kept_out_of_the_working_directory(offline: OfflineWorker) -> None:
    # Faust's default is "<app id>-data/" in the working directory: stress runs left dozens of
    # empty folders in the checkout. The state is in memory and the changelog, so a temp folder does.
    datadir = Path(offline.worker.app.conf.datadir).resolve()
    assert datadir.is_relative_to(Path(tempfile.gettempdir()).resolve())
    assert not datadir.is_relative_to(Path.cwd().resolve())
    offline.worker.app._create_directories()  # what Faust runs first on start (it makes only the last level)
    assert datadir.is_dir()


def test_acked_offsets_are_committed_before_faust_forgets_them_on_a_revoke(offline: OfflineWorker) -> None:
    """Bug 12: faust-streaming's ``Consumer.on_partitions_revoked`` drops the acked-offset bookkeeping
    of every revoked partition before it commits, so events acked since the last periodic commit
    were read again by the next owner (a bad record was dead-lettered and counted twice). The
    worker's hook commits them first, with the real Faust consumer's commit path."""
    from faust.types import TP

    w = offline.worker
    consumer = w.app.consumer
    tp = TP(w.settings.topic_input, 0)
    committed: list[dict[TP, int]] = []
    seen_by_faust: list[list[int]] = []

    async def broker_commit(offsets: dict[TP, int]) -> bool:  # what goes to Kafka
        committed.append(dict(offsets))
        return True

    async def faust_revoke(revoked: set[TP]) -> None:  # the app's handler, after Faust's bookkeeping
        seen_by_faust.append(list(consumer._acked.get(tp, [])))

    consumer._commit = broker_commit
    consumer.assignment = lambda: {tp}
    consumer._on_partitions_revoked = faust_revoke
    consumer._committed_offset[tp] = 5
    for offset in (5, 6, 7):
        consumer._acked[tp].append(offset)
        consumer._acked_index[tp].add(offset)

    w._commit_acks_before_revoke(consumer)
    w._commit_acks_before_revoke(consumer)  # installed once, however many assignments follow
    offline.loop.run_until_complete(consumer.on_partitions_revoked({tp}))
    assert committed == [{tp: 8}], "the acked offsets 5-7 must be committed before the revoke"
    assert seen_by_faust == [[]]  # Faust's own handler ran afterwards and found them gone
