"""kill -9 mid-stream: a worker is SIGKILLed while it works through a known stream, a new worker with
the same app id takes over, and every input event is accounted for in the outputs and in the metrics.

What is proven (see docs/RELIABILITY.md for the figures):
* outputs: every consented utterance has a scored record, every no-consent utterance its
  ``not_scored_no_consent`` audit record, every start/end its ``control`` audit record and every bad
  input record (by payload hash and input offset) its DLQ record. Duplicates on the scored topic are
  allowed (at-least-once) and counted.
* the restarted worker re-reads the records after the offsets the killed one committed and counts
  each of them, none as new twice (a replay is counted as ``duplicate``).
* the restarted worker restored the conversation state the killed one had committed: replaying
  events it had finished is counted as ``duplicate``, not again.
"""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

import orjson
import pytest

from streams import proctree
from streams.kafka_io import create_topics
from tests.conftest import WorkerProcess, settings_from
from tests.faults.support import (
    OutputReader,
    committed_offsets,
    end_offsets,
    events_by_outcome,
    fault_env,
    produce,
    record_figures,
    settled_counts,
    simulated_stream,
    wait_until,
)

log = logging.getLogger("faults.kill9")

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.timeout(300)]

N_EVENTS = 1200
KILL_AT = 0.35  # share of the input the first worker has counted when it is killed
N_REPLAY = 60  # finished events re-sent to the restarted worker


