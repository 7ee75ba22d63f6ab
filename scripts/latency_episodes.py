"""Set the slow seconds of `imon bench` latency phases beside who had the CPU then (issue #7).

An *episode second* is a second of sending (``latency.timeline``) whose slowest event took over
``--over`` ms (default 250) to be scored. For each, prints the cores each party used in that second and
the next (``latency.cpu_timeline``: its events are scored then), beside the party's median over the
phase, the stage counts of the run, and when the bench scraped the worker (``latency.scrapes``, rule 30: a
scrape begun within 1 s before the slow second or in it is named beside it). Runs without ``cpu_timeline`` (benches before 2026-12-05 21:35
UTC) are listed and skipped.

    .venv/bin/python scripts/latency_episodes.py out/bench*.json [--over 250] [--warmup]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

PARTIES = ("worker", "scorer", "bench", "broker", "prometheus", "alertmanager", "rest", "busy", "steal", "iowait")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, help="imon bench JSON files")
    ap.add_argument("--over", type=float, default=250.0, help="ms: a second whose slowest event took longer is an episode")
    ap.add_argument("--warmup", action="store_true", help="read the warm-up phase (latency_warmup) instead")
    a = ap.parse_args(argv)
    for path in a.runs:
        d = json.loads(path.read_text())
        ph = d.get("latency_warmup" if a.warmup else "latency") or {}
        cpu = ph.get("cpu_timeline")
        if not cpu:
            print(f"{path}: no cpu_timeline, skipped")
            continue
        tl = {t["s"]: t for t in ph.get("timeline", [])}  # the warm-up keeps no timeline: use its cpu only
        by_s = {c["s"]: c for c in cpu}
        med = {p: statistics.median(c.get(p, 0.0) for c in cpu) for p in PARTIES}
        p99 = ph.get("ms", {}).get("p99")
        print(f"{path}: rate {ph.get('rate_events_per_s', d.get('latency', {}).get('rate_events_per_s'))} ev/s, "
              f"p99 {p99} ms, {len(cpu)} s sampled")
        print("  party medians (cores): " + ", ".join(f"{p} {med[p]:.2f}" for p in PARTIES))
        scrape_at = (ph.get("scrapes") or {}).get("at_s", [])
        if scrape_at:
            print(f"  worker scraped at s = {scrape_at} (slowest {ph['scrapes']['slowest_ms']} ms)")
        eps = [s for s, t in sorted(tl.items()) if t["max_ms"] > a.over]
        if not eps:
            print(f"  no second over {a.over:.0f} ms")
        for s in eps:
            t = tl[s]
            near = [x for x in scrape_at if s - 1 <= x < s + 1]
            for k in (s, s + 1):
                c = by_s.get(k)
                if c is None:
                    continue
                print(f"  s={s:>3} (p50 {t['p50_ms']:.0f}, max {t['max_ms']:.0f} ms) cpu at {k:>3}: "
                      + ", ".join(f"{p} {c.get(p, 0.0):.2f}" for p in PARTIES)
                      + (f"; scrape at {near}" if near and k == s else ""))
        st = ph.get("stages", {})
        counts = {k: (v.get("over_100_ms"), v.get("over_250_ms")) for k, v in st.items() if isinstance(v, dict)}
        if counts:
            print("  stages over 100 / 250 ms: " + ", ".join(f"{k} {a_}/{b_}" for k, (a_, b_) in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
