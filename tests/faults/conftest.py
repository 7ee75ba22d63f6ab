"""Fixtures of the fault tests: the Alertmanager webhook receiver and the local Alertmanager."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import ALERTMANAGER, _port_open

#: Where dashboards/alertmanager/alertmanager.yml sends every receiver's notifications.
WEBHOOK_HOST, WEBHOOK_PORT = "127.0.0.1", 5001


class Webhook:
    """Records every notification Alertmanager POSTs to http://127.0.0.1:5001/alerts."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.notifications: list[tuple[float, dict[str, Any]]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {"_raw": body.decode(errors="replace")}
                with hook.lock:
                    hook.notifications.append((time.time(), payload))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        try:
            self.server = ThreadingHTTPServer((WEBHOOK_HOST, WEBHOOK_PORT), Handler)
        except OSError as e:
            pytest.fail(
                f"cannot listen on {WEBHOOK_HOST}:{WEBHOOK_PORT} for Alertmanager's webhook ({e}); "
                "another receiver holds the port",
                pytrace=False,
            )
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="webhook", daemon=True).start()

    def alerts(self, label: str, prefix: str) -> dict[str, float]:
        """alert_id -> first time a firing alert whose ``label`` starts with ``prefix`` was received."""
        seen: dict[str, float] = {}
        with self.lock:
            for t, payload in self.notifications:
                for a in payload.get("alerts", []):
                    labels = a.get("labels", {})
                    if str(labels.get(label, "")).startswith(prefix) and a.get("status") == "firing":
                        seen.setdefault(str(labels.get("alert_id")), t)
        return seen

    def payloads_text(self) -> str:
        with self.lock:
            return json.dumps([p for _, p in self.notifications], ensure_ascii=False)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def webhook() -> Iterator[Webhook]:
    """Held per module, so the port is free between modules (and for anyone else after them)."""
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture(scope="session")
def alertmanager_url() -> str:
    """The local Alertmanager (``make stack-up``); missing = failure, never a skip."""
    if not _port_open(ALERTMANAGER.removeprefix("http://")):
        pytest.fail(f"Alertmanager not reachable at {ALERTMANAGER}; run `make stack-up`.", pytrace=False)
    return ALERTMANAGER


def alertmanager_alerts(url: str, label: str, prefix: str) -> list[dict[str, Any]]:
    """Active alerts in Alertmanager whose ``label`` starts with ``prefix`` ([] when it is down)."""
    q = urllib.parse.quote(f'{label}=~"{prefix}.*"')
    try:
        with urllib.request.urlopen(f"{url}/api/v2/alerts?filter={q}", timeout=2) as r:
            return list(json.load(r))
    except (urllib.error.URLError, OSError, ValueError):
        return []
