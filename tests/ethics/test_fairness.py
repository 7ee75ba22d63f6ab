"""Live group fairness: four-fifths rule with significance, windows, bounded labels, metrics."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from streams.fairness import (
    OTHER,
    FairnessConfig,
    FairnessMonitor,
    assess,
    attributes_of,
    create_fairness_metrics,
    end_outcomes,
    parse_attributes,
    ratio_ci,
    utterance_outcomes,
)
from tests.ethics.clock import T0, Clock

LANGS = ("en", "nl", "de")


def stream(
    mon: FairnessMonitor, rates: dict[str, float], n_per_group: int, seed: int, outcome: str = "escalation"
) -> None:
    """n_per_group observations per language with the given adverse rate, spread over 30 minutes."""
    rng = random.Random(seed)
    regions = ("north", "south", "east", "west")
    for i in range(n_per_group):
        for lang, rate in rates.items():
            attrs = {"language": lang, "region": rng.choice(regions), "channel": "chat"}
            mon.observe(attrs, outcome, rng.random() < rate, T0 - 1800 + i * 1800 / n_per_group)


def flagged(ds: list) -> set[tuple[str, str, str]]:
    return {(d.attribute, d.disadvantaged, d.outcome) for d in ds if d.flagged}


# -- the policy ------------------------------------------------------------------------------------
def test_a_biased_stream_raises_a_disparity_against_the_disadvantaged_group() -> None:
    mon = FairnessMonitor(clock=Clock())
    stream(mon, {"en": 0.10, "nl": 0.35, "de": 0.10}, n_per_group=400, seed=1)
    ds = mon.evaluate()
    assert flagged(ds) == {("language", "nl", "escalation")}
    d = next(d for d in ds if d.group == "nl")
    assert d.reference in ("en", "de") and d.n == 400 and d.n_ref == 400
    assert d.ratio < 0.8 and d.ci_high < 1 and d.significant
    assert 0.28 < d.rate < 0.42 and d.ref_rate < 0.15


@pytest.mark.parametrize("seed", range(5))
def test_a_fair_stream_with_the_same_sample_sizes_raises_none(seed: int) -> None:
    mon = FairnessMonitor(clock=Clock())
    stream(mon, {"en": 0.22, "nl": 0.22, "de": 0.22}, n_per_group=400, seed=seed)
    stream(
        mon, {"en": 0.40, "nl": 0.40, "de": 0.40}, n_per_group=400, seed=seed, outcome="negative_sentiment"
    )
    ds = mon.evaluate()
    assert len(ds) >= 10  # comparisons were made (language and region, two outcomes) ...
    assert flagged(ds) == set()  # ... and none is a disparity


def test_small_samples_never_alert_however_extreme() -> None:
    mon = FairnessMonitor(clock=Clock())
    for i in range(29):
        mon.observe({"language": "nl"}, "escalation", True, T0 - i)
        mon.observe({"language": "en"}, "escalation", False, T0 - i)
    assert mon.evaluate() == []
    mon.observe({"language": "nl"}, "escalation", True, T0)
    assert mon.evaluate() == []  # the reference (en) still has 29
    mon.observe({"language": "en"}, "escalation", False, T0)
    assert flagged(mon.evaluate()) == {("language", "nl", "escalation")}


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["en", "nl", "de", "fr", "xx"]),
        st.tuples(st.integers(0, 29), st.floats(0, 1)),
        min_size=1,
    )
)
def test_no_comparison_below_min_samples(groups: dict[str, tuple[int, float]]) -> None:
    counts = {("language", g, "escalation"): (n, round(n * p)) for g, (n, p) in groups.items()}
    assert assess(counts, FairnessConfig()) == []


def test_a_disadvantaged_majority_reference_is_flagged_too() -> None:
    # en is the most frequent group (the reference) and the one treated worse.
    counts = {
        ("language", "en", "unresolved"): (2000, 900),
        ("language", "nl", "unresolved"): (500, 100),
    }
    (d,) = assess(counts, FairnessConfig())
    assert d.reference == "en" and d.group == "nl"
    assert d.ratio > 1.25 and d.ci_low > 1 and d.disadvantaged == "en"


def test_a_configured_reference_is_used_and_needs_enough_samples() -> None:
    counts = {
        ("language", "en", "alert"): (1000, 100),
        ("language", "nl", "alert"): (300, 30),
        ("language", "de", "alert"): (20, 2),
    }
    ds = assess(counts, FairnessConfig(reference={"language": "nl"}))
    assert [(d.group, d.reference) for d in ds] == [("en", "nl")]
    assert assess(counts, FairnessConfig(reference={"language": "de"})) == []


def test_other_is_never_the_automatic_reference() -> None:
    counts = {("language", OTHER, "escalation"): (5000, 500), ("language", "en", "escalation"): (100, 10)}
    (d,) = assess(counts, FairnessConfig())
    assert d.reference == "en" and d.group == OTHER


def test_the_adverse_policy_catches_rare_outcomes_the_favourable_ratio_misses() -> None:
    # Escalation 4% vs 12%: favourable 0.88/0.96 = 0.92 passes the four-fifths rule; the adverse
    # ratio 0.04/0.12 = 0.33 does not.
    counts = {("language", "en", "escalation"): (3000, 120), ("language", "nl", "escalation"): (1000, 120)}
    (fav,) = assess(counts, FairnessConfig())
    (adv,) = assess(counts, FairnessConfig(policy="adverse"))
    assert not fav.flagged and fav.ratio == pytest.approx(0.88 / 0.96)
    assert adv.flagged and adv.disadvantaged == "nl" and adv.ratio == pytest.approx(1 / 3)


def test_bonferroni_widens_the_interval() -> None:
    counts = {("language", "en", "escalation"): (400, 40), ("language", "nl", "escalation"): (400, 80)}
    (plain,) = assess(counts, FairnessConfig(correction="none"))
    (fw,) = assess(counts, FairnessConfig())
    assert plain.ratio == fw.ratio
    assert fw.ci_low < plain.ci_low < plain.ratio < plain.ci_high < fw.ci_high
    assert FairnessConfig().z > 3 > FairnessConfig(correction="none").z == pytest.approx(1.959964, abs=1e-5)


# -- statistics ------------------------------------------------------------------------------------
def _brute_force_score_ci(x1: int, n1: int, x2: int, n2: int, z: float) -> tuple[float, float]:
    """The score interval from first principles: the restricted MLE by numeric optimisation, the
    statistic on a fine grid of ratios; slow, independent of the module's closed form."""
    from scipy.optimize import minimize_scalar

    def stat(theta: float) -> float:
        def nll(p2: float) -> float:
            p1 = theta * p2
            return -(
                x1 * np.log(p1) + (n1 - x1) * np.log1p(-p1) + x2 * np.log(p2) + (n2 - x2) * np.log1p(-p2)
            )

        p2 = minimize_scalar(
            nll, bounds=(1e-9, min(1, 1 / theta) - 1e-9), method="bounded", options={"xatol": 1e-12}
        ).x
        p1 = theta * p2
        return (x1 / n1 - theta * x2 / n2) / np.sqrt(p1 * (1 - p1) / n1 + theta**2 * p2 * (1 - p2) / n2)

    from scipy.optimize import brentq

    r = (x1 / n1) / (x2 / n2)
    lo = brentq(lambda t: stat(t) - z, r / 20, r, xtol=1e-10)
    hi = brentq(lambda t: stat(t) + z, r, r * 20, xtol=1e-10)
    return lo, hi


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), [(30, 100, 60, 100), (12, 40, 30, 50), (95, 100, 70, 90)])
def test_score_interval_matches_a_brute_force_computation(x1: int, n1: int, x2: int, n2: int) -> None:
    r, lo, hi = ratio_ci(x1, n1, x2, n2, 1.96)
    assert r == pytest.approx((x1 / n1) / (x2 / n2))
    blo, bhi = _brute_force_score_ci(x1, n1, x2, n2, 1.96)
    assert lo == pytest.approx(blo, rel=1e-4) and hi == pytest.approx(bhi, rel=1e-4)


