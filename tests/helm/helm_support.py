"""Helpers for the Helm chart tests: run the pinned helm binary, render, parse.

The helm binary is built by ``scripts/install_helm.sh`` into ``.stack/bin/helm``. When it is missing
the tests fail with that instruction; they never skip.
"""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "interaction-monitor"
HELM = REPO / ".stack" / "bin" / "helm"
#: Kubernetes version the manifests are rendered for (Capabilities) and validated against offline.
KUBE_VERSION = "1.33.0"
RELEASE = "imon"
NAMESPACE = "contact-centre"

#: One file per switch, plus the production example; each is linted, rendered and validated.
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
#: Rendered scenarios: chart defaults (None) and every ci values file.
SCENARIOS: list[Path | None] = [None, *CI_VALUES]


def scenario_id(values: Path | None) -> str:
    return "defaults" if values is None else values.name.removesuffix("-values.yaml")


class HelmError(AssertionError):
    """helm exited non-zero; the message carries its stderr."""


def _require_helm() -> Path:
    if not os.access(HELM, os.X_OK):
        pytest.fail(
            f"helm not found at {HELM}. Build the pinned version first: scripts/install_helm.sh "
            "(needs Go; takes a few minutes the first time).",
            pytrace=False,
        )
    return HELM


@functools.cache
def _helm_env() -> dict[str, str]:
    # Keep helm away from the user's ~/.config, ~/.cache and repositories: rendering needs none.
    base = Path(os.environ.get("TMPDIR", "/tmp")) / f"imon-helm-test-home-{os.getuid()}"
    env = dict(os.environ)
    for var, sub in (
        ("HELM_CACHE_HOME", "cache"),
        ("HELM_CONFIG_HOME", "config"),
        ("HELM_DATA_HOME", "data"),
    ):
        (base / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(base / sub)
    return env


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the pinned helm; raise HelmError with stderr on failure when ``check``."""
    proc = subprocess.run(
        [str(_require_helm()), *args], capture_output=True, text=True, env=_helm_env(), timeout=60
    )
    if check and proc.returncode != 0:
        raise HelmError(f"helm {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def _template_args(
    chart: Path, values: Sequence[Path], sets: Sequence[str], release: str, namespace: str
) -> list[str]:
    args = ["template", release, str(chart), "--namespace", namespace, "--kube-version", KUBE_VERSION]
    for v in values:
        args += ["--values", str(v)]
    for s in sets:
        args += ["--set", s]
    return args


@functools.cache
def _render_cached(
    chart: Path, values: tuple[Path, ...], sets: tuple[str, ...], release: str, namespace: str
) -> tuple[str, tuple[dict[str, Any], ...]]:
    out = helm(*_template_args(chart, values, sets, release, namespace)).stdout
    docs = tuple(d for d in yaml.safe_load_all(out) if d)
    return out, docs


def render(
    values: Path | Iterable[Path] | None = None,
    sets: Iterable[str] = (),
    *,
    chart: Path = CHART,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
) -> list[dict[str, Any]]:
    """Render the chart and return its documents (hooks included). Cached per arguments."""
    return list(render_text(values, sets, chart=chart, release=release, namespace=namespace)[1])


def render_text(
    values: Path | Iterable[Path] | None = None,
    sets: Iterable[str] = (),
    *,
    chart: Path = CHART,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
) -> tuple[str, tuple[dict[str, Any], ...]]:
    """(raw rendered text, parsed documents)."""
    vals: tuple[Path, ...] = (
        () if values is None else (values,) if isinstance(values, Path) else tuple(values)
    )
    return _render_cached(chart, vals, tuple(sets), release, namespace)


def render_error(
    values: Path | Iterable[Path] | None = None, sets: Iterable[str] = (), *, chart: Path = CHART
) -> str:
    """Render that must fail; returns helm's stderr."""
    vals = [] if values is None else [values] if isinstance(values, Path) else list(values)
    proc = helm(*_template_args(chart, vals, list(sets), RELEASE, NAMESPACE), check=False)
    assert proc.returncode != 0, f"render was expected to fail but succeeded:\n{proc.stdout[:2000]}"
    return proc.stderr


def by_kind(docs: Iterable[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d.get("kind") == kind]


def one(docs: Iterable[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = by_kind(docs, kind)
    assert len(found) == 1, f"expected exactly one {kind}, found {len(found)}"
    return found[0]


def pod_specs(docs: Iterable[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(kind/name, pod spec) of every workload in the render."""
    out = []
    for d in docs:
        if d.get("kind") in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
            out.append((f"{d['kind']}/{d['metadata']['name']}", d["spec"]["template"]["spec"]))
    return out


def worker_container(docs: Iterable[dict[str, Any]]) -> dict[str, Any]:
    spec = one(docs, "Deployment")["spec"]["template"]["spec"]
    (container,) = [c for c in spec["containers"] if c["name"] == "worker"]
    return container
