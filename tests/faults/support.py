"""Helpers shared by the fault tests: a known input stream with its expected outcomes, topic readers
that read to the end offsets, group offsets, and the accounting of every input event in the outputs.

Every wait here is bounded in time; nothing targets an address other than 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from streams import proctree
from streams.config import Settings
from streams.schema import Event, InvalidEvent, decode_event

REPO = Path(__file__).resolve().parents[2]
#: Where the fault tests leave their measured figures (docs/RELIABILITY.md quotes them).
OUT_DIR = REPO / "out" / "faults"


def stack_sh(cmd: str, timeout: float = 180) -> float:
    """Run ``stack/stack.sh CMD`` (restart-kafka, start-alertmanager...); returns its duration in s."""
    t0 = time.monotonic()
    r = subprocess.run(
        [str(REPO / "stack" / "stack.sh"), cmd], capture_output=True, text=True, timeout=timeout, cwd=REPO
    )
    if r.returncode != 0:
        raise AssertionError(f"stack/stack.sh {cmd} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return time.monotonic() - t0


def fault_env(kafka_bootstrap: str, prefix: str = "f", partitions: int = 2, **extra: str) -> dict[str, str]:
    """IMON_* settings with fresh topic names and consumer group (like ``tests.conftest.test_env``)."""
    tag = uuid.uuid4().hex[:10]
    env = {
        "IMON_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "IMON_APP_ID": f"imon-{prefix}-{tag}",
        "IMON_TOPIC_INPUT": f"{prefix}-{tag}-interactions",
        "IMON_TOPIC_SCORED": f"{prefix}-{tag}-scored",
        "IMON_TOPIC_ALERTS": f"{prefix}-{tag}-alerts",
        "IMON_TOPIC_AUDIT": f"{prefix}-{tag}-audit",
        "IMON_TOPIC_DLQ": f"{prefix}-{tag}-dlq",
        "IMON_TOPIC_FEEDBACK": f"{prefix}-{tag}-feedback",
        "IMON_TOPIC_PARTITIONS": str(partitions),
        "IMON_LOG_LEVEL": "INFO",
        # Two cores shared by up to two workers and the broker: one torch thread per worker.
        "IMON_TORCH_THREADS": "1",
    }
    env.update(extra)
    return env


def wait_until(cond: Callable[[], bool], timeout: float, interval: float = 0.25) -> bool:
    """Poll ``cond`` until it holds or ``timeout`` seconds pass; returns whether it held."""
    deadline = time.monotonic() + timeout
    while True:
        if cond():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def settled_counts(worker: Any, timeout: float, quiet_s: float = 3.0) -> dict[str, float]:
    """Scrape ``worker`` until its ``imon_events_total`` has not changed for ``quiet_s`` seconds (or
    ``timeout`` passes) and return the last counts.

    A count reaching a target is not the end of a worker's counting: a restarted worker can handle
    records fetched before its seek to the committed offsets and then read them all again (counted
    as ``duplicate``), so a snapshot taken at the target may land in the middle of that second pass.
    """
    deadline = time.monotonic() + timeout
    last = events_by_outcome(worker)
    quiet_since = time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - quiet_since < quiet_s:
        time.sleep(0.25)
        now = events_by_outcome(worker)
        if now != last:
            last, quiet_since = now, time.monotonic()
    return last


def record_figures(name: str, figures: dict[str, Any]) -> Path:
    """Write a test's measured figures to out/faults/<name>.json (read by humans and the docs)."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{name}.json"
    figures = {"measured_at": datetime.now(UTC).isoformat(timespec="seconds"), **figures}
    path.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    return path


