"""``imon audit verify`` without a broker: the Kafka reader is replaced by in-memory partitions."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from streams import audit_cli
from streams.audit import AuditChain
from streams.config import Settings


def sealed_bytes(n: int, partition: int) -> list[bytes]:
    chain = AuditChain()
    chain.resume(partition, None)
    return [
        orjson.dumps(chain.seal({"audit_id": f"{partition}-{i}", "decision": "scored"}, partition))
        for i in range(n)
    ]


@pytest.fixture
def topic(monkeypatch: pytest.MonkeyPatch) -> dict[int, list[bytes | None]]:
    """Partition -> values at offsets 0.. of a fake audit topic."""
    parts: dict[int, list[bytes | None]] = {0: list(sealed_bytes(20, 0)), 1: list(sealed_bytes(15, 1))}

    def read(
        settings: Settings,
        topic: str,
        partition: int,
        from_offset: int | None = None,
        to_offset: int | None = None,
    ) -> Iterator[tuple[int, bytes | None]]:
        if partition not in parts:
            raise audit_cli.AuditReadError(f"topic {topic!r} has no partition {partition}")
        values = parts[partition]
        stop = len(values) if to_offset is None else min(len(values), to_offset + 1)
        for off in range(from_offset or 0, stop):
            yield off, values[off]

    monkeypatch.setattr(audit_cli, "read_partition", read)
    monkeypatch.setattr(audit_cli, "topic_partitions", lambda settings, topic: sorted(parts))
    return parts


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="imon audit")
    audit_cli.add_arguments(p)
    return p.parse_args(argv)


def test_intact_chains_exit_0(topic: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert audit_cli.run(parse(["verify"]), Settings()) == 0
    out = capsys.readouterr().out
    assert "audit[0]: OK: 20 record(s) checked, seq 0..19" in out
    assert "audit[1]: OK: 15 record(s) checked" in out


def test_a_broken_chain_exits_1_and_names_the_offset(topic: Any, capsys: pytest.CaptureFixture[str]) -> None:
    rec = orjson.loads(topic[1][6])
    rec["decision"] = "rejected"
    topic[1][6] = orjson.dumps(rec)
    assert audit_cli.run(parse(["verify", "--partition", "1"]), Settings()) == 1
    cap = capsys.readouterr()
    assert "first break: altered at offset 6 (seq 6)" in cap.out
    assert "audit chain is BROKEN" in cap.err
    assert "audit[0]" not in cap.out  # only the partition asked for


def test_an_offset_range_is_anchored_at_its_first_record(
    topic: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    del topic[0][3]  # a gap before the range does not matter to the range
    args = parse(["verify", "--partition", "0", "--from-offset", "5", "--to-offset", "12", "--json"])
    assert audit_cli.run(args, Settings()) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["ok"] and res["checked"] == 8 and res["from_genesis"] is False


def test_records_missing_from_the_start_of_the_partition_are_found(
    topic: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    del topic[0][0]
    assert audit_cli.run(parse(["verify", "--partition", "0", "--json"]), Settings()) == 1
    res = json.loads(capsys.readouterr().out)
    assert res["first_break"]["reason"] == "missing" and res["first_break"]["offset"] == 0


def test_garbage_on_the_topic_is_a_break(topic: Any, capsys: pytest.CaptureFixture[str]) -> None:
    topic[0].insert(10, b"not json")
    topic[0].insert(11, None)
    assert audit_cli.run(parse(["verify", "--partition", "0"]), Settings()) == 1
    assert "unchained at offset 10" in capsys.readouterr().out


def test_an_unreadable_topic_exits_2(topic: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert audit_cli.run(parse(["verify", "--partition", "7"]), Settings()) == 2
    assert "has no partition 7" in capsys.readouterr().err
    assert audit_cli.run(parse(["verify", "--from-offset", "-1"]), Settings()) == 2
