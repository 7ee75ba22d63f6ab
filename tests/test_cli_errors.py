"""`imon` turns a user's mistake into one clear line and exit status 2, not a traceback."""

from __future__ import annotations

import pytest

from streams.cli import main


def test_an_out_of_range_setting_names_the_variable(monkeypatch, capsys) -> None:
    monkeypatch.setenv("IMON_BATCH_MAX_SIZE", "0")
    monkeypatch.setenv("IMON_BATCH_MAX_WAIT_S", "-1")
    assert main(["worker"]) == 2
    err = capsys.readouterr().err
    assert "imon worker: invalid settings:" in err
    assert "IMON_BATCH_MAX_SIZE='0'" in err and "IMON_BATCH_MAX_WAIT_S='-1'" in err
    assert "Traceback" not in err


def test_a_missing_input_file_fails_before_the_model_loads(monkeypatch, capsys, tmp_path) -> None:
    import models.scorer

    def never(*_a, **_k):
        raise AssertionError("the model was loaded for an input that does not exist")

    monkeypatch.setattr(models.scorer, "load_scorer", never)
    missing = tmp_path / "nope.jsonl"
    assert main(["score", "-i", str(missing), "-o", str(tmp_path / "out.jsonl")]) == 2
    assert capsys.readouterr().err.strip() == f"imon score: {missing}: No such file or directory"
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize(("flag", "value", "says"), [
    ("--rate", "-1", "must be at least 0"),
    ("--rate", "fast", "is not a number"),
    ("--count", "0", "must be at least 1"),
    ("--duration", "0", "must be above 0"),
    ("--bad-ratio", "1.5", "must be at least 0 and at most 1"),
])
def test_simulate_rejects_out_of_range_flags(flag, value, says, capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(["simulate", flag, value, "--output", "-"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}: " in err and says in err


def test_simulate_to_a_file_still_works(tmp_path) -> None:
    out = tmp_path / "sim.jsonl"
    assert main(["simulate", "--count", "5", "--bad-ratio", "0", "--output", str(out), "-q"]) == 0
    assert len(out.read_text().splitlines()) == 5


def test_no_broker_is_one_line_and_exit_1(monkeypatch, capsys) -> None:
    import streams.worker
    from streams.config import BrokerUnavailable
    from streams.kafka_io import BrokerUnavailable as FromKafkaIO

    assert FromKafkaIO is BrokerUnavailable  # the name kafka_io raises is the one the command line catches

    def no_broker(_settings):
        raise BrokerUnavailable("no Kafka broker reachable at 127.0.0.1:1")

    monkeypatch.setattr(streams.worker, "run_worker", no_broker)
    assert main(["worker"]) == 1
    assert capsys.readouterr().err.strip() == "imon worker: no Kafka broker reachable at 127.0.0.1:1"


def test_a_missing_heads_file_is_named_as_given(tmp_path) -> None:
    from models.heads import Heads

    with pytest.raises(FileNotFoundError) as e:
        Heads.load(tmp_path / "heads.npz")
    assert e.value.filename == str(tmp_path / "heads.npz")


@pytest.mark.parametrize("argv", [["topics", "list"], ["topics", "create"], ["simulate", "--count", "3", "--seed", "1"]])
def test_no_broker_is_exit_1_for_the_kafka_commands_too(monkeypatch, capsys, argv) -> None:
    """``imon topics`` and ``imon simulate`` used to catch it themselves and exit 2, the status of a usage error."""
    import streams.kafka_io
    from streams.config import BrokerUnavailable

    def no_broker(*_a, **_k):
        raise BrokerUnavailable("no Kafka broker reachable at 127.0.0.1:1")

    monkeypatch.setattr(streams.kafka_io, "admin", no_broker)
    monkeypatch.setattr(streams.kafka_io, "create_topics", no_broker)
    assert main(argv) == 1
    assert capsys.readouterr().err.strip().endswith(f"imon {argv[0]}: no Kafka broker reachable at 127.0.0.1:1")


def test_waiting_for_the_broker_is_said_once(monkeypatch, caplog) -> None:
    from streams.config import BrokerUnavailable, Settings
    from streams.kafka_io import wait_for_broker

    with caplog.at_level("WARNING", logger="streams.kafka_io"), pytest.raises(BrokerUnavailable, match="127.0.0.1:1"):
        wait_for_broker(Settings(kafka_bootstrap="127.0.0.1:1"), timeout_s=1.2)
    assert [r.getMessage() for r in caplog.records] == ["Kafka at 127.0.0.1:1 does not answer yet; waiting up to 1 s"]
