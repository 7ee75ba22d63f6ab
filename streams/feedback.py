"""Supervisors' verdicts on alerts: contract, live precision per alert type, labelled data.

Feedback topic record (JSON, contract v1; key = the alert's interaction id so the verdict reaches the
worker that raised the alert and still remembers its text)::

    {"schema_version": 1, "feedback_id": "...", "alert_id": "...", "alert_type": "escalation",
     "verdict": "correct" | "incorrect", "reviewer": "sup-0042", "ts": "2025-01-01T12:00:00Z",
     "interaction_id": "..."}            # interaction_id optional

``reviewer`` is a pseudonym (letters, digits, ``. _ : -``; no e-mail addresses or names with
spaces). Other fields (a free-text comment, say) are ignored and never stored. Invalid records
raise :class:`InvalidFeedback` with a ``reason`` from :data:`FEEDBACK_REASONS` (safe as a label).

Counting: at-least-once delivery is absorbed by ``feedback_id``; a reviewer who changes their mind
(a newer verdict on the same alert) replaces their earlier verdict. Precision of an alert type =
correct / (correct + incorrect) over the current verdicts, since the worker started (``all``) and
over the last ``window_s`` by verdict time (``window``).

Labelled data: for alerts the worker remembers (:meth:`FeedbackTracker.remember_alert`, a bounded
LRU of redacted texts), a verdict becomes a training row ``{text, task, label, alert_id,
source: "feedback", ...}`` that :class:`FeedbackDataWriter` appends to a JSONL file.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError, field_validator

SCHEMA_VERSION = 1
#: The worker's alert types (streams.processor.ALERT_TYPES), the ``type`` label here.
ALERT_TYPES = ("escalation", "human_requested", "unfair_treatment", "human_request_sla")
#: Alert types that are a model decision on one utterance, and the training task each labels.
#: ``human_request_sla`` is a timer, not a model output: its verdicts count for precision only.
MODEL_TASKS = {
    "escalation": "escalation",
    "human_requested": "human_requested",
    "unfair_treatment": "unfair_treatment",
}
VERDICTS = ("correct", "incorrect")
SCOPES = ("all", "window")
FEEDBACK_REASONS = (
    "oversized",
    "not_utf8",
    "bad_json",
    "not_object",
    "missing_field",
    "wrong_type",
    "invalid_value",
    "unsupported_schema_version",
)
EXAMPLE_RESULTS = ("written", "unknown_alert", "not_a_model_decision")
MAX_FEEDBACK_BYTES = 4096
_PSEUDONYM = r"^[A-Za-z0-9._:\-]{1,64}$"
_LETTER = re.compile(r"[A-Za-z]")


class InvalidFeedback(Exception):
    """A feedback record that breaks the contract; ``reason`` is one of :data:`FEEDBACK_REASONS`."""

    def __init__(self, reason: str, detail: str) -> None:
        assert reason in FEEDBACK_REASONS, reason
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


_Id = Field(min_length=1, max_length=128)


class Feedback(BaseModel):
    """One verdict of a supervisor on one alert (contract v1)."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    schema_version: Literal[1]
    feedback_id: StrictStr = _Id
    alert_id: StrictStr = _Id
    alert_type: Literal["escalation", "human_requested", "unfair_treatment", "human_request_sla"]
    verdict: Literal["correct", "incorrect"]
    reviewer: StrictStr = Field(pattern=_PSEUDONYM)
    ts: datetime
    interaction_id: StrictStr | None = Field(None, min_length=1, max_length=128)

    @field_validator("ts", mode="before")
    @classmethod
    def _parse_ts(cls, v: Any) -> datetime:
        if not isinstance(v, str):
            # ValueError, not TypeError: pydantic turns only ValueError into a validation error.
            raise ValueError("ts must be an RFC 3339 string")
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
        if dt.tzinfo is None:
            raise ValueError("ts needs a UTC offset")
        return dt

    @field_validator("reviewer")
    @classmethod
    def _pseudonym(cls, v: str) -> str:
        # Digits only would let a phone or staff number through: a pseudonym has a letter.
        if not _LETTER.search(v):
            raise ValueError("reviewer must be a pseudonym with at least one letter")
        return v

    @property
    def ts_epoch(self) -> float:
        return self.ts.timestamp()


