"""The garbage-collector pause metric (streams/gcpause.py)."""

from __future__ import annotations

import gc

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from streams import gcpause


def _samples(reg: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(generate_latest(reg).decode()):
        if fam.name == "imon_gc_pause_seconds":
            for s in fam.samples:
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_observations_land_in_cumulative_buckets_per_generation() -> None:
    reg = CollectorRegistry()
    p = gcpause.GcPauses()
    reg.register(p)
    p.observe(0, 0.0002)
    p.observe(2, 0.2)
    p.observe(2, 0.25)  # on a bound: le="0.25" holds it
    p.observe(2, 3.0)  # past the last bound: only +Inf
    s = _samples(reg)
    assert s[("imon_gc_pause_seconds_count", (("generation", "0"),))] == 1
    assert s[("imon_gc_pause_seconds_count", (("generation", "1"),))] == 0
    assert s[("imon_gc_pause_seconds_count", (("generation", "2"),))] == 3
    assert s[("imon_gc_pause_seconds_bucket", (("generation", "2"), ("le", "0.1")))] == 0
    assert s[("imon_gc_pause_seconds_bucket", (("generation", "2"), ("le", "0.25")))] == 2
    assert s[("imon_gc_pause_seconds_bucket", (("generation", "2"), ("le", "1.0")))] == 2
    assert s[("imon_gc_pause_seconds_bucket", (("generation", "2"), ("le", "+Inf")))] == 3
    assert s[("imon_gc_pause_seconds_sum", (("generation", "2"),))] == pytest.approx(3.45)
    assert s[("imon_gc_pause_seconds_bucket", (("generation", "0"), ("le", "0.0005")))] == 1


def test_the_callback_times_real_collections_and_can_be_removed() -> None:
    reg = CollectorRegistry()
    p = gcpause.GcPauses()
    reg.register(p)
    p.install()
    try:
        assert p in gc.callbacks
        p.install()  # idempotent
        assert gc.callbacks.count(p) == 1
        gc.collect(2)
        gc.collect(0)
    finally:
        p.remove()
    assert p not in gc.callbacks
    s = _samples(reg)
    assert s[("imon_gc_pause_seconds_count", (("generation", "2"),))] >= 1
    assert s[("imon_gc_pause_seconds_count", (("generation", "0"),))] >= 1
    assert s[("imon_gc_pause_seconds_sum", (("generation", "2"),))] > 0
    gc.collect(2)  # removed: no longer counted
    assert _samples(reg)[("imon_gc_pause_seconds_count", (("generation", "2"),))] == s[
        ("imon_gc_pause_seconds_count", (("generation", "2"),))]


def test_the_worker_metrics_carry_it_uninstalled() -> None:
    from streams.metrics import Metrics

    m = Metrics.create(CollectorRegistry(), process=False)
    assert m.gc_pauses not in gc.callbacks  # only the worker installs the callback (streams/worker.py)
    assert ("imon_gc_pause_seconds_count", (("generation", "2"),)) in _samples(m.registry)


def test_the_threshold_setting_changes_only_the_young_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    from streams.config import Settings

    before = gc.get_threshold()
    try:
        assert gcpause.apply_threshold(0) == before
        assert gcpause.apply_threshold(20_000) == (20_000, before[1], before[2])
        with pytest.raises(ValueError, match="IMON_GC_THRESHOLD0"):
            gcpause.apply_threshold(-1)
    finally:
        gc.set_threshold(*before)
    assert Settings().gc_threshold0 == 50_000  # since the 30-minute soak (docs/RELIABILITY.md)
    monkeypatch.setenv("IMON_GC_THRESHOLD0", "-5")
    with pytest.raises(ValueError, match="gc_threshold0"):
        Settings()
