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
    """Liveness = the event loop ticked recently; readiness = model loaded and consumer running."""

    def __init__(self, stall_after_s: float = 30.0) -> None:
        self.ready = False
        self.last_tick = time.monotonic()
        self.stall_after_s = stall_after_s

    def tick(self) -> None:
        self.last_tick = time.monotonic()

    def alive(self) -> bool:
        return time.monotonic() - self.last_tick < self.stall_after_s


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
