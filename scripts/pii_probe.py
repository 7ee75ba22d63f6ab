"""PII redaction on text nobody on the redactor's side wrote: models/data/probes/pii_blind.jsonl (240 contact-centre
texts, 120 English and 120 Dutch, chat, call transcripts, emails and social messages, each with every piece of personal
data labelled; written by an AI writer on 7 Dec 2026 from a brief that forbade reading the redactor, its tests, its
corpus or its docs). `imon pii-eval`'s corpus and the redactor were written by the same hands; this is the check that
was not.

    .venv/bin/python scripts/pii_probe.py [--probe FILE] [--json out/pii_probe.json] [--show N]

Redacts each text as the worker does (`streams.redaction.Redactor`, the text's language, default config) and prints,
per type: gold spans, found whole (every character inside a redaction), found in part, missed, and the share of gold
characters left in the text; the same by channel and language; then over-redaction: redactions that touch no gold
span, and texts without personal data that lost anything; and the texts the redactor failed on (the worker then
replaces the whole text, so they count as found). `--show N` prints up to N misses and N over-redactions
(the probe's data are invented). Takes a few seconds.

`--turns` reads a call transcript (two or more "agent: " / "customer: " lines) as the worker receives a call: one
event per turn, through the worker's own `Processor.prepare`, which remembers what each agent turn asked for and
reads the customer's next turns as the answer, and remembers the names said. Without it each text is redacted whole, as one event.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _gold_spans(row: dict[str, Any]) -> list[tuple[int, int, str]]:
    """Each labelled value's position in the text: longest values first, each at its first occurrence that no
    value placed before it covers ("Jasmine" signed below "Name: Jasmine Ortiz" is the second "Jasmine")."""
    out: list[tuple[int, int, str]] = []
    for p in sorted(row["pii"], key=lambda p: -len(p["text"])):
        start = row["text"].find(p["text"])
        while start >= 0 and any(start < e and s < start + len(p["text"]) for s, e, _ in out):
            start = row["text"].find(p["text"], start + 1)
        if start < 0:
            raise SystemExit(f"{row['id']}: {p['text']!r} is not in the text (or not as often as it is listed)")
        out.append((start, start + len(p["text"]), p["type"]))
    return sorted(out)


def _turn_finder(redactor: Any) -> Any:
    """``find(text, language)`` that sends a transcript's turns through the worker's ``Processor.prepare`` one
    event each (so its memory of the agent's questions is what is measured) and returns their spans in the
    text's coordinates; any other text is found whole."""
    from datetime import UTC, datetime, timedelta
    from itertools import count
    from types import SimpleNamespace

    import orjson
    from prometheus_client import CollectorRegistry

    from streams.config import Settings
    from streams.metrics import Metrics
    from streams.processor import Processor, _asked_before
    from streams.redaction import _TURN, Span, _turn_bounds
    from streams.schema import decode_event

    store: dict[str, Any] = {}
    unused = SimpleNamespace(name="none", version="none", encoder="none", thresholds={})  # prepare() redacts; it never scores
    proc = Processor(Settings(), unused, redactor, Metrics.create(CollectorRegistry(), process=False), store)  # type: ignore[arg-type]
    calls = count()
    t0 = datetime(2026, 12, 7, tzinfo=UTC)

    def find(text: str, language: str) -> list[Span]:
        turns = list(_TURN.finditer(text))
        if len(turns) < 2:
            return list(redactor.find(text, language))
        iid = f"call-{next(calls)}"
        spans: list[Span] = []
        # (start, end, speaker) of each turn; words before the first label are the customer's opening message
        segments = [(0, turns[0].start(), "customer")] if text[: turns[0].start()].strip() else []
        segments += [(start, end, "agent" if agent else "customer") for agent, start, end in _turn_bounds(text, turns)]
        customer_spoke = False  # the worker's state counts customer turns as they are scored; the probe scores none
        for k, (start, end, speaker) in enumerate(segments):
            ts = t0 + timedelta(seconds=5 * k)
            ev = decode_event(orjson.dumps({
                "schema_version": 1, "event_id": f"{iid}-{k}", "interaction_id": iid, "ts": ts.isoformat(),
                "type": "utterance", "channel": "voice", "speaker": speaker, "text": text[start:end],
                "language": language, "consent": {"ai_analysis": True},
            }), max_event_bytes=1 << 20, max_text_bytes=1 << 20)
            st = store.get(iid) or {}
            answering = _asked_before(st, ts.timestamp()) if speaker == "customer" else frozenset()
            known = frozenset(st.get("names") or ())
            opening = speaker != "customer" and not customer_spoke  # as Processor.prepare decides it
            customer_spoke = customer_spoke or speaker == "customer"
            spans += [Span(sp.start + start, sp.end + start, sp.label)
                      for sp in redactor.find(text[start:end], language, answering, speaker, known, opening=opening)]
            proc.prepare(ev)  # the worker's step: redacts, remembers what an agent asked for and the names said
        return spans

    return find


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--probe", type=Path, default=Path("models/data/probes/pii_blind.jsonl"))
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument("--show", type=int, default=0, help="print up to N misses and N over-redactions")
    ap.add_argument("--turns", action="store_true",
                    help="a call transcript as the worker gets it: one event per agent/customer line")
    args = ap.parse_args()

    from streams.redaction import Redactor, Span

    redactor = Redactor()
    find = _turn_finder(redactor) if args.turns else redactor.find
    rows = [json.loads(x) for x in args.probe.read_text(encoding="utf-8").splitlines() if x.strip()]
    per: dict[str, Counter[str]] = defaultdict(Counter)  # key -> gold / whole / part / missed / chars / left
    misses: list[str] = []
    over: list[str] = []
    over_spans: Counter[str] = Counter()
    clean_texts = clean_touched = 0
    failed: list[str] = []
    for row in rows:
        text = row["text"]
        try:
            spans = find(text, row["language"])
        except Exception as e:  # noqa: BLE001 - the worker's redact() fails closed: the whole text goes
            failed.append(f"{row['id']}: {e!r}")
            spans = [Span(0, len(text), "REDACTED")]
        covered = [False] * len(text)
        for sp in spans:
            for i in range(sp.start, sp.end):
                covered[i] = True
        gold = _gold_spans(row)
        for start, end, typ in gold:
            chars = [i for i in range(start, end) if not text[i].isspace()]
            left = sum(not covered[i] for i in chars)
            how = "whole" if left == 0 else ("missed" if left == len(chars) else "part")
            for key in (typ, f"channel {row['channel']}", f"language {row['language']}", "all"):
                c = per[key]
                c["gold"] += 1
                c[how] += 1
                c["chars"] += len(chars)
                c["left"] += left
            if how != "whole":
                misses.append(f"{how.upper():6s} {typ:11s} {text[start:end]!r:40s} in {row['id']}: "
                              f"{redactor.redact(text, row['language']).text!r}")
        for sp in spans:
            if not any(sp.start < end and start < sp.end for start, end, _ in gold):
                over_spans[sp.label] += 1
                over.append(f"{sp.label:11s} {text[sp.start:sp.end]!r} in {row['id']}")
        if not gold:
            clean_texts += 1
            clean_touched += bool(spans)

    def line(key: str, c: Counter[str]) -> str:
        g = c["gold"]
        return (f"{key:22s} {g:5d} {c['whole'] / g:8.3f} {c['part']:6d} {c['missed']:7d} "
                f"{c['left'] / max(1, c['chars']):8.3f}")

    head = f"{'':22s} {'gold':>5s} {'whole':>8s} {'part':>6s} {'missed':>7s} {'chars left':>10s}"
    print(f"{args.probe}: {len(rows)} texts\n\n{head}")
    for key in sorted(k for k in per if " " not in k and k != "all"):
        print(line(key, per[key]))
    print(line("all", per["all"]))
    print()
    for key in sorted(k for k in per if " " in k):
        print(line(key, per[key]))
    n_over = sum(over_spans.values())
    print(f"\nredactions touching no gold span: {n_over} ({', '.join(f'{k} {v}' for k, v in over_spans.most_common())})")
    print(f"texts without personal data that lost anything: {clean_touched} of {clean_texts}")
    print(f"texts the redactor failed on (replaced whole, as the worker fails closed): {len(failed)}"
          + "".join(f"\n  {f}" for f in failed))
    if args.show:
        print("\n" + "\n".join(misses[: args.show]))
        print("\n" + "\n".join(over[: args.show]))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "probe": str(args.probe), "texts": len(rows),
            "per": {k: dict(v) for k, v in per.items()},
            "over_redactions": dict(over_spans),
            "clean_texts": clean_texts, "clean_texts_touched": clean_touched, "failed": failed,
        }, indent=1))


if __name__ == "__main__":
    main()
