"""The gold set: real customer-care turns labelled by hand, for evaluation only.

Every turn of the IBM Twitter customer-care conversations in ``shared/data/ibm_twitter_customer_care``
(1,205 distinct turns of 525 conversations, two of them repeated in the file, with 24 companies' support
accounts) labelled for the four tasks by
the rules in ``models/data/gold/GUIDELINES.md``; a Dutch translation of every turn of a seeded half of the
conversations carries the same labels. Nothing in training, calibration, thresholds or model choice reads
these files; ``imon evaluate`` reports them (``gold_ibm_{en,nl}_{dev,test}``; the second gold set, requests to
virtual agents, is ``models/gold_rsics.py``).

Files (``models/data/gold/``):
- ``ibm_labels.jsonl``: ``tweet_id, role, sentiment, escalation, human_requested, unfair_treatment``
  (escalation / human_requested are ``null`` on agent turns); no text: the English text is read from
  ``shared/data``.
- ``ibm_second.jsonl``: a second, independent labelling of the turns of a seeded fifth of the
  conversations, for the agreement figures (``agreement``).
- ``ibm_nl.jsonl``: ``tweet_id, text_nl``.

The scorer sees redacted text in production, so the examples are passed through the worker's
``Redactor`` (links and phone numbers are replaced; @handles and the set's own ``__email__`` placeholders
stay, as they would in a tweet).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from models.base import BINARY_TASKS, SENTIMENT_CLASSES
from models.datasets import TASKS, _bucket

GOLD_DIR = Path(__file__).resolve().parent / "data" / "gold"
IBM_FILE = Path("ibm_twitter_customer_care") / "utterances.jsonl"
CUSTOMER_ONLY = ("escalation", "human_requested")


def _jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_labels(name: str = "ibm_labels.jsonl", gold_dir: Path = GOLD_DIR) -> dict[str, dict[str, Any]]:
    """Labels by tweet id, validated: clear ``ValueError`` on a bad value, a duplicate id or an agent turn
    labelled for a customer-only task."""
    return checked_labels(_jsonl(gold_dir / name), name, "tweet_id")


def checked_labels(rows: list[dict[str, Any]], name: str, id_key: str) -> dict[str, dict[str, Any]]:
    """Label rows of a gold file by their ``id_key``, validated (``ValueError`` naming ``name`` and the line): the id
    present and unique, sentiment a class name, each binary task 0 or 1 (``null`` on agent turns, ``role``
    ``agent``, for the customer-turn tasks; those must be ``null`` there)."""
    out: dict[str, dict[str, Any]] = {}
    for i, r in enumerate(rows, 1):
        where = f"{name} line {i}"
        rid = r.get(id_key)
        if not isinstance(rid, str) or not rid:
            raise ValueError(f"{where}: {id_key} missing")
        if rid in out:
            raise ValueError(f"{where}: {id_key} {rid} labelled twice")
        if r.get("sentiment") not in SENTIMENT_CLASSES:
            raise ValueError(f"{where}: sentiment must be one of {SENTIMENT_CLASSES}, got {r.get('sentiment')!r}")
        for t in BINARY_TASKS:
            v = r.get(t)
            if r.get("role") == "agent" and t in CUSTOMER_ONLY:
                if v is not None:
                    raise ValueError(f"{where}: {t} is a customer-turn task; agent turns carry null")
            elif v not in (0, 1):
                raise ValueError(f"{where}: {t} must be 0 or 1, got {v!r}")
        out[rid] = r
    return out


def data_file(data_dir: Path, rel: Path, who: str, what: str) -> Path:
    """``data_dir / rel``, or ``FileNotFoundError`` naming the file and what it holds (``what``, in shared/data)."""
    p = data_dir / rel
    if not p.is_file():
        raise FileNotFoundError(f"{who}: {p} not found ({what} in shared/data)")
    return p


def ibm_turns(data_dir: Path) -> dict[str, dict[str, Any]]:
    """The IBM customer-care turns by tweet id, first occurrence (the file repeats two conversations);
    ``FileNotFoundError`` naming the file when absent."""
    p = data_file(data_dir, IBM_FILE, "gold set", "the IBM Twitter customer-care turns")
    out: dict[str, dict[str, Any]] = {}
    for r in _jsonl(p):
        out.setdefault(r["tweet_id"], r)
    return out


def part_of(session_id: str) -> str:
    """``dev`` or ``test``: the conversation's half of the gold set (seeded by a hash of its id). Error
    analysis and any choice informed by the gold set look at ``dev`` only; ``test`` is only reported."""
    return "dev" if _bucket(f"gold-split:{session_id}", 2) == 0 else "test"


def company_folds(data_dir: Path, part: str = "dev", n: int = 2, gold_dir: Path = GOLD_DIR) -> dict[str, int]:
    """Each company of a half in one of ``n`` folds (1..n), for questions about companies a model never saw
    (docs/experiments/rule_49.md): companies in descending order of their number of labelled turns in the half
    (ties by name), each put in the fold with the fewest turns so far (the lowest fold on a tie)."""
    if n < 2:
        raise ValueError(f"company folds: n must be >= 2, got {n}")
    labels = load_labels(gold_dir=gold_dir)
    counts: dict[str, int] = {}
    for tid, t in ibm_turns(data_dir).items():
        if tid in labels and (part == "all" or part_of(t["session_id"]) == part):
            counts[t["company"]] = counts.get(t["company"], 0) + 1
    sizes = [0] * n
    out: dict[str, int] = {}
    for company, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        k = sizes.index(min(sizes))
        out[company] = k + 1
        sizes[k] += c
    return out


def examples(data_dir: Path, lang: str = "en", part: str = "all", gold_dir: Path = GOLD_DIR,
             companies: set[str] | None = None) -> list[Any]:
    """The gold set as ``models.datasets.Example`` rows (redacted text, labels, speaker), in file order.
    ``lang="nl"``: the Dutch translations (the turns that have one); ``part``: all / dev / test
    (``part_of``); ``companies``: only the turns of these support accounts (default all)."""
    return list(_examples_by_id(data_dir, lang, part, gold_dir, companies).values())


def pairs(data_dir: Path, part: str = "all", gold_dir: Path = GOLD_DIR) -> list[tuple[Any, Any]]:
    """(English, Dutch) ``Example`` pairs of the same turn: every turn that has a Dutch translation, in
    file order. Same labels on both sides, so any difference in their scores comes from the language."""
    en = _examples_by_id(data_dir, "en", part, gold_dir)
    nl = _examples_by_id(data_dir, "nl", part, gold_dir)
    return [(en[tid], nl[tid]) for tid in nl if tid in en]


def _examples_by_id(data_dir: Path, lang: str, part: str, gold_dir: Path,
                    companies: set[str] | None = None) -> dict[str, Any]:
    from models.datasets import SENT_INDEX, Example
    from streams.redaction import Redactor

    if lang not in ("en", "nl"):
        raise ValueError(f"gold set: lang must be 'en' or 'nl', got {lang!r}")
    if part not in ("all", "dev", "test"):
        raise ValueError(f"gold set: part must be all, dev or test, got {part!r}")
    labels = load_labels(gold_dir=gold_dir)
    turns = ibm_turns(data_dir)
    if lang == "en":
        texts = {tid: turns[tid]["text"] for tid in labels if tid in turns}
    else:
        texts = {r["tweet_id"]: r["text_nl"] for r in _jsonl(gold_dir / "ibm_nl.jsonl")}
    missing = [tid for tid in texts if tid not in labels]
    if missing:
        raise ValueError(f"gold set ({lang}): {len(missing)} texts have no labels, e.g. {missing[0]}")
    red = Redactor()
    out = {}
    for tid, r in labels.items():
        if tid not in texts or (part != "all" and part_of(turns[tid]["session_id"]) != part):
            continue
        if companies is not None and turns[tid]["company"] not in companies:
            continue
        lab: dict[str, int | None] = {"sentiment": SENT_INDEX[r["sentiment"]]}
        lab.update({t: r.get(t) for t in BINARY_TASKS})
        out[tid] = Example(text=red.redact(texts[tid], lang).text.strip(), source=f"gold_ibm_{lang}", lang=lang,
                           speaker="agent" if r["role"] == "agent" else "customer", labels=lab)
    return out


def cohen_kappa(a: list[Any], b: list[Any]) -> float:
    """Cohen's kappa of two label sequences (nan when chance agreement is 1)."""
    if len(a) != len(b) or not a:
        raise ValueError("cohen_kappa: two non-empty sequences of the same length")
    cats = sorted({*a, *b}, key=str)
    po = float(np.mean([x == y for x, y in zip(a, b, strict=True)]))
    pe = sum((a.count(c) / len(a)) * (b.count(c) / len(b)) for c in cats)
    return float("nan") if pe >= 1 else (po - pe) / (1 - pe)


