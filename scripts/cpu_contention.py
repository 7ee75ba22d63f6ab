"""Does the scorer slow down when other work runs beside it? (issue #7, docs/PERFORMANCE.md)

Scores the bench's utterances in batches for ``--seconds`` at a time, in turn: alone; beside a Python
load in a thread of the same interpreter (what overlapping the worker's publishing with its scoring
does); beside the same load in a separate process (what scoring in a process of its own would do).
The load imitates the worker's event loop per batch: canonical JSON, hashing and serialising 64 audit-like
records, then a 10 ms wait (Kafka's acknowledgements); on a 2-vCPU Xeon it keeps about half a core busy
(``load_bursts`` counts its bursts: each is ~10 ms of work plus the wait), more than the worker's event loop.

If the scorer keeps its speed beside the process load, the machine has a spare core that an overlapped
pipeline could use; if it slows down as much as the pipeline's own overhead, no overlap can raise the
pipeline / raw ratio there. Run it with nothing else busy; ``--torch-threads 1`` shows whether the
encoder gains from a second thread at all.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/cpu_contention.py --torch-threads 2 --rounds 2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODES = ("alone", "thread", "process")


def _load(deadline: float, bursts: Any) -> None:
    """Event-loop-like Python work until ``deadline`` (time.monotonic, shared by forked processes)."""
    import orjson

    from streams.audit import canonical_json

    rec = {"a": [{"k": i, "v": i * 0.37, "s": "x" * 40} for i in range(30)], "b": {"c": 0.123, "d": "é" * 20}}
    n = 0
    while time.monotonic() < deadline:
        for _ in range(64):
            hashlib.sha256(canonical_json(rec)).hexdigest()
            orjson.loads(orjson.dumps(rec))
            json.loads(json.dumps(rec))
        n += 1
        time.sleep(0.010)
    bursts.value = n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=12.0, help="length of each measurement (default 12)")
    ap.add_argument("--rounds", type=int, default=2, help="passes over alone / thread / process (default 2)")
    ap.add_argument("--torch-threads", type=int, default=0, help="encoder threads (default 0 = torch's default)")
    ap.add_argument("--utterances", type=int, default=640, help="distinct utterances scored in turn (default 640)")
    ap.add_argument("--out", type=Path, default=None, help="also write the results as JSON here")
    args = ap.parse_args()

    import torch

    from models.scorer import load_scorer
    from streams.bench import raw_utterances
    from streams.config import load_settings

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    scorer = load_scorer(load_settings())
    scorer.warmup()
    utts = raw_utterances(args.utterances, 1)

    def score_for(seconds: float) -> float:
        t0, n = time.perf_counter(), 0
        while time.perf_counter() - t0 < seconds:
            for i in range(0, len(utts), 64):
                n += len(scorer.score(utts[i : i + 64]))
        return n / (time.perf_counter() - t0)

    score_for(3.0)  # warm the kernels
    results: list[dict[str, Any]] = []
    fork = mp.get_context("fork")  # the load child imports no torch work of its own
    for r in range(args.rounds):
        for mode in MODES:
            bursts = fork.Value("i", 0)
            deadline = time.monotonic() + args.seconds
            side: threading.Thread | Any = None
            if mode == "thread":
                side = threading.Thread(target=_load, args=(deadline, bursts))
            elif mode == "process":
                side = fork.Process(target=_load, args=(deadline, bursts))
            if side is not None:
                side.start()
            rate = score_for(args.seconds)
            if side is not None:
                side.join()
            row = {"round": r + 1, "mode": mode, "scorer_utt_per_s": round(rate, 1), "load_bursts": bursts.value}
            results.append(row)
            print(json.dumps(row), flush=True)
    summary = {m: round(sum(x["scorer_utt_per_s"] for x in results if x["mode"] == m) / args.rounds, 1)
               for m in MODES}
    out = {"torch_threads": torch.get_num_threads(), "seconds": args.seconds, "runs": results,
           "mean_utt_per_s": summary}
    print(json.dumps({"torch_threads": out["torch_threads"], "mean_utt_per_s": summary}))
    if args.out:
        args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
