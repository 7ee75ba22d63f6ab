"""Generated files are committed, current, marked as generated, and identical in the Helm chart."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from dashboards import build

from .conftest import REPO


def test_committed_files_match_the_generator() -> None:
    stale = build.build(REPO, build.CONFIG, check=True)
    assert not stale, (
        "generated files are stale (or missing, or left over): "
        + ", ".join(stale)
        + ". Run `python -m dashboards.build` and commit the result."
    )


def test_every_generated_file_says_so(rendered: dict[str, str]) -> None:
    for path, text in rendered.items():
        if path.endswith((".yaml", ".yml")):
            assert text.startswith(f"# {build.GENERATED}\n"), path
        else:
            assert build.GENERATED in text, path


def test_helm_chart_gets_identical_copies(rendered: dict[str, str]) -> None:
    rules, helm_rules = build.RULE_FILES
    assert (REPO / rules).read_bytes() == (REPO / helm_rules).read_bytes()
    grafana, helm = (REPO / d for d in build.DASHBOARD_DIRS)
    names = sorted(p.name for p in grafana.glob("*.json"))
    assert (
        names
        == sorted(p.name for p in helm.glob("*.json"))
        == sorted(f"{u}.json" for u in build.dashboards())
    )
    for name in names:
        assert (grafana / name).read_bytes() == (helm / name).read_bytes(), name


def test_build_writes_into_an_empty_tree_and_removes_dashboards_it_no_longer_makes(tmp_path: Path) -> None:
    (tmp_path / "dashboards").mkdir()
    shutil.copy(REPO / build.README, tmp_path / build.README)
    leftover = tmp_path / "dashboards/grafana/imon-old.json"
    leftover.parent.mkdir(parents=True)
    leftover.write_text("{}")

    written = build.build(tmp_path, build.CONFIG)

    assert "dashboards/grafana/imon-old.json" in written and not leftover.exists()
    assert build.build(tmp_path, build.CONFIG, check=True) == []
    for rel in build.render_all(build.CONFIG, (REPO / build.README).read_text(encoding="utf-8")):
        assert (tmp_path / rel).read_bytes() == (REPO / rel).read_bytes(), rel


def test_check_runs_as_a_module_and_as_a_script(tmp_path: Path) -> None:
    for argv in (
        [sys.executable, "-m", "dashboards.build", "--check"],
        [sys.executable, "dashboards/build.py", "--check"],
    ):
        r = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
    # --check against a tree without the files: exit 1 and name them.
    (tmp_path / "dashboards").mkdir()
    shutil.copy(REPO / build.README, tmp_path / build.README)
    r = subprocess.run(
        [sys.executable, "-m", "dashboards.build", "--check", "--root", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1 and "stale: dashboards/rules/imon-alerts.yaml" in r.stdout


def test_import_does_no_work(tmp_path: Path) -> None:
    """Importing the generator reads and writes nothing (it runs from any directory)."""
    code = (
        "import builtins, sys; sys.path.insert(0, sys.argv[1]); real = builtins.open\n"
        "def guarded(*a, **k): raise AssertionError(f'open{a} at import time')\n"
        "builtins.open = guarded\n"
        "import dashboards.build\n"
        "builtins.open = real; print('ok')"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(REPO)], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
    assert list(tmp_path.iterdir()) == []
