"""Every dashboard panel query returns data from the real local Prometheus scraping a real worker.

One worker (real model) on fresh topics, registered with the stack's Prometheus through its file-SD
directory; simulated traffic (consented, no-consent, malformed) plus supervisors' feedback on the alerts it
raised. Then every query of ``dashboards.build.panel_queries()`` is sent to Prometheus' HTTP API, pinned to
this worker's ``instance`` so series left behind by other test runs cannot make a panel pass. Bounded to
about two minutes after the worker is ready.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from dashboards import build

from .promql import metric_names

pytestmark = [pytest.mark.broker, pytest.mark.stack, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
REFERENCE_SCORES = REPO / "models/artifacts/reference_scores.json"
#: Plain-PromQL values of the Grafana variables; rate windows cover >= 15 scrapes at the stack's 2 s.
VARS = {"__rate_interval": "30s", "__range": "5m", "queue": ".*", "channel": ".+"}
JOB = f'job="{build.CONFIG.job}"'

#: Panels that legitimately have no data in a two-minute run, with the reason. Keep it minimal.
NO_DATA_EXPECTED: dict[tuple[str, str], str] = {}
if not REFERENCE_SCORES.exists():
    _why = f"drift needs the reference distribution {REFERENCE_SCORES.relative_to(REPO)} (absent here)"
    NO_DATA_EXPECTED[("imon-fairness-trust", "Score drift (PSI) by task")] = _why
    NO_DATA_EXPECTED[("imon-fairness-trust", "Scores in the drift window")] = _why


def _prom(prometheus_url: str, expr: str) -> list[dict[str, Any]]:
    q = urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(f"{prometheus_url}/api/v1/query?{q}", timeout=10) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    return body["data"]["result"]


def _pin(expr: str, instance: str) -> str:
    """``expr`` with every ``job=...`` selector narrowed to one scrape target."""
    pinned = expr.replace(JOB, f'{JOB},instance="{instance}"')
    assert pinned.count(f'instance="{instance}"') == len(re.findall(r"\b[a-zA-Z_:][\w:]*\{", expr)), expr
    return pinned


def _feedback(alert: dict[str, Any], verdict: str) -> tuple[bytes, bytes]:
    rec = {
        "schema_version": 1,
        "feedback_id": str(uuid.uuid4()),
        "alert_id": alert["alert_id"],
        "alert_type": alert["type"],
        "verdict": verdict,
        "reviewer": "sup-1",
        "ts": datetime.now(UTC).isoformat(),
    }
    return alert["interaction_id"].encode(), orjson.dumps(rec)


def test_every_panel_query_returns_data_from_a_live_worker(
    kafka_bootstrap: str, prometheus_url: str, test_env: dict[str, str], tmp_path: Path
) -> None:
    from streams.kafka_io import create_topics, producer
    from streams.simulator import Simulator
    from tests.conftest import ALERTMANAGER, STACK, WorkerProcess, consume_all, settings_from

    env = {
        **test_env,
        "IMON_PROMETHEUS_SD_DIR": str(STACK / "prometheus" / "targets"),
        "IMON_ALERTMANAGER_URL": ALERTMANAGER,
        "IMON_FAIRNESS_EVAL_INTERVAL_S": "2",
        "IMON_FAIRNESS_MIN_SAMPLES": "5",
        "IMON_HUMAN_SLA_S": "5",
        # PSI is published from 500 scores per task by default; a short run gets there with 50.
        "IMON_DRIFT_MIN_SAMPLES": "50",
    }
    s = settings_from(env)
    create_topics(s)
    w = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        t0 = time.monotonic()
        prod = producer(s)
        sim = Simulator(seed=11, bad_ratio=0.1, no_consent_ratio=0.1).events()
        for _ in range(600):
            key, value = next(sim)
            prod.send(s.topic_input, key=key, value=value)
        prod.flush()

        alerts = consume_all(s, s.topic_alerts, lambda rs: len({a["type"] for a in rs}) >= 2, timeout=40)
        assert alerts, f"the worker raised no alert on 600 simulated events:\n{w.tail()}"
        for i, a in enumerate(alerts[:40]):
            key, value = _feedback(a, "correct" if i % 3 else "incorrect")
            prod.send(s.topic_feedback, key=key, value=value)
        prod.flush()
        # keep traffic flowing so rates over the last 30 s are not all zero when we ask
        for _ in range(200):
            key, value = next(sim)
            prod.send(s.topic_input, key=key, value=value)
        prod.flush()
        prod.close()

        instance = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not instance:
            for r in _prom(prometheus_url, f"up{{{JOB}}} == 1"):
                if r["metric"].get("instance", "").endswith(f":{w.port}"):
                    instance = r["metric"]["instance"]
            time.sleep(1)
        assert instance, f"Prometheus never scraped the worker on port {w.port} (file SD {env['IMON_PROMETHEUS_SD_DIR']})"

        queries = build.panel_queries(grafana_vars=VARS)
        missing: list[str] = []
        deadline = time.monotonic() + max(30.0, 120.0 - (time.monotonic() - t0))
        while True:
            missing = []
            for uid, title, expr in queries:
                if (uid, title) in NO_DATA_EXPECTED:
                    continue
                if not _prom(prometheus_url, _pin(expr, instance)):
                    missing.append(f"{uid} / {title}: {expr}")
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(2)
        assert not missing, "panels without data:\n" + "\n".join(missing) + f"\n--- worker log:\n{w.tail(20)}"

        # The exemptions are still needed: a panel that has data must leave the list.
        for (uid, title), why in NO_DATA_EXPECTED.items():
            exprs = [e for u, t, e in queries if (u, t) == (uid, title)]
            assert exprs, f"exempted panel {uid} / {title} no longer exists"
            assert not any(_prom(prometheus_url, _pin(e, instance)) for e in exprs), (
                f"{uid} / {title} has data now ({why}): remove it from NO_DATA_EXPECTED"
            )

        # Every metric any panel uses is on the worker's own /metrics (drift included: it is exported
        # as an empty family even before it has a value).
        _, text = w.http("/metrics")
        exported = set(re.findall(r"^# (?:TYPE|HELP) (\S+)", text, flags=re.M))
        exported |= set(re.findall(r"^([a-zA-Z_:][\w:]*)(?:\{| )", text, flags=re.M))
        used = {n for _, _, e in queries for n in metric_names(e)} - {"up"}
        suffixes = ("_total", "_bucket", "_sum", "_count", "_info")
        absent = sorted(
            n for n in used if n not in exported and not any(n.endswith(x) and n[: -len(x)] in exported for x in suffixes)
        )
        assert not absent, f"queried but not exported by the worker: {absent}"
    finally:
        w.stop()
