"""Every Prometheus metric of the worker, made in one place from a registry passed in.

Labels come only from small fixed sets: ``queue`` (configured allow-list, else ``other``),
``channel`` (voice/chat/email/social/other), ``speaker``, ``task``, alert ``type``, DLQ ``reason``,
``outcome``. Never ids, never text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, disable_created_metrics
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from streams import proctree
from streams.gcpause import GcPauses

#: Outcomes of one input event; every consumed event is counted under exactly one of them.
OUTCOMES = ("scored", "dead_lettered", "no_consent", "control", "duplicate")
#: Score tasks exported as histograms.
TASKS = ("sentiment_negative", "sentiment_positive", "escalation", "human_requested", "unfair_treatment")
CHANNELS = ("voice", "chat", "email", "social")

#: ``imon_score`` bucket bounds, every 0.1: the dashboards and alerts read the count, the sum and the bucket at their
#: "high" bound (0.5) only, and each bound costs 300 series per worker and scrape time in its main process
#: (every 0.05 until 2026-12-05: ~62 ms per scrape, docs/experiments/rule_29.md).
SCORE_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 10)) + (1.0,)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)


class ScorerProcessCollector(Collector):
    """CPU and memory of the worker's scorer process (``IMON_SCORER_PROCESS``), read from /proc at each
    scrape: ``process_*`` describe the worker's own process only. Zero while there is none."""

    def __init__(self) -> None:
        self.pid: Callable[[], int | None] = lambda: None

    def collect(self) -> Iterator[Metric]:
        pid = self.pid()
        cpu = CounterMetricFamily(
            "imon_scorer_process_cpu_seconds", "CPU seconds (user + system) of the worker's scorer process; "
            "add process_cpu_seconds_total for the whole worker. Restarts with the process.")
        cpu.add_metric([], proctree.cpu_seconds(pid, descendants=False) if pid else 0.0)  # it has none: no /proc scan
        rss = GaugeMetricFamily(
            "imon_scorer_process_resident_memory_bytes", "Resident memory of the worker's scorer process "
            "(it holds the model); add process_resident_memory_bytes for the whole worker.")
        rss.add_metric([], (proctree.rss_bytes(pid, descendants=False) or 0) if pid else 0)
        yield cpu
        yield rss


def channel_label(channel: str | None) -> str:
    return channel if channel in CHANNELS else "other"


