"""Score drift: population stability index (PSI) of each task's live scores against a reference.

    PSI = sum over bins i of (a_i - e_i) * ln(a_i / e_i)

with e_i the reference share of bin i, a_i the share of the live scores in the sliding window, both
smoothed as (p + eps) / (1 + k * eps) so an empty bin stays finite. Common reading: below 0.1
stable, 0.1 to 0.25 moderate shift, above 0.25 a shift worth acting on.

The bins are fixed by the reference: by default the deciles of the reference scores (equal-mass
bins stay sensitive where probabilities crowd near 0, e.g. escalation), with the outer edges at 0
and 1. Sampling noise alone gives PSI of about (k - 1) / n for n live scores, hence a default of
500 scores before a task's PSI is published (about 0.02 of noise for 10 bins).

Reference file (``models/artifacts/reference_scores.json``, written by the models engineer with
:func:`reference_from_scores` + :func:`save_reference` from validation scores)::

    {"escalation": {"bins": [0.0, 0.013, ..., 1.0], "proportions": [0.1, ...], "n": 5000}, ...}

Task names are the ``task`` label of ``imon_score``: sentiment_negative, sentiment_positive,
escalation, human_requested, unfair_treatment (:func:`task_scores` flattens a scores dict).
"""

from __future__ import annotations

import bisect
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Gauge

#: Where the models engineer ships the reference (no resolve(): nothing touches the disk at import).
DEFAULT_REFERENCE_PATH = Path(__file__).parent.parent / "models" / "artifacts" / "reference_scores.json"
DEFAULT_BINS = 10
DEFAULT_EPS = 1e-4
MAX_BINS = 100


@dataclass(frozen=True)
class Reference:
    """Fixed bins of one task and the reference share of scores in each."""

    edges: tuple[float, ...]  # k + 1 strictly increasing edges; scores outside are clamped in
    proportions: tuple[float, ...]  # k shares summing to 1
    n: int | None = None  # reference scores the shares came from (informational)

    def __post_init__(self) -> None:
        e, p = self.edges, self.proportions
        if not 2 <= len(e) <= MAX_BINS + 1 or len(p) != len(e) - 1:
            raise ValueError(f"need 2..{MAX_BINS + 1} edges and one proportion per bin")
        if not all(math.isfinite(x) for x in (*e, *p)):
            raise ValueError("edges and proportions must be finite")
        if any(b <= a for a, b in zip(e, e[1:], strict=False)):
            raise ValueError("bin edges must be strictly increasing")
        if any(x < 0 for x in p) or abs(sum(p) - 1) > 1e-3:
            raise ValueError("proportions must be >= 0 and sum to 1")
        total = sum(p)
        object.__setattr__(self, "proportions", tuple(x / total for x in p))

    @property
    def k(self) -> int:
        return len(self.proportions)

    def bin_of(self, score: float) -> int:
        return bin_of(self.edges, score)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"bins": list(self.edges), "proportions": list(self.proportions)}
        if self.n is not None:
            d["n"] = self.n
        return d


def bin_of(edges: Sequence[float], score: float) -> int:
    """Bin i holds edges[i] <= score < edges[i+1]; the last bin includes its upper edge and scores
    outside the edges go to the nearest end bin."""
    i = bisect.bisect_right(edges, score) - 1
    return min(max(i, 0), len(edges) - 2)


def task_scores(scores: Mapping[str, Any]) -> dict[str, float]:
    """Flatten a scores dict (``UtteranceScore.scores_dict()`` or a scored record's ``scores``) to
    the drift/metric task names."""
    out: dict[str, float] = {}
    sent = scores.get("sentiment")
    if isinstance(sent, Mapping):
        for cls in ("negative", "positive"):
            if isinstance(sent.get(cls), int | float):
                out[f"sentiment_{cls}"] = float(sent[cls])
    for t in ("escalation", "human_requested", "unfair_treatment"):
        if isinstance(scores.get(t), int | float):
            out[t] = float(scores[t])
    return out