def decode_feedback(
    raw: bytes | bytearray | memoryview | None, max_bytes: int = MAX_FEEDBACK_BYTES
) -> Feedback:
    """Decode and validate one feedback record, or raise :class:`InvalidFeedback`.

    The detail names fields, never values (a value could be free text).
    """
    if raw is None:
        raise InvalidFeedback("bad_json", "empty message (null value)")
    raw = bytes(raw)
    if len(raw) > max_bytes:
        raise InvalidFeedback("oversized", f"record is {len(raw)} bytes, limit {max_bytes}")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidFeedback("not_utf8", "record bytes are not valid UTF-8") from None
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidFeedback("bad_json", "record is not valid JSON") from None
    if not isinstance(obj, dict):
        raise InvalidFeedback("not_object", f"record is a JSON {type(obj).__name__}, expected an object")
    try:
        return Feedback.model_validate(obj)
    except (ValueError, TypeError) as exc:
        if not isinstance(exc, ValidationError):  # pragma: no cover - validators raise through pydantic
            raise InvalidFeedback("invalid_value", "record failed validation") from None
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ())) or "record"
        etype = first.get("type", "")
        if etype == "missing":
            raise InvalidFeedback("missing_field", f"{loc} is required") from None
        if loc == "schema_version":
            raise InvalidFeedback(
                "unsupported_schema_version", f"schema_version must be {SCHEMA_VERSION}"
            ) from None
        if etype.endswith("_type"):
            raise InvalidFeedback("wrong_type", f"{loc} has the wrong type ({etype})") from None
        raise InvalidFeedback("invalid_value", f"{loc} is invalid ({etype})") from None


# -- metrics -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FeedbackMetrics:
    precision: Gauge
    verdicts: Gauge
    feedback: Counter
    rejected: Counter
    duplicates: Counter
    examples: Counter


def create_feedback_metrics(registry: CollectorRegistry) -> FeedbackMetrics:
    """Feedback metrics. Labels: alert ``type`` (:data:`ALERT_TYPES`), ``verdict``, ``scope``
    (all|window), rejection ``reason`` (:data:`FEEDBACK_REASONS`), example ``result``."""
    return FeedbackMetrics(
        precision=Gauge(
            "imon_alert_precision",
            "Share of supervisors' current verdicts that call the alert type correct (scope: since the "
            "worker started, or in the feedback window).",
            ["type", "scope"],
            registry=registry,
        ),
        verdicts=Gauge(
            "imon_alert_verdicts",
            "Current verdicts behind imon_alert_precision (read it before trusting a precision).",
            ["type", "scope"],
            registry=registry,
        ),
        feedback=Counter(
            "imon_feedback_total",
            "Verdicts received (duplicates excluded, changed minds included), by alert type and verdict.",
            ["type", "verdict"],
            registry=registry,
        ),
        rejected=Counter(
            "imon_feedback_rejected_total",
            "Feedback records that broke the contract, by reason.",
            ["reason"],
            registry=registry,
        ),
        duplicates=Counter(
            "imon_feedback_duplicates_total",
            "Feedback records seen again (redelivery), ignored.",
            registry=registry,
        ),
        examples=Counter(
            "imon_feedback_examples_total",
            "Verdicts turned into training rows (written), or not: alert text no longer remembered "
            "(unknown_alert), or the alert was not a model decision on one utterance.",
            ["result"],
            registry=registry,
        ),
    )


# -- tracking ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RememberedAlert:
    alert_type: str
    text: str  # redacted, cut to max_text_chars
    language: str | None = None
    speaker: str | None = None
    utterance_label: bool = True  # the utterance's own model label fired (not conversation context)


@dataclass(frozen=True)
class Observed:
    """What :meth:`FeedbackTracker.observe` did with one verdict."""

    status: Literal["counted", "revised", "duplicate", "stale"]
    example: dict[str, Any] | None = None  # a training row to write, when one can be made


@dataclass
class _Current:
    verdict: str
    ts: float
    alert_type: str
    bucket: int


@dataclass
class _Tally:
    correct: int = 0
    incorrect: int = 0

    def add(self, verdict: str, k: int) -> None:
        if verdict == "correct":
            self.correct += k
        else:
            self.incorrect += k

    @property
    def n(self) -> int:
        return self.correct + self.incorrect


