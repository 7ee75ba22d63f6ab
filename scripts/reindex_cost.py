#!/usr/bin/env python3
"""Time the housekeeping index's full rebuild (``Processor.reindex``'s scan) over a Faust in-memory table.

No broker: the table's store is filled directly with N conversation states shaped like the worker's, then
rebuilt three times through the worker's ``TableStore`` (the path ``Processor.reindex`` takes) and, for
comparison, straight from the store's dict. The worker rebuilds after each table recovery and once a
minute (``streams.worker.REINDEX_INTERVAL_S``); this is how long the event loop stands still for it.

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

    from streams.stateindex import StateIndex
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