def reference_from_scores(
    scores_by_task: Mapping[str, Sequence[float]],
    bins: int = DEFAULT_BINS,
    method: str = "quantile",
    lo: float = 0.0,
    hi: float = 1.0,
) -> dict[str, Reference]:
    """Reference bins and shares per task from validation scores.

    ``method="quantile"``: inner edges at the ``bins``-quantiles of the scores (ties merged, so a
    task may get fewer bins); ``"uniform"``: equal-width bins over [lo, hi].
    """
    if not 1 <= bins <= MAX_BINS or method not in ("quantile", "uniform") or not lo < hi:
        raise ValueError(f"need 1 <= bins <= {MAX_BINS}, method quantile|uniform, lo < hi")
    out: dict[str, Reference] = {}
    for task, raw in scores_by_task.items():
        xs = sorted(float(x) for x in raw if math.isfinite(float(x)))
        if not xs:
            raise ValueError(f"task {task!r}: no finite scores")
        if method == "uniform":
            inner = [lo + (hi - lo) * i / bins for i in range(1, bins)]
        else:
            inner = [_quantile(xs, i / bins) for i in range(1, bins)]
        edges = [lo, *sorted({x for x in inner if lo < x < hi}), hi]
        counts = [0] * (len(edges) - 1)
        for x in xs:
            counts[bin_of(edges, x)] += 1
        out[task] = Reference(tuple(edges), tuple(c / len(xs) for c in counts), n=len(xs))
    return out


def _quantile(sorted_xs: Sequence[float], q: float) -> float:
    """Linear-interpolation quantile (numpy's default) of sorted values."""
    pos = q * (len(sorted_xs) - 1)
    i = math.floor(pos)
    j = min(i + 1, len(sorted_xs) - 1)
    return sorted_xs[i] + (sorted_xs[j] - sorted_xs[i]) * (pos - i)


def references_from_json(obj: Mapping[str, Any]) -> dict[str, Reference]:
    if not isinstance(obj, Mapping) or not obj:
        raise ValueError("a reference file is a non-empty JSON object {task: {bins, proportions}}")
    out = {}
    for task, d in obj.items():
        if not isinstance(d, Mapping) or "bins" not in d or "proportions" not in d:
            raise ValueError(f"task {task!r}: needs 'bins' and 'proportions'")
        n = d.get("n")
        out[str(task)] = Reference(
            tuple(float(x) for x in d["bins"]),
            tuple(float(x) for x in d["proportions"]),
            n=int(n) if isinstance(n, int) else None,
        )
    return out


def load_reference(path: str | Path = DEFAULT_REFERENCE_PATH) -> dict[str, Reference]:
    """Read and validate a reference file (raises OSError / ValueError)."""
    with open(path, encoding="utf-8") as f:
        return references_from_json(json.load(f))


def save_reference(reference: Mapping[str, Reference], path: str | Path) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    tmp.write_text(json.dumps({t: r.to_json() for t, r in sorted(reference.items())}, indent=1) + "\n")
    tmp.replace(p)


def _smooth(shares: Sequence[float], eps: float) -> list[float]:
    k = len(shares)
    return [(s + eps) / (1 + k * eps) for s in shares]


def psi(expected: Sequence[float], actual_counts: Sequence[int], eps: float = DEFAULT_EPS) -> float:
    """PSI of live bin counts against reference shares (both smoothed with ``eps``)."""
    n = sum(actual_counts)
    if n <= 0 or len(expected) != len(actual_counts):
        raise ValueError("need live counts for every reference bin, at least one score")
    e = _smooth(expected, eps)
    a = _smooth([c / n for c in actual_counts], eps)
    return float(sum((ai - ei) * math.log(ai / ei) for ai, ei in zip(a, e, strict=True)))


def _as_reference(v: Reference | Mapping[str, Any] | Sequence[float]) -> Reference:
    if isinstance(v, Reference):
        return v
    if isinstance(v, Mapping):
        return references_from_json({"_": v})["_"]
    props = tuple(float(x) for x in v)  # bare proportions: equal-width bins over [0, 1]
    return Reference(tuple(i / len(props) for i in range(len(props) + 1)), props)


# -- metrics -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DriftMetrics:
    psi: Gauge
    samples: Gauge


def create_drift_metrics(registry: CollectorRegistry) -> DriftMetrics:
    """Drift metrics; ``task`` takes the reference file's task names (at most a handful)."""
    return DriftMetrics(
        psi=Gauge(
            "imon_score_drift_psi",
            "Population stability index of the task's scores in the window vs the reference "
            "(< 0.1 stable, > 0.25 shifted). Absent until the window holds enough scores.",
            ["task"],
            registry=registry,
        ),
        samples=Gauge(
            "imon_score_drift_samples", "Scores of the task in the drift window.", ["task"], registry=registry
        ),
    )