# -- the known input stream ---------------------------------------------------------------------
def utterance(
    iid: str, text: str, *, consent: bool = True, speaker: str = "customer", queue: str = "billing",
    channel: str = "chat", language: str = "en", event_id: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    return {
        "schema_version": 1,
        "event_id": event_id or str(uuid.uuid4()),
        "interaction_id": iid,
        "ts": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "type": "utterance",
        "channel": channel,
        "speaker": speaker,
        "text": text,
        "language": language,
        "queue": queue,
        "consent": {"ai_analysis": consent},
    }


def sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


@dataclass
class KnownStream:
    """Input records (key, value) with the outcome each one must have."""

    records: list[tuple[bytes | None, bytes]] = field(default_factory=list)
    scored: set[str] = field(default_factory=set)  # consented utterances: one scored record each
    no_consent: set[str] = field(default_factory=set)  # audit decision not_scored_no_consent
    control: set[str] = field(default_factory=set)  # start/end/transfer: audit decision control
    bad: Counter[str] = field(default_factory=Counter)  # payload sha256 -> how many were produced
    events: list[Event | None] = field(default_factory=list)  # decoded record, None when bad

    def add(self, key: bytes | None, value: bytes, settings: Settings) -> None:
        """Add a record and classify it with the worker's own limits."""
        self.records.append((key, value))
        try:
            ev = decode_event(
                value, max_event_bytes=settings.max_event_bytes, max_text_bytes=settings.max_text_bytes
            )
        except InvalidEvent:
            self.bad[sha256(value)] += 1
            self.events.append(None)
            return
        self.events.append(ev)
        self._classify(ev)

    def _classify(self, ev: Event) -> None:
        if ev.type != "utterance":
            self.control.add(ev.event_id)
        elif ev.consented:
            self.scored.add(ev.event_id)
        else:
            self.no_consent.add(ev.event_id)

    def ended(self) -> set[str]:
        """Interaction ids that have an ``end`` event in the stream (the worker drops their state)."""
        return {e.interaction_id for e in self.events if e is not None and e.type == "end"}

    @property
    def n_bad(self) -> int:
        return sum(self.bad.values())

    def __len__(self) -> int:
        return len(self.records)

    def summary(self) -> dict[str, int]:
        return {"events": len(self), "consented_utterances": len(self.scored), "no_consent": len(self.no_consent),
                "control": len(self.control), "bad": self.n_bad}  # fmt: skip


def simulated_stream(
    settings: Settings, n: int, seed: int, bad_ratio: float = 0.03, no_consent_every: int = 20
) -> KnownStream:
    """``n`` records from the simulator (bad events included) plus an explicit no-consent utterance every
    ``no_consent_every`` records, each with its expected outcome."""
    from streams.simulator import Simulator

    ks = KnownStream()
    sim = Simulator(seed=seed, bad_ratio=bad_ratio).events()
    i = 0
    while len(ks) < n:
        i += 1
        if no_consent_every and i % no_consent_every == 0:
            e = utterance(
                str(uuid.uuid4()), "Please don't analyse this, my number is 06 12345678.", consent=False
            )
            ks.add(e["interaction_id"].encode(), orjson.dumps(e), settings)
            continue
        key, value = next(sim)
        ks.add(key, value, settings)
    return ks


# -- Kafka ---------------------------------------------------------------------------------------
def produce(settings: Settings, records: Iterable[tuple[bytes | None, bytes]], topic: str | None = None,
            rate: float | None = None, deadline_s: float = 120.0) -> list[tuple[int, int]]:  # fmt: skip
    """Produce records (at ``rate`` per second when given), wait for every acknowledgement and return
    each record's (partition, offset) in input order."""
    from streams.kafka_io import producer

    topic = topic or settings.topic_input
    # Generous retries: a broker that was just restarted listens before it leads every partition.
    prod = producer(settings, max_request_size=1_048_576, retries=30, retry_backoff_ms=500)
    t0 = time.monotonic()
    n = 0
    futs = []
    try:
        for key, value in records:
            if rate:
                delay = t0 + n / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            if time.monotonic() - t0 > deadline_s:
                raise AssertionError(f"producing took longer than {deadline_s}s")
            futs.append(prod.send(topic, key=key, value=value))
            n += 1
        prod.flush(timeout=60)
        # get() raises if the broker never acknowledged a record
        placed = [(md.partition, md.offset) for md in (f.get(timeout=30) for f in futs)]
    finally:
        prod.close(timeout=10)
    return placed


class BackgroundProducer(threading.Thread):
    """Produces records at a fixed rate from a thread; ``join()`` then check ``error``."""

    def __init__(self, settings: Settings, records: list[tuple[bytes | None, bytes]], rate: float) -> None:
        super().__init__(daemon=True, name="fault-producer")
        self.settings, self.records, self.rate = settings, records, rate
        self.error: BaseException | None = None
        self.placed: list[tuple[int, int]] = []

    def run(self) -> None:
        try:
            self.placed = produce(
                self.settings, self.records, rate=self.rate, deadline_s=len(self.records) / self.rate + 90
            )
        except BaseException as e:  # reported by the test thread
            self.error = e


def _consumer(settings: Settings) -> Any:
    from kafka import KafkaConsumer

    return KafkaConsumer(
        **settings.kafka_python_kwargs(), group_id=None, enable_auto_commit=False,  # type: ignore[arg-type]
        auto_offset_reset="earliest", client_id="imon-fault-reader",
        max_partition_fetch_bytes=2 * 1_048_576,
    )  # fmt: skip


def end_offsets(settings: Settings, topic: str) -> dict[int, int]:
    from kafka import TopicPartition

    c = _consumer(settings)
    try:
        parts = c.partitions_for_topic(topic) or set()
        ends = c.end_offsets([TopicPartition(topic, p) for p in parts])
        return {tp.partition: off for tp, off in ends.items()}
    finally:
        c.close()


def committed_offsets(settings: Settings, topic: str) -> dict[int, int]:
    """Offsets the worker's consumer group (= app id) committed on ``topic`` (0 when none)."""
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(**settings.kafka_python_kwargs(), group_id=settings.app_id, enable_auto_commit=False)  # type: ignore[arg-type]
    try:
        parts = c.partitions_for_topic(topic) or set()
        return {p: c.committed(TopicPartition(topic, p)) or 0 for p in sorted(parts)}
    finally:
        c.close()


class TopicTail:
    """Reads a topic from the beginning, incrementally: ``poll()`` returns everything read so far.

    Each record is ``{"partition", "offset", "key", **value}``; a value that is not a JSON object is
    kept under ``"_raw"``.
    """

    def __init__(self, settings: Settings, topic: str) -> None:
        from kafka import TopicPartition

        self.topic = topic
        self.c = _consumer(settings)
        deadline = time.monotonic() + 30
        parts: set[int] = set()
        while not parts and time.monotonic() < deadline:
            parts = self.c.partitions_for_topic(topic) or set()
            if not parts:
                time.sleep(0.2)
        if not parts:
            raise AssertionError(f"topic {topic} has no partitions after 30s")
        self.tps = [TopicPartition(topic, p) for p in sorted(parts)]
        self.c.assign(self.tps)
        self.c.seek_to_beginning(*self.tps)
        self.records: list[dict[str, Any]] = []
        self.raw: list[str] = []  # every value as text, exactly as published

    def poll(self, max_s: float = 1.0) -> list[dict[str, Any]]:
        t_end = time.monotonic() + max_s
        while time.monotonic() < t_end:
            got = self.c.poll(timeout_ms=200, max_records=5000)
            if not got:
                break
            for msgs in got.values():
                for m in msgs:
                    self.raw.append(m.value.decode("utf-8", errors="replace") if m.value is not None else "")
                    try:
                        v = json.loads(m.value)
                    except ValueError:
                        v = {"_raw": m.value}
                    if not isinstance(v, dict):
                        v = {"_raw": v}
                    self.records.append(
                        {
                            "partition": m.partition,
                            "offset": m.offset,
                            "key": m.key.decode() if m.key else None,
                            **v,
                        }
                    )
        return self.records

    def close(self) -> None:
        self.c.close()


@dataclass
class Accounting:
    """What came out for a known stream, and what is missing."""

    scored_records: int
    scored_distinct: int
    scored_duplicates: int
    missing_scored: set[str]
    unexpected_scored: set[str]
    missing_no_consent: set[str]
    missing_control: set[str]
    dlq_records: int
    dlq_distinct_inputs: int
    missing_bad: dict[str, int]
    no_consent_scored: set[str]

    @property
    def complete(self) -> bool:
        return not (
            self.missing_scored or self.missing_no_consent or self.missing_control or self.missing_bad
            or self.unexpected_scored or self.no_consent_scored
        )  # fmt: skip

    def figures(self) -> dict[str, int]:
        return {"scored_records": self.scored_records, "scored_distinct": self.scored_distinct,
                "scored_duplicates": self.scored_duplicates, "dlq_records": self.dlq_records,
                "dlq_distinct_inputs": self.dlq_distinct_inputs}  # fmt: skip

    def problems(self) -> str:
        """One line naming what is missing (a few ids of each kind); empty when complete."""
        if self.complete:
            return ""

        def few(s: Iterable[Any]) -> list[Any]:
            return sorted(s)[:3]

        return (
            f"missing scored {len(self.missing_scored)} {few(self.missing_scored)}; "
            f"unexpected scored {len(self.unexpected_scored)}; no-consent scored {len(self.no_consent_scored)}; "
            f"missing no-consent audit {len(self.missing_no_consent)} {few(self.missing_no_consent)}; "
            f"missing control audit {len(self.missing_control)} {few(self.missing_control)}; "
            f"missing DLQ payloads {sum(self.missing_bad.values())} {few(self.missing_bad)}"
        )


class OutputReader:
    """Tails scored, audit and DLQ topics of one test and accounts for a :class:`KnownStream`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.scored = TopicTail(settings, settings.topic_scored)
        self.audit = TopicTail(settings, settings.topic_audit)
        self.dlq = TopicTail(settings, settings.topic_dlq)

    def poll(self) -> None:
        for t in (self.scored, self.audit, self.dlq):
            t.poll()

    def account(self, ks: KnownStream) -> Accounting:
        scored_ids = [r.get("event_id") for r in self.scored.records]
        distinct = set(scored_ids)
        decisions: dict[str, set[str]] = {}
        for a in self.audit.records:
            decisions.setdefault(str(a.get("decision")), set()).add(str(a.get("event_id")))
        # A DLQ record is one input record: identified by its source (partition, offset); its
        # payload hash says which bad payload it was. Replays re-send the same source.
        by_source: dict[tuple[Any, Any], str] = {}
        for r in self.dlq.records:
            src = r.get("source") or {}
            by_source[(src.get("partition"), src.get("offset"))] = str(r.get("payload_sha256"))
        got_bad = Counter(by_source.values())
        missing_bad = {h: n - got_bad.get(h, 0) for h, n in ks.bad.items() if got_bad.get(h, 0) < n}
        return Accounting(
            scored_records=len(scored_ids),
            scored_distinct=len(distinct),
            scored_duplicates=len(scored_ids) - len(distinct),
            missing_scored=ks.scored - distinct,
            unexpected_scored=distinct - ks.scored - ks.no_consent,
            missing_no_consent=ks.no_consent - decisions.get("not_scored_no_consent", set()),
            missing_control=ks.control - decisions.get("control", set()),
            dlq_records=len(self.dlq.records),
            dlq_distinct_inputs=len(by_source),
            missing_bad=missing_bad,
            no_consent_scored=distinct & ks.no_consent,
        )

    def assert_complete(self, ks: KnownStream, timeout: float, stall_s: float | None = None) -> Accounting:
        acc = self.wait_complete(ks, timeout, stall_s)
        if not acc.complete:
            raise AssertionError(
                f"not every input event is accounted for after {timeout:.0f}s: {acc.problems()}"
            )
        return acc

    def wait_complete(self, ks: KnownStream, timeout: float, stall_s: float | None = None) -> Accounting:
        """Poll until every input of ``ks`` is accounted for or ``timeout`` passes; returns the last view.

        ``stall_s``: also give up when no new output record arrived for that long (a stuck worker
        fails the test in ``stall_s`` rather than ``timeout``)."""
        deadline = time.monotonic() + timeout
        seen, last_new = -1, time.monotonic()
        while True:
            self.poll()
            acc = self.account(ks)
            now = time.monotonic()
            n = len(self.scored.records) + len(self.audit.records) + len(self.dlq.records)
            if n != seen:
                seen, last_new = n, now
            if acc.complete or now >= deadline or (stall_s is not None and now - last_new >= stall_s):
                return acc
            time.sleep(0.5)

    def close(self) -> None:
        for t in (self.scored, self.audit, self.dlq):
            t.close()


# -- processes -----------------------------------------------------------------------------------
def rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants (a scorer process) in MB (0 when it is gone)."""
    return (proctree.rss_bytes(pid) or 0) / 2**20


def events_by_outcome(worker: Any) -> dict[str, float]:
    """``imon_events_total`` of one worker, summed per outcome (one scrape)."""
    from prometheus_client.parser import text_string_to_metric_families

    code, text = worker.http("/metrics")
    if code != 200:
        raise AssertionError(f"scrape of worker /metrics failed (HTTP {code})")
    out: dict[str, float] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == "imon_events_total":
                out[s.labels["outcome"]] = out.get(s.labels["outcome"], 0.0) + s.value
    return out


def log_text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "false", "no")
