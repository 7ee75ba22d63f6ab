"""Broker restart mid-stream: ``stack/stack.sh restart-kafka`` (graceful stop, start on the same data
dir) while a worker has a backlog; more events arrive after the broker is back.

What is proven: the worker process survives the restart (no supervisor needed), and every input
event is accounted for in the outputs, each counted once as new (the worker is alive at the end, so
its final scrape is exact; replays after the restart must be ``duplicate``). The broker is started
again in a finalizer even when the test fails, because every other broker test shares it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from streams.kafka_io import create_topics
from tests.conftest import KAFKA, WorkerProcess, _port_open, settings_from
from tests.faults.support import (
    OutputReader,
    events_by_outcome,
    fault_env,
    produce,
    record_figures,
    simulated_stream,
    stack_sh,
    wait_until,
)

log = logging.getLogger("faults.broker")

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.timeout(420)]

N_EVENTS = 900
RESTART_AT = 0.25  # share of the first half counted when the broker goes down


@pytest.fixture
def broker_back_up(kafka_bootstrap: str) -> Iterator[str]:
    """Start the broker again after the test whatever happened (start-kafka is a no-op when it runs)."""
    yield kafka_bootstrap
    stack_sh("start-kafka")
    if not wait_until(lambda: _port_open(KAFKA), timeout=90, interval=0.5):
        raise AssertionError(f"the broker did not come back at {KAFKA}; run `make stack-up`")


@pytest.fixture
def restart(broker_back_up: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("broker")
    env = fault_env(broker_back_up, "br", partitions=2)
    s = settings_from(env)
    create_topics(s)
    ks = simulated_stream(s, N_EVENTS, seed=31)
    half = len(ks.records) // 2
    produce(s, ks.records[:half])
    reader = OutputReader(s)
    workers = [WorkerProcess(env, tmp / "worker.log")]
    out: dict[str, Any] = {"ks": ks, "restarted_worker": False}
    try:
        w = workers[0].start()
        assert wait_until(
            lambda: sum(events_by_outcome(w).values()) >= RESTART_AT * half, timeout=60, interval=0.1
        )
        out["counted_before"] = sum(events_by_outcome(w).values())
        out["restart_s"] = round(stack_sh("restart-kafka"), 1)
        t_up = time.monotonic()
        log.info("broker restarted in %ss after %s events", out["restart_s"], out["counted_before"])
        produce(s, ks.records[half:])
        out["survived"] = w.proc is not None and w.proc.poll() is None
        if not out["survived"]:
            # Fall back to a supervisor's job so the loss check below still means something.
            log.warning("worker died with the broker:\n%s", w.tail(30))
            w = WorkerProcess(env, tmp / "worker-2.log")
            workers.append(w)
            w.start()
            out["restarted_worker"] = True
        out["acc"] = acc = reader.wait_complete(ks, timeout=120)
        out["recovered_s"] = round(time.monotonic() - t_up, 1)
        log.info("accounting: %s %s", acc.figures(), acc.problems())
        if acc.complete and not out["restarted_worker"]:
            wait_until(lambda: sum(events_by_outcome(w).values()) >= N_EVENTS, timeout=20)
            time.sleep(2.0)
            out["counts"] = events_by_outcome(w)
        out["log"] = workers[0].tail(400)
        yield out
    finally:
        for wp in workers:
            wp.stop()
        reader.close()


def test_broker_restart_loses_nothing(restart: dict[str, Any]) -> None:
    acc = restart["acc"]
    figures = {
        "command": "pytest tests/faults/test_broker_restart.py",
        "input": restart["ks"].summary(),
        "restart_kafka_s": restart["restart_s"],
        "counted_before_restart": restart["counted_before"],
        "outputs_complete_after_broker_up_s": restart["recovered_s"],
        "worker_survived": restart["survived"],
        "counts": restart.get("counts"),
        **acc.figures(),
    }
    record_figures("broker_restart", figures)
    if not acc.complete:
        pytest.fail(f"events lost across the broker restart: {acc.problems()}", pytrace=False)
    assert acc.dlq_distinct_inputs == restart["ks"].n_bad
    # The worker survived, so its counters are exact: every event counted once as new.
    assert restart["survived"], f"the worker exited when the broker restarted:\n{restart['log'][-3000:]}"
    new = sum(v for k, v in restart["counts"].items() if k != "duplicate")
    assert new == N_EVENTS, restart["counts"]
