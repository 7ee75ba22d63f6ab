"""`imon bench`'s options: the latency phase's load as a fraction of the capacity it measured."""

from __future__ import annotations

import argparse

import pytest

from streams import bench


def parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    bench.add_arguments(p)
    return p.parse_args(list(argv))


def test_latency_load_defaults_to_half_and_takes_a_fraction() -> None:
    assert parse().latency_load == 0.5 and parse().latency_rate is None
    assert parse("--latency-load", "0.35").latency_load == 0.35


@pytest.mark.parametrize("bad", ["0", "-0.2", "2.5"])
def test_latency_load_outside_its_range_is_refused(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        parse("--latency-load", bad)
    assert e.value.code == 2
    assert "a fraction of the measured capacity" in capsys.readouterr().err
