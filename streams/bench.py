"""``imon bench``: the pipeline's throughput and latency on the real broker, beside the raw model.

Three phases, one run, one machine, so the ratios mean something:
1. raw scorer: the loaded model on simulated utterances, in the worker's batch size (utterances/s);
2. capacity: a backlog of simulated events is produced first, then one worker subprocess drains it;
   utterances/s = scored records / (last scored_at - first scored_at). With ``--workers N`` (N > 1) the
   N workers (one consumer group) start first, and the backlog is produced once every one of them has
   partitions and the group has stopped rebalancing, so the capacity is the group's in a steady state
   and not a rebalance; the load generator then runs beside them (its rate is reported);
3. latency: events produced at ``--latency-rate`` (default: half the measured capacity), each
   stamped with its send time; event-to-scored latency = scored_at - ts, reported as p50/p95/p99,
   and per second of sending (``timeline``: utterances, p50, worst) to place a tail in time; and the
   event-to-alert latency of the alerts those events raised, from send time to when a consumer of the
   alerts topic read them (``alerts``; the scored latency is to the worker's ``scored_at``). By default a
   warm-up of ``--latency-warmup-seconds`` comes first, as the first part of the same stream, sent without a
   pause: the measured part is a stream in its steady state, the warm-up (reported apart as
   ``latency_warmup``) holds the fresh stream's opening and the broker's first minutes of traffic. Beside the
   timeline, the cores each party on the machine used in each second of sending (``cpu_timeline``: bench,
   worker, its scorer process, broker, Prometheus, Alertmanager, the rest; the machine's steal and iowait).
   Through both parts the bench scrapes each worker's /metrics every ``--scrape-seconds`` (5), as Prometheus
   does in production (``scrapes``: when, and the slowest).
Phases 2 and 3 also report where the time went: the mean of each stage of the worker's
``imon_pipeline_stage_seconds`` (queued per event; prepare, score, finish, publish per batch), and the
garbage collector's pauses per generation (``imon_gc_pause_seconds``: gc2 = full collections).
Every phase reports the cores it used (``cpu.cores_used``, from /proc on Linux): the bench process
(raw scorer, load generator, collector), the worker, the whole machine and the rest ("other": the
broker, mostly). ``pipeline_vs_raw_per_core`` compares utterances per worker core-second with
utterances per raw-scorer core-second: near 1 means the pipeline adds no work per utterance and its
gap to the raw rate is cores left idle. It is left out when less than half of the backlog was scored after
the worker's cores were first read (``cpu.drain_share_measured``: a backlog too small for the machine).
``pipeline_vs_raw_factors`` splits the ratio in two (their product times the workers is the ratio): the share of
each worker's time in the score stage (the rest: prepare, finish, publish, waiting; one batch is in flight at a
time), and the score stage's utterances/s against the raw scorer's, with the utterances per batch of each (the
worker batches events, of which only utterances are scored).
Results are printed and saved as JSON (``--out``).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import platform
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from streams import proctree
from streams.config import Settings


def _load_fraction(v: str) -> float:
    x = float(v)
    if not 0 < x <= 2:
        raise argparse.ArgumentTypeError(f"{v}: a fraction of the measured capacity, over 0 and at most 2")
    return x


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--events", type=int, default=6000, help="backlog size for the capacity phase (default 6000)")
    p.add_argument("--raw-utterances", type=int, default=2000, help="utterances for the raw scorer phase")
    p.add_argument("--latency-rate", type=float,
                   help="events/s in the latency phase (default: --latency-load times the capacity measured in "
                        "this run)")
    p.add_argument("--latency-load", type=_load_fraction, default=0.5,
                   help="without --latency-rate, the latency phase's rate as a fraction of the capacity measured "
                        "on the backlog (default 0.5). Capacity is measured in large batches; short batches do "
                        "less per core, so the fraction that keeps latency low depends on the CPU "
                        "(docs/experiments/rule_33.md)")
    p.add_argument("--latency-seconds", type=float, default=30.0, help="length of the latency phase (default 30)")
    p.add_argument("--latency-warmup-seconds", type=float, default=30.0,
                   help="before the latency phase, send the same stream at the same rate for this long, without a "
                        "pause, reported apart as latency_warmup (default 30; 0: none, the measured phase then opens "
                        "a fresh stream). A broker fresh from its start spends cores compiling its code in the first "
                        "minutes of traffic, and a fresh stream opens its 200 conversations at once "
                        "(docs/experiments/rule_26.md, rule_28.md)")
    p.add_argument("--scrape-seconds", type=float, default=5.0,
                   help="through the latency phases, GET each worker's /metrics this often, as Prometheus does in "
                        "production and in the local stack (default 5, its scrape_interval; 0: never). Each scrape "
                        "makes the worker format its metrics in its main process (docs/experiments/rule_30.md). "
                        "One scrape falls on the boundary between warm-up and measured phase and gives the "
                        "per-stage figures of both, so the worker is not scraped twice there (rule_33.md)")
    p.add_argument("--partitions", type=int, default=4, help="partitions of the bench topics (default 4)")
    p.add_argument("--workers", type=int, default=1,
                   help="worker processes in one consumer group (default 1; at most --partitions)")
    p.add_argument("--out", default="out/bench.json", help="where to save the JSON results")
    p.add_argument("--seed", type=int, default=1)


#: Seconds into the latency phase from which ``latency.ms_steady`` counts (past the stream's opening burst).
STEADY_FROM_S = 5.0


def _percentiles(xs: list[float]) -> dict[str, float]:
    if not xs:
        return {}
    a = np.asarray(xs)
    return {f"p{q}": round(float(np.percentile(a, q)) * 1000, 1) for q in (50, 95, 99)} | {
        "max": round(float(a.max()) * 1000, 1)
    }


def _timeline(pairs: list[tuple[float, float]]) -> list[dict[str, float]]:
    """Per second of the latency phase (by send time): utterances sent, p50 and max latency in ms, so a
    tail can be placed in time (one stall, or a steady spread)."""
    if not pairs:
        return []
    t0 = min(t for t, _ in pairs)
    by_s: dict[int, list[float]] = {}
    for t, lat in pairs:
        by_s.setdefault(int(t - t0), []).append(lat)
    return [{"s": k, "n": len(v), "p50_ms": round(float(np.median(v)) * 1000, 1), "max_ms": round(max(v) * 1000, 1)}
            for k, v in sorted(by_s.items())]


class _AlertWatch(threading.Thread):
    """Reads the alerts topic while the latency phase runs and notes when each alert arrived, so the
    event-to-alert latency is where a consumer of the topic (a paging bridge, a dashboard) sees it:
    scoring, publishing and the broker included. SLA alerts are left out (a timer raises them, by design
    minutes after their event)."""

    def __init__(self, settings: Settings, topic: str) -> None:
        super().__init__(name="bench-alert-watch", daemon=True)
        from streams.kafka_io import consumer

        self.consumer = consumer(settings, topic, consumer_timeout_ms=200)
        self.seen: dict[str, tuple[str, float, float]] = {}  # alert id -> (event id, event ts, received)
        self.ready = threading.Event()
        self.done = threading.Event()

    def run(self) -> None:
        try:
            while not self.done.is_set():
                polled = self.consumer.poll(timeout_ms=100)
                now = time.time()
                if self.consumer.assignment():
                    self.ready.set()
                for records in polled.values():
                    for m in records:
                        r = orjson.loads(m.value)
                        if r.get("type") != "human_request_sla":
                            self.seen.setdefault(r["alert_id"], (r["event_id"], _epoch(r["ts"]), now))
        finally:
            self.consumer.close()

    def latencies(self, event_ids: set[str]) -> list[float]:
        return [got - ts for eid, ts, got in list(self.seen.values()) if eid in event_ids]

    def stop_once_read(self, event_ids: set[str], want: int, timeout: float = 30.0) -> list[float]:
        """Wait until ``want`` alerts of ``event_ids`` were read (or ``timeout``), stop; their latencies."""
        deadline = time.monotonic() + timeout
        while len(self.latencies(event_ids)) < want and time.monotonic() < deadline:
            time.sleep(0.1)
        self.done.set()
        self.join(30)
        return self.latencies(event_ids)


def _stream(seed: int) -> Iterator[tuple[bytes, dict[str, Any]]]:
    """The bench's simulated stream (no bad or no-consent events), decoded."""
    from streams.simulator import Simulator

    sim = Simulator(seed=seed, bad_ratio=0.0, no_consent_ratio=0.0, active=200)
    for key, value in sim.events():
        assert key is not None
        yield key, orjson.loads(value)


