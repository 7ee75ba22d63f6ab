"""PrometheusRules and Grafana dashboard ConfigMaps come from the generated files in the chart.

``files/rules/*.yaml`` and ``files/dashboards/*.json`` are written by ``dashboards/build.py``. The
chart must render with or without them; these tests use a private chart copy with sample files (so
they hold whatever is committed) and, in addition, check every real file the chart carries.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.helm.helm_support import CHART, KUBE_VERSION, NAMESPACE, by_kind, helm, render

MONITORING = CHART / "ci" / "monitoring-values.yaml"
ON = ["prometheusRule.enabled=true", "dashboards.enabled=true"]

SAMPLE_RULES = """\
# GENERATED sample for tests/helm
groups:
  - name: imon-sample
    rules:
      - record: imon:events:rate5m
        expr: sum by (queue) (rate(imon_events_total[5m]))
      - alert: ImonSampleAlert
        expr: imon:events:rate5m > 100
        for: 5m
        labels:
          severity: warning
        annotations:
          summary: "Queue {{ $labels.queue }} is busy ({{ $value | humanize }}/s)"
"""
SAMPLE_DASHBOARD = {"title": "Sample", "uid": "imon-sample", "panels": [{"type": "text", "title": "a {{b}}"}]}


def _rules(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return by_kind(docs, "PrometheusRule")


def _dashboard_cms(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in by_kind(docs, "ConfigMap") if "grafana_dashboard" in d["metadata"].get("labels", {})]


def test_renders_without_generated_files(chart_copy: Path) -> None:
    assert not (chart_copy / "files").exists()
    docs = render(sets=ON, chart=chart_copy)
    assert _rules(docs) == [] and _dashboard_cms(docs) == []
    assert by_kind(docs, "Deployment"), "the rest of the chart still renders"
    lint = helm(
        "lint", "--strict", "--kube-version", KUBE_VERSION, str(chart_copy), "--set", ON[0], "--set", ON[1]
    )
    assert "0 chart(s) failed" in lint.stdout


def _notes(chart: Path, *sets: str) -> str:
    """NOTES.txt as rendered for these values (helm template skips NOTES, so wrap it in a manifest)."""
    notes = (chart / "templates" / "NOTES.txt").read_text()
    (chart / "templates" / "_notes_for_test.tpl").write_text(
        '{{- define "notes-for-test" -}}\n' + notes + "\n{{- end }}\n"
    )
    (chart / "templates" / "zz-notes-for-test.yaml").write_text(
        "apiVersion: v1\nkind: NotesForTest\nmetadata:\n  name: notes\n"
        'notes: |\n  {{- include "notes-for-test" . | nindent 2 }}\n'
    )
    (doc,) = [d for d in render(sets=sets, chart=chart) if d["kind"] == "NotesForTest"]
    return str(doc["notes"])


def test_notes_warn_when_a_switch_has_no_files(chart_copy: Path) -> None:
    text = _notes(chart_copy, *ON)
    assert "no PrometheusRule was created" in text and "no dashboard ConfigMap was created" in text
    assert "kubectl -n contact-centre rollout status deployment/imon-interaction-monitor" in text


def test_notes_are_quiet_when_files_exist(chart_copy: Path) -> None:
    (chart_copy / "files" / "rules").mkdir(parents=True)
    (chart_copy / "files" / "rules" / "a.yaml").write_text(SAMPLE_RULES)
    (chart_copy / "files" / "dashboards").mkdir(parents=True)
    (chart_copy / "files" / "dashboards" / "a.json").write_text("{}")
    text = _notes(chart_copy, *ON, "autoscaling.mode=keda")
    assert "WARNING" not in text and "KEDA on consumer lag" in text


def test_prometheusrule_embeds_each_rules_file_verbatim(chart_copy: Path) -> None:
    rules_dir = chart_copy / "files" / "rules"
    rules_dir.mkdir(parents=True)
    (rules_dir / "imon-alerts.yaml").write_text(SAMPLE_RULES)
    (rules_dir / "imon-extra.yaml").write_text("groups:\n  - name: extra\n    rules: []\n")
    (rules_dir / "notes.txt").write_text("not a rule file")
    docs = render(sets=["prometheusRule.enabled=true", "prometheusRule.labels.release=kps"], chart=chart_copy)
    rules = {r["metadata"]["annotations"]["interaction-monitor/source"]: r for r in _rules(docs)}
    assert set(rules) == {"files/rules/imon-alerts.yaml", "files/rules/imon-extra.yaml"}
    pr = rules["files/rules/imon-alerts.yaml"]
    assert pr["apiVersion"] == "monitoring.coreos.com/v1"
    assert pr["metadata"]["labels"]["release"] == "kps"
    assert pr["metadata"]["namespace"] == NAMESPACE
    assert pr["spec"] == yaml.safe_load(SAMPLE_RULES)
    # Not templated by Helm: Prometheus' own template syntax survives.
    ann = pr["spec"]["groups"][0]["rules"][1]["annotations"]["summary"]
    assert ann == "Queue {{ $labels.queue }} is busy ({{ $value | humanize }}/s)"
    assert len({r["metadata"]["name"] for r in rules.values()}) == 2


def test_rules_are_off_by_default(chart_copy: Path) -> None:
    (chart_copy / "files" / "rules").mkdir(parents=True)
    (chart_copy / "files" / "rules" / "a.yaml").write_text(SAMPLE_RULES)
    assert _rules(render(chart=chart_copy)) == []


def test_dashboard_configmaps_carry_the_sidecar_label(chart_copy: Path) -> None:
    dash_dir = chart_copy / "files" / "dashboards"
    dash_dir.mkdir(parents=True)
    text = json.dumps(SAMPLE_DASHBOARD, indent=2)
    (dash_dir / "imon-sample.json").write_text(text)
    (dash_dir / "imon_Other.json").write_text("{}")
    docs = render(sets=["dashboards.enabled=true", "dashboards.namespace=grafana"], chart=chart_copy)
    cms = {cm["metadata"]["annotations"]["interaction-monitor/source"]: cm for cm in _dashboard_cms(docs)}
    assert set(cms) == {"files/dashboards/imon-sample.json", "files/dashboards/imon_Other.json"}
    cm = cms["files/dashboards/imon-sample.json"]
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert cm["metadata"]["namespace"] == "grafana"
    assert cm["metadata"]["annotations"]["grafana_folder"] == "interaction-monitor"
    assert cm["data"] == {"imon-sample.json": text}
    assert json.loads(cm["data"]["imon-sample.json"]) == SAMPLE_DASHBOARD
    assert "imon_Other.json" in cms["files/dashboards/imon_Other.json"]["data"]


def test_dashboards_are_off_by_default(chart_copy: Path) -> None:
    (chart_copy / "files" / "dashboards").mkdir(parents=True)
    (chart_copy / "files" / "dashboards" / "a.json").write_text("{}")
    assert _dashboard_cms(render(chart=chart_copy)) == []


def test_oversized_dashboard_fails_the_render(chart_copy: Path) -> None:
    (chart_copy / "files" / "dashboards").mkdir(parents=True)
    (chart_copy / "files" / "dashboards" / "huge.json").write_text('{"x": "' + "a" * 1_000_100 + '"}')
    proc = helm(
        "template",
        "t",
        str(chart_copy),
        "--kube-version",
        KUBE_VERSION,
        "--set",
        "dashboards.enabled=true",
        check=False,
    )
    assert proc.returncode != 0 and "at most 1 MiB" in proc.stderr


# --- the chart's real generated files (written by dashboards/build.py) --------------------------


def test_real_rule_files_become_prometheusrules() -> None:
    files = sorted((CHART / "files" / "rules").glob("*.yaml"))
    rules = {
        r["metadata"]["annotations"]["interaction-monitor/source"]: r for r in _rules(render(MONITORING))
    }
    assert set(rules) == {f"files/rules/{f.name}" for f in files}
    for f in files:
        assert rules[f"files/rules/{f.name}"]["spec"] == yaml.safe_load(f.read_text()), f.name
        groups = rules[f"files/rules/{f.name}"]["spec"]["groups"]
        assert groups and all(g["name"] and "rules" in g for g in groups), f.name


def test_real_dashboards_become_sidecar_configmaps() -> None:
    files = sorted((CHART / "files" / "dashboards").glob("*.json"))
    cms = {
        c["metadata"]["annotations"]["interaction-monitor/source"]: c
        for c in _dashboard_cms(render(MONITORING))
    }
    assert set(cms) == {f"files/dashboards/{f.name}" for f in files}
    for f in files:
        cm = cms[f"files/dashboards/{f.name}"]
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert json.loads(cm["data"][f.name]) == json.loads(f.read_text()), f.name
