#!/usr/bin/env python3
"""Time the housekeeping index's rebuilds over a Faust in-memory table: the one-shot full scan
(``Processor.reindex``, after each table recovery) and the slices of the spread safety-net pass
(``Processor.reindex_step``, one per housekeeping second, ``REFRESH_TICKS`` to a pass; rule 25).

No broker: the table's store is filled directly with N conversation states shaped like the worker's, then
rebuilt through the worker's ``TableStore`` (the path the processor takes) and, for comparison, straight
from the store's dict; then passes of slices are timed, the pass's key snapshot included in its first
slice. Each figure is how long the event loop stands still for that step.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/reindex_cost.py --conversations 40000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--conversations", type=int, default=40_000, help="states in the table (default 40000)")
    ap.add_argument("--rounds", type=int, default=3, help="rebuilds timed per path (default 3)")
    args = ap.parse_args(argv)

    import faust

    from streams.processor import REFRESH_TICKS
    from streams.stateindex import RefreshPass, StateIndex
    from streams.worker import TableStore

    app = faust.App("imon-reindex-cost", broker="kafka://127.0.0.1:1", store="memory://")
    table = app.Table("conversations", default=None, partitions=4)
    state = {
        "queue": "billing", "channel": "chat", "customer_turns": 3, "last_ts": 1.0, "touched": 2.0,
        "ended": False, "human_request_event": None, "alert_types_raised": [],
        "seen": {f"event-{i}": [] for i in range(8)},
    }  # fmt: skip
    for i in range(args.conversations):
        table.data[f"conversation-{i:08d}".encode()] = dict(state)
    store = TableStore(table)
    index = StateIndex()
    for r in range(1, args.rounds + 1):
        t = time.perf_counter()
        index.rebuild((iid, store.get(iid)) for iid in list(store.keys()))
        via_store = time.perf_counter() - t
        t = time.perf_counter()
        index.rebuild((k.decode(), v) for k, v in list(table.data.items()))
        via_dict = time.perf_counter() - t
        print(f"round {r}: {len(index):,} conversations: through TableStore {via_store * 1000:.0f} ms, "
              f"from the store's dict {via_dict * 1000:.0f} ms")  # fmt: skip
    rp = RefreshPass(REFRESH_TICKS)
    for r in range(1, args.rounds + 1):
        times = []
        while not times or rp.left:
            t = time.perf_counter()
            rp.step(index, store)
            times.append(time.perf_counter() - t)
        print(f"pass {r}: {len(times)} slices through TableStore: first (key snapshot included) "
              f"{times[0] * 1000:.1f} ms, largest {max(times) * 1000:.1f} ms, "
              f"median {sorted(times)[len(times) // 2] * 1000:.1f} ms, sum {sum(times) * 1000:.0f} ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
