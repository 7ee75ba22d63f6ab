"""Training/validation examples from the public sets in ``shared/data`` and our synthetic set.

Every example carries a label per task or ``None`` ("this source says nothing about that task"); the
trainer fits each head only on the examples that label it. Label decisions per source (and why) are
documented here and in ``models/MODEL_CARD.md``.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.base import BINARY_TASKS, SENTIMENT_CLASSES

TASKS = ("sentiment", *BINARY_TASKS)
SENT_INDEX = {c: i for i, c in enumerate(SENTIMENT_CLASSES)}


@dataclass
class Example:
    text: str
    source: str
    lang: str = "en"
    speaker: str = "customer"
    labels: dict[str, int | None] = field(default_factory=dict)
    weight: float = 1.0  # sample weight (public proxies count less than direct labels)

    def label(self, task: str) -> int | None:
        return self.labels.get(task)


def default_data_dir() -> Path:
    """``shared/data`` next to the repository checkout (``<repo>/../shared/data``)."""
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def synth_dir() -> Path:
    return Path(__file__).resolve().parent / "data"


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        yield from csv.DictReader(f)


def _bucket(key: str, mod: int = 100) -> int:
    """Stable split bucket of a string (same on every machine and run)."""
    return int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) % mod


def _cap(items: list[Example], limit: int | None, seed: int) -> list[Example]:
    """A seeded subset of ``limit`` rows. Rows are ranked by a hash of (seed, text), so a smaller cap
    is a subset of a larger one and cached embeddings carry over between runs."""
    if limit is None or len(items) <= limit:
        return items
    ranked = sorted(items, key=lambda e: hashlib.sha1(f"{seed}:{e.text}".encode()).digest())
    return ranked[:limit]


def _ex(text: str, source: str, **labels: int | None) -> Example:
    return Example(text=text.strip(), source=source, labels=dict(labels))


# --- sentiment ----------------------------------------------------------------------------------


def semeval(data: Path, split: str, limit: int | None, seed: int) -> list[Example]:
    """SemEval-2017 4A pool (TweetEval's train source). split: train (95 %) / val (5 %, calibration).
    Tweets are not requests for a human; positive/neutral tweets are not escalations."""
    out = []
    for r in _rows(data / "semeval2017_task4a_sentiment_pool" / "sentiment_pool_2013_2016.csv"):
        in_val = _bucket(r["tweet_id"]) < 5
        if (split == "val") != in_val:
            continue
        s = SENT_INDEX[r["label"]]
        out.append(
            _ex(r["text"], "semeval", sentiment=s, human_requested=0, unfair_treatment=0 if s > 0 else None,
                escalation=0 if s > 0 else None)
        )
    return _cap(out, limit, seed)


def tweeteval_sentiment(data: Path, split: str = "val") -> list[Example]:
    """TweetEval sentiment val (validation report). The test split is never loaded for training."""
    if split != "val":
        raise ValueError("only the TweetEval sentiment val split is used by the trainer")
    return [
        _ex(r["text"], "tweeteval_sentiment", sentiment=int(r["label"]))
        for r in _rows(data / "tweeteval" / "sentiment.csv")
        if r["split"] == "val"
    ]


def goemotions(data: Path, split: str, limit: int | None, seed: int) -> list[Example]:
    """GoEmotions Reddit comments with exactly one sentiment group; ambiguous -> neutral.
    split train -> official train, val -> official dev."""
    gsplit = {"train": "train", "val": "dev", "test": "test"}[split]
    out = []
    for r in _rows(data / "goemotions" / "goemotions.csv"):
        if r["split"] != gsplit or ";" in r["sentiment_group"]:
            continue
        g = r["sentiment_group"]
        s = {"negative": 0, "neutral": 1, "ambiguous": 1, "positive": 2}[g]
        out.append(_ex(r["text"], "goemotions", sentiment=s, human_requested=0, escalation=0 if s > 0 else None))
    return _cap(out, limit, seed)


# --- requests, complaints (bitext) --------------------------------------------------------------

#: Routine intents: a customer doing ordinary business (cancelling an *order* is routine, not a threat).
_BITEXT_UNKNOWN_ESC = {"complaint", "contact_customer_service"}


def bitext(data: Path, split: str, limit: int | None, seed: int) -> list[Example]:
    """Bitext synthetic support requests, de-duplicated on text; 90/10 split by text hash.

    human_requested: contact_human_agent = 1, contact_customer_service = unknown (often asks for a phone
    number, not a person), everything else = 0. escalation: asking for a human = 1 (task definition);
    complaint = unknown (may be mild); routine intents = 0. unfair_treatment: 0 except rows tagged W
    (profanity: not labelled, as swearing at a situation is not abuse of a person). Sentiment: routine
    requests are neutral (weight 0.3, a weak label); others unlabelled.
    """
    seen: set[str] = set()
    out = []
    for r in _rows(data / "bitext_customer_support" / "bitext_customer_support.csv"):
        t = r["instruction"].strip()
        if not t or t.lower() in seen:
            continue
        seen.add(t.lower())
        if (split == "val") != (_bucket(t.lower()) < 10):
            continue
        intent, offensive = r["intent"], "W" in r["tags"]
        hr: int | None = 1 if intent == "contact_human_agent" else 0
        if intent == "contact_customer_service":
            hr = None
        esc: int | None = 1 if intent == "contact_human_agent" else 0
        if intent in _BITEXT_UNKNOWN_ESC or offensive:
            esc = None if intent != "contact_human_agent" else 1
        routine = intent not in {"complaint", "contact_human_agent"} and not offensive
        ex = _ex(
            t,
            "bitext",
            sentiment=1 if routine else None,
            escalation=esc,
            human_requested=hr,
            unfair_treatment=None if offensive else 0,
        )
        out.append(ex)
    return _cap(out, limit, seed)


# --- abusive / hateful language -----------------------------------------------------------------


def davidson(data: Path, split: str, limit: int | None, seed: int) -> list[Example]:
    """Davidson et al.: hate speech = 1, offensive (mostly insults/slurs) = 1 at weight 0.5, neither = 0.
    90/10 split on id."""
    out = []
    for r in _rows(data / "davidson_hate_offensive" / "labeled_data.csv"):
        if (split == "val") != (_bucket("d" + r["id"]) < 10):
            continue
        c = int(r["class"])
        ex = _ex(r["tweet"], "davidson", unfair_treatment=1 if c < 2 else 0, human_requested=0)
        if c == 1:
            ex.weight = 0.5
        out.append(ex)
    return _cap(out, limit, seed)


def tweeteval_abuse(data: Path, split: str, limit: int | None, seed: int) -> list[Example]:
    """TweetEval hate (identity-targeted, against immigrants/women) and offensive (OLID; includes
    untargeted profanity, so weight 0.5 for its positives). Uses the sets' own train/val splits."""
    out = []
    for task in ("hate", "offensive"):
        for r in _rows(data / "tweeteval" / f"{task}.csv"):
            if r["split"] != split:
                continue
            y = int(r["label"])
            ex = _ex(r["text"], f"tweeteval_{task}", unfair_treatment=y, human_requested=0)
            if task == "offensive" and y == 1:
                ex.weight = 0.5
            out.append(ex)
    return _cap(out, limit, seed)


# --- synthetic ----------------------------------------------------------------------------------


def synthetic(split: str, limit: int | None = None, seed: int = 0) -> list[Example]:
    """Our generated EN/NL set (``models/data/synth_<split>.jsonl``, see ``models/synth.py``).
    ``limit`` caps rows per *category*, so even a tiny run sees positives of every task."""
    path = synth_dir() / f"synth_{split}.jsonl"
    out: list[Example] = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            out.append(
                Example(
                    text=d["text"],
                    source="synth:" + d["category"],
                    lang=d["lang"],
                    speaker=d["speaker"],
                    labels={t: d["labels"].get(t) for t in TASKS},
                )
            )
    if limit is None:
        return out
    by_cat: dict[str, list[Example]] = {}
    for e in out:
        by_cat.setdefault(e.source, []).append(e)
    return [e for src in sorted(by_cat) for e in _cap(by_cat[src], limit, seed)]


WRITTEN_FILE = "written.jsonl"


def written(split: str, limit: int | None = None, seed: int = 0) -> list[Example]:
    """Utterances written one at a time (not from templates) for the four tasks, English and Dutch
    (``models/data/written.jsonl``; how they were made: ``models/data/WRITTEN.md``). 80 % train / 20 %
    validation by a hash of the text; there is no test part: the real-text gold set (``models/gold.py``)
    is where they are judged. ``limit`` caps rows per language."""
    return _written_file(WRITTEN_FILE, "written", split, TASKS, limit, seed)


#: Written batches kept out of ``written.jsonl`` (``models/data/WRITTEN.md``): batch number -> file.
WRITTEN_BATCHES = {3: "written_batch3.jsonl", 4: "written_batch4.jsonl", 5: "written_batch5.jsonl",
                   6: "written_batch6.jsonl"}
#: Batches and the tasks they train when ``imon train --written-batch`` names none: batch 4 for
#: unfair_treatment since 0.1.0+a39e2b9a (docs/experiments/rule_19.md); batches 3, 5 and 6 not at all (rules 4, 17;
#: 20, 21; 51).
WRITTEN_BATCHES_DEFAULT: dict[int, tuple[str, ...]] = {4: ("unfair_treatment",)}


def check_tasks(tasks: Sequence[str]) -> None:
    """Raise ``ValueError`` naming any of ``tasks`` that is not one of ``TASKS``."""
    bad = [t for t in tasks if t not in TASKS]
    if bad:
        raise ValueError(f"unknown task(s) {', '.join(bad)}; choose from {', '.join(TASKS)}")


def written_batch(n: int, split: str, tasks: Sequence[str], limit: int | None = None, seed: int = 0) -> list[Example]:
    """Written batch ``n`` (``WRITTEN_BATCHES``) as rows labelled for ``tasks`` only: the other tasks are left
    unlabelled, as for a public source without them (docs/experiments/rule_17.md: batch 3's escalation mix
    raised false Dutch escalations, rule 4). Split by the same text hash as ``written.jsonl``."""
    if n not in WRITTEN_BATCHES:
        raise ValueError(f"no written batch {n}; there are {sorted(WRITTEN_BATCHES)}")
    check_tasks(tasks)
    return _written_file(WRITTEN_BATCHES[n], f"written{n}", split, tasks, limit, seed) if tasks else []


def _written_file(name: str, source: str, split: str, tasks: Sequence[str], limit: int | None,
                  seed: int) -> list[Example]:
    if split not in ("train", "val"):
        raise ValueError(f"written rows have train and val splits only, not {split!r}")
    out: dict[str, list[Example]] = {"en": [], "nl": []}
    with (synth_dir() / name).open(encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if (split == "val") != (_bucket("written:" + d["text"]) < 20):
                continue
            labels: dict[str, int | None] = {}
            if "sentiment" in tasks:
                labels["sentiment"] = SENT_INDEX[d["sentiment"]]
            labels.update({t: int(d[t]) for t in BINARY_TASKS if t in tasks})
            out[d["lang"]].append(Example(text=d["text"], source=f"{source}:{d['lang']}", lang=d["lang"],
                                          speaker=d["speaker"], labels=labels))
    return [e for lang in ("en", "nl") for e in _cap(out[lang], limit, seed)]


TRANSLATIONS_FILE = "written_nl_translations.jsonl"


def translation_pairs() -> list[tuple[str, str]]:
    """(English source, Dutch translation) of the 1,200 English written rows of the training split that were
    translated into Dutch (``models/data/written_nl_translations.jsonl``, ``models/data/WRITTEN.md``). Not
    labelled training rows: the fine-tune's alignment term uses them (``models.finetune``, rule 14)."""
    with (synth_dir() / TRANSLATIONS_FILE).open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [(d["source"], d["text"]) for d in rows]


#: SemEval tweets in the training split, and the row count whose total weight they share: 30,000 tweets at
#: weight 0.27 gave TweetEval val macro-recall 0.661 vs 0.631 for 8,000 at weight 1, with the synthetic
#: tasks level or better (3 Dec 2026, MODEL_CARD.md); unweighted they outweighed the other sources.
SEMEVAL_TRAIN_ROWS = 30000
SEMEVAL_TRAIN_WEIGHT_ROWS = 8000


def load_split(data: Path, split: str, limit: int | None, seed: int,
               batches: dict[int, tuple[str, ...]] | None = None) -> list[Example]:
    """All sources for ``train`` or ``val`` (``limit`` caps rows per source, for quick runs).
    ``batches``: written batches kept apart and the tasks each trains (``written_batch``; default
    ``WRITTEN_BATCHES_DEFAULT``)."""
    if split == "train":
        caps = {"semeval": SEMEVAL_TRAIN_ROWS, "goemotions": 3000, "bitext": None, "davidson": 3000, "tweeteval": 3000}
    else:
        caps = {"semeval": 1500, "goemotions": 1000, "bitext": None, "davidson": 1000, "tweeteval": 1500}
    if limit is not None:
        caps = dict.fromkeys(caps, limit)
    out: list[Example] = []
    sem = semeval(data, split, caps["semeval"], seed)
    if split == "train" and limit is None:  # more variety, the same total say as SEMEVAL_TRAIN_WEIGHT_ROWS rows
        for e in sem:
            e.weight *= SEMEVAL_TRAIN_WEIGHT_ROWS / len(sem)
    out += sem
    out += goemotions(data, split, caps["goemotions"], seed)
    out += bitext(data, split, caps["bitext"], seed)
    out += davidson(data, split, caps["davidson"], seed)
    out += tweeteval_abuse(data, split, caps["tweeteval"], seed)
    out += synthetic(split, limit, seed)
    out += written(split, limit, seed)
    if split == "train":  # counterfactual name / identity copies (see models/cda.py; disjoint from the audit)
        from models.cda import augment

        out += augment(out, n_base=1500 if limit is None else 4 * limit, seed=seed)
    for n, tasks in sorted((WRITTEN_BATCHES_DEFAULT if batches is None else batches).items()):
        out += written_batch(n, split, tasks, limit, seed)  # after the CDA draw, which stays as it was
    return out


def split_of(meta: dict[str, Any], data: Path, split: str) -> list[Example]:
    """The ``split`` a heads file's training run drew: ``load_split`` with the seed, row cap and written batches
    its metadata records."""
    td = meta.get("training_data") or {}
    batches = {**WRITTEN_BATCHES_DEFAULT, **{int(k): tuple(v) for k, v in td.get("written_batches", {}).items()}}
    return load_split(data, split, meta.get("limit"), int(meta["seed"]), batches)
