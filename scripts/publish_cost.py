"""CPU per published record: Faust's ``Topic.send`` against its producer driver and aiokafka itself (issue #7).

The worker publishes 2-4 records per event (scored, audit, alerts, dead letters) on its event loop, the same
thread that must hand the next batch to the model. This sends ``--records`` records of a scored record's size
to a throwaway topic on the real broker, in rounds of ``--batch`` whose acknowledgements are awaited together
(as ``Worker.publish`` does), through each path in turn, and prints the process CPU time and the wall time
per record. The paths are interleaved ``--rounds`` times, because the machine is noisy:

- ``topic``: ``faust.Topic.send`` (what ``Worker.publish`` used until 2026-12-05);
- ``buffer``: ``faust.Topic.send_soon`` through Faust's producer buffer, the path of a table's changelog records
  (one per conversation state change), with the eager partitioning tables ask for;
- ``driver``: Faust's producer driver, ``app.producer.send`` (what it uses now);
- ``aiokafka``: the aiokafka producer under the driver.

Needs the broker (``make stack-up``)::

    .venv/bin/python scripts/publish_cost.py --records 20000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PATHS = ("topic", "buffer", "driver", "aiokafka")
TOPIC = "imon-publish-cost"


def _value() -> bytes:
    """A record of about a scored record's size (redacted text, scores, evidence)."""
    import orjson

    scores = {"sentiment": {"negative": 0.71, "neutral": 0.2, "positive": 0.09}, "escalation": 0.83,
              "human_requested": 0.12, "unfair_treatment": 0.04}
    return orjson.dumps({"event_id": "0" * 32, "interaction_id": "1" * 32, "text": "word " * 60, "scores": scores,
                         "labels": {"escalation": True}, "evidence": {"escalation": ["word word"]},
                         "model": "imon-heads 0.1.0+00000000"})


async def _now(fut: Any) -> Any:
    return fut


async def _time(send: Callable[[bytes], Awaitable[Any]], records: int, batch: int) -> tuple[float, float]:
    """(CPU µs, wall µs) per record for ``records`` sends, awaited ``batch`` at a time."""
    c0, w0 = time.process_time(), time.perf_counter()
    for start in range(0, records, batch):
        futs = [await send(f"k{i}".encode()) for i in range(start, min(records, start + batch))]
        await asyncio.gather(*futs)
    c1, w1 = time.process_time(), time.perf_counter()
    return 1e6 * (c1 - c0) / records, 1e6 * (w1 - w0) / records


async def measure(bootstrap: str, records: int, batch: int, rounds: int) -> dict[str, list[dict[str, float]]]:
    import faust

    app = faust.App("imon-publish-cost", broker=[f"kafka://{b.strip()}" for b in bootstrap.split(",")],
                    value_serializer="raw", key_serializer="raw", web_enabled=False, producer_acks=-1,
                    topic_partitions=4, topic_replication_factor=1)
    topic = app.topic(TOPIC, key_serializer="raw", value_serializer="raw", partitions=4)
    value = _value()
    producer = await app.maybe_start_producer()
    await topic.maybe_declare()
    client = producer._ensure_producer()  # the aiokafka producer under the driver
    sends: dict[str, Callable[[bytes], Awaitable[Any]]] = {
        "topic": lambda k: topic.send(key=k, value=value),
        "buffer": lambda k: _now(topic.send_soon(key=k, value=value, eager_partitioning=True)),
        "driver": lambda k: producer.send(TOPIC, k, value, partition=None, timestamp=None, headers=None),
        "aiokafka": lambda k: client.send(TOPIC, value, key=k),
    }
    await _time(sends["driver"], min(records, 2000), batch)  # warm up connections and metadata
    out: dict[str, list[dict[str, float]]] = {p: [] for p in PATHS}
    try:
        for r in range(rounds):
            for path in PATHS:
                cpu, wall = await _time(sends[path], records, batch)
                out[path].append({"cpu_us": round(cpu, 1), "wall_us": round(wall, 1)})
                print(f"round {r + 1}  {path:8s}  CPU {cpu:6.1f} µs/record   wall {wall:6.1f} µs/record", flush=True)
    finally:
        await producer.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    from streams.config import load_settings

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                epilog="Paths: " + ", ".join(PATHS) + ". Needs the broker (make stack-up).")
    p.add_argument("--bootstrap", default=None, help="Kafka bootstrap servers (default: IMON_KAFKA_BOOTSTRAP)")
    p.add_argument("--records", type=int, default=20000, help="records per path and round (default 20000)")
    p.add_argument("--batch", type=int, default=200,
                   help="records whose acknowledgements are awaited together (default 200, ~one 64-event batch)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds over the paths (default 3)")
    p.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    a = p.parse_args(argv)
    if a.records < 1 or a.batch < 1 or a.rounds < 1:
        p.error("--records, --batch and --rounds must be >= 1")
    res = asyncio.run(measure(a.bootstrap or load_settings().kafka_bootstrap, a.records, a.batch, a.rounds))
    for path, runs in res.items():
        cpus = sorted(r["cpu_us"] for r in runs)
        print(f"{path:8s}  CPU per record, median of {len(cpus)}: {cpus[len(cpus) // 2]:.1f} µs")
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps({"records": a.records, "batch": a.batch, "rounds": res}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
