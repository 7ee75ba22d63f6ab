"""How much does speech-to-text style cost? The same held-out turns as written and as a call transcript.

Transcripts from speech recognition are lower-case, without punctuation, with filler words. This scores the
gold set (real support tweets, evaluation-only; English and its Dutch translation) and the synthetic test
split three ways with the shipped scorer, and prints macro-F1 per task:

- ``written``: as stored;
- ``lower_nopunct``: lower-cased, punctuation replaced by spaces (apostrophes and redaction placeholders kept);
- ``transcript``: that, plus a filler ("uh", "um", "you know", "like"; Dutch "eh", "uhm", "nou", "zeg maar")
  before a word with probability 0.06 (seeded).

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/transcript_eval.py --out out/transcript.json   # ~40 s on 2 cores
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

from sklearn.metrics import f1_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import gold  # noqa: E402
from models.base import BINARY_TASKS, SENTIMENT_CLASSES, Utterance  # noqa: E402
from models.datasets import default_data_dir, synthetic  # noqa: E402

FILLERS = {"en": ["uh", "um", "you know", "like"], "nl": ["eh", "uhm", "nou", "zeg maar"]}
_PUNCT = re.compile(r"(<[A-Z_]+>)|[^\w\s']")


def lower_nopunct(text: str) -> str:
    """Lower-case, punctuation out; redaction placeholders (``<PERSON>``: the redactor runs on the transcript,
    so they come after) kept as they are."""
    words = _PUNCT.sub(lambda m: f" {m.group(1)} " if m.group(1) else " ", text).split()
    return " ".join(w if w.startswith("<") else w.lower() for w in words)


def transcript(text: str, lang: str, rng: random.Random, rate: float = 0.06) -> str:
    out: list[str] = []
    for w in lower_nopunct(text).split():
        if rng.random() < rate:
            out.append(rng.choice(FILLERS[lang]))
        out.append(w)
    return " ".join(out)


def macro_f1(examples: list[Any], results: list[Any]) -> dict[str, float]:
    cells: dict[str, float] = {}
    idx = [i for i, e in enumerate(examples) if e.label("sentiment") is not None]
    cells["sentiment"] = float(f1_score([examples[i].label("sentiment") for i in idx],
                                        [SENTIMENT_CLASSES.index(results[i].labels["sentiment"]) for i in idx],
                                        average="macro"))
    for t in BINARY_TASKS:  # escalation and human_requested are about customer turns only
        idx = [i for i, e in enumerate(examples)
               if e.label(t) is not None and (t == "unfair_treatment" or e.speaker == "customer")]
        cells[t] = float(f1_score([examples[i].label(t) for i in idx], [int(results[i].labels[t]) for i in idx],
                                  average="macro", zero_division=0))
    return {k: round(v, 4) for k, v in cells.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = ap.parse_args(argv)
    from models.scorer import load_scorer
    from streams.config import Settings

    scorer = load_scorer(Settings())
    data = default_data_dir()
    syn = synthetic("test")
    sets = {"gold_en": (gold.examples(data, "en"), "en"), "gold_nl": (gold.examples(data, "nl"), "nl"),
            "synth_test_en": ([e for e in syn if e.lang == "en"], "en"),
            "synth_test_nl": ([e for e in syn if e.lang == "nl"], "nl")}
    result: dict[str, Any] = {}
    for name, (examples, lang) in sets.items():
        rng = random.Random(f"{args.seed}/{name}")
        forms = {"written": [e.text for e in examples], "lower_nopunct": [lower_nopunct(e.text) for e in examples],
                 "transcript": [transcript(e.text, lang, rng) for e in examples]}
        for form, texts in forms.items():
            res: list[Any] = []
            for s in range(0, len(texts), 64):
                res += scorer.score([Utterance(text=t, speaker=e.speaker, language=lang)
                                     for t, e in zip(texts[s : s + 64], examples[s : s + 64], strict=True)])
            result.setdefault(name, {})[form] = macro_f1(examples, res)
            print(f"{name:14s} {form:14s} " + " ".join(f"{k}={v:.3f}" for k, v in result[name][form].items()),
                  flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
