#!/usr/bin/env python3
"""Soak test: one worker under steady simulated load for a long time; memory, lag and errors sampled.

Runs ``imon worker`` as a subprocess on fresh topics of the configured broker (IMON_KAFKA_* as for
the worker; default the local stack), feeds it simulated traffic (bad events included) at
``--load`` x ``--capacity`` events/s for ``--minutes``, samples every ``--interval`` seconds:

* worker resident memory (VmRSS from /proc, MB; with its scorer process),
* consumer lag (end offsets minus the group's committed offsets on the input topic, from Kafka),
* cores used since the previous sample by each party of the machine (the worker, its scorer process, the
  broker, this soak and its feeder, Prometheus, Alertmanager, the rest; machine busy and steal), and the
  score stage's wall milliseconds per utterance (from the worker's imon_pipeline_stage_seconds),
* errors: worker exit, ``imon_dlq_total{reason="processing_error"}``, tracebacks in the worker log,
  dead-lettered events beyond the bad events the simulator sent, events sent but never counted
  (ERROR log lines are counted and quoted, not failed on),

prints one progress line per sample (stderr), and writes a JSON summary (``--out``, default out/soak.json):
memory growth in MB/h (least-squares slope of RSS after the warm-up), RSS start/end/max, max and final lag,
throughput (and the rate counted after the warm-up: with ``--rate`` above capacity, the sustained rate), error
counts, and every sample. Exit status 0 when no error occurred (and growth is under
``--max-growth-mb-per-h`` when given), else 1.

    scripts/soak.py --minutes 30 --capacity 180            # ~70% of 180 events/s for 30 minutes
    scripts/soak.py --minutes 1 --capacity 60 --interval 5 # the short CI variant (tests/faults/test_soak.py)

``--capacity`` is in input events/s; without it the capacity measured by ``imon bench``
(out/bench.json: pipeline utterances/s divided by the utterance share) is used.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from streams import proctree  # noqa: E402
from streams.config import Settings  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--minutes", type=float, default=30.0, help="how long to load the worker (default 30)")
    p.add_argument(
        "--capacity", type=float, help="worker capacity in input events/s (default: from out/bench.json)"
    )
    p.add_argument("--load", type=float, default=0.7, help="share of the capacity to send (default 0.7)")
    p.add_argument("--rate", type=float, help="events/s to send; overrides --capacity x --load")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between samples (default 10)")
    p.add_argument(
        "--warmup",
        type=float,
        help="seconds excluded from the memory slope (default: min(120, 20%% of the run))",
    )
    p.add_argument("--partitions", type=int, default=2, help="partitions of the soak topics (default 2)")
    p.add_argument("--bad-ratio", type=float, default=0.01, help="share of malformed events (default 0.01)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-growth-mb-per-h", type=float, help="fail when memory grows faster than this")
    p.add_argument(
        "--out", default=str(REPO / "out" / "soak.json"), help="JSON summary (default out/soak.json)"
    )
    p.add_argument("--keep-topics", action="store_true", help="do not delete the soak topics at the end")
    return p.parse_args(argv)


def capacity_from_bench(path: Path = REPO / "out" / "bench.json") -> float:
    try:
        b = json.loads(path.read_text())
        return float(b["pipeline"]["utterances_per_s"]) / float(b["latency"]["utterance_share"])
    except (OSError, KeyError, ValueError, ZeroDivisionError) as e:
        raise SystemExit(
            f"soak: give --capacity (events/s) or run `make bench` first ({path}: {e})"
        ) from None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float | None:
    """The worker's resident memory with its scorer process, if it has one (IMON_SCORER_PROCESS)."""
    b = proctree.rss_bytes(pid)
    return None if b is None else b / 2**20


def scrape(port: int) -> dict[str, float]:
    """Selected worker metrics, summed over labels: name or name{reason=...} -> value."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return {}
    out: dict[str, float] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name in ("imon_events_total", "imon_dlq_total", "imon_alertmanager_errors_total"):
                key = s.name
                if s.name == "imon_events_total":
                    key = f"events:{s.labels['outcome']}"
                elif s.name == "imon_dlq_total":
                    key = f"dlq:{s.labels['reason']}"
                out[key] = out.get(key, 0.0) + s.value
            elif fam.name == "imon_gc_pause_seconds" and s.name.endswith(("_count", "_sum")):
                out[f"gc{s.labels['generation']}:{s.name.rsplit('_', 1)[1]}"] = s.value
            elif fam.name == "imon_pipeline_stage_seconds" and s.name.endswith("_sum"):
                out[f"stage:{s.labels['stage']}"] = s.value
            elif fam.name == "imon_batch_size" and s.name.endswith(("_count", "_sum")):
                out[f"batch:{s.name.rsplit('_', 1)[1]}"] = s.value
            elif fam.name == "imon_event_loop_lag_seconds":
                if s.name.endswith(("_count", "_sum")):
                    out[f"loop:{s.name.rsplit('_', 1)[1]}"] = s.value
                elif s.name.endswith("_bucket") and s.labels.get("le") == "0.25":
                    out["loop:le_0.25"] = s.value
    return out


def loop_figures(m: dict[str, float]) -> dict[str, float | int]:
    """The worker's event-loop lag from a :func:`scrape`: wake-ups, seconds late in all, stalls over 0.25 s."""
    count = int(m.get("loop:count", 0.0))
    return {"wakeups": count, "late_s_total": round(m.get("loop:sum", 0.0), 3),
            "stalls_over_0_25_s": count - int(m.get("loop:le_0.25", 0.0))}  # fmt: skip


