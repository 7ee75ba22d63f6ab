"""Dashboards: template variables, no hard-coded datasource, units and thresholds, layout, future rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from dashboards import build

from .conftest import REPO

UIDS = ("imon-live-floor", "imon-fairness-trust", "imon-operations")
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def _committed(uid: str) -> dict[str, Any]:
    return json.loads((REPO / "dashboards/grafana" / f"{uid}.json").read_text(encoding="utf-8"))


def _panels(model: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for p in model["panels"]:
        yield p
        yield from p.get("panels", [])


def _data_panels(model: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in _panels(model) if p["type"] not in ("row", "text")]


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield path, k, v
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]")


def test_the_three_dashboards_exist() -> None:
    assert tuple(build.dashboards()) == UIDS
    for uid in UIDS:
        assert _committed(uid)["uid"] == uid


@pytest.mark.parametrize("uid", UIDS)
def test_template_variables(uid: str) -> None:
    variables = {v["name"]: v for v in _committed(uid)["templating"]["list"]}
    assert set(variables) >= {"datasource", "queue", "channel"}
    assert (
        variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    )
    for name in ("queue", "channel"):
        v = variables[name]
        assert v["type"] == "query" and v["datasource"] == DATASOURCE
        assert v["definition"].startswith("label_values(") and v["definition"].endswith(f", {name})")
        assert v["includeAll"] and v["multi"] and v["allValue"] == ".*"


@pytest.mark.parametrize("uid", UIDS)
def test_no_hard_coded_datasource(uid: str) -> None:
    model = _committed(uid)
    for path, key, value in _walk(model):
        if key == "datasource" and path != ".templating.list[0]":
            assert value == DATASOURCE, f"{uid}{path}: datasource {value!r}"
        if key == "uid":
            assert path == "" or value == "${datasource}", f"{uid}{path}: hard-coded uid {value!r}"


@pytest.mark.parametrize("uid", UIDS)
def test_every_panel_has_a_unit_thresholds_and_queries(uid: str) -> None:
    model = _committed(uid)
    assert _data_panels(model), uid
    for p in _data_panels(model):
        defaults = p["fieldConfig"]["defaults"]
        assert defaults.get("unit"), f"{uid}: panel {p['title']!r} has no unit"
        steps = defaults["thresholds"]["steps"]
        assert steps[0]["value"] is None and all(s["value"] is not None for s in steps[1:]), p["title"]
        assert p["datasource"] == DATASOURCE
        assert p["targets"], p["title"]
        assert len({t["refId"] for t in p["targets"]}) == len(p["targets"])
        for t in p["targets"]:
            assert t["expr"].strip() and t["datasource"] == DATASOURCE
        if p["type"] == "heatmap":
            assert p["options"]["yAxis"]["unit"] == defaults["unit"]


@pytest.mark.parametrize("uid", UIDS)
def test_layout_and_metadata(uid: str) -> None:
    model = _committed(uid)
    assert model["schemaVersion"] == build.SCHEMA_VERSION
    assert build.GENERATED in model["description"]
    assert model["editable"] is False and "interaction-monitor" in model["tags"]
    ids = [p["id"] for p in _panels(model)]
    assert len(ids) == len(set(ids))
    for p in _panels(model):
        g = p["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24 and g["h"] > 0, p["title"]
    titles = [p["title"] for p in _data_panels(model)]
    assert len(titles) == len(set(titles)), (
        "panel titles must be unique per dashboard (panel_queries keys on them)"
    )


def test_live_floor_links_to_alertmanager() -> None:
    model = _committed("imon-live-floor")
    urls = [link.get("url", "") for link in model["links"]]
    assert any(u.startswith(build.CONFIG.alertmanager_url) for u in urls)


def test_panel_queries_cover_every_target(dashboard_models: dict[str, dict[str, Any]]) -> None:
    queries = build.panel_queries()
    targets = [
        (uid, p["title"], t["expr"])
        for uid, m in dashboard_models.items()
        for p in _data_panels(m)
        for t in p["targets"]
    ]
    assert queries == targets
    assert {uid for uid, _, _ in queries} == set(UIDS)
    for _, _, expr in build.panel_queries(grafana_vars=build.LIVE_TEST_VARS):
        assert "$" not in expr, expr


def test_fairness_trust_has_the_ethics_rows_and_alerts() -> None:
    rows = [p["title"] for p in _committed("imon-fairness-trust")["panels"] if p["type"] == "row"]
    assert {"Fairness disparity", "Alert precision (supervisor feedback)", "Score drift", "Privacy and audit"} <= set(
        rows
    )
    assert "Not exported yet" not in rows
    assert {"ImonFairnessDisparity", "ImonScoreDrift", "ImonAlertPrecisionLow", "ImonAuditChainBroken"} <= set(
        build.alert_names()
    )
