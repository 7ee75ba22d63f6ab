"""promtool: the rule file is valid, its unit tests pass and cover every alert, every panel query parses."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from dashboards import build

from .conftest import REPO
from .promql import label_values_selector

RULES = REPO / "dashboards/rules/imon-alerts.yaml"
TESTS = REPO / "dashboards/rules/tests"


def _run(argv: list[str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_promtool_check_rules(promtool: str) -> None:
    r = _run([promtool, "check", "rules", str(RULES)])
    assert r.returncode == 0, r.stdout + r.stderr


def test_promtool_test_rules(promtool: str) -> None:
    files = sorted(p.name for p in TESTS.glob("*.yaml"))
    assert files, "no promtool unit tests in dashboards/rules/tests"
    r = _run([promtool, "test", "rules", *files], cwd=TESTS)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_alert_is_unit_tested_firing_and_quiet() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for f in TESTS.glob("*.yaml"):
        doc: dict[str, Any] = yaml.safe_load(f.read_text(encoding="utf-8"))
        assert doc["rule_files"] == ["../imon-alerts.yaml"], f.name
        for group in doc["tests"]:
            for case in group.get("alert_rule_test", []):
                exp = case.get("exp_alerts") or []
                (firing if exp else quiet).add(case["alertname"])
                for a in exp:
                    # Checked down to labels and every annotation, not just "it fired".
                    assert {"severity", "component"} <= set(a["exp_labels"]), case["alertname"]
                    assert {"summary", "description", "runbook_url"} <= set(a["exp_annotations"]), case[
                        "alertname"
                    ]
    alerts = set(build.alert_names())
    assert alerts - firing == set(), "alerts never tested firing"
    assert alerts - quiet == set(), "alerts never tested staying quiet"


def _check_exprs(promtool: str, exprs: list[str], tmp_path: Path) -> None:
    """Parse expressions with promtool by wrapping them as recording rules."""
    doc = {
        "groups": [
            {
                "name": "parse-check",
                "rules": [{"record": f"imon_parse_check_{i}", "expr": e} for i, e in enumerate(exprs)],
            }
        ]
    }
    f = tmp_path / "exprs.yaml"
    f.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    r = _run([promtool, "check", "rules", str(f)])
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_panel_query_parses(promtool: str, tmp_path: Path) -> None:
    exprs = [e for _, _, e in build.panel_queries(grafana_vars=build.LIVE_TEST_VARS)]
    variables = []
    for d in build.dashboards().values():
        for v in build.render_dashboard(d, build.CONFIG)["templating"]["list"]:
            if v["type"] == "query":  # label_values(<selector>, label): the selector must parse
                variables.append(
                    build.substitute_vars(label_values_selector(v["definition"]), build.LIVE_TEST_VARS)
                )
    _check_exprs(promtool, exprs + variables, tmp_path)