def _events(n: int, seed: int) -> list[tuple[bytes, dict[str, Any]]]:
    return list(itertools.islice(_stream(seed), n))


def _utterance_texts(n: int, seed: int) -> list[str]:
    """The texts of the first ``n`` simulated utterances (the stream also has starts, ends, ...)."""
    texts = (e["text"] for _, e in _stream(seed) if e.get("type") == "utterance")
    return list(itertools.islice(texts, n))


def raw_utterances(n: int, seed: int) -> list[Any]:
    """The first ``n`` simulated utterances, redacted as the worker would, ready for ``Scorer.score``: what the
    raw scorer phase scores (and the scripts that time the scorer alone)."""
    from models.base import Utterance
    from streams.redaction import Redactor

    red = Redactor()
    return [Utterance(text=red.redact(t).text) for t in _utterance_texts(n, seed)]


def raw_scorer(settings: Settings, n: int, seed: int) -> dict[str, Any]:
    from models.scorer import load_scorer

    scorer = load_scorer(settings)
    scorer.warmup()
    utts = raw_utterances(n, seed)
    bs = settings.batch_max_size
    c0 = _cpu_now()
    t0 = time.perf_counter()
    for i in range(0, len(utts), bs):
        scorer.score(utts[i : i + bs])
    dt = time.perf_counter() - t0
    return {"utterances": len(utts), "seconds": round(dt, 3), "utterances_per_s": round(len(utts) / dt, 1),
            "batch_size": bs, "model": {"name": scorer.name, "version": scorer.version},
            "cpu": _cpu_use(c0, _cpu_now())}




