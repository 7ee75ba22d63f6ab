"""Live group fairness: outcome rates per consented customer segment, compared with a reference group.

What is counted (one observation per unit, per tracked attribute the event carries):

================== ======================================= ==========================================
outcome            unit                                    adverse when
================== ======================================= ==========================================
escalation         scored customer utterance               the model labels it ``escalation``
negative_sentiment scored customer utterance               the model labels its sentiment ``negative``
unresolved         conversation, at its ``end`` event      ``outcome`` is not ``resolved``
alert              conversation, at its ``end`` event      it raised an alert of a type in
                                                           :data:`ALERT_OUTCOME_TYPES`
================== ======================================= ==========================================

Attributes come only from the event's ``segment`` (consented attributes) plus the event's
``channel`` (operational, not personal). A value outside the configured allow-list is counted as
``other`` so metric labels stay bounded; a missing attribute is not counted at all (no consent to
use it is not a group).

Policy (:func:`assess`), per attribute and outcome, over a sliding window:

* reference group = the configured one, else the group with the most observations over all outcomes
  (never ``other``), the same for every outcome of the attribute;
* only groups with at least ``min_samples`` observations are compared (and only against a reference
  with as many);
* impact ratio (``policy="favourable"``, the four-fifths rule): favourable-outcome rate of the group
  / that of the reference, where favourable = not adverse. Below ``ratio_threshold`` (0.8) the
  group fares worse. ``policy="adverse"`` uses reference adverse rate / group adverse rate instead
  (more sensitive when adverse outcomes are rare; same reading: below 0.8 = worse);
* score (Koopman) confidence interval of the ratio; ``correction="bonferroni"`` widens it so that
  all comparisons the configuration allows hold together at ``confidence`` (family-wise);
* a disparity is flagged when the ratio is below the threshold and the interval lies below 1, or,
  mirrored, when the group does significantly better than the reference by more than 1/0.8: then the
  *reference* group is the one disadvantaged.

One instance per worker, on the event loop; each worker sees only its partitions' conversations.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from statistics import NormalDist
from types import MappingProxyType
from typing import Any, Literal

from prometheus_client import CollectorRegistry, Counter, Gauge

OUTCOMES = ("escalation", "negative_sentiment", "unresolved", "alert")
OTHER = "other"
#: Alert types that make a conversation count as ``alert`` (warning or critical alerts; an ``info``
#: alert for a customer's own request for a human is not an adverse outcome for that customer).
ALERT_OUTCOME_TYPES = ("escalation", "unfair_treatment", "human_request_sla")
DEFAULT_ATTRIBUTES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "language": ("en", "nl", "de", "fr", "es"),
        "region": ("north", "south", "east", "west"),
        "channel": ("voice", "chat", "email", "social"),
        "age_band": ("18-34", "35-54", "55+"),
    }
)
_LABEL_RE = re.compile(r"^[a-z0-9][a-z0-9_.+\-]{0,31}$")
MAX_ATTRIBUTES = 16
MAX_VALUES = 32


@dataclass(frozen=True)
class FairnessConfig:
    """How groups are formed and compared. Defaults are the proposed ``IMON_FAIRNESS_*`` defaults."""

    #: attribute -> allowed values (lower case); anything else counts as ``other``.
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_ATTRIBUTES))
    #: attribute -> fixed reference group; absent = the most frequent group in the window.
    reference: Mapping[str, str] = field(default_factory=dict)
    outcomes: tuple[str, ...] = OUTCOMES
    window_s: float = 3600.0  #: sliding window, seconds
    bucket_s: float = 60.0  #: window granularity, seconds
    min_samples: int = 30  #: fewest observations a group (and the reference) needs to be compared
    ratio_threshold: float = 0.8  #: four-fifths rule
    confidence: float = 0.95
    correction: Literal["bonferroni", "none"] = "bonferroni"
    policy: Literal["favourable", "adverse"] = "favourable"

    def __post_init__(self) -> None:
        attrs = {
            str(a).lower(): tuple(str(v).strip().lower() for v in vs) for a, vs in self.attributes.items()
        }
        ref = {str(a).lower(): str(g).strip().lower() for a, g in self.reference.items()}
        object.__setattr__(self, "attributes", MappingProxyType(attrs))
        object.__setattr__(self, "reference", MappingProxyType(ref))
        if not 1 <= len(attrs) <= MAX_ATTRIBUTES:
            raise ValueError(f"track between 1 and {MAX_ATTRIBUTES} attributes")
        for a, vs in attrs.items():
            if not _LABEL_RE.match(a) or not 1 <= len(vs) <= MAX_VALUES:
                raise ValueError(f"attribute {a!r}: name must be a short label, 1..{MAX_VALUES} values")
            bad = [v for v in vs if not _LABEL_RE.match(v) or v == OTHER]
            if bad:
                raise ValueError(f"attribute {a!r}: values {bad} are not short labels (or are 'other')")
        for a, g in ref.items():
            if a not in attrs or g not in attrs[a]:
                raise ValueError(f"reference {a}={g} is not an allowed value of a tracked attribute")
        unknown = set(self.outcomes) - set(OUTCOMES)
        if unknown or not self.outcomes:
            raise ValueError(f"unknown outcomes {sorted(unknown)}; known: {OUTCOMES}")
        if not 0 < self.bucket_s <= self.window_s:
            raise ValueError("need 0 < bucket_s <= window_s")
        if self.min_samples < 1 or not 0 < self.ratio_threshold < 1 or not 0.5 <= self.confidence < 1:
            raise ValueError("need min_samples >= 1, 0 < ratio_threshold < 1, 0.5 <= confidence < 1")
        if self.correction not in ("bonferroni", "none") or self.policy not in ("favourable", "adverse"):
            raise ValueError("correction must be bonferroni|none, policy favourable|adverse")

    @property
    def comparisons(self) -> int:
        """Comparisons one evaluation can make (the Bonferroni family size)."""
        return sum(len(vs) for vs in self.attributes.values()) * len(self.outcomes)

    @property
    def z(self) -> float:
        """Two-sided normal quantile of each comparison's interval."""
        alpha = 1 - self.confidence
        if self.correction == "bonferroni":
            alpha /= max(1, self.comparisons)
        return NormalDist().inv_cdf(1 - alpha / 2)

    def group_of(self, attribute: str, value: Any) -> str | None:
        """The bounded group label of ``value`` (None = attribute absent, not counted)."""
        if value is None:
            return None
        v = str(value).strip().lower()
        if not v:
            return None
        return v if v in self.attributes.get(attribute, ()) else OTHER

    @classmethod
    def from_settings(cls, settings: Any) -> FairnessConfig:
        """Build from the proposed ``Settings.fairness_*`` fields, defaults where a field is absent."""
        kw: dict[str, Any] = {}
        spec = getattr(settings, "fairness_attributes", None)
        if spec:
            kw["attributes"] = parse_attributes(spec)
        ref = getattr(settings, "fairness_reference", None)
        if ref:
            kw["reference"] = parse_reference(ref)
        for name in ("window_s", "min_samples", "ratio_threshold", "confidence", "correction", "policy"):
            v = getattr(settings, f"fairness_{name}", None)
            if v is not None:
                kw[name] = v
        if "window_s" in kw:
            kw["bucket_s"] = min(cls.bucket_s, float(kw["window_s"]))
        return cls(**kw)