def score_cost(a: dict[str, float], b: dict[str, float]) -> dict[str, float | None]:
    """From two :func:`scrape` s: utterances scored between them, and the score stage's wall milliseconds per
    utterance and mean batch size over them (None when no batch ran)."""
    utts = b.get("batch:sum", 0.0) - a.get("batch:sum", 0.0)
    batches = b.get("batch:count", 0.0) - a.get("batch:count", 0.0)
    secs = b.get("stage:score", 0.0) - a.get("stage:score", 0.0)
    return {"utterances": round(utts),
            "score_ms_per_utt": round(1000 * secs / utts, 2) if utts > 0 else None,
            "mean_batch": round(utts / batches, 1) if batches > 0 else None}  # fmt: skip


def sustained_rate(samples: list[dict[str, Any]], warmup: float) -> float | None:
    """Counted events per second from the first sample at or after ``warmup`` seconds to the last sample."""
    after = [x for x in samples if x["t_s"] >= warmup]
    if len(after) < 2 or after[-1]["t_s"] <= after[0]["t_s"]:
        return None
    return round((after[-1]["counted"] - after[0]["counted"]) / (after[-1]["t_s"] - after[0]["t_s"]), 1)


def kafka_lag(settings: Settings) -> int | None:
    """End offsets minus committed offsets of the worker's group on the input topic."""
    from kafka import KafkaConsumer, TopicPartition

    try:
        c = KafkaConsumer(
            **settings.kafka_python_kwargs(), group_id=settings.app_id, enable_auto_commit=False
        )  # type: ignore[arg-type]
    except Exception:
        return None
    try:
        tps = [
            TopicPartition(settings.topic_input, p)
            for p in sorted(c.partitions_for_topic(settings.topic_input) or [])
        ]
        ends = c.end_offsets(tps)
        return int(sum(ends[tp] - (c.committed(tp) or 0) for tp in tps))
    except Exception:
        return None
    finally:
        c.close()