@dataclass
class FeedbackTracker:
    """Live precision per alert type from deduplicated verdicts, and the alert-text memory.

    Memory is bounded: ``max_ids`` feedback ids and (alert, reviewer) verdicts, ``max_alerts``
    remembered alert texts of at most ``max_text_chars`` each (about 20 MB at the defaults).
    Not thread-safe: use it on the event loop.
    """

    window_s: float = 7 * 86400.0
    bucket_s: float = 3600.0
    max_ids: int = 100_000
    max_alerts: int = 20_000
    max_text_chars: int = 1000
    metrics: FeedbackMetrics | None = None
    clock: Callable[[], float] = time.time
    _ids: OrderedDict[str, None] = field(default_factory=OrderedDict, repr=False)
    _current: OrderedDict[tuple[str, str], _Current] = field(default_factory=OrderedDict, repr=False)
    _alerts: OrderedDict[str, RememberedAlert] = field(default_factory=OrderedDict, repr=False)
    _all: dict[str, _Tally] = field(default_factory=dict, repr=False)
    _buckets: dict[int, dict[str, _Tally]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if (
            not 0 < self.bucket_s <= self.window_s
            or min(self.max_ids, self.max_alerts, self.max_text_chars) < 1
        ):
            raise ValueError("need 0 < bucket_s <= window_s and positive limits")

    # -- alert texts -----------------------------------------------------------------------------
    def remember_alert(
        self,
        alert_id: str,
        alert_type: str,
        redacted_text: str | None,
        *,
        language: str | None = None,
        speaker: str | None = None,
        utterance_label: bool = True,
    ) -> None:
        """Keep an alert's REDACTED text so a later verdict can become a training row.

        ``utterance_label=False`` when the alert fired on conversation context rather than the
        utterance's own label (an escalation from rolling risk): its verdict says nothing reliable
        about the utterance alone, so no row is made.
        """
        if redacted_text is None:
            return
        self._alerts[alert_id] = RememberedAlert(
            alert_type, redacted_text[: self.max_text_chars], language, speaker, utterance_label
        )
        self._alerts.move_to_end(alert_id)
        while len(self._alerts) > self.max_alerts:
            self._alerts.popitem(last=False)

    def alert(self, alert_id: str) -> RememberedAlert | None:
        return self._alerts.get(alert_id)

    # -- verdicts --------------------------------------------------------------------------------
    def reject(self, err: InvalidFeedback) -> None:
        """Count a record that failed :func:`decode_feedback`."""
        if self.metrics is not None:
            self.metrics.rejected.labels(err.reason).inc()

    def observe(self, fb: Feedback) -> Observed:
        """Count one verdict (deduplicated); returns what happened and a training row if any."""
        if fb.feedback_id in self._ids:
            self._ids.move_to_end(fb.feedback_id)
            if self.metrics is not None:
                self.metrics.duplicates.inc()
            return Observed("duplicate")
        self._ids[fb.feedback_id] = None
        while len(self._ids) > self.max_ids:
            self._ids.popitem(last=False)
        if self.metrics is not None:
            self.metrics.feedback.labels(fb.alert_type, fb.verdict).inc()

        ts = min(fb.ts_epoch, self.clock())  # a reviewer's clock ahead of ours cannot extend the window
        key = (fb.alert_id, fb.reviewer)
        prev = self._current.get(key)
        if prev is not None and prev.ts > ts:
            return Observed("stale")  # an older verdict arriving late; the newer one stands
        bucket = math.floor(ts / self.bucket_s)
        if prev is not None:
            self._tally(self._all, prev.alert_type).add(prev.verdict, -1)
            old = self._buckets.get(prev.bucket)
            if old is not None:
                self._tally(old, prev.alert_type).add(prev.verdict, -1)
        self._current[key] = _Current(fb.verdict, ts, fb.alert_type, bucket)
        self._current.move_to_end(key)
        while len(self._current) > self.max_ids:
            self._current.popitem(last=False)
        self._tally(self._all, fb.alert_type).add(fb.verdict, 1)
        self._prune()
        if bucket > math.floor(self.clock() / self.bucket_s) - self._nbuckets:
            self._tally(self._buckets.setdefault(bucket, {}), fb.alert_type).add(fb.verdict, 1)
        return Observed("revised" if prev is not None else "counted", self._example(fb))

    @staticmethod
    def _tally(d: dict[str, _Tally], alert_type: str) -> _Tally:
        t = d.get(alert_type)
        if t is None:
            t = d[alert_type] = _Tally()
        return t

    @property
    def _nbuckets(self) -> int:
        return max(1, math.ceil(self.window_s / self.bucket_s))

    def _prune(self, now: float | None = None) -> None:
        now_b = math.floor((self.clock() if now is None else now) / self.bucket_s)
        for b in [b for b in self._buckets if b <= now_b - self._nbuckets]:
            del self._buckets[b]

    def _example(self, fb: Feedback) -> dict[str, Any] | None:
        task = MODEL_TASKS.get(fb.alert_type)
        remembered = self._alerts.get(fb.alert_id)
        if task is None or (remembered is not None and not remembered.utterance_label):
            result, row = "not_a_model_decision", None
        elif remembered is None:
            result, row = "unknown_alert", None
        else:
            label = 1 if fb.verdict == "correct" else 0
            result = "written"
            row = {
                "schema_version": 1,
                "text": remembered.text,
                "task": task,
                "label": label,
                "labels": {task: label},
                "alert_id": fb.alert_id,
                "feedback_id": fb.feedback_id,
                "verdict": fb.verdict,
                "ts": fb.ts.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                "lang": remembered.language,
                "speaker": remembered.speaker or "customer",
                "category": f"feedback_{fb.alert_type}",
                "source": "feedback",
            }
        if self.metrics is not None:
            self.metrics.examples.labels(result).inc()
        return row

    # -- precision -------------------------------------------------------------------------------
    def tallies(self, scope: str = "all", now: float | None = None) -> dict[str, tuple[int, int]]:
        """alert type -> (correct, incorrect) current verdicts in ``scope`` (all | window)."""
        if scope == "all":
            src = [self._all]
        elif scope == "window":
            self._prune(now)
            now_b = math.floor((self.clock() if now is None else now) / self.bucket_s)
            src = [cells for b, cells in self._buckets.items() if b <= now_b]
        else:
            raise ValueError(f"scope must be one of {SCOPES}")
        out: dict[str, list[int]] = {}
        for cells in src:
            for t, tally in cells.items():
                o = out.setdefault(t, [0, 0])
                o[0] += tally.correct
                o[1] += tally.incorrect
        return {t: (c, i) for t, (c, i) in out.items() if c + i > 0}

    def precision(self, scope: str = "all", now: float | None = None) -> dict[str, float]:
        """alert type -> precision, for types with at least one current verdict in ``scope``."""
        return {t: c / (c + i) for t, (c, i) in self.tallies(scope, now).items()}

    def export(self, metrics: FeedbackMetrics | None = None, now: float | None = None) -> None:
        """Set the precision gauges (call on a timer); a type without verdicts has no precision."""
        m = metrics or self.metrics
        if m is None:
            return
        for scope in SCOPES:
            tallies = self.tallies(scope, now)
            for t in ALERT_TYPES:
                if t in tallies:
                    c, i = tallies[t]
                    m.precision.labels(t, scope).set(c / (c + i))
                    m.verdicts.labels(t, scope).set(c + i)
                else:
                    m.verdicts.labels(t, scope).set(0)
                    with contextlib.suppress(KeyError):  # never had a verdict
                        m.precision.remove(t, scope)


# -- labelled data -------------------------------------------------------------------------------
class FeedbackDataWriter:
    """Appends training rows to ``folder/feedback-YYYYMMDD.jsonl`` (UTC day of writing).

    One ``write`` per line, so a crash never leaves half a row behind a complete one. Rows repeat
    when feedback is redelivered after a restart, and a changed mind adds a row with the new label:
    readers keep the row with the latest ``ts`` per ``alert_id`` (see :func:`read_examples`).
    """

    def __init__(self, folder: str | Path, clock: Callable[[], float] = time.time) -> None:
        self.folder = Path(folder)
        self.clock = clock

    def path_for(self, now: float | None = None) -> Path:
        day = datetime.fromtimestamp(self.clock() if now is None else now, UTC).strftime("%Y%m%d")
        return self.folder / f"feedback-{day}.jsonl"

    def write(self, row: dict[str, Any]) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path_for()
        line = json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n"
        with open(path, "a", encoding="utf-8") as f:
            f.write(line)
        return path


def read_examples(folder: str | Path) -> list[dict[str, Any]]:
    """Every feedback training row in ``folder``, one per alert (the latest verdict wins)."""
    latest: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(folder).glob("feedback-*.jsonl")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn last line after a crash
                if not isinstance(row, dict) or row.get("source") != "feedback" or "alert_id" not in row:
                    continue
                cur = latest.get(row["alert_id"])
                if cur is None or str(row.get("ts", "")) >= str(cur.get("ts", "")):
                    latest[row["alert_id"]] = row
    return list(latest.values())
