"""Score a labelled probe (models/data/probes/blind2.jsonl) through `imon score`, each row its own interaction,
and print the counts a ship rule reads (docs/experiments/rule_4.md).

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/score_probe.py models/data/probes/blind2.jsonl \\
        [--heads out/cand/heads.npz] [--out out/probe_scored.jsonl]

Rows: {"text", "lang", "group", "escalation", "human_requested"}; groups ending in _opening, _escalation and
_human are counted as such. Without --heads the shipped heads are scored.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("probe", type=Path)
    ap.add_argument("--heads", type=Path, default=None, help="heads .npz (default: the shipped ones)")
    ap.add_argument("--out", type=Path, default=None, help="keep the scored lines here")
    args = ap.parse_args()
    rows = [json.loads(line) for line in args.probe.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.jsonl", args.out or Path(tmp) / "out.jsonl"
        src.write_text("".join(json.dumps({"text": r["text"], "language": r["lang"], "speaker": "customer",
                                           "interaction_id": f"probe{i}", "event_id": f"probe{i}"}) + "\n"
                               for i, r in enumerate(rows)), encoding="utf-8")
        env = dict(os.environ, HF_HUB_OFFLINE="1")
        if args.heads:
            env["IMON_HEADS_PATH"] = str(args.heads.resolve())
        subprocess.run([sys.executable, "-m", "streams.cli", "score", "-q", "-i", str(src), "-o", str(out)],
                       check=True, env=env, cwd=ROOT)
        scored = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    if len(scored) != len(rows) or any("error" in s for s in scored):
        raise SystemExit("some probe rows were not scored")
    correct = {"en": 0, "nl": 0}
    counts = {"opening_escalation": 0, "opening_human": 0, "escalation_escalation": 0, "human_human": 0}
    groups: dict[str, dict[str, int]] = {}
    for r, s in zip(rows, scored, strict=True):
        esc, hum = bool(s["labels"]["escalation"]), bool(s["labels"]["human_requested"])
        correct[r["lang"]] += esc == bool(r["escalation"])
        g = groups.setdefault(r["group"], {"n": 0, "escalation": 0, "human_requested": 0, "negative": 0})
        g["n"] += 1
        g["escalation"] += esc
        g["human_requested"] += hum
        g["negative"] += s["labels"]["sentiment"] == "negative"
        kind = r["group"].rsplit("_", 1)[-1]  # opening, escalation or human
        counts[f"{kind}_escalation"] = counts.get(f"{kind}_escalation", 0) + esc
        counts[f"{kind}_human"] = counts.get(f"{kind}_human", 0) + hum
    res = {"correct_escalation": correct, "openings_escalated": counts["opening_escalation"],
           "escalations_caught": counts["escalation_escalation"], "human_on_requests": counts["human_human"],
           "human_on_openings": counts["opening_human"], "groups": groups}
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
