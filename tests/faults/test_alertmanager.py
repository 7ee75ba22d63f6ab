"""Alerts reach Alertmanager (and its receivers), in the healthy case and across an Alertmanager outage.

The worker forwards every record of the alerts topic to the local Alertmanager
(IMON_ALERTMANAGER_URL); Alertmanager routes it (dashboards/alertmanager/alertmanager.yml: the
``supervisors`` route, group_by [alertname, queue], group_wait 5 s, group_interval 1 m) to the
webhook on 127.0.0.1:5001 that this test runs.

Each test event goes to its own queue (IMON_QUEUES lists them), so each alert is alone in its
aggregation group and reaches the webhook one group_wait (5 s) after Alertmanager has it; with one
shared queue, alerts after the first would wait for group_interval (1 min).

What is proven:
* healthy: every alert is visible in Alertmanager's API and then at the webhook; the event-to-
  Alertmanager latency is measured (recorded, not asserted tightly: the product target is 1 s p99).
* outage: alerts raised while Alertmanager is stopped are all delivered once it is back (the
  forwarder retries; Alertmanager does not persist alerts, so this is the forwarder's doing).

The outage runs first: restarting Alertmanager makes it load the repo's routing config, whatever
config the running one was started with (a stack started before the config existed uses a
fallback with no grouping and a 5-minute group_interval).
"""

from __future__ import annotations

import logging
import re
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import orjson
import pytest

from streams.config import DEFAULT_QUEUES
from streams.kafka_io import create_topics, producer
from tests.conftest import REPO, WorkerProcess, settings_from
from tests.faults.conftest import Webhook, alertmanager_alerts
from tests.faults.support import (
    TopicTail,
    fault_env,
    record_figures,
    stack_sh,
    utterance,
    wait_until,
)

log = logging.getLogger("faults.alertmanager")

pytestmark = [pytest.mark.broker, pytest.mark.stack, pytest.mark.slow, pytest.mark.timeout(360)]

ALERTMANAGER_YML = REPO / "dashboards" / "alertmanager" / "alertmanager.yml"
HUMAN = "I want to speak to a real person now, get me a human agent."
N_HEALTHY = 20
N_OUTAGE = 20
OUTAGE_EXTRA_S = 8.0  # keep Alertmanager down this long after the last alert was raised


class AlertmanagerPoller(threading.Thread):
    """Polls Alertmanager's API every 100 ms: alert_id -> first time it was seen there."""

    def __init__(self, url: str, prefix: str) -> None:
        super().__init__(daemon=True, name="am-poller")
        self.url, self.prefix = url, prefix
        self.first_seen: dict[str, float] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            now = time.time()
            for a in alertmanager_alerts(self.url, "queue", self.prefix):
                self.first_seen.setdefault(str(a.get("labels", {}).get("alert_id")), now)
            self.stopping.wait(0.1)


def quantiles(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    if not xs:
        return {}

    def pick(q: float) -> float:
        return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]

    return {"n": len(xs), "p50": round(pick(0.5), 3), "p95": round(pick(0.95), 3), "max": round(xs[-1], 3),
            "mean": round(statistics.fmean(xs), 3)}  # fmt: skip


@pytest.fixture
def alertmanager_back_up(alertmanager_url: str) -> Iterator[str]:
    """Start Alertmanager again after the test whatever happened (a no-op when it runs)."""
    yield alertmanager_url
    stack_sh("start-alertmanager")