def slope_per_hour(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MB) points, in MB per hour."""
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    sxx = sum((t - mx) ** 2 for t, _ in points)
    if sxx == 0:
        return None
    return sum((t - mx) * (v - my) for t, v in points) / sxx * 3600


class Feeder(threading.Thread):
    """Sends simulated events at a fixed rate until stopped; counts the bad ones it sent."""

    def __init__(self, settings: Settings, rate: float, seed: int, bad_ratio: float) -> None:
        super().__init__(daemon=True, name="soak-feeder")
        self.settings, self.rate, self.seed, self.bad_ratio = settings, rate, seed, bad_ratio
        self.stop_event = threading.Event()
        self.sent = 0
        self.bad = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        from streams.kafka_io import producer
        from streams.simulator import Simulator

        try:
            prod = producer(self.settings, linger_ms=5)
            sim = Simulator(seed=self.seed, bad_ratio=self.bad_ratio).events()
            t0 = time.monotonic()
            while not self.stop_event.is_set():
                due = t0 + self.sent / self.rate
                if (d := due - time.monotonic()) > 0:
                    self.stop_event.wait(d)
                    continue
                key, value = next(sim)
                if key is None:
                    self.bad += 1
                prod.send(self.settings.topic_input, key=key, value=value)
                self.sent += 1
            prod.flush(timeout=60)
            prod.close(timeout=10)
        except BaseException as e:  # reported in the summary
            self.error = e


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from streams.kafka_io import create_topics, delete_topics

    capacity = args.capacity or (None if args.rate else capacity_from_bench())
    rate = args.rate or args.load * capacity
    duration = args.minutes * 60
    warmup = args.warmup if args.warmup is not None else min(120.0, 0.2 * duration)
    tag = uuid.uuid4().hex[:8]
    base = Settings()  # IMON_* from the environment: broker address, TLS/SASL, model...
    s = base.model_copy(update={
        "app_id": f"imon-soak-{tag}", "topic_partitions": args.partitions,
        **{f"topic_{k}": f"soak-{tag}-{k}" for k in ("input", "scored", "alerts", "audit", "dlq", "feedback")},
    })  # fmt: skip
    create_topics(s)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    log_path = out.with_suffix(".worker.log")
    port = free_port()
    env = {**os.environ, "IMON_APP_ID": s.app_id, "IMON_TOPIC_PARTITIONS": str(args.partitions),
           "IMON_METRICS_HOST": "127.0.0.1", "IMON_METRICS_PORT": str(port),
           **{f"IMON_TOPIC_{k.upper()}": getattr(s, f"topic_{k}") for k in
              ("input", "scored", "alerts", "audit", "dlq", "feedback")}}  # fmt: skip
    env.pop("IMON_ALERTMANAGER_URL", None)  # the soak measures the worker, not alert delivery
    why = "set by --rate" if args.rate else f"{args.load:.0%} of {capacity:.1f}"
    print(f"soak: {args.minutes:g} min at {rate:.1f} events/s ({why}); "
          f"topics soak-{tag}-*; worker log {log_path}", file=sys.stderr)  # fmt: skip
    with open(log_path, "wb") as log:
        worker = subprocess.Popen([sys.executable, "-m", "streams.cli", "worker"], env=env, stdout=log,
                                  stderr=subprocess.STDOUT, cwd=REPO)  # fmt: skip
    feeder = Feeder(s, rate, args.seed, args.bad_ratio)
    samples: list[dict[str, Any]] = []
    started = time.monotonic()
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and worker.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            raise SystemExit(
                f"soak: the worker did not get ready (exit code {worker.poll()}); see {log_path}"
            )
        ready_s = time.monotonic() - started
        prev_m, prev_cpu = scrape(port), proctree.cpu_snapshot([worker.pid], os.getpid(), "soak")
        cpu_at_warmup: tuple[float, dict[str, float]] | None = None
        m_at_warmup: dict[str, float] | None = None
        feeder.start()
        t0 = time.monotonic()
        while True:
            t = time.monotonic() - t0
            m = scrape(port)
            cpu = proctree.cpu_snapshot([worker.pid], os.getpid(), "soak")
            if cpu_at_warmup is None and t >= warmup:
                cpu_at_warmup, m_at_warmup = cpu, m
            loop = loop_figures(m)
            samples.append({
                "t_s": round(t, 1), "rss_mb": rss_mb(worker.pid), "lag": kafka_lag(s), "sent": feeder.sent,
                "counted": sum(v for k, v in m.items() if k.startswith("events:")),
                "processing_errors": m.get("dlq:processing_error", 0.0), "alive": worker.poll() is None,
                "loop_late_s": loop["late_s_total"], "loop_stalls_over_0_25_s": loop["stalls_over_0_25_s"],
                # since the previous sample: cores per party, and what scoring one utterance cost the worker
                # (none for the first sample, a few ms after the feeder's start: /proc's ticks are too coarse)
                "cores": proctree.cores_between(prev_cpu, cpu) if cpu[0] - prev_cpu[0] >= 1.0 else {},
                **score_cost(prev_m, m),
            })  # fmt: skip
            prev_m, prev_cpu = m, cpu
            x = samples[-1]
            c = x["cores"]
            print(f"soak: {x['t_s']:7.0f}/{duration:.0f} s  sent {x['sent']:,}  counted {x['counted']:,.0f}  "
                  f"lag {x['lag']}  RSS {x['rss_mb'] or 0:,.0f} MB  processing errors {x['processing_errors']:.0f}  "
                  f"loop stalls > 0.25 s {x['loop_stalls_over_0_25_s']}  score {x['score_ms_per_utt'] or 0:.1f} ms/utt  "
                  f"cores: worker {c.get('worker', 0) + c.get('scorer', 0):.2f} broker {c.get('broker', 0):.2f} "
                  f"soak {c.get('soak', 0):.2f} machine {c.get('busy', 0):.2f} steal {c.get('steal', 0):.2f}",
                  file=sys.stderr, flush=True)  # progress: one line per sample
            if t >= duration or worker.poll() is not None:
                break
            time.sleep(min(args.interval, max(0.0, duration - t)))
        feeder.stop_event.set()
        feeder.join(90)
        # Drain: let the worker catch up so the final lag says whether it kept up.
        drain_deadline = time.monotonic() + 60
        while time.monotonic() < drain_deadline and worker.poll() is None and (kafka_lag(s) or 0) > 0:
            time.sleep(1)
        final = scrape(port)
        final_cpu = proctree.cpu_snapshot([worker.pid], os.getpid(), "soak")
        final_lag = kafka_lag(s)
        final_rss = rss_mb(worker.pid)
    finally:
        alive_at_end = worker.poll() is None
        if alive_at_end:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
        feeder.stop_event.set()
        if not args.keep_topics:
            delete_topics(
                s,
                [getattr(s, f"topic_{k}") for k in ("input", "scored", "alerts", "audit", "dlq", "feedback")],
            )

    text = log_path.read_text(errors="replace")
    # ERROR lines are reported (a new broker answers "coordinator not available" once at start-up,
    # for one); a Python traceback in the worker's log is an error.
    error_lines = [ln for ln in text.splitlines() if re.search(r"\bERROR\b|Traceback", ln)]
    rss_points = [(x["t_s"], x["rss_mb"]) for x in samples if x["rss_mb"] is not None and x["t_s"] >= warmup]
    if len(rss_points) < 2:  # a short run: use every sample rather than none
        rss_points = [(x["t_s"], x["rss_mb"]) for x in samples if x["rss_mb"] is not None]
    rss = [x["rss_mb"] for x in samples if x["rss_mb"] is not None]
    lags = [x["lag"] for x in samples if x["lag"] is not None]
    counted = sum(v for k, v in final.items() if k.startswith("events:"))
    errors = {
        "worker_exited": not alive_at_end,
        "feeder": repr(feeder.error) if feeder.error else None,
        "processing_errors": final.get("dlq:processing_error", 0.0),
        "unexpected_dead_letters": max(0.0, final.get("events:dead_lettered", 0.0) - feeder.bad),
        "tracebacks_in_log": text.count("Traceback (most recent call last)"),
        "uncounted_events": max(0.0, feeder.sent - counted),
    }
    growth = slope_per_hour(rss_points)
    ok = not any(errors.values())
    if args.max_growth_mb_per_h is not None and growth is not None and growth > args.max_growth_mb_per_h:
        ok = False
    summary = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "scripts/soak.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "config": {
            "minutes": args.minutes,
            "capacity_events_per_s": round(capacity, 2) if capacity else None,
            "load": None if args.rate else args.load,
            "rate_events_per_s": round(rate, 2),
            "interval_s": args.interval,
            "warmup_s": warmup,
            "partitions": args.partitions,
            "bad_ratio": args.bad_ratio,
            "app_id": s.app_id,
        },  # fmt: skip
        "worker_ready_s": round(ready_s, 1),
        "events_sent": feeder.sent,
        "bad_events_sent": feeder.bad,
        "events_counted": counted,
        "throughput_events_per_s": round(counted / max(1e-9, duration), 2),
        # What the worker kept up with once warm: counted events per second from the first sample at or after the
        # warm-up to the last (before the drain). Under overload (--rate above capacity) this is its sustained rate.
        "rate_after_warmup_events_per_s": sustained_rate(samples, warmup),
        "memory": {
            "growth_mb_per_h": None if growth is None else round(growth, 1),
            "rss_start_mb": rss[0] if rss else None,
            "rss_end_mb": final_rss,
            "rss_max_mb": max(rss, default=None),
            "slope_points": len(rss_points),
        },  # fmt: skip
        "lag": {"max": max(lags, default=None), "final_after_drain": final_lag},
        "gc": {f"generation_{g}": {"collections": int(final.get(f"gc{g}:count", 0)),
                                   "pause_s": round(final.get(f"gc{g}:sum", 0.0), 3)} for g in (0, 1, 2)},
        # imon_event_loop_lag_seconds: how late the worker's loop woke a 0.25-s sleep, summed; a count of
        # stalls that grows with uptime is work that grows with the state held (README, bug 14).
        "event_loop": loop_figures(final),
        # From the end of the warm-up to the end of the drain: who had the machine's cores (the soak process
        # includes its feeder; on the local stack the broker shares the worker's machine), and the score
        # stage's wall ms per utterance: set beside the bench's raw figure, it says whether scoring slowed.
        "after_warmup": None if cpu_at_warmup is None or m_at_warmup is None else {
            "cores": proctree.cores_between(cpu_at_warmup, final_cpu), **score_cost(m_at_warmup, final)},
        "errors": errors,
        "log_error_lines": len(error_lines),
        "log_error_excerpt": error_lines[:10],
        "ok": ok,
        "samples": samples,
    }
    out.write_text(json.dumps(summary, indent=2) + "\n")
    brief = {k: summary[k] for k in ("events_sent", "events_counted", "rate_after_warmup_events_per_s", "memory", "lag",
                                     "gc", "event_loop", "after_warmup", "errors", "ok")}  # fmt: skip
    print(json.dumps(brief, indent=2))
    print(f"soak: summary in {out}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
