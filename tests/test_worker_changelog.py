"""The worker acks a batch only after Kafka took every changelog record of its state (bug 9).

Faust's ``producer.flush()`` can return with table changelog records still queued in its buffer, so
the worker keeps the future of each record the table sends and waits for all of them. These tests
drive ``Worker._changelog_durable`` with futures the test resolves; the fault tests
(tests/faults/test_rebalance.py, test_kill9.py) show the effect on the real broker.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path

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
