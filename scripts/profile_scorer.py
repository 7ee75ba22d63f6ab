"""Where the scorer's time goes per batch size (docs/PERFORMANCE.md, the AMD machine).

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/profile_scorer.py [--n 640] [--sizes 4 16 64] [--ops 4] [--no-evidence]

Scores `imon bench`'s redacted utterances with the served scorer (its own thread policy: short batches
on `IMON_TORCH_THREADS_SMALL_BATCH` threads) in batches of each size and prints utterances/s, padded
tokens per utterance, encoder milliseconds per utterance and microseconds per token, and milliseconds per
utterance outside the encoder (tokenising, heads, lexical channel, evidence). ``--ops N``: also a
torch.profiler table of the encoder's operators on batches of N. Nothing else should run meanwhile.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=640, help="utterances per batch size (default 640)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[4, 16, 64], help="batch sizes (default 4 16 64)")
    ap.add_argument("--ops", type=int, default=0, help="profile the encoder's operators on batches of this size")
    ap.add_argument("--no-evidence", action="store_true",
                    help="score without occlusion evidence (what the evidence costs: the difference in 'other')")
    args = ap.parse_args()

    from models.scorer import load_scorer
    from streams import bench
    from streams.config import Settings

    scorer = load_scorer(Settings())
    scorer.warmup()
    scorer.with_evidence = not args.no_evidence
    utts = bench.raw_utterances(args.n, 1)
    enc = scorer.enc
    forward = enc.forward
    stat = {"tokens": 0, "seconds": 0.0}

    def timed_forward(batch: object, states: bool = False) -> object:
        stat["tokens"] += batch["input_ids"].numel()  # type: ignore[index]
        t = time.perf_counter()
        out = forward(batch, states)
        stat["seconds"] += time.perf_counter() - t
        return out

    enc.forward = timed_forward
    for bs in args.sizes:
        stat.update(tokens=0, seconds=0.0)
        t0 = time.perf_counter()
        for i in range(0, len(utts), bs):
            scorer.score(utts[i : i + bs])
        dt = time.perf_counter() - t0
        n = len(utts)
        print(f"batch {bs:3d}: {n / dt:6.1f} utt/s, {stat['tokens'] / n:5.1f} tokens/utt, encoder "
              f"{stat['seconds'] / n * 1e3:5.2f} ms/utt = {stat['seconds'] / stat['tokens'] * 1e6:5.1f} us/token, "
              f"other {(dt - stat['seconds']) / n * 1e3:5.2f} ms/utt, torch threads {enc.threads()}", flush=True)
    enc.forward = forward
    if args.ops:
        from torch.profiler import ProfilerActivity, profile

        small = args.ops <= scorer.small_batch_size and scorer.small_batch_threads
        enc.use_threads(scorer.small_batch_threads if small else scorer.large_batch_threads)
        batches = [enc.tokenize([u.text for u in utts[i : i + args.ops]]) for i in range(0, len(utts), args.ops)]
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for b in batches:
                enc.forward(b)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))


if __name__ == "__main__":
    main()