def test_score_interval_is_symmetric_and_handles_zero_counts() -> None:
    r, lo, hi = ratio_ci(12, 40, 30, 50, 2.5)
    r2, lo2, hi2 = ratio_ci(30, 50, 12, 40, 2.5)
    assert (r2, lo2, hi2) == (pytest.approx(1 / r), pytest.approx(1 / hi), pytest.approx(1 / lo))
    assert ratio_ci(0, 30, 30, 30, 3.4)[1:] == (0.0, pytest.approx(ratio_ci(30, 30, 0, 30, 3.4)[1] ** -1))
    assert ratio_ci(0, 30, 30, 30, 3.4)[2] < 0.3  # 0/30 vs 30/30: significant even family-wise
    assert ratio_ci(0, 10, 0, 10, 1.96) == (1.0, 0.0, float("inf"))
    with pytest.raises(ValueError):
        ratio_ci(5, 4, 1, 4, 1.96)


def test_score_interval_covers_the_true_ratio_about_95_percent() -> None:
    rng = np.random.default_rng(7)
    p1, p2, n = 0.6, 0.8, 200
    x1 = rng.binomial(n, p1, 600)
    x2 = rng.binomial(n, p2, 600)
    cover = np.mean(
        [
            lo <= p1 / p2 <= hi
            for lo, hi in (ratio_ci(a, n, b, n, 1.96)[1:] for a, b in zip(x1, x2, strict=True))
        ]
    )
    assert 0.92 <= cover <= 0.98


