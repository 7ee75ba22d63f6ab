"""Shared fixtures. Broker tests talk to the real local Kafka (``make stack-up``; ``make test`` starts
it) and FAIL when it is missing: they never skip."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
STACK = REPO / ".stack"
KAFKA = os.environ.get("IMON_TEST_KAFKA", f"127.0.0.1:{os.environ.get('IMON_STACK_KAFKA_PORT', '9092')}")
PROMETHEUS = f"http://127.0.0.1:{os.environ.get('IMON_STACK_PROMETHEUS_PORT', '9090')}"
ALERTMANAGER = f"http://127.0.0.1:{os.environ.get('IMON_STACK_ALERTMANAGER_PORT', '9093')}"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _port_open(hostport: str) -> bool:
    host, _, port = hostport.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """The real broker. Missing broker = failure with instructions, never a skip."""
    deadline = time.monotonic() + 30
    while not _port_open(KAFKA):
        if time.monotonic() > deadline:
            pytest.fail(
                f"Kafka broker not reachable at {KAFKA}. Start the local stack with `make stack-up` "
                "(`make test` does it for you).",
                pytrace=False,
            )
        time.sleep(0.5)
    return KAFKA


@pytest.fixture(scope="session")
def prometheus_url() -> str:
    if not _port_open(PROMETHEUS.removeprefix("http://")):
        pytest.fail(f"Prometheus not reachable at {PROMETHEUS}; run `make stack-up`.", pytrace=False)
    return PROMETHEUS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def test_env(kafka_bootstrap: str) -> dict[str, str]:
    """IMON_* settings with fresh topic names and consumer group for one test."""
    tag = uuid.uuid4().hex[:10]
    return {
        "IMON_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "IMON_APP_ID": f"imon-test-{tag}",
        "IMON_TOPIC_INPUT": f"t-{tag}-interactions",
        "IMON_TOPIC_SCORED": f"t-{tag}-scored",
        "IMON_TOPIC_ALERTS": f"t-{tag}-alerts",
        "IMON_TOPIC_AUDIT": f"t-{tag}-audit",
        "IMON_TOPIC_DLQ": f"t-{tag}-dlq",
        "IMON_TOPIC_FEEDBACK": f"t-{tag}-feedback",
        "IMON_TOPIC_PARTITIONS": "2",
        "IMON_LOG_LEVEL": "INFO",
    }


def settings_from(env: dict[str, str]) -> Any:
    from streams.config import Settings

    return Settings(**{k.removeprefix("IMON_").lower(): v for k, v in env.items() if k.startswith("IMON_")})


class WorkerProcess:
    """``imon worker`` in a subprocess, with its /metrics port."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.env = {**os.environ, **env, "IMON_METRICS_PORT": str(self.port), "IMON_METRICS_HOST": "127.0.0.1"}
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, ready_timeout: float = 120.0) -> WorkerProcess:
        self.log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker"], env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited with {self.proc.returncode}:\n{self.tail()}")
            if self.http("/readyz")[0] == 200:
                return self
            time.sleep(0.5)
        raise AssertionError(f"worker not ready after {ready_timeout}s:\n{self.tail()}")

    def http(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, ""
        except OSError:
            return 0, ""

    def metric(self, name: str, **labels: str) -> float:
        """Sum of the samples of ``name`` whose labels include ``labels`` (0 when absent)."""
        from prometheus_client.parser import text_string_to_metric_families

        _, text = self.http("/metrics")
        total = 0.0
        for fam in text_string_to_metric_families(text):
            for s in fam.samples:
                if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                    total += s.value
        return total

    def tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self, sig: int = 15, timeout: float = 30) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if hasattr(self, "log"):
            self.log.close()


@pytest.fixture
def worker_factory(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def make(env: dict[str, str], **overrides: str) -> WorkerProcess:
        w = WorkerProcess({**env, **overrides}, tmp_path / f"worker-{len(started)}.log")
        started.append(w)
        return w.start()

    yield make
    for w in started:
        w.stop()


def consume_all(
    settings: Any, topic: str, until: Callable[[list[dict[str, Any]]], bool], timeout: float = 90.0
) -> list[dict[str, Any]]:
    """Read ``topic`` from the beginning until ``until(records)`` holds or the timeout passes."""
    from streams.kafka_io import consumer

    c = consumer(settings, topic, consumer_timeout_ms=500)
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for m in c:
                out.append({"key": m.key.decode() if m.key else None, "partition": m.partition, **json.loads(m.value)})
            if until(out):
                break
    finally:
        c.close()
    return out