def _cpu_now(worker_pids: Sequence[int] = ()) -> dict[str, float]:
    """CPU seconds used so far: by the whole machine (busy time of every core, from /proc/stat), by
    this process (the bench: raw scorer, load generator, result collector) and by the workers."""
    out = {"wall": time.monotonic(), "bench": sum(os.times()[:2])}
    if m := proctree.machine_ticks():  # not Linux: shares are left out
        out["machine"] = m["busy"] + m["steal"]
        if worker_pids:  # with any scorer process of theirs
            out["worker"] = sum(proctree.cpu_seconds(pid) for pid in worker_pids)
    return out


def _cpu_use(a: dict[str, float], b: dict[str, float]) -> dict[str, Any]:
    """Cores used on average between two :func:`_cpu_now` snapshots, by whom ("other": the broker and
    everything else on the machine)."""
    wall = b["wall"] - a["wall"]
    use: dict[str, float] = {
        k: round((b[k] - a[k]) / wall, 2) for k in ("bench", "worker", "machine") if k in a and k in b
    }
    if "machine" in use:
        use["other"] = round(use["machine"] - use["bench"] - use.get("worker", 0.0), 2)
    return {"seconds": round(wall, 2), "cores": os.cpu_count() or 0, "cores_used": use}


class _CpuTimeline(threading.Thread):
    """Once a second while a latency phase runs: the cores each party used in that second (``proctree.parties``) and
    the machine's busy, steal and iowait cores, so a slow second in ``timeline`` can be set beside who had
    the CPU then (``scripts/latency_episodes.py`` does that). CPU of a process that exited within a second is
    not counted in it; seconds are counted from the sampler's start, just before the first send."""

    def __init__(self, worker_pids: Sequence[int], period: float = 1.0) -> None:
        super().__init__(name="bench-cpu-timeline", daemon=True)
        self.workers, self.period = list(worker_pids), period
        self.samples: list[dict[str, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        prev = proctree.cpu_snapshot(self.workers, os.getpid())
        t0, k = prev[0], 0
        while not self.done.wait(max(0.0, t0 + (k + 1) * self.period - time.monotonic())):
            cur = proctree.cpu_snapshot(self.workers, os.getpid())
            self.samples.append({"s": k} | proctree.cores_between(prev, cur))
            prev, k = cur, k + 1

    def stop(self) -> list[dict[str, float]]:
        self.done.set()
        self.join(10)
        return self.samples


class _Scraper(threading.Thread):
    """GETs each worker's /metrics every ``every`` seconds and drops the body, as the Prometheus of the local stack
    and of production does (its ``scrape_interval``, 5 s): each scrape makes the worker format its exposition in its
    main process (rule 30). Its ticks are ``boundary + j * every`` seconds from ``t0`` (j an integer; the first
    after ``t0``, or at it where the boundary is), so one falls on the phase boundary. That scrape keeps its
    bodies (:attr:`at_boundary`, parsed by the bench after sending), so the boundary costs the worker no scrape
    of its own (rule 33). Notes when each scrape began (seconds from ``t0``) and how long it took."""

    def __init__(self, ports: Sequence[int], every: float, t0: float, boundary: float) -> None:
        super().__init__(name="bench-scraper", daemon=True)
        self.ports, self.every, self.t0 = list(ports), every, t0
        self.first = boundary % every or (every if boundary > 0 else 0.0)
        self.keep = round((boundary - self.first) / every)  # the boundary's tick
        self.done = threading.Event()
        self.scrapes: list[tuple[float, float]] = []  # (began at, seconds)
        self.at_boundary: list[bytes] = []  # one body per worker that answered at the boundary's tick

    def run(self) -> None:
        import urllib.request

        k = 0
        while not self.done.wait(max(0.0, self.t0 + self.first + k * self.every - time.monotonic())):
            for port in self.ports:
                began = time.monotonic()
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                        body = r.read()
                except OSError:  # a worker that does not answer is the bench's other checks' business
                    continue
                self.scrapes.append((round(began - self.t0, 3), time.monotonic() - began))
                if k == self.keep:
                    self.at_boundary.append(body)
            k += 1

    def stop(self) -> list[tuple[float, float]]:
        self.done.set()
        self.join(10)
        return self.scrapes


def _scrape_report(scrapes: list[tuple[float, float]], every: float, lo: float, hi: float) -> dict[str, Any]:
    """The scrapes begun in [lo, hi) seconds of sending, their times counted from ``lo``."""
    mine = [(t - lo, d) for t, d in scrapes if lo <= t < hi]
    return {"every_s": every, "count": len(mine), "slowest_ms": round(max((d for _, d in mine), default=0.0) * 1000, 1),
            "at_s": [round(t, 2) for t, _ in mine]}


def _resolved_dtype(s: Settings) -> str:
    """What ``IMON_ENCODER_DTYPE`` means on this machine (``auto`` depends on the CPU)."""
    if s.encoder_backend != "torch":
        return s.encoder_backend
    from models.encoder import resolve_dtype

    return resolve_dtype(s.encoder_dtype, s.device)


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    fh = open(log, "ab")  # noqa: SIM115
    return subprocess.Popen([sys.executable, "-m", "streams.cli", "worker"], env=env, stdout=fh, stderr=subprocess.STDOUT)


def _wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 180) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("bench worker exited during start-up")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("bench worker not ready in time")


def _collect_scored(settings: Settings, topic: str, want: int, timeout: float) -> dict[str, dict[str, Any]]:
    from streams.kafka_io import consumer

    c = consumer(settings, topic, consumer_timeout_ms=500, fetch_max_bytes=16 * 1024 * 1024)
    got: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    try:
        while len(got) < want and time.monotonic() < deadline:
            for m in c:
                r = orjson.loads(m.value)
                got[r["event_id"]] = {"ts": r["ts"], "scored_at": r["scored_at"], "alerts": len(r.get("alerts") or ())}
    finally:
        c.close()
    return got


def _families(port: int) -> list[Any]:
    """The metric families on a worker's /metrics."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return _parse(r.read())


def _parse(body: bytes) -> list[Any]:
    from prometheus_client.parser import text_string_to_metric_families

    return list(text_string_to_metric_families(body.decode()))


def _counter(ports: Sequence[int], name: str, **labels: str) -> int:
    """A counter's value summed over the workers (and over its other labels), e.g. ``imon_rebalances_total``
    (partition assignments received) or ``imon_events_total`` with ``outcome="scored"``."""
    family = name.removesuffix("_total")
    return int(sum(smp.value for port in ports for fam in _families(port) if fam.name == family
                   for smp in fam.samples
                   if smp.name == name and all(smp.labels.get(k) == v for k, v in labels.items())))


def _wait_group_settled(ports: Sequence[int], quiet_s: float = 5.0, timeout: float = 120) -> int:
    """Wait until no worker of the group has received an assignment for ``quiet_s`` (every worker is
    ready, i.e. has had one); the number of assignments seen."""
    deadline = time.monotonic() + timeout
    last, since = _counter(ports, "imon_rebalances_total"), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = _counter(ports, "imon_rebalances_total")
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return now
    raise RuntimeError("the bench workers' group kept rebalancing")


#: Thresholds (seconds, bucket bounds of both histograms) for the count of slow batches and late wake-ups.
SLOW_S = ("0.1", "0.25")


def _stage_totals(ports: Sequence[int], bodies: Sequence[bytes] | None = None) -> dict[str, tuple[float, ...]]:
    """(sum seconds, count, count over 0.1 s, count over 0.25 s) per stage of imon_pipeline_stage_seconds from
    the workers' /metrics (scraped now, or ``bodies`` already scraped), ``gc<N>`` per generation of
    imon_gc_pause_seconds (garbage-collector pauses) and ``loop`` for imon_event_loop_lag_seconds (how late the
    event loop woke), summed over workers."""
    out: dict[str, list[float]] = {}
    fams = (f for b in bodies for f in _parse(b)) if bodies is not None else (f for p in ports for f in _families(p))
    for fam in fams:
        if fam.name == "imon_pipeline_stage_seconds":
            label, prefix = "stage", ""
        elif fam.name == "imon_gc_pause_seconds":
            label, prefix = "generation", "gc"
        elif fam.name == "imon_event_loop_lag_seconds":
            label, prefix = "", "loop"
        else:
            continue
        for smp in fam.samples:
            acc = out.setdefault(prefix + smp.labels.get(label, ""), [0.0] * (2 + 2 * len(SLOW_S)))
            if smp.name.endswith("_sum"):
                acc[0] += smp.value
            elif smp.name.endswith("_count"):
                acc[1] += smp.value
            elif smp.name.endswith("_bucket") and (le := smp.labels.get("le")) in SLOW_S:
                acc[2 + SLOW_S.index(le)] += smp.value  # at or under the bound: "over" is count minus this
    return {k: (v[0], v[1], *(v[1] - x for x in v[2 : 2 + len(SLOW_S)])) for k, v in out.items()}


def _stage_means(before: dict[str, tuple[float, ...]], after: dict[str, tuple[float, ...]]) -> dict[str, Any]:
    """Mean ms per stage between two scrapes (queued: per event; gc0-gc2: per collection; loop: per wake-up of
    the event loop, how late; the others: per batch), with how many took over 100 and 250 ms (GC: unknown)."""
    res: dict[str, Any] = {}
    for st, (s1, c1, *over1) in after.items():
        s0, c0, *over0 = before.get(st, (0.0,) * len(after[st]))
        if c1 > c0:
            res[st] = {"mean_ms": round((s1 - s0) / (c1 - c0) * 1000, 2), "count": int(c1 - c0)}
            if not st.startswith("gc"):
                res[st] |= {"over_100_ms": int(over1[0] - over0[0]), "over_250_ms": int(over1[1] - over0[1])}
    return res


def _epoch(s: str) -> float:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def run(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from streams.kafka_io import create_topics, delete_topics, producer

    if not 1 <= args.workers <= args.partitions:
        print(f"imon bench: --workers must be between 1 and --partitions ({args.partitions}): a worker without "
              "a partition would idle", file=sys.stderr)
        return 2
    tag = uuid.uuid4().hex[:8]
    topics = {k: f"bench-{tag}-{k}" for k in ("interactions", "scored", "alerts", "audit", "dlq", "feedback")}
    s = settings.model_copy(update={
        "topic_input": topics["interactions"], "topic_scored": topics["scored"], "topic_alerts": topics["alerts"],
        "topic_audit": topics["audit"], "topic_dlq": topics["dlq"], "topic_feedback": topics["feedback"],
        "topic_partitions": args.partitions, "app_id": f"imon-bench-{tag}",
    })
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "settings": {"batch_max_size": s.batch_max_size, "batch_small_size": s.batch_small_size, "batch_max_wait_s": s.batch_max_wait_s,
                     "partitions": args.partitions, "workers": args.workers, "device": s.device,
                     "scrape_seconds": args.scrape_seconds, "latency_load": args.latency_load,
                     "encoder_dtype": s.encoder_dtype, "encoder_dtype_resolved": _resolved_dtype(s),
                     "fast_path": s.fast_path},
    }
    print("phase 1/3: raw scorer ...", file=sys.stderr)
    result["raw_scorer"] = raw_scorer(s, args.raw_utterances, args.seed)
    print(f"  {result['raw_scorer']['utterances_per_s']} utterances/s", file=sys.stderr)

    create_topics(s)
    env = {**os.environ, "IMON_KAFKA_BOOTSTRAP": s.kafka_bootstrap, "IMON_APP_ID": s.app_id,
           "IMON_TOPIC_PARTITIONS": str(args.partitions), "IMON_METRICS_HOST": "127.0.0.1",
           **{f"IMON_TOPIC_{k.upper()}": v for k, v in
              {"input": topics["interactions"], "scored": topics["scored"], "alerts": topics["alerts"],
               "audit": topics["audit"], "dlq": topics["dlq"], "feedback": topics["feedback"]}.items()}}
    env.pop("IMON_ALERTMANAGER_URL", None)  # the bench measures scoring, not alert delivery
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # one metrics port and log per worker: bench.worker.log, bench.worker2.log, ...
    ports = [_free_port() for _ in range(args.workers)]
    logs = [out.with_suffix(".worker.log" if i == 0 else f".worker{i + 1}.log") for i in range(args.workers)]

    procs: list[subprocess.Popen[bytes]] = []
    watch: _AlertWatch | None = None

    def start_workers() -> None:
        procs.extend(_start_worker({**env, "IMON_METRICS_PORT": str(port)}, lg) for port, lg in zip(ports, logs, strict=True))
        for port, proc in zip(ports, procs, strict=True):
            _wait_ready(port, proc)

    # -- phase 2: capacity -------------------------------------------------------------------
    print(f"phase 2/3: capacity, backlog of {args.events} events, {args.workers} worker(s) ...", file=sys.stderr)
    backlog = _events(args.events, args.seed + 1)
    n_utt = sum(1 for _, e in backlog if e["type"] == "utterance")

    def produce_backlog() -> float:
        prod = producer(s, linger_ms=20, batch_size=256 * 1024)
        t = time.monotonic()
        for key, e in tqdm(backlog, desc="produce", unit="ev", file=sys.stderr):
            prod.send(s.topic_input, key=key, value=orjson.dumps(e))
        prod.flush()
        return round(len(backlog) / (time.monotonic() - t), 1)

    try:
        if args.workers == 1:
            produce_rate = produce_backlog()
            start_workers()
            # The worker is fresh, so every pipeline-stage observation it has is the backlog's: on a fast machine
            # it may be half done by the time /readyz answers, so those stages count from zero. Garbage-collector
            # pauses count from here (model loading collects too).
            st0 = {k: v for k, v in _stage_totals(ports).items() if k.startswith("gc")}
            c0 = _cpu_now([p.pid for p in procs])
            cpu_from = time.time()  # scored_at is wall-clock time
        else:
            start_workers()
            result["assignments_before_backlog"] = _wait_group_settled(ports)
            st0 = _stage_totals(ports)
            c0 = _cpu_now([p.pid for p in procs])
            cpu_from = time.time()
            produce_rate = produce_backlog()
        pids = [p.pid for p in procs]
        recs = _collect_scored(s, s.topic_scored, n_utt, timeout=max(300.0, n_utt / 20))
        c1 = _cpu_now(pids)
        if len(recs) < n_utt:
            raise RuntimeError(f"only {len(recs)} of {n_utt} utterances scored in time")
        times = sorted(_epoch(r["scored_at"]) for r in recs.values())
        span = times[-1] - times[0]
        cap = len(recs) / span if span > 0 else float("nan")
        result["pipeline"] = {"events": len(backlog), "utterances": len(recs), "seconds": round(span, 3),
                              "utterances_per_s": round(cap, 1), "workers": args.workers,
                              "produce_events_per_s": produce_rate}
        result["pipeline_vs_raw"] = round(cap / result["raw_scorer"]["utterances_per_s"], 3)
        # Where the cores went while the workers drained the backlog (from /readyz, or with several workers from
        # the start of the backlog, to the last record read), and the same ratio per core used by the workers and
        # by the raw scorer.
        result["pipeline"]["cpu"] = cpu = _cpu_use(c0, c1)
        # A small backlog on a fast machine can be mostly or wholly scored before /readyz answers: then the
        # window holds little or none of the drain, and the worker's cores (and the ratio per core) say nothing.
        cpu["drain_share_measured"] = share = round(sum(t >= cpu_from for t in times) / len(times), 3)
        raw_cores = result["raw_scorer"]["cpu"]["cores_used"].get("bench")
        if share >= 0.5 and (w := cpu["cores_used"].get("worker")) and raw_cores:
            result["pipeline_vs_raw_per_core"] = round((cap / w) / (result["raw_scorer"]["utterances_per_s"] / raw_cores), 3)
        print(f"  {cap:.1f} utterances/s through {args.workers} worker(s) ({result['pipeline_vs_raw']}x raw)",
              file=sys.stderr)
        st1 = _stage_totals(ports)
        result["pipeline"]["stages"] = _stage_means(st0, st1)
        if (sc := result["pipeline"]["stages"].get("score")) and span > 0 and sc["mean_ms"] > 0:
            # pipeline_vs_raw = workers x score_stage_share x score_stage_vs_raw: how much of each worker's time went
            # to anything but scoring, and how fast its score stage is beside the raw scorer (batch size included)
            score_s = sc["mean_ms"] * sc["count"] / 1000
            result["pipeline_vs_raw_factors"] = {
                "score_stage_share": round(score_s / (args.workers * span), 3),
                "score_stage_vs_raw": round(len(recs) / score_s / result["raw_scorer"]["utterances_per_s"], 3),
                "utterances_per_batch": round(len(recs) / sc["count"], 1),
                "raw_batch_size": result["raw_scorer"]["batch_size"],
            }
        if args.workers > 1:  # how the group shared the backlog
            result["pipeline"]["scored_per_worker"] = [_counter([port], "imon_events_total", outcome="scored")
                                                       for port in ports]

        # -- phase 3: latency at a fixed rate ------------------------------------------------
        rate = args.latency_rate or round(args.latency_load * cap * len(backlog) / n_utt, 1)
        n = int(rate * args.latency_seconds)
        prod2 = producer(s, linger_ms=0)
        watch = _AlertWatch(s, s.topic_alerts)
        watch.start()
        if not watch.ready.wait(60):
            raise RuntimeError("the alerts topic could not be read within 60 s")

        def send_at_rate(stream: list[tuple[bytes, dict[str, Any]]], mark: int, on_mark: Callable[[], None],
                         t0: float) -> tuple[set[str], set[str], list[dict[str, Any]]]:
            """Send ``stream`` at ``rate`` from ``t0``, each event stamped as sent, with no pause between the
            events before index ``mark`` (the warm-up) and those from it (the measured phase); ``on_mark`` runs
            in a thread of its own as the event at ``mark`` is due, so the schedule holds. Returns the utterances'
            event ids before and from ``mark`` and, for each part, how far the sending fell behind its schedule
            and the bench's own GC pauses meanwhile (a late send makes a burst, which is the load generator's
            doing, not the pipeline's)."""
            pauses: list[tuple[int, float]] = []
            started = [0.0]
            at = [0]

            def on_gc(phase: str, info: dict[str, Any]) -> None:
                if phase == "start":
                    started[0] = time.perf_counter()
                else:
                    pauses.append((at[0], time.perf_counter() - started[0]))

            ids: tuple[set[str], set[str]] = (set(), set())
            late: list[tuple[int, float]] = []
            marker = threading.Thread(target=on_mark, name="bench-phase-mark", daemon=True)
            gc.callbacks.append(on_gc)
            try:
                for i, (key, e) in enumerate(tqdm(stream, desc="produce", unit="ev", file=sys.stderr)):
                    at[0] = i
                    if i == mark:
                        marker.start()
                    due = t0 + i / rate
                    if (d := due - time.monotonic()) > 0:
                        time.sleep(d)
                    else:
                        late.append((i, -d))
                    e["ts"] = datetime.now(UTC).isoformat(timespec="microseconds")
                    if e["type"] == "utterance":
                        ids[i >= mark].add(e["event_id"])
                    prod2.send(s.topic_input, key=key, value=orjson.dumps(e))
                prod2.flush()
            finally:
                gc.callbacks.remove(on_gc)
            if marker.ident is None:  # the stream ended before ``mark``
                on_mark()
            else:
                marker.join(30)
            reports = []
            for part in (False, True):
                lt = [x for i, x in late if (i >= mark) == part]
                ps = [x for i, x in pauses if (i >= mark) == part]
                reports.append({"sends_late_over_50_ms": sum(x > 0.05 for x in lt),
                                "most_late_ms": round(max(lt, default=0.0) * 1000, 1), "gc_collections": len(ps),
                                "gc_longest_ms": round(max(ps, default=0.0) * 1000, 1)})
            return ids[0], ids[1], reports

        def latencies(recs: dict[str, dict[str, Any]], ids: set[str]) -> list[tuple[float, float]]:
            """(sent at, event-to-scored seconds) of the utterances ``ids``."""
            return [(_epoch(r["ts"]), _epoch(r["scored_at"]) - _epoch(r["ts"])) for eid, r in recs.items() if eid in ids]

        # One stream: the warm-up is its first rate x W events, the measured phase the next rate x seconds, sent
        # back to back, so the measured phase is a stream in its steady state. A fresh simulated stream opens its
        # 200 conversations at once (second 0: their start events; seconds 1-2: ~15-20 % more utterances than the
        # steady rate, every conversation at the same early turns): with W > 0 that opening is the warm-up's
        # (rule 28). With W = 0 the measured phase is such a fresh stream; ``ms_steady`` then skips its opening.
        n_warm = int(rate * args.latency_warmup_seconds)
        stream = _events(n_warm + n, args.seed + 2)
        if n_warm:
            print(f"phase 3/3: warm-up at {rate} events/s for {args.latency_warmup_seconds:.0f}s (reported apart), "
                  f"then latency for {args.latency_seconds:.0f}s, one stream ...", file=sys.stderr)
        else:
            print(f"phase 3/3: latency at {rate} events/s for {args.latency_seconds:.0f}s ...", file=sys.stderr)
        at_mark: dict[str, Any] = {}
        st_w, c_w = _stage_totals(ports), _cpu_now(pids)

        t0 = time.monotonic()
        # the periodic scraper scrapes at the boundary for the stage totals (rule 33); without it, the boundary does
        scraper = _Scraper(ports, args.scrape_seconds, t0, n_warm / rate) if args.scrape_seconds > 0 else None

        def mark() -> None:
            at_mark.update(cpu=_cpu_now(pids))
            if scraper is None:
                at_mark.update(stages=_stage_totals(ports))

        tl = _CpuTimeline(pids)
        tl.start()
        if scraper is not None:
            scraper.start()
        # at index 0 (no warm-up) it marks at once
        warm_ids, sent_ids, gen = send_at_rate(stream, n_warm, mark, t0)
        cpu_all = tl.stop()
        scrapes = scraper.stop() if scraper is not None else []
        if scraper is not None:
            if len(scraper.at_boundary) != len(ports):
                raise RuntimeError(f"{len(ports) - len(scraper.at_boundary)} worker(s) did not answer the scrape of "
                                   "/metrics at the latency phase's boundary: no per-stage figures for either part")
            at_mark.update(stages=_stage_totals(ports, scraper.at_boundary))
        end_stages, end_cpu = _stage_totals(ports), _cpu_now(pids)
        allrecs = _collect_scored(s, s.topic_scored, n_utt + len(warm_ids) + len(sent_ids), timeout=120)
        # the CPU samples from the measured phase's first second on, counted from it
        off = round(n_warm / rate)
        cpu_timeline = [c | {"s": c["s"] - off} for c in cpu_all if c["s"] >= off]
        if n_warm:
            warm = [x for _, x in latencies(allrecs, warm_ids)]
            result["latency_warmup"] = {
                "seconds": args.latency_warmup_seconds, "utterances": len(warm), "ms": _percentiles(warm),
                "stages": _stage_means(st_w, at_mark["stages"]), "cpu": _cpu_use(c_w, at_mark["cpu"]),
                "cpu_timeline": [c for c in cpu_all if c["s"] < off], "load_generator": gen[0],
                "scrapes": _scrape_report(scrapes, args.scrape_seconds, 0.0, n_warm / rate)}
            print(f"  warm-up event-to-scored latency ms: {result['latency_warmup']['ms']}", file=sys.stderr)
        # every utterance is scored, so its alerts were published with it: the watch reads them shortly
        raised = sum(r["alerts"] for eid, r in allrecs.items() if eid in sent_ids)
        alert_lat = watch.stop_once_read(sent_ids, raised)
        pairs = latencies(allrecs, sent_ids)
        lat = [x for _, x in pairs]
        first = min((t for t, _ in pairs), default=0.0)
        steady = [x for t, x in pairs if t - first >= STEADY_FROM_S]
        result["latency"] = {"rate_events_per_s": rate, "utterance_share": round(n_utt / len(backlog), 3),
                             "capacity_fraction": round(rate * n_utt / len(backlog) / cap, 3) if cap > 0 else None,
                             "continues_warmup": bool(n_warm),
                             "utterances": len(lat), "ms": _percentiles(lat), "timeline": _timeline(pairs),
                             "cpu_timeline": cpu_timeline,
                             "steady_from_s": STEADY_FROM_S, "ms_steady": _percentiles(steady),
                             "stages": _stage_means(at_mark["stages"], end_stages),
                             "cpu": _cpu_use(at_mark["cpu"], end_cpu),
                             "load_generator": gen[1],
                             "scrapes": _scrape_report(scrapes, args.scrape_seconds, n_warm / rate, float("inf")),
                             "alerts": {"raised": raised, "read": len(alert_lat), "ms": _percentiles(alert_lat)}}
        print(f"  event-to-scored latency ms: {result['latency']['ms']}; from second {STEADY_FROM_S:.0f} on: "
              f"{result['latency']['ms_steady']}", file=sys.stderr)
        print(f"  event-to-alert latency ms (as read from the alerts topic, {len(alert_lat)} alerts): "
              f"{result['latency']['alerts']['ms']}", file=sys.stderr)
        rss = [proctree.rss_bytes(pid) for pid in pids]  # with any scorer process
        result["worker_rss_bytes"] = sum(r for r in rss if r) or None
        if args.workers > 1:
            result["worker_rss_bytes_each"] = rss
    finally:
        if watch is not None:
            watch.done.set()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        delete_topics(s, topics.values())
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(f"saved {out}", file=sys.stderr)
    return 0


def _free_port() -> int:
    import socket

    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        return int(sk.getsockname()[1])