# -- the window ------------------------------------------------------------------------------------
def test_observations_leave_the_window() -> None:
    clock = Clock()
    mon = FairnessMonitor(FairnessConfig(window_s=600, bucket_s=60), clock=clock)
    mon.observe({"language": "en"}, "escalation", True, T0)
    assert mon.counts()[("language", "en", "escalation")] == (1, 1)
    clock.t = T0 + 601
    assert mon.counts() == {}
    mon.observe({"language": "en"}, "escalation", True, T0)  # late: older than the window
    assert mon.late == 1 and mon.counts() == {}


def test_a_future_timestamp_counts_now_and_cannot_wipe_the_window() -> None:
    mon = FairnessMonitor(FairnessConfig(window_s=600, bucket_s=60), clock=Clock())
    mon.observe({"language": "en"}, "escalation", False, T0 - 100)
    mon.observe({"language": "en"}, "escalation", True, T0 + 10 * 365 * 86400)
    assert mon.counts()[("language", "en", "escalation")] == (2, 1)


def test_memory_stays_bounded_over_a_long_run() -> None:
    clock = Clock()
    mon = FairnessMonitor(FairnessConfig(window_s=600, bucket_s=60), clock=clock)
    for i in range(5000):
        clock.t = T0 + i * 7
        mon.observe({"language": "en", "region": "north"}, "alert", False, clock.t)
    assert len(mon._buckets) <= 11


# -- groups and labels -----------------------------------------------------------------------------
def test_unknown_values_are_other_and_missing_attributes_are_not_counted() -> None:
    mon = FairnessMonitor(clock=Clock())
    mon.observe({"language": "Klingon", "region": " NORTH ", "age_band": ""}, "escalation", False, T0)
    c = mon.counts()
    assert c == {("language", OTHER, "escalation"): (1, 0), ("region", "north", "escalation"): (1, 0)}


def test_config_validation_keeps_labels_short_and_known() -> None:
    with pytest.raises(ValueError):
        FairnessConfig(attributes={"language": ("en", "a value with spaces")})
    with pytest.raises(ValueError):
        FairnessConfig(reference={"language": "tlh"})
    with pytest.raises(ValueError):
        FairnessConfig(outcomes=("happiness",))
    with pytest.raises(ValueError):
        FairnessMonitor(clock=Clock()).observe({}, "happiness", True, T0)
    assert parse_attributes("language=en, nl ;region=north") == {
        "language": ("en", "nl"),
        "region": ("north",),
    }


def test_from_settings_uses_the_proposed_fields_and_defaults() -> None:
    class S:
        fairness_attributes = "language=en,nl;age_band=18-34,55+"
        fairness_reference = "language=en"
        fairness_window_s = 1800.0
        fairness_min_samples = 50

    cfg = FairnessConfig.from_settings(S())
    assert dict(cfg.attributes) == {"language": ("en", "nl"), "age_band": ("18-34", "55+")}
    assert cfg.reference["language"] == "en" and cfg.window_s == 1800 and cfg.min_samples == 50
    assert FairnessConfig.from_settings(object()) == FairnessConfig()


def test_outcome_helpers() -> None:
    assert utterance_outcomes({"escalation": True, "sentiment": "negative"}) == [
        ("escalation", True),
        ("negative_sentiment", True),
    ]
    assert end_outcomes("transferred", ["human_requested"]) == [("unresolved", True), ("alert", False)]
    assert end_outcomes(None, ["unfair_treatment"]) == [("alert", True)]
    assert attributes_of({"region": "north"}, "voice") == {"region": "north", "channel": "voice"}


# -- metrics ---------------------------------------------------------------------------------------
def test_export_sets_gauges_counts_rising_edges_and_drops_stale_labels() -> None:
    reg = CollectorRegistry()
    m = create_fairness_metrics(reg)
    clock = Clock()
    mon = FairnessMonitor(FairnessConfig(window_s=3600), clock=clock)
    stream(mon, {"en": 0.10, "nl": 0.35}, n_per_group=400, seed=3)
    mon.export(m)
    mon.export(m)  # the same disparity again is not a new alert
    lab = {"attribute": "language", "group": "nl", "outcome": "escalation"}
    assert reg.get_sample_value("imon_fairness_disparity", lab) == 1
    assert reg.get_sample_value("imon_fairness_samples", lab) == 400
    assert (
        0
        < reg.get_sample_value("imon_fairness_ratio_ci_low", lab)
        < reg.get_sample_value("imon_fairness_disparity_ratio", lab)
        < reg.get_sample_value("imon_fairness_ratio_ci_high", lab)
        < 1
    )
    ref = {"attribute": "language", "group": "en", "outcome": "escalation"}
    assert reg.get_sample_value("imon_fairness_reference", ref) == 1
    assert reg.get_sample_value("imon_fairness_disparity", ref) == 0
    assert (
        reg.get_sample_value("imon_fairness_alerts_total", {"attribute": "language", "outcome": "escalation"})
        == 1
    )
    clock.t = T0 + 7200  # everything left the window
    assert mon.export(m) == []
    assert reg.get_sample_value("imon_fairness_disparity_ratio", lab) is None
    assert reg.get_sample_value("imon_fairness_samples", lab) is None
