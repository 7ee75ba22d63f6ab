#!/usr/bin/env python3
"""How many routine turns the scorer flags: openings, fillers and agent lines of models/data/probes/.

None of these rows asks for a person, escalates or reports unfair treatment (controls and labelled rows are left
out), so every flag is a false alert. Prints, per probe file, the rows and the flags per task, and the flagged
texts for human_requested. Uses the configured model (IMON_ENCODER_DIR / IMON_ENCODER_ADAPTER / IMON_HEADS_PATH).

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/routine_probe.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

FILES = ("openings_1", "openings_2", "short_1", "short_2", "agent_1", "blind_openings", "blind_fillers")


def main() -> int:
    from models.base import Utterance
    from models.scorer import load_scorer
    from streams.config import Settings

    scorer = load_scorer(Settings(torch_threads=2))
    print(f"model {scorer.name} {scorer.version} on {scorer.encoder}")
    total = {"rows": 0, "human_requested": 0, "escalation": 0, "unfair_treatment": 0}
    for name in FILES:
        lines = (REPO / "models" / "data" / "probes" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        rows = [json.loads(x) for x in lines if x.strip()]
        rows = [r for r in rows if r.get("kind") != "control" and r.get("label") is None]
        res = scorer.score([Utterance(text=r["text"], speaker=r.get("speaker", "customer"),
                                      language=r.get("language", "en")) for r in rows])
        flags = {t: sum(bool(x.labels[t]) for x in res) for t in ("human_requested", "escalation", "unfair_treatment")}
        total["rows"] += len(rows)
        for t, n in flags.items():
            total[t] += n
        asks = [r["text"] for r, x in zip(rows, res, strict=True) if x.labels["human_requested"]]
        print(f"{name:16s} rows {len(rows):3d}  " + "  ".join(f"{t} {n}" for t, n in flags.items())
              + (f"  asks for a person: {asks}" if asks else ""))
    print("total", json.dumps(total))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
