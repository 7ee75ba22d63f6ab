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


def _events(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def test_email_threads_change_only_the_email_customer_turns(tmp_path) -> None:
    """`--email-threads` (the default) writes the email channel's customer turns as emails with their thread;
    the conversations, event ids and every other text are those of `--no-email-threads`, the bench's stream."""
    plain, threads = tmp_path / "plain.jsonl", tmp_path / "threads.jsonl"
    common = ["simulate", "--count", "3000", "--rate", "0", "--bad-ratio", "0", "--seed", "5", "-q", "--output"]
    assert main([*common, str(plain), "--no-email-threads"]) == 0
    assert main([*common, str(threads)]) == 0
    a, b = _events(plain), _events(threads)
    assert [e["event_id"] for e in a] == [e["event_id"] for e in b]
    changed = [(x, y) for x, y in zip(a, b, strict=True) if x.get("text") != y.get("text")]
    assert changed and all(y["channel"] == "email" and y["speaker"] == "customer" for _, y in changed)
    assert all("\n" not in e.get("text", "") for e in a)
    replies = [
        y["text"] for x, y in changed
        if x["text"] in y["text"] and any(c.startswith(("On ", "Op ", "-----")) for c in y["text"].split("\n\n"))
    ]  # fmt: skip
    assert len(replies) > 20
    assert any("\n> " in t for t in replies) and any("-----Original Message-----" in t for t in replies)


def test_simulated_emails_are_redacted_and_cut_to_what_the_customer_wrote() -> None:
    """Through the worker's own steps (redaction, then the history cut), every simulated email keeps exactly the
    customer's new text, greeting and sign-off, and no name of the simulator's customers is left anywhere."""
    from streams.email_thread import own_words
    from streams.redaction import Redactor
    from streams.simulator import NAMES, Simulator

    redactor = Redactor()
    name_words = {w for n in NAMES for w in n.split() if w[0].isupper() and len(w) > 2}
    emails = cut = 0
    stream = Simulator(seed=9, bad_ratio=0.0, email_threads=True).events()
    for _ in range(8000):
        ev = json.loads(next(stream)[1])
        if ev.get("channel") != "email" or ev.get("speaker") != "customer":
            continue
        emails += 1
        text = redactor.redact(ev["text"], ev["language"]).text
        assert not any(w in text for w in name_words), text
        chunks = ev["text"].split("\n\n")
        new = next((i for i, c in enumerate(chunks) if c.startswith(("On ", "Op ", "-----"))), len(chunks))
        expected = redactor.redact("\n\n".join(chunks[:new]), ev["language"]).text
        got = own_words(text)
        assert got.text.strip() == expected.strip()
        cut += got.how == "cut"
    assert emails > 200 and cut > 100
