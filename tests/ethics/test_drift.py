"""Score drift (PSI) against a reference distribution."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from streams.drift import (
    DriftMonitor,
    Reference,
    create_drift_metrics,
    load_reference,
    psi,
    reference_from_scores,
    save_reference,
    scores_by_task,
    task_scores,
)
from tests.ethics.clock import T0, Clock


def escalation_like(rng: np.random.Generator, n: int, a: float = 0.6, b: float = 8.0) -> np.ndarray:
    """Probabilities crowded near 0, like a calibrated escalation head."""
    return rng.beta(a, b, n)


@pytest.fixture(scope="module")
def reference() -> dict[str, Reference]:
    rng = np.random.default_rng(0)
    return reference_from_scores(
        {"escalation": escalation_like(rng, 20000), "sentiment_negative": rng.beta(2, 3, 20000)}
    )


def feed(mon: DriftMonitor, task: str, xs: np.ndarray, t_end: float = T0) -> None:
    for i, x in enumerate(xs):
        mon.observe(task, float(x), t_end - 1800 + 1800 * i / len(xs))


def test_the_same_distribution_gives_a_small_psi(reference: dict[str, Reference]) -> None:
    rng = np.random.default_rng(1)
    mon = DriftMonitor(reference, clock=Clock())
    feed(mon, "escalation", escalation_like(rng, 2000))
    feed(mon, "sentiment_negative", rng.beta(2, 3, 2000))
    values = mon.psi()
    assert set(values) == {"escalation", "sentiment_negative"}
    assert all(v < 0.1 for v in values.values()), values
    assert all(v < 0.02 for v in values.values()), values  # ~ (k-1)/n of noise only


def test_shifted_traffic_raises_psi_above_025(reference: dict[str, Reference]) -> None:
    rng = np.random.default_rng(2)
    mon = DriftMonitor(reference, clock=Clock())
    feed(mon, "escalation", escalation_like(rng, 2000, a=1.5, b=6.0))  # more escalation-prone traffic
    feed(mon, "sentiment_negative", rng.beta(3.5, 2, 2000))  # much more negative
    values = mon.psi()
    assert values["escalation"] > 0.25 and values["sentiment_negative"] > 0.25, values


def test_psi_grows_with_the_shift(reference: dict[str, Reference]) -> None:
    rng = np.random.default_rng(3)
    last = -1.0
    for a in (0.6, 0.8, 1.0, 1.4):
        mon = DriftMonitor(reference, clock=Clock())
        feed(mon, "escalation", escalation_like(rng, 3000, a=a))
        v = mon.psi()["escalation"]
        assert v > last
        last = v


def test_psi_formula_by_hand() -> None:
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert psi([0.5, 0.5], [25, 75], eps=1e-12) == pytest.approx(expected)
    assert psi([0.5, 0.5], [50, 50]) == pytest.approx(0.0, abs=1e-12)
    assert math.isfinite(psi([0.5, 0.5], [0, 100]))  # an empty bin stays finite
    with pytest.raises(ValueError):
        psi([0.5, 0.5], [0, 0])


def test_no_psi_below_min_samples_and_scores_leave_the_window(reference: dict[str, Reference]) -> None:
    clock = Clock()
    mon = DriftMonitor(reference, window_s=600, min_samples=100, clock=clock)
    for i in range(99):
        mon.observe("escalation", 0.01, T0 - i)
    mon.observe("unknown_task", 0.5, T0)
    assert mon.psi() == {}
    mon.observe("escalation", 0.01, T0)
    assert set(mon.psi()) == {"escalation"}
    clock.t = T0 + 700
    assert mon.psi() == {} and mon.counts() == {}
    mon.observe("escalation", 0.01, T0 - 10)  # late
    assert mon.late == 1


def test_quantile_bins_have_about_equal_mass_and_span_0_to_1(reference: dict[str, Reference]) -> None:
    r = reference["escalation"]
    assert r.edges[0] == 0.0 and r.edges[-1] == 1.0 and r.k == 10 and r.n == 20000
    assert all(abs(p - 0.1) < 0.002 for p in r.proportions)
    assert r.edges[1] < 0.01  # the first decile of a near-zero distribution
    assert r.bin_of(-0.5) == 0 and r.bin_of(1.0) == 9 and r.bin_of(7.0) == 9


def test_ties_merge_bins_and_uniform_bins_are_equal_width() -> None:
    ref = reference_from_scores({"t": [0.3] * 100})["t"]
    assert ref.edges == (0.0, 0.3, 1.0) and ref.proportions == (0.0, 1.0)
    u = reference_from_scores({"t": [0.05, 0.15, 0.95]}, bins=10, method="uniform")["t"]
    assert u.edges == pytest.approx(tuple(i / 10 for i in range(11)))
    assert u.proportions[0] == pytest.approx(1 / 3) and u.proportions[9] == pytest.approx(1 / 3)


def test_reference_file_round_trip_and_validation(reference: dict[str, Reference], tmp_path: Path) -> None:
    path = tmp_path / "models" / "artifacts" / "reference_scores.json"
    save_reference(reference, path)
    raw = json.loads(path.read_text())
    assert set(raw["escalation"]) == {"bins", "proportions", "n"}
    assert load_reference(path) == reference
    for bad in (
        {},
        {"t": {"bins": [0, 1]}},
        {"t": {"bins": [0, 0.5, 0.5, 1], "proportions": [0.3, 0.3, 0.4]}},
        {"t": {"bins": [0, 0.5, 1], "proportions": [0.5]}},
        {"t": {"bins": [0, 0.5, 1], "proportions": [0.9, 0.9]}},
        {"t": {"bins": [0, 0.5, 1], "proportions": [-0.1, 1.1]}},
    ):
        path.write_text(json.dumps(bad))
        with pytest.raises(ValueError):
            load_reference(path)


def test_the_monitor_accepts_the_json_form_and_bare_proportions() -> None:
    mon = DriftMonitor(
        {"a": {"bins": [0, 0.5, 1], "proportions": [0.5, 0.5]}, "b": [0.25, 0.25, 0.25, 0.25]},
        min_samples=4,
        clock=Clock(),
    )
    for x in (0.1, 0.3, 0.6, 0.8):
        mon.observe("a", x, T0)
        mon.observe("b", x, T0)
    assert mon.psi() == {"a": pytest.approx(0.0, abs=1e-9), "b": pytest.approx(0.0, abs=1e-9)}


def test_task_scores_flatten_the_scored_record_shape() -> None:
    scores = {
        "sentiment": {"negative": 0.7, "neutral": 0.2, "positive": 0.1},
        "escalation": 0.4,
        "human_requested": 0.01,
        "unfair_treatment": 0.02,
    }
    assert task_scores(scores) == {
        "sentiment_negative": 0.7,
        "sentiment_positive": 0.1,
        "escalation": 0.4,
        "human_requested": 0.01,
        "unfair_treatment": 0.02,
    }
    assert scores_by_task([{"scores": scores}, {"error": {}}])["escalation"] == [0.4]


def test_export_sets_and_removes_the_gauges(reference: dict[str, Reference]) -> None:
    reg = CollectorRegistry()
    m = create_drift_metrics(reg)
    clock = Clock()
    mon = DriftMonitor(reference, min_samples=50, clock=clock)
    rng = np.random.default_rng(5)
    feed(mon, "escalation", escalation_like(rng, 60))
    mon.observe_scores({"sentiment": {"negative": 0.5, "positive": 0.1}}, T0)
    mon.export(m)
    assert reg.get_sample_value("imon_score_drift_psi", {"task": "escalation"}) is not None
    assert reg.get_sample_value("imon_score_drift_psi", {"task": "sentiment_negative"}) is None
    assert reg.get_sample_value("imon_score_drift_samples", {"task": "sentiment_negative"}) == 1
    clock.t = T0 + 7200
    mon.export(m)
    assert reg.get_sample_value("imon_score_drift_psi", {"task": "escalation"}) is None
    assert reg.get_sample_value("imon_score_drift_samples", {"task": "escalation"}) == 0
