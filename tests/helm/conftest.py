"""Fixtures of the Helm chart tests (helpers live in helm_support.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helm.helm_support import CHART


@pytest.fixture
def chart_copy(tmp_path: Path) -> Path:
    """A private copy of the chart without files/, for tests that add their own generated files."""
    dst = tmp_path / "interaction-monitor"
    shutil.copytree(CHART, dst, ignore=shutil.ignore_patterns("files"))
    return dst