@pytest.fixture
def am_run(
    kafka_bootstrap: str,
    alertmanager_back_up: str,
    webhook: Webhook,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("alertmanager")
    tag = f"q{uuid.uuid4().hex[:6]}"
    queues = [f"{tag}{i:02d}" for i in range(N_HEALTHY + N_OUTAGE)]
    env = fault_env(
        kafka_bootstrap, "am", partitions=2,
        IMON_ALERTMANAGER_URL=alertmanager_back_up,
        IMON_QUEUES=",".join((*DEFAULT_QUEUES, *queues)),
        IMON_HUMAN_SLA_S="3600",  # no SLA alerts while the test runs
    )  # fmt: skip
    s = settings_from(env)
    create_topics(s)
    alerts = TopicTail(s, s.topic_alerts)
    poller = AlertmanagerPoller(alertmanager_back_up, tag)
    w = WorkerProcess(env, tmp / "worker.log")
    prod = producer(s)
    out: dict[str, Any] = {"tag": tag}

    def send(queue: str) -> tuple[str, float]:
        e = utterance(str(uuid.uuid4()), HUMAN, queue=queue)
        t = time.time()
        prod.send(s.topic_input, key=e["interaction_id"].encode(), value=orjson.dumps(e)).get(timeout=30)
        return e["event_id"], t

    def alert_ids(event_ids: set[str]) -> dict[str, dict[str, Any]]:
        return {a["alert_id"]: a for a in alerts.poll() if a.get("event_id") in event_ids}

    def every_event_alerted(event_ids: set[str]) -> bool:
        return {a["event_id"] for a in alert_ids(event_ids).values()} >= event_ids

    try:
        w.start()
        poller.start()
        # -- outage first: restarting Alertmanager also makes it load the repo's routing config ---
        errors_before = w.metric("imon_alertmanager_errors_total")
        stack_sh("stop-alertmanager")
        t_down = time.time()
        sent_outage = dict(send(queues[N_HEALTHY + i]) for i in range(N_OUTAGE))
        assert wait_until(lambda: every_event_alerted(set(sent_outage)), timeout=60), (
            "not every event alerted"
        )
        time.sleep(OUTAGE_EXTRA_S)
        out["errors_during_outage"] = w.metric("imon_alertmanager_errors_total") - errors_before
        stack_sh("start-alertmanager")
        t_up = time.time()
        out["group_wait_s"] = wait_s = group_wait_s()
        outage = alert_ids(set(sent_outage))
        # Forwarder backoff (<= 15 s x 1.5 jitter) + group_wait + slack.
        wait_until(lambda: set(outage) <= set(webhook.alerts("queue", tag)), timeout=25 + wait_s + 15)
        hooked = webhook.alerts("queue", tag)
        out["outage"] = {
            "alerts": len(outage),
            "down_s": round(t_up - t_down, 1),
            "missing_at_webhook": sorted(set(outage) - set(hooked)),
            "webhook_after_alertmanager_up_s": quantiles([hooked[i] - t_up for i in outage if i in hooked]),
        }
        log.info("outage: %s", out["outage"])

        # -- healthy ----------------------------------------------------------------------------
        sent: dict[str, float] = {}
        for i in range(N_HEALTHY):  # one at a time, so each latency is that of an unloaded pipeline
            eid, t = send(queues[i])
            sent[eid] = t
            time.sleep(0.5)
        assert wait_until(lambda: every_event_alerted(set(sent)), timeout=60), (
            "not every event raised an alert"
        )
        healthy = alert_ids(set(sent))
        wait_until(lambda: set(healthy) <= set(poller.first_seen), timeout=30)
        wait_until(lambda: set(healthy) <= set(webhook.alerts("queue", tag)), timeout=wait_s + 15)
        hooked = webhook.alerts("queue", tag)
        out["healthy"] = {
            "alerts": len(healthy),
            "missing_in_alertmanager": sorted(set(healthy) - set(poller.first_seen)),
            "missing_at_webhook": sorted(set(healthy) - set(hooked)),
            "event_to_alertmanager_s": quantiles(
                [poller.first_seen[i] - sent[a["event_id"]] for i, a in healthy.items() if i in poller.first_seen]
            ),
            "event_to_alert_record_s": quantiles(
                [_epoch(a["raised_at"]) - sent[a["event_id"]] for a in healthy.values()]
            ),
            "event_to_webhook_s": quantiles([hooked[i] - sent[a["event_id"]] for i, a in healthy.items() if i in hooked]),
        }  # fmt: skip
        log.info("healthy: %s", out["healthy"])
        out["pushed_total"] = w.metric("imon_alertmanager_pushed_total")
        yield out
    finally:
        poller.stopping.set()
        prod.close(timeout=10)
        w.stop()
        alerts.close()


def group_wait_s() -> float:
    """group_wait of the route our alerts take (``supervisors``, matched by the queue label) in the
    config Alertmanager runs; stack.sh starts it with dashboards/alertmanager/alertmanager.yml."""
    import yaml

    cfg = yaml.safe_load(ALERTMANAGER_YML.read_text())
    route = next(
        (r for r in cfg["route"].get("routes", []) if r.get("receiver") == "supervisors"), cfg["route"]
    )
    raw = str(route.get("group_wait") or cfg["route"].get("group_wait") or "30s")
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    num, unit = re.fullmatch(r"(\d+)(ms|s|m|h)", raw).groups()  # type: ignore[union-attr]
    return int(num) * units[unit]


def _epoch(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def test_alerts_reach_alertmanager_and_survive_its_outage(am_run: dict[str, Any]) -> None:
    record_figures("alertmanager", {"command": "pytest tests/faults/test_alertmanager.py", **am_run})
    h, o = am_run["healthy"], am_run["outage"]
    assert h["alerts"] >= N_HEALTHY and o["alerts"] >= N_OUTAGE
    assert h["missing_in_alertmanager"] == [] and h["missing_at_webhook"] == [], h
    assert o["missing_at_webhook"] == [], f"alerts raised during the Alertmanager outage never arrived: {o}"
    assert am_run["errors_during_outage"] > 0, "the forwarder never noticed Alertmanager was down"
    # Loose sanity bound only; the measured figures are what docs/RELIABILITY.md reports.
    assert h["event_to_alertmanager_s"]["max"] < 30, h
