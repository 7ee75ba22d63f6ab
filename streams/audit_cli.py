"""``imon audit verify``: check the hash chain of the audit topic, one partition at a time.

Reads the real topic with kafka-python (partitions assigned directly, no consumer group, nothing
committed) and exits 1 with the first break when a chain is broken, 0 when every checked
partition verifies, 2 when the broker or topic cannot be read. The chain format is described in
:mod:`streams.audit` and docs/ETHICS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from typing import Any

from streams.audit import ChainVerifier, VerifyResult, parse_tail
from streams.config import Settings

#: Give up when the broker delivers nothing for this long while records remain to be read.
READ_STALL_S = 30.0


class AuditReadError(RuntimeError):
    """The audit topic could not be read (no broker, no such topic or partition, stalled fetch)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="audit_action", required=True, metavar="ACTION")
    v = sub.add_parser(
        "verify",
        help="verify the audit topic's hash chain",
        description="Verify the tamper-evident hash chain of the audit topic. Exit 0 = intact, "
        "1 = broken (the first break is printed), 2 = the topic could not be read.",
    )
    v.add_argument(
        "--partition",
        type=int,
        action="append",
        dest="partitions",
        metavar="N",
        help="audit partition to check (repeatable; default: every partition of the topic)",
    )
    v.add_argument(
        "--from-offset", type=int, metavar="A", help="first offset to read (default: the earliest kept)"
    )
    v.add_argument(
        "--to-offset", type=int, metavar="B", help="last offset to read, inclusive (default: the end)"
    )
    v.add_argument("--topic", help="audit topic (default IMON_TOPIC_AUDIT)")
    v.add_argument("--json", action="store_true", help="print one JSON result per partition")


def run(args: argparse.Namespace, settings: Settings) -> int:
    if getattr(args, "audit_action", "verify") != "verify":  # pragma: no cover - argparse enforces it
        return 2
    topic = args.topic or settings.topic_audit
    if (
        args.from_offset is not None
        and args.from_offset < 0
        or args.to_offset is not None
        and args.to_offset < 0
    ):
        print("imon audit verify: offsets must be >= 0", file=sys.stderr)
        return 2
    try:
        partitions = args.partitions or topic_partitions(settings, topic)
    except AuditReadError as e:
        print(f"imon audit verify: {e}", file=sys.stderr)
        return 2
    rc = 0
    for p in sorted(set(partitions)):
        try:
            res = verify_partition(read_partition(settings, topic, p, args.from_offset, args.to_offset), p)
        except AuditReadError as e:
            print(f"imon audit verify: {topic}[{p}]: {e}", file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps(result_json(topic, p, res)))
        else:
            print(f"{topic}[{p}]: {res.summary()}")
            if res.first_break is not None:
                print(f"  first break: {res.first_break.describe()}")
        if not res.ok:
            rc = 1
    if rc and not args.json:
        print(
            "imon audit verify: the audit chain is BROKEN: records were altered, removed, reordered or "
            "written outside the chain. See docs/ETHICS.md (audit trail) for what each reason means.",
            file=sys.stderr,
        )
    return rc


def verify_partition(records: Iterator[tuple[int, bytes | None]], partition: int) -> VerifyResult:
    """Check ``(offset, value)`` pairs read from one partition, in offset order.

    A run that starts at offset 0 (nothing ever removed from the partition) must start at the
    chain's genesis; a later start (retention, or ``--from-offset``) is trusted as the anchor.
    """
    v: ChainVerifier | None = None
    for offset, value in records:
        if v is None:
            v = ChainVerifier(partition, expect_genesis=offset == 0)
        rec = parse_tail(value)
        v.feed(rec if rec else None, offset)
    return (v or ChainVerifier(partition)).result()


def result_json(topic: str, partition: int, r: VerifyResult) -> dict[str, Any]:
    return {
        "topic": topic,
        "partition": partition,
        "ok": r.ok,
        "checked": r.checked,
        "breaks": r.breaks,
        "duplicates": r.duplicates,
        "unchained_prefix": r.unchained_prefix,
        "first_seq": r.first_seq,
        "last_seq": r.last_seq,
        "from_genesis": r.from_genesis,
        "first_break": None
        if r.first_break is None
        else {
            "reason": r.first_break.reason,
            "offset": r.first_break.offset,
            "seq": r.first_break.seq,
            "detail": r.first_break.detail,
        },
    }