@dataclass(frozen=True)
class Metrics:
    """The worker's metrics, all registered on ``registry``."""

    registry: CollectorRegistry
    events: Counter
    dlq: Counter
    scores: Histogram
    alerts: Counter
    latency: Histogram
    inference: Histogram
    batch_size: Histogram
    stages: Histogram
    cascade: Counter
    scorer_restarts: Counter
    loop_lag: Histogram
    model: Info
    conversations_active: Gauge
    human_waiting: Gauge
    consumer_lag: Gauge
    rebalances: Counter
    recovery_reseeks: Counter
    alerts_pushed: Counter
    alertmanager_errors: Counter
    redactions: Counter
    quoted_history: Counter
    gc_pauses: GcPauses  # imon_gc_pause_seconds; the worker installs its gc callback
    scorer_process: ScorerProcessCollector  # its ``pid`` is set once the worker has a scorer process

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None, process: bool = True) -> Metrics:
        """Create every metric on ``registry`` (a fresh one when None)."""
        reg = registry if registry is not None else CollectorRegistry()
        # No ``*_created`` series (one per label set of every counter and histogram): nothing reads them, and
        # each scrape formats them in the worker's main process. prometheus_client's switch is process-wide.
        disable_created_metrics()
        if process:
            # Process CPU/memory for the operations dashboard; one process per worker, so no
            # multiprocess mode is needed.
            ProcessCollector(registry=reg)
            PlatformCollector(registry=reg)
        gc_pauses = GcPauses()
        reg.register(gc_pauses)
        scorer_process = ScorerProcessCollector()
        reg.register(scorer_process)
        return cls(
            registry=reg,
            gc_pauses=gc_pauses,
            scorer_process=scorer_process,
            events=Counter(
                "imon_events_total",
                "Input events consumed, by outcome (scored, dead_lettered, no_consent, control, duplicate).",
                ["outcome", "queue", "channel"],
                registry=reg,
            ),
            dlq=Counter(
                "imon_dlq_total", "Events sent to the dead-letter topic, by reason.", ["reason"], registry=reg
            ),
            scores=Histogram(
                "imon_score",
                "Model score (probability, 0..1) per task for scored utterances.",
                ["task", "queue", "channel", "speaker"],
                buckets=SCORE_BUCKETS,
                registry=reg,
            ),
            alerts=Counter(
                "imon_alerts_total",
                "Alerts raised by the worker, by type.",
                ["type", "queue", "channel"],
                registry=reg,
            ),
            latency=Histogram(
                "imon_event_to_scored_seconds",
                "Seconds from the event's own timestamp (ts) to its scored record being published.",
                ["channel"],
                buckets=LATENCY_BUCKETS,
                registry=reg,
            ),
            inference=Histogram(
                "imon_inference_seconds",
                "Seconds the model took for one batch.",
                buckets=LATENCY_BUCKETS,
                registry=reg,
            ),
            batch_size=Histogram(
                "imon_batch_size", "Utterances per model batch.", buckets=BATCH_BUCKETS, registry=reg
            ),
            stages=Histogram(
                "imon_pipeline_stage_seconds",
                "Where an event's time goes: queued (per event, from its Kafka record timestamp to its batch "
                "starting) and, per batch, prepare (decode, redact, consent), score (model), finish (state, "
                "alerts, audit records) and publish (until Kafka acknowledged every output).",
                ["stage"],
                buckets=LATENCY_BUCKETS,
                registry=reg,
            ),
            cascade=Counter(
                "imon_cascade_utterances_total",
                "Utterances scored with the cascade on (IMON_FAST_PATH), by the path that decided them: "
                "fast (static embeddings) or transformer (uncertain or alert-worthy).",
                ["path"],
                registry=reg,
            ),
            scorer_restarts=Counter(
                "imon_scorer_process_restarts_total",
                "Scorer processes started again after one died (IMON_SCORER_PROCESS); the batch in flight is "
                "retried once, then dead-lettered.",
                registry=reg,
            ),
            loop_lag=Histogram(
                "imon_event_loop_lag_seconds",
                "How late the worker's event loop woke a 0.25-s sleep: time it spent on other work in one go. "
                "Long delays hold up fetching, Kafka heartbeats and /healthz.",
                buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
                registry=reg,
            ),
            model=Info("imon_model", "Model in service (name, version, encoder).", registry=reg),
            conversations_active=Gauge(
                "imon_conversations_active", "Conversations not ended with state held by this worker.", registry=reg
            ),
            human_waiting=Gauge(
                "imon_human_requests_waiting",
                "Customers who asked for a human and have not been given one yet.",
                ["queue"],
                registry=reg,
            ),
            consumer_lag=Gauge(
                "imon_consumer_lag",
                "Messages behind the end of each assigned input partition.",
                ["partition"],
                registry=reg,
            ),
            rebalances=Counter("imon_rebalances_total", "Partition assignments received.", registry=reg),
            recovery_reseeks=Counter(
                "imon_recovery_reseeks_total",
                "Changelog partitions sought back because a table recovery stalled after the consumer had "
                "already read past it (docs/RELIABILITY.md bug 11).",
                registry=reg,
            ),
            alerts_pushed=Counter(
                "imon_alertmanager_pushed_total", "Alerts accepted by Alertmanager.", registry=reg
            ),
            alertmanager_errors=Counter(
                "imon_alertmanager_errors_total", "Failed pushes to Alertmanager (retried).", registry=reg
            ),
            redactions=Counter(
                "imon_redactions_total",
                "PII entities redacted before scoring, by entity type (streams/redaction.py ENTITY_TYPES).",
                ["type"],
                registry=reg,
            ),
            quoted_history=Counter(
                "imon_quoted_history_total",
                "Scored utterances by what the quoted-history cut did (streams/email_thread.py): cut (the model read "
                "the new text only), none (no history found), only_history (nothing new: the whole text was read).",
                ["channel", "result"],
                registry=reg,
            ),
        )
