"""Every query uses only what the worker exports (streams/metrics.py), and the config mirrors the worker's."""

from __future__ import annotations

from typing import Any

from dashboards import build

from .conftest import Contract
from .promql import label_values_selector, metric_names, selectors


def _rule_exprs(rules: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r.get("alert") or r["record"], r["expr"]) for g in rules["groups"] for r in g["rules"]]


def _recorded(rules: dict[str, Any]) -> set[str]:
    return {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}


def _all_queries(rules: dict[str, Any], models: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    out = [(f"{uid} / {title}", expr) for uid, title, expr in build.panel_queries()]
    out += [(f"rule {name}", expr) for name, expr in _rule_exprs(rules)]
    for uid, m in models.items():
        for v in m["templating"]["list"]:
            if v["type"] == "query":
                out.append((f"{uid} / variable {v['name']}", label_values_selector(v["definition"])))
    return out


def test_every_metric_name_is_exported_by_the_worker(
    contract: Contract, rule_file: dict[str, Any], dashboard_models: dict[str, dict[str, Any]]
) -> None:
    recorded = _recorded(rule_file)
    unknown = []
    for where, expr in _all_queries(rule_file, dashboard_models):
        names = metric_names(expr)
        assert names, f"{where}: no metric found in {expr!r}"
        unknown += [f"{where}: {n}" for n in names if not (contract.known(n) or n in recorded)]
    assert not unknown, "not exported by streams/metrics.py:\n" + "\n".join(unknown)


def test_every_filtered_label_exists_on_its_metric(
    contract: Contract, rule_file: dict[str, Any], dashboard_models: dict[str, dict[str, Any]]
) -> None:
    recorded = _recorded(rule_file)
    wrong = []
    for where, expr in _all_queries(rule_file, dashboard_models):
        for name, matchers in selectors(expr):
            if name in recorded:
                continue
            allowed = contract.series.get(name, frozenset({"job", "instance"}))
            wrong += [f"{where}: {name}{{{label}}}" for label in matchers if label not in allowed]
    assert not wrong, "labels the metric does not have:\n" + "\n".join(wrong)


def test_label_values_are_ones_the_worker_uses(rule_file: dict[str, Any]) -> None:
    from streams.metrics import CHANNELS, OUTCOMES, TASKS

    known = {
        "task": set(TASKS),
        "outcome": set(OUTCOMES),
        "channel": {*CHANNELS, "other"},
        "speaker": {"customer", "agent", "bot"},
    }
    exprs = [e for _, _, e in build.panel_queries()] + [e for _, e in _rule_exprs(rule_file)]
    for expr in exprs:
        for name, matchers in selectors(expr):
            for label, (op, value) in matchers.items():
                if label in known and "$" not in value:
                    values = set(value.split("|")) if op == "=~" else {value}
                    assert values <= known[label], f"{name}{{{label}{op}{value!r}}} in {expr}"


def test_high_score_is_a_bucket_boundary_of_imon_score() -> None:
    from streams.metrics import SCORE_BUCKETS

    cfg = build.CONFIG
    assert cfg.score_buckets == SCORE_BUCKETS
    assert cfg.high_score in SCORE_BUCKETS
    # The le label must read the same whatever Prometheus version normalises it ("1.0" vs "1").
    assert not build._go_float(cfg.high_score).endswith(".0")
    exprs = " ".join(e for _, _, e in build.panel_queries())
    assert f'le="{build._go_float(cfg.high_score)}"' in exprs


def test_config_mirrors_the_worker_settings() -> None:
    from streams.config import DEFAULT_QUEUES, Settings

    assert build.CONFIG.queues == DEFAULT_QUEUES
    assert build.CONFIG.human_sla_seconds == Settings.model_fields["human_sla_s"].default
    waiting = next(
        r for g in build.rules()["groups"] for r in g["rules"] if r.get("alert") == "ImonHumanRequestsWaiting"
    )
    assert build._duration_seconds(waiting["for"]) == build.CONFIG.human_sla_seconds


def test_promql_reader_itself() -> None:
    expr = (
        'sum by (le, job) (rate(a_bucket{job="x",le="0.5",q=~"$queue"}[5m] offset 1h)) > 1e-9 '
        'and on (job) absent(up{job="x"}) * 60 or vector(0)'
    )
    assert metric_names(expr) == {"a_bucket", "up"}
    assert selectors(expr)[0] == ("a_bucket", {"job": ("=", "x"), "le": ("=", "0.5"), "q": ("=~", "$queue")})
    assert metric_names('queue:imon_escalation_high:ratio_rate5m{job="x"} > 2 * b:c:d') == {
        "queue:imon_escalation_high:ratio_rate5m",
        "b:c:d",
    }
