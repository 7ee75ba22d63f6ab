"""Fixtures of the dashboard/alerting tests: the generator's outputs, the worker's metric contract and the
Prometheus tools. A missing ``promtool``/``amtool`` is a failure with instructions, never a skip."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dashboards import build

REPO = Path(__file__).resolve().parents[2]


def _tool(name: str, package: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        pytest.fail(
            f"`{name}` not found on PATH. Install it (Debian: `apt-get install -y {package}`; `make stack-up` "
            f"does it) — the alerting tests need it and never skip.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def promtool() -> str:
    return _tool("promtool", "prometheus")


@pytest.fixture(scope="session")
def amtool() -> str:
    return _tool("amtool", "prometheus-alertmanager")


@pytest.fixture(scope="session")
def rendered() -> dict[str, str]:
    """Every generated file as the generator would write it now."""
    return build.render_all(build.CONFIG, (REPO / build.README).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def dashboard_models() -> dict[str, dict[str, Any]]:
    return {uid: build.render_dashboard(d, build.CONFIG) for uid, d in build.dashboards().items()}


@pytest.fixture(scope="session")
def rule_file() -> dict[str, Any]:
    return build.rules()


@dataclass(frozen=True)
class Contract:
    """What the worker exports: series name -> label names it may carry."""

    series: dict[str, frozenset[str]]
    prefixes: tuple[str, ...] = ("process_", "python_")

    def known(self, name: str) -> bool:
        return name == "up" or name in self.series or name.startswith(self.prefixes)


@pytest.fixture(scope="session")
def contract() -> Contract:
    """Series names of every metric the worker registers: ``streams.metrics.Metrics.create()`` plus the
    fairness, drift, feedback and audit factories (``streams/worker.py`` calls them all on one registry).

    Labelled metrics have no samples until used, so names come from each metric's name and type
    (counter -> ``_total``; histogram -> ``_bucket``/``_sum``/``_count``; info -> ``_info``).
    """
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics import MetricWrapperBase

    from streams.audit import create_audit_metrics
    from streams.drift import create_drift_metrics
    from streams.fairness import create_fairness_metrics
    from streams.feedback import create_feedback_metrics
    from streams.metrics import Metrics

    m = Metrics.create(CollectorRegistry())
    groups = [
        f(m.registry)
        for f in (create_fairness_metrics, create_drift_metrics, create_feedback_metrics, create_audit_metrics)
    ]
    series: dict[str, frozenset[str]] = {}
    target = {"job", "instance"}  # added by Prometheus at scrape time
    for value in [v for g in (m, *groups) for v in vars(g).values()]:
        if not isinstance(value, MetricWrapperBase):
            continue
        # prometheus_client keeps the label names only privately; there is no public accessor.
        labels = frozenset(value._labelnames) | target
        name, kind = value._name, value._type
        if kind == "counter":
            series[f"{name}_total"] = labels
        elif kind == "gauge":
            series[name] = labels
        elif kind == "histogram":
            series[f"{name}_bucket"] = labels | {"le"}
            series[f"{name}_sum"] = labels
            series[f"{name}_count"] = labels
        elif kind == "info":
            series[f"{name}_info"] = labels
        else:
            raise AssertionError(f"metric type {kind} of {name}: teach the dashboard tests about it")
    for fam in m.registry.collect():
        for s in fam.samples:
            series.setdefault(s.name, frozenset(s.labels) | target)
    return Contract(series)