# -- the live monitor ----------------------------------------------------------------------------
class DriftMonitor:
    """Sliding-window bin counts per task against fixed reference bins.

    ``reference``: task -> :class:`Reference`, or its JSON form ``{"bins", "proportions"}``, or bare
    proportions (equal-width bins over [0, 1]). Scores of tasks without a reference are ignored.
    """

    def __init__(
        self,
        reference: Mapping[str, Reference | Mapping[str, Any] | Sequence[float]],
        window_s: float = 3600.0,
        min_samples: int = 500,
        bucket_s: float = 60.0,
        eps: float = DEFAULT_EPS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0 < bucket_s <= window_s or min_samples < 1 or not 0 < eps < 0.01:
            raise ValueError("need 0 < bucket_s <= window_s, min_samples >= 1, 0 < eps < 0.01")
        self.reference = {t: _as_reference(r) for t, r in reference.items()}
        self.window_s, self.min_samples, self.bucket_s, self.eps = window_s, min_samples, bucket_s, eps
        self.clock = clock
        self._nbuckets = max(1, math.ceil(window_s / bucket_s))
        self._buckets: dict[int, dict[str, list[int]]] = {}
        self._exported: set[str] = set()
        self.late = 0  # scores older than the window, ignored

    def observe(self, task: str, score: float, ts: float) -> None:
        """Count one score of ``task`` at event time ``ts`` (epoch seconds)."""
        ref = self.reference.get(task)
        if ref is None or not math.isfinite(score):
            return
        now_b = math.floor(self.clock() / self.bucket_s)
        b = min(math.floor(ts / self.bucket_s), now_b)
        if b <= now_b - self._nbuckets:
            self.late += 1
            return
        cells = self._buckets.get(b)
        if cells is None:
            for old in [x for x in self._buckets if x <= now_b - self._nbuckets]:
                del self._buckets[old]
            cells = self._buckets[b] = {}
        counts = cells.get(task)
        if counts is None:
            counts = cells[task] = [0] * ref.k
        counts[ref.bin_of(score)] += 1

    def observe_scores(self, scores: Mapping[str, Any], ts: float) -> None:
        """Count every task of one utterance's scores dict (see :func:`task_scores`)."""
        for task, s in task_scores(scores).items():
            self.observe(task, s, ts)

    def counts(self, now: float | None = None) -> dict[str, list[int]]:
        now_b = math.floor((self.clock() if now is None else now) / self.bucket_s)
        tot: dict[str, list[int]] = {}
        for b, cells in list(self._buckets.items()):
            if b <= now_b - self._nbuckets:
                del self._buckets[b]
                continue
            if b > now_b:
                continue
            for task, cs in cells.items():
                t = tot.setdefault(task, [0] * len(cs))
                for i, c in enumerate(cs):
                    t[i] += c
        return tot

    def psi(self, now: float | None = None) -> dict[str, float]:
        """PSI per task with at least ``min_samples`` scores in the window."""
        return {
            task: psi(self.reference[task].proportions, cs, self.eps)
            for task, cs in sorted(self.counts(now).items())
            if sum(cs) >= self.min_samples
        }

    def export(self, metrics: DriftMetrics, now: float | None = None) -> dict[str, float]:
        """Publish PSI and window sizes; a task below ``min_samples`` has its PSI removed."""
        counts = self.counts(now)
        values = {
            t: psi(self.reference[t].proportions, cs, self.eps)
            for t, cs in counts.items()
            if sum(cs) >= self.min_samples
        }
        for t in self.reference:
            metrics.samples.labels(t).set(sum(counts.get(t, ())))
        for t in self._exported - set(values):
            metrics.psi.remove(t)
        for t, v in values.items():
            metrics.psi.labels(t).set(v)
        self._exported = set(values)
        return values


def scores_by_task(records: Iterable[Mapping[str, Any]]) -> dict[str, list[float]]:
    """Collect task scores from scored records (``{"scores": {...}}``), e.g. for a reference file."""
    out: dict[str, list[float]] = {}
    for r in records:
        s = r.get("scores")
        if isinstance(s, Mapping):
            for t, v in task_scores(s).items():
                out.setdefault(t, []).append(v)
    return out
