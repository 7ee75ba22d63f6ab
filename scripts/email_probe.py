"""Email threads: what cutting the quoted history (IMON_EMAIL_QUOTED_HISTORY) does to the alerts, on
models/data/probes/email_threads.jsonl (64 customer emails, EN + NL, each with its new text labelled apart from the
history below it; written by an AI writer on 7 Dec 2026 from a brief that did not show streams/email_thread.py).

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/email_probe.py [--probe FILE] [--json out/email_probe.json]

Scores every email through `imon score` (channel email, its own interaction) three ways: whole (keep), cut (the
default), and its labelled new text alone (what a perfect cut would give). Prints, per language, how often the cut
finds exactly the new text, and for each binary task the alerts raised on emails whose new text does not call for
one (false alerts: a calm reply re-alerting on its history) and on those whose new text does (found). Needs the
shipped model; about a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TASKS = ("escalation", "human_requested", "unfair_treatment")


def _score(rows: list[dict[str, Any]], field: str, mode: str) -> list[dict[str, Any]]:
    from streams.cli import main as imon

    with tempfile.TemporaryDirectory() as d:
        inp, out = Path(d) / "in.jsonl", Path(d) / "out.jsonl"
        inp.write_text("".join(
            json.dumps({"text": r[field], "channel": "email", "event_id": r["id"], "interaction_id": r["id"],
                        "language": r["language"], "speaker": "customer"}) + "\n" for r in rows))
        os.environ["IMON_EMAIL_QUOTED_HISTORY"] = mode
        try:
            rc = imon(["score", "-i", str(inp), "-o", str(out), "-q"])
        finally:
            del os.environ["IMON_EMAIL_QUOTED_HISTORY"]
        if rc != 0:
            raise SystemExit(f"imon score failed ({rc})")
        return [json.loads(x) for x in out.read_text().splitlines()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--probe", type=Path, default=Path("models/data/probes/email_threads.jsonl"))
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()

    from streams.email_thread import own_words

    rows = [json.loads(x) for x in args.probe.read_text(encoding="utf-8").splitlines() if x.strip()]
    runs = {"whole": _score(rows, "text", "keep"), "cut": _score(rows, "text", "cut"),
            "new text alone": _score(rows, "body", "keep")}

    def norm(t: str) -> str:
        return "\n".join(line.strip() for line in t.strip().split("\n") if line.strip())

    report: dict[str, Any] = {"probe": str(args.probe), "n": len(rows), "languages": {}}
    for lang in sorted({r["language"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["language"] == lang]
        exact = sum(norm(own_words(rows[i]["text"]).text) == norm(rows[i]["body"]) for i in idx)
        lang_rep: dict[str, Any] = {"emails": len(idx), "cut_finds_the_new_text": exact, "tasks": {}}
        print(f"\n{lang}: {len(idx)} emails; the cut finds exactly the new text in {exact}")
        print(f"  {'task':18s} {'new text says':>14s}  " + "  ".join(f"{k:>15s}" for k in runs))
        for t in TASKS:
            for truth in (False, True):
                sel = [i for i in idx if bool(rows[i]["body_labels"][t]) is truth]
                if not sel:
                    continue
                counts = {k: sum(bool(runs[k][i]["labels"][t]) for i in sel) for k in runs}
                lang_rep["tasks"].setdefault(t, {})["positive" if truth else "negative"] = {"n": len(sel), **counts}
                what = f"yes ({len(sel)})" if truth else f"no ({len(sel)})"
                print(f"  {t:18s} {what:>14s}  " + "  ".join(f"{counts[k]:>15d}" for k in runs))
        report["languages"][lang] = lang_rep
    print("\n(rows: emails whose new text does / does not call for the alert; columns: how many were flagged)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
