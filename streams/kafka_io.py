"""kafka-python helpers: topic creation, producers and consumers built from the settings.

Used by ``imon topics``, ``imon simulate``, the tests and benchmarks. The worker itself talks to
Kafka through Faust (aiokafka); both read connection and TLS/SASL options from the same settings.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Iterable

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, KafkaTimeoutError, TopicAlreadyExistsError

from streams.config import BrokerUnavailable, Settings

log = logging.getLogger(__name__)


def wait_for_broker(settings: Settings, timeout_s: float = 30.0) -> None:
    """Wait until one bootstrap server accepts TCP connections, else raise :class:`BrokerUnavailable`.
    Says once, after the first refusal, that it is waiting and for how long (a broker just started takes a few
    seconds to listen), so a command does not sit silent for ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    servers = [b.strip() for b in settings.kafka_bootstrap.split(",") if b.strip()]
    said = False
    while True:
        for hp in servers:
            host, _, port = hp.rpartition(":")
            try:
                with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=2):
                    return
            except (OSError, ValueError):
                continue
        if time.monotonic() > deadline:
            raise BrokerUnavailable(
                f"no Kafka broker reachable at {settings.kafka_bootstrap} "
                "(start the local one with `make stack-up`, or set IMON_KAFKA_BOOTSTRAP)"
            )
        if not said:
            log.warning("Kafka at %s does not answer yet; waiting up to %.0f s", settings.kafka_bootstrap, timeout_s)
            said = True
        time.sleep(0.5)


def all_topics(settings: Settings) -> list[str]:
    return [
        settings.topic_input,
        settings.topic_scored,
        settings.topic_alerts,
        settings.topic_audit,
        settings.topic_dlq,
        settings.topic_feedback,
    ]


def admin(settings: Settings, timeout_s: float = 30.0) -> KafkaAdminClient:
    wait_for_broker(settings, timeout_s)
    try:
        return KafkaAdminClient(client_id="imon-admin", **settings.kafka_python_kwargs())
    except KafkaTimeoutError:
        if "SASL" in settings.kafka_security_protocol:
            raise BrokerUnavailable(
                f"Kafka at {settings.kafka_bootstrap} did not answer or refused the credentials "
                f"(SASL authentication failed? mechanism {settings.kafka_sasl_mechanism}, "
                f"user {settings.kafka_sasl_username!r}); see the log lines above"
            ) from None
        raise BrokerUnavailable(f"Kafka at {settings.kafka_bootstrap} did not answer") from None


def create_topics(
    settings: Settings, names: Iterable[str] | None = None, partitions: int | None = None
) -> list[str]:
    """Create the topics that do not exist yet; returns the ones created."""
    names = list(names) if names is not None else all_topics(settings)
    n = partitions or settings.topic_partitions
    cli = admin(settings)
    try:
        existing = set(cli.list_topics())
        todo = [t for t in names if t not in existing]
        if todo:
            with contextlib.suppress(TopicAlreadyExistsError):
                cli.create_topics(
                    [NewTopic(name=t, num_partitions=n, replication_factor=1) for t in todo], timeout_ms=30000
                )
        # Wait until the broker reports them (and their leaders) so producers don't race ahead.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if set(names) <= set(cli.list_topics()):
                break
            time.sleep(0.2)
        return todo
    finally:
        cli.close()


def delete_topics(settings: Settings, names: Iterable[str]) -> None:
    cli = admin(settings)
    try:
        existing = set(cli.list_topics())
        todo = [t for t in names if t in existing]
        if todo:
            cli.delete_topics(todo, timeout_ms=30000)
    except KafkaError as e:  # best effort, used by test clean-up
        log.warning("could not delete topics: %s", type(e).__name__)
    finally:
        cli.close()


def producer(settings: Settings, **kw: object) -> KafkaProducer:
    opts: dict[str, object] = {"acks": "all", "linger_ms": 5, "retries": 5, "client_id": "imon-producer"}
    opts.update(kw)
    wait_for_broker(settings)
    return KafkaProducer(**settings.kafka_python_kwargs(), **opts)


def consumer(settings: Settings, *topics: str, group_id: str | None = None, **kw: object) -> KafkaConsumer:
    opts: dict[str, object] = {
        "auto_offset_reset": "earliest",
        "enable_auto_commit": group_id is not None,
        "group_id": group_id,
        "consumer_timeout_ms": 1000,
        "client_id": "imon-consumer",
    }
    opts.update(kw)
    wait_for_broker(settings)
    return KafkaConsumer(*topics, **settings.kafka_python_kwargs(), **opts)
