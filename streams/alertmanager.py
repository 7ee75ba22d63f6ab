"""Per-interaction alerts to Alertmanager's v2 API, at least once, across Alertmanager outages.

The worker's *alert forwarder* agent consumes the ``alerts`` topic and pushes each alert here; it
only moves past an alert once Alertmanager accepted it, retrying with capped exponential backoff
and jitter, so alerts raised while Alertmanager is down are delivered when it is back. Re-pushing is
harmless: Alertmanager deduplicates alerts with identical label sets and each carries its
``alert_id``. Labels and annotations carry bounded values and the rule, never utterance text.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import datetime, timedelta
from typing import Any

import httpx

from streams.metrics import Metrics

log = logging.getLogger(__name__)

ALERTNAMES = {
    "escalation": "ImonInteractionEscalation",
    "human_requested": "ImonInteractionHumanRequested",
    "unfair_treatment": "ImonInteractionUnfairTreatment",
    "human_request_sla": "ImonHumanRequestSLABreached",
}
#: How long a per-interaction alert stays active in Alertmanager unless re-pushed.
ACTIVE_FOR = timedelta(hours=1)


def to_alertmanager(alert: dict[str, Any], runbook_base: str = "docs/RUNBOOK.md") -> dict[str, Any]:
    """Map one record of the ``alerts`` topic to an Alertmanager v2 alert."""
    typ = str(alert.get("type"))
    raised = alert.get("raised_at") or alert.get("ts")
    try:
        start = datetime.fromisoformat(str(raised).replace("Z", "+00:00"))
    except ValueError:
        start = datetime.now().astimezone()
    model = alert.get("model") or {}
    labels = {
        "alertname": ALERTNAMES.get(typ, "ImonInteractionAlert"),
        "type": typ,
        "severity": str(alert.get("severity", "warning")),
        "queue": str(alert.get("queue", "other")),
        "channel": str(alert.get("channel", "other")),
        "component": "supervision",
        "alert_id": str(alert.get("alert_id")),
        "interaction_id": str(alert.get("interaction_id")),
    }
    score = alert.get("score")
    annotations = {
        "summary": f"{typ.replace('_', ' ')} in queue {labels['queue']} ({labels['channel']})",
        "description": (
            f"rule: {alert.get('rule')}; score {score}; model {model.get('name')} {model.get('version')}. "
            f"Evidence (redacted) is on the alerts topic under alert_id {labels['alert_id']}."
        ),
        "runbook_url": f"{runbook_base}#{labels['alertname'].lower()}",
    }
    return {
        "labels": labels,
        "annotations": annotations,
        "startsAt": start.isoformat(),
        "endsAt": (start + ACTIVE_FOR).isoformat(),
    }


class AlertPusher:
    """POSTs alerts to ``{url}/api/v2/alerts`` and retries until accepted or stopped."""

    def __init__(self, url: str, metrics: Metrics, timeout_s: float = 5.0, max_backoff_s: float = 15.0) -> None:
        self.url = url.rstrip("/") + "/api/v2/alerts"
        self.metrics = metrics
        self.max_backoff_s = max_backoff_s
        self.client = httpx.AsyncClient(timeout=timeout_s)
        self.stopping = False

    async def push(self, alerts: list[dict[str, Any]]) -> bool:
        """Deliver ``alerts``; returns False only if stopped before Alertmanager accepted them."""
        if not alerts:
            return True
        delay = 0.2
        while not self.stopping:
            try:
                r = await self.client.post(self.url, json=alerts)
                if r.status_code < 300:
                    self.metrics.alerts_pushed.inc(len(alerts))
                    return True
                if 400 <= r.status_code < 500 and r.status_code != 429:
                    # Alertmanager rejected the payload itself: retrying cannot help. Log the status
                    # (never the alert) and move on; the alert stays on the alerts topic.
                    log.error("alertmanager rejected %d alert(s): HTTP %d", len(alerts), r.status_code)
                    self.metrics.alertmanager_errors.inc()
                    return True
                log.warning("alertmanager answered HTTP %d; retrying in %.1fs", r.status_code, delay)
            except httpx.HTTPError as e:
                log.warning("alertmanager unreachable (%s); retrying in %.1fs", type(e).__name__, delay)
            self.metrics.alertmanager_errors.inc()
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(self.max_backoff_s, delay * 2)
        return False

    async def close(self) -> None:
        self.stopping = True
        await self.client.aclose()