# -- Kafka ---------------------------------------------------------------------------------------
def _consumer(settings: Settings) -> Any:
    from streams.kafka_io import BrokerUnavailable, consumer

    try:
        # No group: nothing is committed and no other consumer is disturbed.
        return consumer(settings, group_id=None, enable_auto_commit=False, client_id="imon-audit-verify")
    except BrokerUnavailable as e:
        raise AuditReadError(str(e)) from None


def topic_partitions(settings: Settings, topic: str) -> list[int]:
    c = _consumer(settings)
    try:
        parts = c.partitions_for_topic(topic)
    finally:
        c.close()
    if not parts:
        raise AuditReadError(f"topic {topic!r} does not exist or has no partitions")
    return sorted(parts)


def read_partition(
    settings: Settings,
    topic: str,
    partition: int,
    from_offset: int | None = None,
    to_offset: int | None = None,
) -> Iterator[tuple[int, bytes | None]]:
    """Yield ``(offset, value)`` of ``topic[partition]`` from ``from_offset`` to ``to_offset`` (inclusive)."""
    from kafka import TopicPartition

    c = _consumer(settings)
    try:
        parts = c.partitions_for_topic(topic)
        if not parts or partition not in parts:
            raise AuditReadError(f"topic {topic!r} has no partition {partition}")
        tp = TopicPartition(topic, partition)
        c.assign([tp])
        begin = c.beginning_offsets([tp])[tp]
        end = c.end_offsets([tp])[tp]  # fixed at the start: records written meanwhile are not read
        start = begin if from_offset is None else max(begin, from_offset)
        stop = end if to_offset is None else min(end, to_offset + 1)
        if start >= stop:
            return
        c.seek(tp, start)
        last_progress = time.monotonic()
        while c.position(tp) < stop:
            batch = c.poll(timeout_ms=1000, max_records=2000)
            got = False
            for msg in batch.get(tp, []):
                if msg.offset >= stop:
                    return
                got = True
                yield msg.offset, msg.value
            if got:
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > READ_STALL_S:
                raise AuditReadError(f"no records for {READ_STALL_S:.0f}s before offset {stop}")
    finally:
        c.close()


def read_tails(settings: Settings, topic: str, partitions: list[int]) -> dict[int, dict[str, Any] | None]:
    """The last record of each audit partition, for :meth:`streams.audit.AuditChain.resume`.

    None for an empty partition (the chain starts at genesis), ``{}`` for an unreadable last
    record. Blocking (kafka-python): the worker runs it in a thread when partitions are assigned.
    """
    from kafka import TopicPartition

    c = _consumer(settings)
    out: dict[int, dict[str, Any] | None] = {}
    try:
        for p in partitions:
            tp = TopicPartition(topic, p)
            c.assign([tp])  # one at a time, so a poll returns only this partition's records
            begin, end = c.beginning_offsets([tp])[tp], c.end_offsets([tp])[tp]
            out[p] = None if end <= begin else _last_record(c, tp, begin, end)
    finally:
        c.close()
    return out


def _last_record(c: Any, tp: Any, begin: int, end: int) -> dict[str, Any]:
    # The newest offset may be a transaction marker rather than a record: step back until a record.
    back = 1
    deadline = time.monotonic() + READ_STALL_S
    while time.monotonic() < deadline:
        start = max(begin, end - back)
        c.seek(tp, start)
        last = None
        while c.position(tp) < end and time.monotonic() < deadline:
            for msg in c.poll(timeout_ms=1000).get(tp, []):
                if msg.offset < end:
                    last = msg
        if last is not None:
            return parse_tail(last.value)
        if start == begin:
            return {}
        back *= 8
    raise AuditReadError(f"could not read the last record of {tp.topic}[{tp.partition}]")