def agreement(gold_dir: Path = GOLD_DIR) -> dict[str, dict[str, float]]:
    """Per task: turns labelled twice, raw agreement, Cohen's kappa and each labelling's positives; the
    second labelling against the adjudicated labels (before adjudication 9 of the 270 turns differed on
    some task, ``GUIDELINES.md``)."""
    return agreement_of(load_labels(gold_dir=gold_dir), load_labels("ibm_second.jsonl", gold_dir))


def agreement_of(first: dict[str, dict[str, Any]], second: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """``agreement`` of any two labellings by id (rows with ``TASKS`` keys; None = not labelled)."""
    out: dict[str, dict[str, float]] = {}
    for t in TASKS:
        ids = [i for i in second if i in first and first[i].get(t) is not None and second[i].get(t) is not None]
        a, b = [first[i][t] for i in ids], [second[i][t] for i in ids]
        out[t] = {"n": len(ids), "agreement": float(np.mean([x == y for x, y in zip(a, b, strict=True)])),
                  "kappa": cohen_kappa(a, b)}
        if t != "sentiment":
            out[t]["positives_first"], out[t]["positives_second"] = sum(a), sum(b)
    return out


def bootstrap_ci(fn: Any, n: int, rounds: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95 % percentile bootstrap interval of ``fn(idx)`` over ``rounds`` resamples of ``range(n)``."""
    rng = np.random.default_rng(seed)
    vals = [fn(rng.integers(0, n, n)) for _ in range(rounds)]
    lo, hi = np.percentile(vals, [2.5, 97.5])
    return float(lo), float(hi)
