"""Email threads: what cutting the quoted history (IMON_QUOTED_HISTORY) does to the alerts, on
models/data/probes/email_threads.jsonl (64 customer emails, EN + NL, each with its new text labelled apart from the
history below it; written by an AI writer on 7 Dec 2026 from a brief that did not show streams/email_thread.py).

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/email_probe.py [--probe FILE] [--json out/email_probe.json]

Scores every email through `imon score` (channel email, its own interaction) three ways: whole (keep), cut (the
default), and its labelled new text alone (what a perfect cut would give). Prints, per language, how often the cut
finds exactly the new text, and for each binary task the alerts raised on emails whose new text does not call for
one (false alerts: a calm reply re-alerting on its history) and on those whose new text does (found); then, as the
agent, a polite answer that quotes each email below it (two fixed answers per language, written here), whole and
cut: how many are flagged for unfair treatment. Needs the shipped model; about a minute on 2 cores.
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


AGENT_REPLY = {
    "en": ["Dear customer,\n\nThank you for your message. We have passed it on to the team and will get back to you "
           "within two working days.\n\nKind regards,\nCustomer Service",
           "Hello,\n\nThanks for getting back to us. I have updated your case and added your notes.\n\nBest regards,\n"
           "The Support Team"],
    "nl": ["Beste klant,\n\nBedankt voor uw bericht. We hebben het doorgezet naar de afdeling en komen binnen twee "
           "werkdagen bij u terug.\n\nMet vriendelijke groet,\nKlantenservice",
           "Hallo,\n\nDank voor je reactie. Ik heb je dossier bijgewerkt en je opmerkingen toegevoegd.\n\nGroet,\n"
           "Team Klantcontact"],
}


def _score(rows: list[dict[str, Any]], field: str, mode: str, speaker: str = "customer") -> list[dict[str, Any]]:
    from streams.cli import main as imon

    with tempfile.TemporaryDirectory() as d:
        inp, out = Path(d) / "in.jsonl", Path(d) / "out.jsonl"
        inp.write_text("".join(
            json.dumps({"text": r[field], "channel": "email", "event_id": r["id"], "interaction_id": r["id"],
                        "language": r["language"], "speaker": speaker}) + "\n" for r in rows))
        os.environ["IMON_QUOTED_HISTORY"] = mode
        try:
            rc = imon(["score", "-i", str(inp), "-o", str(out), "-q"])
        finally:
            del os.environ["IMON_QUOTED_HISTORY"]
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

    # The agent's side: a polite answer that quotes the customer's whole email below it, as a mail program does.
    # Scored as the agent, an answer quoting a customer's insults or discrimination report must not make the
    # agent the one flagged for unfair treatment (agent-side abuse is attributed to agent_id).
    agent_rows = []
    for i, r in enumerate(rows):
        body = AGENT_REPLY[r["language"]][i % len(AGENT_REPLY[r["language"]])]
        quoted = "\n".join("> " + line for line in r["text"].split("\n"))
        head = ("On Tue, 4 Mar 2025 at 09:12, Customer <customer@example.com> wrote:" if r["language"] == "en"
                else "Op di 4 mrt 2025 om 09:12 schreef Klant <klant@example.com>:")
        agent_rows.append({**r, "text": f"{body}\n\n{head}\n{quoted}", "body": body, "speaker": "agent"})
    agent_runs = {"whole": _score(agent_rows, "text", "keep", "agent"), "cut": _score(agent_rows, "text", "cut", "agent")}
    flagged = {k: sum(bool(x["labels"]["unfair_treatment"]) for x in v) for k, v in agent_runs.items()}
    print(f"\nagent answers quoting the customer's email ({len(agent_rows)}, none unfair itself): flagged for "
          f"unfair_treatment whole {flagged['whole']}, cut {flagged['cut']}")
    report["agent_answers"] = {"n": len(agent_rows), "unfair_treatment_flagged": flagged}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
