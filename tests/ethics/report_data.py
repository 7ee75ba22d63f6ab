"""A generated ``imon score``-style output: conversations with consented segments, model labels,
alerts, redaction counts and end outcomes, with a known bias (Dutch-speaking customers escalate
and stay unresolved more often). Every text is a canary the report must never show."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

CANARY = "CANARY-TEXT-jan.jansen@example.com"
START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
MODEL = {"name": "imon-heads", "version": "2025.03-test", "encoder": "all-MiniLM-L6-v2"}


def _ts(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def scored_lines(n_conversations: int = 900, seed: int = 11, biased: bool = True) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for c in range(n_conversations):
        iid = f"conv-{c}"
        lang = rng.choices(["en", "nl", "de"], [0.6, 0.3, 0.1])[0]
        segment = {
            "language": lang,
            "region": rng.choice(["north", "south", "east", "west"]),
            "age_band": rng.choice(["18-34", "35-54", "55+", "unknown-band"]),
        }
        channel = rng.choices(["chat", "voice", "email", "social"], [0.6, 0.25, 0.1, 0.05])[0]
        consent = rng.random() > 0.05
        t = START + timedelta(seconds=c * 20)
        p_esc = 0.35 if (biased and lang == "nl") else 0.12
        p_unres = 0.45 if (biased and lang == "nl") else 0.2
        base = {
            "schema_version": 1,
            "interaction_id": iid,
            "channel": channel,
            "language": lang,
            "queue": rng.choice(["billing", "technical", "sales", "weird queue name"]),
            "consent": {"ai_analysis": consent},
            "segment": segment,
        }
        out.append(
            {
                **base,
                "event_id": f"{iid}-s",
                "type": "start",
                "ts": _ts(t),
                "scored": False,
                "reason": "not_an_utterance",
                "alerts": [],
            }
        )
        for u in range(rng.randint(2, 5)):
            speaker = "customer" if u % 2 == 0 else "agent"
            t += timedelta(seconds=15)
            ev = {**base, "event_id": f"{iid}-{u}", "type": "utterance", "ts": _ts(t), "speaker": speaker}
            if not consent:
                out.append({**ev, "text": None, "scored": False, "reason": "no_consent", "alerts": []})
                continue
            esc = speaker == "customer" and rng.random() < p_esc
            neg = rng.random() < (0.5 if esc else 0.2)
            unfair = rng.random() < 0.03
            alerts = []
            if esc:
                alerts.append(
                    {
                        "alert_id": f"{iid}-{u}-esc",
                        "type": "escalation",
                        "severity": "warning",
                        "score": 0.8,
                        "threshold": 0.5,
                        "rule": "escalation >= 0.50",
                        "evidence": [CANARY],
                    }
                )
            if unfair:
                alerts.append(
                    {
                        "alert_id": f"{iid}-{u}-unf",
                        "type": "unfair_treatment",
                        "severity": "warning",
                        "score": 0.7,
                        "threshold": 0.5,
                        "rule": "unfair_treatment >= 0.50",
                        "evidence": [CANARY],
                    }
                )
            out.append(
                {
                    **ev,
                    "text": f"{CANARY} utterance {u}",
                    "scores": {
                        "sentiment": {
                            "negative": 0.7 if neg else 0.1,
                            "neutral": 0.2,
                            "positive": 0.1 if neg else 0.7,
                        },
                        "escalation": 0.8 if esc else 0.05,
                        "human_requested": 0.01,
                        "unfair_treatment": 0.7 if unfair else 0.01,
                    },
                    "labels": {
                        "sentiment": "negative" if neg else "positive",
                        "escalation": esc,
                        "human_requested": False,
                        "unfair_treatment": unfair,
                    },
                    "evidence": {"escalation": [CANARY]} if esc else {},
                    "conversation": {"escalation_risk": 0.2},
                    "redactions": {"EMAIL": 1, "PHONE": rng.randint(0, 2)} if rng.random() < 0.3 else {},
                    "model": MODEL,
                    "alerts": alerts,
                }
            )
        t += timedelta(seconds=10)
        outcome = "unresolved" if rng.random() < p_unres else "resolved"
        out.append(
            {
                **base,
                "event_id": f"{iid}-e",
                "type": "end",
                "ts": _ts(t),
                "outcome": outcome,
                "scored": False,
                "reason": "not_an_utterance",
                "alerts": [],
            }
        )
    return out


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path