def parse_attributes(spec: str) -> dict[str, tuple[str, ...]]:
    """``"language=en,nl;region=north,south"`` -> ``{"language": ("en", "nl"), ...}``."""
    out: dict[str, tuple[str, ...]] = {}
    for part in spec.split(";"):
        if not part.strip():
            continue
        name, sep, values = part.partition("=")
        if not sep:
            raise ValueError(f"fairness attribute spec {part!r} needs name=value,value")
        out[name.strip()] = tuple(v.strip() for v in values.split(",") if v.strip())
    return out


def parse_reference(spec: str) -> dict[str, str]:
    """``"language=en;region=north"`` -> ``{"language": "en", "region": "north"}``."""
    out: dict[str, str] = {}
    for part in spec.split(";"):
        if part.strip():
            name, _, value = part.partition("=")
            out[name.strip()] = value.strip()
    return out


# -- what to observe -----------------------------------------------------------------------------
def attributes_of(segment: Mapping[str, Any] | None, channel: str | None = None) -> dict[str, str]:
    """The attributes of an event: its consented ``segment`` plus its ``channel``."""
    attrs = {str(k): str(v) for k, v in (segment or {}).items() if isinstance(v, str | int)}
    if channel:
        attrs["channel"] = channel
    return attrs


def utterance_outcomes(labels: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """Outcomes of one scored *customer* utterance, from its model labels."""
    return [
        ("escalation", bool(labels.get("escalation"))),
        ("negative_sentiment", labels.get("sentiment") == "negative"),
    ]


def end_outcomes(outcome: str | None, alert_types: Iterable[str]) -> list[tuple[str, bool]]:
    """Outcomes of one conversation at its end event: ``unresolved`` (when the end event carries an
    ``outcome``) and ``alert`` (alert types raised during the conversation)."""
    out = [] if outcome is None else [("unresolved", outcome != "resolved")]
    out.append(("alert", any(t in ALERT_OUTCOME_TYPES for t in alert_types)))
    return out


# -- statistics ----------------------------------------------------------------------------------
def _score_z(x1: float, n1: float, x2: float, n2: float, theta: float) -> float:
    """Score statistic of H0: p1 = theta * p2, with the restricted maximum-likelihood estimates
    (Koopman 1984; Miettinen & Nurminen 1985 without their n/(n-1) factor)."""
    a = (n1 + n2) * theta
    b = -(n1 * theta + x1 + n2 + x2 * theta)
    c = x1 + x2
    p2 = (-b - math.sqrt(max(0.0, b * b - 4 * a * c))) / (2 * a)
    p2 = min(max(p2, 0.0), 1.0, 1.0 / theta)
    p1 = theta * p2
    var = p1 * (1 - p1) / n1 + theta * theta * p2 * (1 - p2) / n2
    diff = x1 / n1 - theta * x2 / n2
    if var <= 0:
        return 0.0 if diff == 0 else math.copysign(math.inf, diff)
    return diff / math.sqrt(var)


_TINY, _BIG = 1e-12, 1e12


def _bisect_log(f: Callable[[float], float], lo: float, hi: float) -> float:
    """Root of a decreasing ``f`` between ``lo`` (f > 0) and ``hi`` (f < 0), bisecting log(theta)."""
    a, b = math.log(lo), math.log(hi)
    for _ in range(45):  # the bracket spans a factor of 4: 45 halvings leave ~1e-13 relative
        m = (a + b) / 2
        if f(math.exp(m)) > 0:
            a = m
        else:
            b = m
    return math.exp((a + b) / 2)


def ratio_ci(x1: float, n1: float, x2: float, n2: float, z: float) -> tuple[float, float, float]:
    """Ratio (x1/n1)/(x2/n2) of two proportions and its score confidence interval at quantile ``z``.

    The interval is every ratio the score test does not reject (Koopman's interval, the two-sample
    analogue of Wilson's): unlike Katz's log interval it stays informative with zero counts (0/30 vs
    30/30 is significant; Katz with a 0.5 correction says it is not at family-wise z = 3.4).
    Returns ``(ratio, low, high)``; ``ratio`` is inf when x2 = 0 and 1 (interval 0..inf) when both
    counts are 0.
    """
    if n1 <= 0 or n2 <= 0 or not (0 <= x1 <= n1 and 0 <= x2 <= n2):
        raise ValueError("need 0 <= x <= n and n > 0 for both groups")
    if x1 == 0 and x2 == 0:
        return 1.0, 0.0, math.inf
    r = math.inf if x2 == 0 else (x1 / n1) / (x2 / n2)

    def upper_f(t: float) -> float:
        return _score_z(x1, n1, x2, n2, t) + z

    def lower_f(t: float) -> float:
        return _score_z(x1, n1, x2, n2, t) - z

    lo, hi = 0.0, math.inf
    mid = r if 0 < r < math.inf else 1.0
    if x1 > 0:  # lower bound: the score z falls to +z there
        b = mid
        while b < _BIG and lower_f(b) > 0:
            b *= 4
        a = b
        while a > _TINY and lower_f(a) <= 0:
            a /= 4
        lo = 0.0 if a <= _TINY else _bisect_log(lower_f, a, b)
    if x2 > 0:  # upper bound: the score z falls to -z there
        a = mid
        while a > _TINY and upper_f(a) < 0:
            a /= 4
        b = max(a, mid)
        while b < _BIG and upper_f(b) >= 0:
            b *= 4
        hi = math.inf if b >= _BIG else _bisect_log(upper_f, max(a, _TINY), b)
    return r, lo, hi


@dataclass(frozen=True)
class Disparity:
    """One group compared with its reference for one outcome.

    ``rate``/``ref_rate`` are ADVERSE rates (e.g. escalation rate); ``ratio`` is the impact ratio of
    the policy (below ``ratio_threshold`` = the group fares worse), ``ci_low``/``ci_high`` its
    interval. ``disadvantaged`` names the group a flagged disparity is against (the group, or the
    reference when the group does significantly better by more than 1/threshold), else None.
    """

    attribute: str
    group: str
    reference: str
    outcome: str
    rate: float
    ref_rate: float
    ratio: float
    ci_low: float
    ci_high: float
    n: int
    n_ref: int
    significant: bool  # the interval excludes 1
    disadvantaged: str | None = None

    @property
    def flagged(self) -> bool:
        return self.disadvantaged is not None


#: (attribute, group, outcome) -> [observations, adverse]
Counts = Mapping[tuple[str, str, str], tuple[int, int] | list[int]]


def choose_references(counts: Counts, config: FairnessConfig) -> dict[str, str]:
    """attribute -> reference group: the configured one, else the group with the most observations
    over all outcomes (never ``other``), so one attribute has one reference on every panel."""
    volume: dict[str, dict[str, int]] = {}
    for (attr, group, _), c in counts.items():
        v = volume.setdefault(attr, {})
        v[group] = v.get(group, 0) + c[0]
    out = {}
    for attr, groups in volume.items():
        fixed = config.reference.get(attr)
        if fixed is not None:
            out[attr] = fixed
            continue
        candidates = [(-n, g) for g, n in groups.items() if g != OTHER and n > 0]
        if candidates:
            out[attr] = min(candidates)[1]
    return out


def assess(counts: Counts, config: FairnessConfig) -> list[Disparity]:
    """Compare every group with enough observations to its reference (see the module doc)."""
    by: dict[tuple[str, str], dict[str, tuple[int, int] | list[int]]] = {}
    for (attr, group, outcome), c in counts.items():
        by.setdefault((attr, outcome), {})[group] = c
    z = config.z
    thr = config.ratio_threshold
    refs = choose_references(counts, config)
    out: list[Disparity] = []
    for (attr, outcome), groups in sorted(by.items()):
        ref = refs.get(attr)
        if ref is None or ref not in groups:
            continue
        n_ref, a_ref = groups[ref][0], groups[ref][1]
        if n_ref < config.min_samples:
            continue
        for g, (n, a) in sorted(groups.items()):
            if g == ref or n < config.min_samples:
                continue
            if config.policy == "favourable":
                ratio, lo, hi = ratio_ci(n - a, n, n_ref - a_ref, n_ref, z)
            else:
                ratio, lo, hi = ratio_ci(a_ref, n_ref, a, n, z)
            disadvantaged = None
            if ratio < thr and hi < 1:
                disadvantaged = g
            elif ratio > 1 / thr and lo > 1:
                disadvantaged = ref
            out.append(
                Disparity(
                    attribute=attr,
                    group=g,
                    reference=ref,
                    outcome=outcome,
                    rate=a / n,
                    ref_rate=a_ref / n_ref,
                    ratio=ratio,
                    ci_low=lo,
                    ci_high=hi,
                    n=n,
                    n_ref=n_ref,
                    significant=hi < 1 or lo > 1,
                    disadvantaged=disadvantaged,
                )
            )
    return out


def references(counts: Counts, config: FairnessConfig) -> dict[tuple[str, str], str]:
    """(attribute, outcome) -> the reference group :func:`assess` uses (when it has enough samples)."""
    by: dict[tuple[str, str], dict[str, tuple[int, int] | list[int]]] = {}
    for (attr, group, outcome), c in counts.items():
        by.setdefault((attr, outcome), {})[group] = c
    refs = choose_references(counts, config)
    out = {}
    for key, groups in by.items():
        ref = refs.get(key[0])
        if ref is not None and ref in groups and groups[ref][0] >= config.min_samples:
            out[key] = ref
    return out


# -- metrics -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FairnessMetrics:
    ratio: Gauge
    ci_low: Gauge
    ci_high: Gauge
    samples: Gauge
    adverse: Gauge
    reference: Gauge
    disparity: Gauge
    alerts: Counter


def create_fairness_metrics(registry: CollectorRegistry) -> FairnessMetrics:
    """Fairness metrics. Labels: ``attribute`` and ``group`` from the configured allow-lists (plus
    ``other``), ``outcome`` from :data:`OUTCOMES`."""
    labels = ["attribute", "group", "outcome"]
    return FairnessMetrics(
        ratio=Gauge(
            "imon_fairness_disparity_ratio",
            "Impact ratio of the group vs its reference over the window (below 0.8 = the group fares "
            "worse; four-fifths rule on favourable-outcome rates by default).",
            labels,
            registry=registry,
        ),
        ci_low=Gauge(
            "imon_fairness_ratio_ci_low",
            "Lower bound of the impact ratio's confidence interval.",
            labels,
            registry=registry,
        ),
        ci_high=Gauge(
            "imon_fairness_ratio_ci_high",
            "Upper bound of the impact ratio's confidence interval.",
            labels,
            registry=registry,
        ),
        samples=Gauge(
            "imon_fairness_samples",
            "Observations of the outcome for the group in the window.",
            labels,
            registry=registry,
        ),
        adverse=Gauge(
            "imon_fairness_adverse",
            "Adverse outcomes for the group in the window.",
            labels,
            registry=registry,
        ),
        reference=Gauge(
            "imon_fairness_reference",
            "1 for the reference group of the attribute and outcome.",
            labels,
            registry=registry,
        ),
        disparity=Gauge(
            "imon_fairness_disparity",
            "1 while a significant four-fifths disparity against the group holds, else 0.",
            labels,
            registry=registry,
        ),
        alerts=Counter(
            "imon_fairness_alerts_total",
            "Disparities that started (a group became significantly disadvantaged).",
            ["attribute", "outcome"],
            registry=registry,
        ),
    )


# -- the live monitor ----------------------------------------------------------------------------
class FairnessMonitor:
    """Sliding-window outcome counts per group, evaluated on demand.

    ``observe`` costs one dict update per tracked attribute; memory is bounded by
    (window / bucket) x attributes x (values + 1) x outcomes cells.
    """

    def __init__(self, config: FairnessConfig | None = None, clock: Callable[[], float] = time.time) -> None:
        self.config = config or FairnessConfig()
        self.clock = clock
        self._nbuckets = max(1, math.ceil(self.config.window_s / self.config.bucket_s))
        self._buckets: dict[int, dict[tuple[str, str, str], list[int]]] = {}
        self._flagged: set[tuple[str, str, str]] = set()  # (attribute, outcome, disadvantaged group)
        self._exported: dict[str, set[tuple[str, str, str]]] = {}
        self._allowed = {a: frozenset(vs) for a, vs in self.config.attributes.items()}
        self._tracked = frozenset(self.config.outcomes)
        self.late = 0  # observations older than the window, ignored

    def _bucket(self, ts: float) -> int:
        return math.floor(ts / self.config.bucket_s)

    def observe(self, attributes: Mapping[str, Any], outcome: str, adverse: bool, ts: float) -> None:
        """Count one outcome (event time ``ts``, epoch seconds) for each tracked attribute present."""
        self.observe_many(attributes, ((outcome, adverse),), ts)

    def observe_many(
        self, attributes: Mapping[str, Any], outcomes: Iterable[tuple[str, bool]], ts: float
    ) -> None:
        """Count several outcomes of one unit (e.g. :func:`utterance_outcomes`) at event time ``ts``."""
        now_b = self._bucket(self.clock())
        b = min(self._bucket(ts), now_b)  # a clock ahead of ours must not push the window forward
        if b <= now_b - self._nbuckets:
            self.late += 1
            return
        groups = []
        for attr, allowed in self._allowed.items():
            v = attributes.get(attr)
            if v is None:
                continue
            g = v if v in allowed else self.config.group_of(attr, v)  # fast path: already a label
            if g is not None:
                groups.append((attr, g))
        cells = self._buckets.get(b)
        if cells is None:
            self._prune(now_b)
            cells = self._buckets[b] = {}
        for outcome, adverse in outcomes:
            if outcome not in self._tracked:
                if outcome in OUTCOMES:
                    continue  # known but not tracked in this configuration
                raise ValueError(f"unknown outcome {outcome!r}")
            for attr, g in groups:
                key = (attr, g, outcome)
                c = cells.get(key)
                if c is None:
                    c = cells[key] = [0, 0]
                c[0] += 1
                if adverse:
                    c[1] += 1

    def _prune(self, now_b: int) -> None:
        for b in [b for b in self._buckets if b <= now_b - self._nbuckets]:
            del self._buckets[b]

    def counts(self, now: float | None = None) -> dict[tuple[str, str, str], tuple[int, int]]:
        """Window totals: (attribute, group, outcome) -> (observations, adverse)."""
        now_b = self._bucket(self.clock() if now is None else now)
        self._prune(now_b)
        tot: dict[tuple[str, str, str], list[int]] = {}
        for b, cells in self._buckets.items():
            if b > now_b:
                continue
            for k, (n, a) in cells.items():
                t = tot.setdefault(k, [0, 0])
                t[0] += n
                t[1] += a
        return {k: (v[0], v[1]) for k, v in tot.items()}

    def evaluate(self, now: float | None = None) -> list[Disparity]:
        """Every comparison the window supports now (flagged or not)."""
        return assess(self.counts(now), self.config)

    def export(self, metrics: FairnessMetrics, now: float | None = None) -> list[Disparity]:
        """Evaluate and publish to ``metrics``; returns the evaluation. Call it on a timer (e.g. 15 s)."""
        counts = self.counts(now)
        ds = assess(counts, self.config)
        refs = references(counts, self.config)
        self._set(metrics.samples, "samples", {k: float(v[0]) for k, v in counts.items()})
        self._set(metrics.adverse, "adverse", {k: float(v[1]) for k, v in counts.items()})
        self._set(metrics.reference, "reference", {(a, g, o): 1.0 for (a, o), g in refs.items()})
        key = {d: (d.attribute, d.group, d.outcome) for d in ds}
        self._set(metrics.ratio, "ratio", {key[d]: d.ratio for d in ds})
        self._set(metrics.ci_low, "ci_low", {key[d]: d.ci_low for d in ds})
        self._set(metrics.ci_high, "ci_high", {key[d]: d.ci_high for d in ds})
        flags: dict[tuple[str, str, str], float] = {k: 0.0 for k in key.values()}
        flags.update({(a, g, o): 0.0 for (a, o), g in refs.items()})
        now_flagged: set[tuple[str, str, str]] = set()
        for d in ds:
            if d.disadvantaged is not None:
                flags[(d.attribute, d.disadvantaged, d.outcome)] = 1.0
                now_flagged.add((d.attribute, d.outcome, d.disadvantaged))
        self._set(metrics.disparity, "disparity", flags)
        for attr, outcome, _ in now_flagged - self._flagged:
            metrics.alerts.labels(attr, outcome).inc()
        self._flagged = now_flagged
        return ds

    def _set(self, gauge: Gauge, name: str, values: Mapping[tuple[str, str, str], float]) -> None:
        # Label sets that left the window are removed, so a stale ratio never lingers on a dashboard.
        for k in self._exported.get(name, set()) - set(values):
            gauge.remove(*k)
        for k, v in values.items():
            gauge.labels(*k).set(v)
        self._exported[name] = set(values)
