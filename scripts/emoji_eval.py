"""Emoji as words against emoji as [UNK] (docs/experiments/rule_12.md: measured, not shipped).

The encoder's vocabulary has no emoji, so they reach it as ``[UNK]``. This scores the TweetEval emotion
set (never trained on; anger and sadness = negative, joy and optimism = positive) with the shipped scorer,
once with the text as it comes and once with each emoji replaced by its CLDR short name in words
(:func:`emoji_as_words`; skin tones and flags dropped). Prints sentiment macro-F1 over the two classes (a
neutral prediction is a miss) on the tweets with and without emoji, and the four tasks' macro-F1 on the
gold set's turns with emoji. Needs the ``emoji`` package, which the project does not depend on:

    .venv/bin/pip install emoji==2.16.0
    HF_HUB_OFFLINE=1 .venv/bin/python scripts/emoji_eval.py --out out/emoji.json   # ~30 s on 2 cores
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from pathlib import Path
from typing import Any

from sklearn.metrics import f1_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import gold  # noqa: E402
from models.base import BINARY_TASKS, SENTIMENT_CLASSES, Utterance  # noqa: E402
from models.datasets import default_data_dir  # noqa: E402

try:
    import emoji
except ImportError:
    sys.exit("scripts/emoji_eval.py needs the emoji package: .venv/bin/pip install emoji==2.16.0")

#: Skin-tone modifiers (U+1F3FB-U+1F3FF) and regional-indicator letters (flags): they say who someone is.
_IDENTITY_MARKS = re.compile("[\U0001f3fb-\U0001f3ff\U0001f1e6-\U0001f1ff]")


def has_emoji(text: str) -> bool:
    return not text.isascii() and emoji.emoji_count(text) > 0


def emoji_as_words(text: str) -> str:
    """Each emoji as its CLDR short name (😡 -> "enraged face"), skin tones and flags dropped; text without
    emoji unchanged."""
    if not has_emoji(text):
        return text
    named = emoji.replace_emoji(_IDENTITY_MARKS.sub("", text),
                                replace=lambda e, data: f" {data['en'].strip(':').replace('_', ' ')} ")
    return " ".join(named.split())


EMOTION_TO_SENTIMENT = {"anger": 0, "sadness": 0, "joy": 2, "optimism": 2}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = ap.parse_args(argv)
    from models.scorer import TransformerScorer, load_scorer
    from streams.config import Settings

    scorer = load_scorer(Settings())
    assert isinstance(scorer, TransformerScorer)
    data = default_data_dir()
    with (data / "tweeteval" / "emotion.csv").open(newline="", encoding="utf-8") as f:
        rows = [(r["text"], EMOTION_TO_SENTIMENT[r["label_name"]]) for r in csv.DictReader(f)]
    g = [e for lang in ("en", "nl") for e in gold.examples(data, lang) if has_emoji(e.text)]

    def score(texts: list[str], speakers: list[str] | None = None) -> list[Any]:
        out: list[Any] = []
        for s in range(0, len(texts), 64):
            out += scorer.score([Utterance(text=t, speaker=(speakers or ["customer"] * len(texts))[s + k])
                                 for k, t in enumerate(texts[s : s + 64])])
        return out

    result: dict[str, Any] = {"emotion_tweets_with_emoji": sum(has_emoji(t) for t, _ in rows),
                              "emotion_tweets": len(rows), "gold_turns_with_emoji": len(g)}
    for form, fn in (("as_is", lambda t: t), ("emoji_as_words", emoji_as_words)):
        for part, keep in (("with_emoji", True), ("without_emoji", False)):
            sub = [(t, y) for t, y in rows if has_emoji(t) == keep]
            pred = [SENTIMENT_CLASSES.index(r.labels["sentiment"]) for r in score([fn(t) for t, _ in sub])]
            result.setdefault(form, {})[f"emotion_{part}"] = round(float(
                f1_score([y for _, y in sub], pred, labels=[0, 2], average="macro", zero_division=0)), 4)
        res = score([fn(e.text) for e in g], [e.speaker for e in g])
        cells = {}
        idx = [i for i, e in enumerate(g) if e.label("sentiment") is not None]
        cells["sentiment"] = f1_score([g[i].label("sentiment") for i in idx],
                                      [SENTIMENT_CLASSES.index(res[i].labels["sentiment"]) for i in idx], average="macro")
        for t in BINARY_TASKS:
            idx = [i for i, e in enumerate(g) if e.label(t) is not None and (t == "unfair_treatment" or e.speaker == "customer")]
            cells[t] = f1_score([g[i].label(t) for i in idx], [int(res[i].labels[t]) for i in idx], average="macro",
                                zero_division=0)
        result[form]["gold_with_emoji"] = {k: round(float(v), 4) for k, v in cells.items()}
        print(form, json.dumps(result[form]), flush=True)
    print(json.dumps({k: v for k, v in result.items() if not isinstance(v, dict)}))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