@pytest.fixture(scope="module")
def crash(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the scenario once; the tests below assert on what it observed."""
    tmp = tmp_path_factory.mktemp("kill9")
    env = fault_env(kafka_bootstrap, "k9", partitions=2)
    s = settings_from(env)
    create_topics(s)
    ks = simulated_stream(s, N_EVENTS, seed=11)
    placed = produce(s, ks.records)
    log.info("produced %s", ks.summary())
    reader = OutputReader(s)
    workers: list[WorkerProcess] = []
    out: dict[str, Any] = {"ks": ks}
    try:
        w1 = WorkerProcess(env, tmp / "worker-1.log")
        workers.append(w1)
        w1.start()
        # Scrape fast and SIGKILL right after a scrape that shows the worker mid-stream.
        last: dict[str, float] = {}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            last = events_by_outcome(w1)
            if sum(last.values()) >= KILL_AT * N_EVENTS:
                break
            time.sleep(0.05)
        assert w1.proc is not None
        out["scorer_pids"] = proctree.tree(w1.proc.pid)[1:]  # its scorer process (IMON_SCORER_PROCESS)
        w1.proc.send_signal(signal.SIGKILL)
        w1.proc.wait(10)
        out["scorers_left"] = _survivors(out["scorer_pids"], timeout=15)
        assert sum(last.values()) >= KILL_AT * N_EVENTS, f"worker 1 never got going:\n{w1.tail()}"
        reader.poll()
        out["scored_at_kill"] = len({r["event_id"] for r in reader.scored.records})
        out["first_last_scrape"] = last

        # No worker runs now, so the committed offsets are stable: worker 2 starts exactly there.
        committed = committed_offsets(s, s.topic_input)
        ends = end_offsets(s, s.topic_input)
        out["reread"] = sum(ends[p] - committed.get(p, 0) for p in ends)
        out["committed_total"] = sum(committed.values())
        log.info("killed after %s; committed %s ends %s", last, committed, ends)

        w2 = WorkerProcess(env, tmp / "worker-2.log")
        workers.append(w2)
        w2.start()  # includes the wait for the dead member's session to expire (faust: ~60 s)
        log.info("worker 2 ready")
        # Worker 2 is ready once it owns the partitions; the rest of the stream takes seconds.
        out["acc"] = acc = reader.wait_complete(ks, timeout=90, stall_s=30)
        log.info("accounting: %s %s", acc.figures(), acc.problems())
        # Counting happens in the batch that publishes, so once the outputs are complete the counters
        # catch up within a scrape or two; wait for them, bounded, then a little longer so that any
        # wrong extra counting shows up too.
        patience = 30.0 if acc.complete else 5.0  # a stuck worker 2 fails below; don't wait long for it
        wait_until(lambda: sum(events_by_outcome(w2).values()) >= out["reread"], timeout=patience)
        # ... and until it stops counting: it may be reading records it handled before its seek again.
        out["second"] = before = settled_counts(w2, timeout=patience)

        # Replay events worker 1 had committed (so their conversation state was flushed to the
        # changelog before the commit) from conversations that are still open at the end of the
        # stream (an end event drops the state; test_replay_dedup covers that case).
        ended = ks.ended()
        replay = [
            ks.records[i]
            for i, ev in enumerate(ks.events)
            if ev is not None and ev.type == "utterance" and ev.interaction_id not in ended
            and placed[i][1] < committed.get(placed[i][0], 0)
        ][:N_REPLAY]  # fmt: skip
        out["replayed"] = len(replay)
        produce(s, replay)
        wait_until(
            lambda: sum(events_by_outcome(w2).values()) >= sum(before.values()) + len(replay),
            timeout=patience,
        )
        after = settled_counts(w2, timeout=patience)
        out["replay_counts"] = {k: after.get(k, 0) - before.get(k, 0) for k in set(after) | set(before)}
        out["replay_ids"] = {orjson.loads(v)["event_id"] for _, v in replay}
        return out
    finally:
        for w in workers:
            w.stop()
        reader.close()
        out.setdefault("acc", None)


def test_killed_mid_stream(crash: dict[str, Any]) -> None:
    ks = crash["ks"]
    assert 0 < crash["scored_at_kill"] < len(ks.scored), "the kill must land mid-stream"
    assert 0 < crash["reread"] < len(ks), "the new worker must start between the first and the last offset"


def _survivors(pids: list[int], timeout: float) -> list[int]:
    """Those of ``pids`` still running after up to ``timeout`` s (a zombie has stopped running)."""
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in pids if proctree.running(p)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def test_the_killed_workers_scorer_process_dies_with_it(crash: dict[str, Any]) -> None:
    assert crash["scorer_pids"], "the worker scores in a process of its own by default (IMON_SCORER_PROCESS)"
    assert crash["scorers_left"] == [], "a scorer process outlived its kill -9'd worker"


def test_every_input_event_is_accounted_for_after_kill9(crash: dict[str, Any]) -> None:
    """Fails today because worker 2 never finishes changelog recovery (docs/RELIABILITY.md, bug 1).
    With that fixed it still failed in 1 of 4 runs: two records right after the resume point got no
    output at all while another was processed twice in one batch (bug 2, suspected take_events)."""
    acc = crash["acc"]
    if not acc.complete:
        pytest.fail(f"events lost after kill -9 and restart: {acc.problems()}", pytrace=False)
    # Each bad input record has its DLQ record (replays may repeat one, never lose one).
    assert acc.dlq_distinct_inputs == crash["ks"].n_bad


def test_restarted_worker_counts_each_reread_event_once_as_new(crash: dict[str, Any]) -> None:
    # Worker 2 starts at the group's committed offsets (read while no worker ran), so it consumes the
    # R = sum(end - committed) records after them. Each must be counted (total >= R), and none may be
    # counted as new twice: a record worker 1 had already processed, or one delivered to worker 2
    # twice, must be recognised from the conversation state and counted as "duplicate", so the new
    # outcomes (scored / no_consent / control / dead_lettered) add up to at most R.
    #
    # Across the two processes, per-process counters cannot give an exact total: worker 1's counts
    # after its last scrape die with it. Events it counted but had not committed (at most the batch
    # in flight) are read again by worker 2; when their state had reached the changelog they count as
    # duplicate, otherwise as new again. That figure is recorded (first_counted_beyond_commit), not
    # asserted; the replay test below checks the dedup itself deterministically.
    second, reread = crash["second"], crash["reread"]
    new = sum(v for k, v in second.items() if k != "duplicate")
    assert sum(second.values()) >= reread, f"worker 2 counted {second} for {reread} re-read records"
    assert new <= reread, f"worker 2 counted {new:.0f} new events for {reread} re-read records: {second}"


def test_restarted_worker_recognises_replays_of_committed_events(crash: dict[str, Any]) -> None:
    """Regression test for the changelog-recovery bug: the conversations table is declared with a
    raw-key Schema but no ``key_type=bytes``, so faust sets the table's (and its changelog topic's)
    key serializer to "json"; keys are written raw and a restarted worker fails to decode every
    changelog record ("Error in recovery ..."), never finishes recovery and processes nothing."""
    assert crash["replayed"] > 0, "no committed event of an open conversation to replay"
    counts = {k: v for k, v in crash["replay_counts"].items() if v}
    assert counts == {"duplicate": crash["replayed"]}, (
        f"replayed {crash['replayed']} events that worker 1 had committed; worker 2 counted {counts}: "
        "the conversation state was not restored from the changelog"
    )


def test_kill9_figures(crash: dict[str, Any]) -> None:
    acc, ks = crash["acc"], crash["ks"]
    first = crash.get("first_last_scrape", {})
    path = record_figures(
        "kill9",
        {
            "command": "pytest tests/faults/test_kill9.py",
            "input": ks.summary(),
            "first_worker_counted_at_kill": sum(first.values()),
            "first_counted_beyond_commit": sum(first.values()) - crash.get("committed_total", 0),
            "scored_before_kill": crash.get("scored_at_kill"),
            "reread_by_second_worker": crash.get("reread"),
            "second_worker_counts": crash.get("second"),
            "second_worker_counted_minus_reread": (
                sum(crash["second"].values()) - crash["reread"] if crash.get("second") else None
            ),
            "replayed": crash.get("replayed"),
            "replay_counts": crash.get("replay_counts"),
            **(acc.figures() if acc else {}),
        },
    )
    assert path.exists()
