"""`imon simulate`: a new stream each run unless a seed is given, and the seed it used is printed to replay it."""

from __future__ import annotations

import json
import re

from streams.cli import main


def _ids(path) -> list[str]:
    return [json.loads(line)["event_id"] for line in path.read_text().splitlines() if line.startswith("{")]


def test_each_run_is_a_new_stream_and_its_printed_seed_replays_it(tmp_path, capsys) -> None:
    a, b, c = (tmp_path / f"{n}.jsonl" for n in "abc")
    assert main(["simulate", "--count", "20", "--bad-ratio", "0", "--output", str(a), "-q"]) == 0
    seed = int(re.search(r"seed (\d+) \(--seed \1 replays this traffic\)", capsys.readouterr().err).group(1))
    assert main(["simulate", "--count", "20", "--bad-ratio", "0", "--output", str(b), "-q"]) == 0
    assert main(["simulate", "--count", "20", "--bad-ratio", "0", "--seed", str(seed), "--output", str(c), "-q"]) == 0
    assert len(_ids(a)) == 20
    assert not set(_ids(a)) & set(_ids(b))  # another run, other event ids (a 1 in 2^32 clash of seeds aside)
    assert _ids(c) == _ids(a)
