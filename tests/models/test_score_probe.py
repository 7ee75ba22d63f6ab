"""scripts/score_probe.py: a probe scored through `imon score` (real model), counted as the ship rules read it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _score(tmp_path: Path, pick: list[dict]) -> tuple[dict, list[dict]]:
    """Run the script on ``pick``: its printed counts and the scored lines it kept."""
    probe = tmp_path / "probe.jsonl"
    probe.write_text("".join(json.dumps(r) + "\n" for r in pick), encoding="utf-8")
    scored = tmp_path / "scored.jsonl"
    out = subprocess.run([sys.executable, "scripts/score_probe.py", str(probe), "--out", str(scored)], cwd=ROOT,
                         capture_output=True, text=True, check=True, timeout=300)
    return json.loads(out.stdout), [json.loads(x) for x in scored.read_text(encoding="utf-8").splitlines()]


def test_score_probe_counts_what_imon_score_decided(tmp_path: Path) -> None:
    rows = [json.loads(x) for x in (ROOT / "models/data/probes/blind2.jsonl").read_text(encoding="utf-8").splitlines()]
    pick = [next(r for r in rows if r["group"] == g) for g in ("nl_opening", "en_escalation", "nl_human", "en_opening")]
    res, lines = _score(tmp_path, pick)
    assert [x["interaction_id"] for x in lines] == [f"probe{i}" for i in range(4)], "each row its own conversation"
    esc = [bool(x["labels"]["escalation"]) for x in lines]
    hum = [bool(x["labels"]["human_requested"]) for x in lines]
    assert res["groups"]["nl_human"] == {"n": 1, "escalation": int(esc[2]), "human_requested": int(hum[2]),
                                         "unfair_treatment": int(lines[2]["labels"]["unfair_treatment"]),
                                         "negative": int(lines[2]["labels"]["sentiment"] == "negative")}
    assert res["openings_escalated"] == esc[0] + esc[3] and res["escalations_caught"] == esc[1]
    assert res["human_on_requests"] == hum[2] and res["human_on_openings"] == hum[0] + hum[3]
    assert res["correct_escalation"] == {"nl": (not esc[0]) + esc[2], "en": esc[1] + (not esc[3])}


def test_score_probe_scores_each_row_as_its_speaker_and_counts_unfair_treatment(tmp_path: Path) -> None:
    """Probe 3's rows (docs/experiments/rule_17.md) carry a speaker and unfair_treatment / sentiment labels."""
    rows = [json.loads(x) for x in (ROOT / "models/data/probes/blind3.jsonl").read_text(encoding="utf-8").splitlines()]
    pick = [next(r for r in rows if r["group"] == g and r["speaker"] == sp)
            for g, sp in (("nl_unfair", "agent"), ("nl_fair", "customer"), ("en_unfair", "customer"), ("en_fair", "agent"))]
    res, lines = _score(tmp_path, pick)
    assert [x["speaker"] for x in lines] == [r["speaker"] for r in pick]
    unfair = [bool(x["labels"]["unfair_treatment"]) for x in lines]
    assert res["correct_unfair_treatment"] == {"nl": unfair[0] + (not unfair[1]), "en": unfair[2] + (not unfair[3])}
    assert res["correct_sentiment"] == {
        lang: sum(x["labels"]["sentiment"] == r["sentiment"] for r, x in zip(pick, lines, strict=True) if r["lang"] == lang)
        for lang in ("nl", "en")}
    s_ = [x["scores"]["unfair_treatment"] for x in lines]
    assert res["auc_unfair_treatment"] == {"nl": float(s_[0] > s_[1]) if s_[0] != s_[1] else 0.5,
                                           "en": float(s_[2] > s_[3]) if s_[2] != s_[3] else 0.5}
    assert "openings_escalated" not in res
