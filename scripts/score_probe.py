"""Score a labelled probe (models/data/probes/blind2.jsonl) through `imon score`, each row its own interaction,
and print the counts a ship rule reads (docs/experiments/rule_4.md).

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/score_probe.py models/data/probes/blind2.jsonl \\
        [--heads out/cand/heads.npz] [--out out/probe_scored.jsonl]

Rows: {"text", "lang", "group", "escalation", "human_requested"} (probe 2; groups ending in _opening,
_escalation and _human are counted as such) or {"text", "lang", "speaker", "group", "sentiment",
"unfair_treatment"} (probes 3 and 4, docs/experiments/rule_17.md, rule_18.md): correct decisions are counted
per language for every task a row is labelled for, with the ROC AUC of the scores per language. Each row is
scored as its speaker (default customer). Without --heads the shipped heads are scored.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

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
        src.write_text("".join(json.dumps({"text": r["text"], "language": r["lang"],
                                           "speaker": r.get("speaker", "customer"),
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
    correct: dict[str, dict[str, int]] = {}
    counts = {"opening_escalation": 0, "opening_human": 0, "escalation_escalation": 0, "human_human": 0}
    groups: dict[str, dict[str, int]] = {}
    for r, s in zip(rows, scored, strict=True):
        got = {t: bool(s["labels"][t]) for t in ("escalation", "human_requested", "unfair_treatment")}
        for t in ("escalation", "unfair_treatment", "sentiment"):
            if t in r:
                right = s["labels"][t] == r[t] if t == "sentiment" else got[t] == bool(r[t])
                c = correct.setdefault(t, {"en": 0, "nl": 0})
                c[r["lang"]] += right
        g = groups.setdefault(r["group"], {"n": 0, "escalation": 0, "human_requested": 0, "unfair_treatment": 0,
                                           "negative": 0})
        g["n"] += 1
        for t, v in got.items():
            g[t] += v
        g["negative"] += s["labels"]["sentiment"] == "negative"
        kind = r["group"].rsplit("_", 1)[-1]  # opening, escalation or human (probe 2)
        counts[f"{kind}_escalation"] = counts.get(f"{kind}_escalation", 0) + got["escalation"]
        counts[f"{kind}_human"] = counts.get(f"{kind}_human", 0) + got["human_requested"]
    res: dict[str, object] = {f"correct_{t}": c for t, c in correct.items()}
    sys.path.insert(0, str(ROOT))
    from models.calibration import auc

    for t in ("escalation", "unfair_treatment"):  # how well the scores rank the rows, per language
        by_lang = {lang: [(s["scores"][t], int(r[t])) for r, s in zip(rows, scored, strict=True)
                          if t in r and r["lang"] == lang] for lang in ("en", "nl")}
        aucs = {lang: round(auc(np.array([p for p, _ in v]), np.array([y for _, y in v])), 3)
                for lang, v in by_lang.items() if len({y for _, y in v}) == 2}
        if aucs:
            res[f"auc_{t}"] = aucs
    if "escalation" in correct:
        res.update({"openings_escalated": counts["opening_escalation"],
                    "escalations_caught": counts["escalation_escalation"], "human_on_requests": counts["human_human"],
                    "human_on_openings": counts["opening_human"]})
    res["groups"] = groups
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
