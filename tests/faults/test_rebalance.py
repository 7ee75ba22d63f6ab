"""Rebalance mid-stream: worker A runs, events keep arriving, worker B joins the same consumer group
(4 partitions), and both share the stream until it ends.

What is proven: every input event is accounted for in the outputs; both workers processed part of
the stream; each worker's counters cover every event exactly once between them (both processes are
alive at the end, so their final scrapes are exact): new events counted once in total, and every
other count is a recognised replay (``duplicate``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from streams.kafka_io import create_topics
from tests.conftest import WorkerProcess, settings_from
from tests.faults.support import (
    BackgroundProducer,
    OutputReader,
    events_by_outcome,
    fault_env,
    record_figures,
    simulated_stream,
    wait_until,
)

log = logging.getLogger("faults.rebalance")

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.timeout(300)]

N_EVENTS = 1200
RATE = 20.0  # events/s: the stream lasts ~60 s, so B (model load 20-40 s on a busy 2-core box) joins mid-stream


@pytest.fixture(scope="module")
def rebalance(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("rebalance")
    env = fault_env(kafka_bootstrap, "rb", partitions=4)
    s = settings_from(env)
    create_topics(s)
    ks = simulated_stream(s, N_EVENTS, seed=21)
    reader = OutputReader(s)
    a = WorkerProcess(env, tmp / "worker-a.log")
    b = WorkerProcess(env, tmp / "worker-b.log")
    out: dict[str, Any] = {"ks": ks}
    try:
        a.start()
        prod = BackgroundProducer(s, ks.records, rate=RATE)
        t0 = time.monotonic()
        prod.start()
        time.sleep(3.0)
        b.start()
        out["b_ready_after_s"] = round(time.monotonic() - t0, 1)
        out["a_before_b"] = sum(events_by_outcome(a).values())
        prod.join(timeout=N_EVENTS / RATE + 120)
        assert not prod.is_alive() and prod.error is None, f"producer failed: {prod.error!r}"
        out["produced_while_b_started"] = out["b_ready_after_s"] < N_EVENTS / RATE
        out["acc"] = acc = reader.wait_complete(ks, timeout=60, stall_s=25)
        log.info("accounting: %s %s", acc.figures(), acc.problems())
        patience = 20.0 if acc.complete else 3.0

        def counted() -> float:
            return sum(events_by_outcome(a).values()) + sum(events_by_outcome(b).values())

        wait_until(lambda: counted() >= N_EVENTS, timeout=patience)
        time.sleep(2.0)
        out["a"], out["b"] = events_by_outcome(a), events_by_outcome(b)
        out["alive"] = {
            "a": a.proc is not None and a.proc.poll() is None,
            "b": b.proc is not None and b.proc.poll() is None,
        }
        out["rebalances"] = {"a": a.metric("imon_rebalances_total"), "b": b.metric("imon_rebalances_total")}
        return out
    finally:
        a.stop()
        b.stop()
        reader.close()


def test_b_joined_mid_stream(rebalance: dict[str, Any]) -> None:
    assert rebalance["produced_while_b_started"], "B must join while events are still arriving"
    assert 0 < rebalance["a_before_b"] < N_EVENTS


def test_every_input_event_is_accounted_for_across_the_rebalance(rebalance: dict[str, Any]) -> None:
    acc = rebalance["acc"]
    if not acc.complete:
        pytest.fail(f"events lost across the rebalance: {acc.problems()}", pytrace=False)
    assert acc.dlq_distinct_inputs == rebalance["ks"].n_bad


def test_both_workers_processed_and_survived(rebalance: dict[str, Any]) -> None:
    assert rebalance["alive"] == {"a": True, "b": True}
    new = {w: sum(v for k, v in rebalance[w].items() if k != "duplicate") for w in ("a", "b")}
    assert new["a"] > 0 and new["b"] > 0, new


def test_each_event_counted_once_across_both_workers(rebalance: dict[str, Any]) -> None:
    # Both processes are alive, so their final counters are exact. A partition handed from A to B
    # may be replayed from its last commit; B then knows those events from the restored conversation
    # state and counts them as "duplicate". So: new (non-duplicate) counts sum to N exactly.
    a, b = rebalance["a"], rebalance["b"]
    new = sum(v for k, v in {**_tag(a, "a"), **_tag(b, "b")}.items() if not k.endswith(":duplicate"))
    assert new == N_EVENTS, f"A counted {a}, B counted {b}: {new:.0f} new for {N_EVENTS} input events"


def _tag(d: dict[str, float], w: str) -> dict[str, float]:
    return {f"{w}:{k}": v for k, v in d.items()}


def test_rebalance_figures(rebalance: dict[str, Any]) -> None:
    acc = rebalance["acc"]
    path = record_figures(
        "rebalance",
        {
            "command": "pytest tests/faults/test_rebalance.py",
            "input": rebalance["ks"].summary(),
            "rate_per_s": RATE,
            "b_ready_after_s": rebalance.get("b_ready_after_s"),
            "a_counts": rebalance.get("a"),
            "b_counts": rebalance.get("b"),
            "rebalances": rebalance.get("rebalances"),
            **(acc.figures() if acc else {}),
        },
    )
    assert path.exists()
