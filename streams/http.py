"""The worker's small HTTP endpoint: ``/metrics``, ``/healthz`` (alive) and ``/readyz`` (ready).

A plain threaded server so scrapes and probes keep answering while the event loop is busy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


class HealthState:
    """Liveness = the event loop ticked recently and nothing declared the worker stuck;
    readiness = model loaded and consumer running."""

    def __init__(self, stall_after_s: float = 30.0) -> None:
        self.ready = False
        self.last_tick = time.monotonic()
        self.stall_after_s = stall_after_s
        self.failed: str | None = None  # why the worker is stuck (a restart is the cure), or None

    def tick(self) -> None:
        self.last_tick = time.monotonic()

    def fail(self, reason: str) -> None:
        """Report unhealthy from now on, whatever the event loop does (e.g. a stalled recovery)."""
        self.failed = reason

    def alive(self) -> bool:
        return self.failed is None and time.monotonic() - self.last_tick < self.stall_after_s


class RecoveryWatch:
    """Tells a table recovery that stopped making progress from a slow one (docs/RELIABILITY.md, bug 11).

    ``observe`` is fed, about once a second, whether recovery runs and a progress key (generation,
    changelog records left); it returns True once recovery has run for ``stall_s`` with the key
    unchanged. A recovery that reads records, however slowly, changes the key and never trips it.
    """

    def __init__(self, stall_s: float) -> None:
        self.stall_s = stall_s
        self._key: object = None
        self._since: float | None = None
        self._nudged = False

    def observe(self, in_recovery: bool, progress: object, now: float) -> bool:
        if not in_recovery:
            self._since = None
            return False
        if self._since is None or progress != self._key:
            self._key, self._since, self._nudged = progress, now, False
            return False
        return now - self._since >= self.stall_s

    def nudge_due(self, now: float, after_s: float) -> bool:
        """True once per stall (per unchanged progress key), when it has lasted ``after_s``: the moment
        for a cheaper cure than a restart. Call after ``observe``."""
        if self._since is None or self._nudged or now - self._since < after_s:
            return False
        self._nudged = True
        return True

    def stalled_for(self, now: float) -> float:
        return 0.0 if self._since is None else now - self._since


def serve(host: str, port: int, registry: CollectorRegistry, health: HealthState) -> ThreadingHTTPServer:
    """Start the server in a daemon thread; returns it (``server.server_port`` is the bound port)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server API
            path = self.path.split("?", 1)[0]
            routes: dict[str, Callable[[], tuple[int, bytes, str]]] = {
                "/metrics": lambda: (200, generate_latest(registry), CONTENT_TYPE_LATEST),
                "/healthz": lambda: (
                    (200, b"ok\n", "text/plain") if health.alive() else (503, b"stalled\n", "text/plain")
                ),
                "/readyz": lambda: (
                    (200, b"ready\n", "text/plain") if health.ready else (503, b"starting\n", "text/plain")
                ),
            }
            code, body, ctype = routes.get(path, lambda: (404, b"not found\n", "text/plain"))()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # keep scrapes out of the logs
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="imon-http", daemon=True).start()
    return server
