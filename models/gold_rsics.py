"""A second real-text check: hand-labelled requests to customer-service virtual agents (RSiCS), evaluation only.

How the samples were drawn, who labelled them and by which rules: ``models/data/gold/RSICS.md``. Two disjoint
parts of 300 requests (``PARTS``): ``eval``, which ``imon evaluate`` reports and nobody reads request by request,
and ``dev``, for error analysis and choices. Files (``models/data/gold/``): ``rsics_labels.jsonl`` and
``rsics_dev_labels.jsonl`` (``request_id, stratum, sentiment, escalation, human_requested, unfair_treatment``; the
English text is read from ``shared/data``), ``rsics_second.jsonl`` (a second labelling of a seeded fifth of
``eval``) and ``rsics_nl.jsonl`` (``request_id, text_nl``, Dutch translations of a seeded half of each part; ODbL 1.0
like the database they derive from). Nothing in training or calibration reads them;
``scripts/gold_labelled.py --set rsics [--part dev]`` writes them in the labelled format that ``imon evaluate
--labelled`` reports.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import Any

from models.base import BINARY_TASKS

GOLD_DIR = Path(__file__).resolve().parent / "data" / "gold"
RSICS_FILE = Path("rsics_customer_service") / "rsics_tagged_selections.csv"
AGENT_SOURCES = ("airline_travel_IVA", "telecom_support_IVA", "train_travel_IVA")
STRATA = ("random", "flagged")
PER_SOURCE_RANDOM = 80
FLAGGED = 60
#: the samples and their label files: ``eval`` reported by ``imon evaluate``, ``dev`` for error analysis
PARTS = {"eval": "rsics_labels.jsonl", "dev": "rsics_dev_labels.jsonl"}


def _rank(key: str) -> str:
    return hashlib.sha1(key.encode()).hexdigest()


def bucket(kind: str, request_id: str, mod: int) -> int:
    """Stable bucket of a request for ``kind`` (``second``: bucket 0 of 5 is labelled twice; ``nl``: bucket 0 of 2
    is translated)."""
    return int(_rank(f"rsics-{kind}:{request_id}")[:8], 16) % mod


def requests(data_dir: Path) -> dict[str, dict[str, str]]:
    """The RSiCS rows of the three virtual-agent sources by request id, distinct texts (first occurrence);
    ``FileNotFoundError`` naming the file when absent."""
    from models.gold import data_file

    p = data_file(data_dir, RSICS_FILE, "RSiCS gold set", "the RSiCS requests")
    out: dict[str, dict[str, str]] = {}
    seen: set[str] = set()
    with p.open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            text = r["text"].strip()
            if r["source"] in AGENT_SOURCES and text and text not in seen:
                seen.add(text)
                out[r["request_id"]] = r
    return out


def sample(data_dir: Path, part: str = "eval") -> list[dict[str, str]]:
    """A labelled sample, drawn without any model (RSICS.md). ``eval``: ``random`` (the first ``PER_SOURCE_RANDOM``
    of each source by hash rank) then ``flagged`` (the first ``FLAGGED`` of the rest marked rant or emotion by
    RSiCS's own annotators). ``dev`` (for error analysis and choices, disjoint from ``eval``): the next
    ``PER_SOURCE_RANDOM`` of each source, then the next ``FLAGGED`` flagged ones not in either. Rows:
    ``request_id, source, stratum, text``."""
    if part not in PARTS:
        raise ValueError(f"RSiCS gold set: part must be one of {tuple(PARTS)}, got {part!r}")
    reqs = requests(data_dir)
    ranked = sorted(reqs.values(), key=lambda r: _rank(f"rsics-sample:{r['request_id']}"))
    taken: set[str] = set()
    for name in PARTS:  # eval first, then dev from what eval left
        left = [r for r in ranked if r["request_id"] not in taken]
        rows = [_row(r, "random") for src in AGENT_SOURCES
                for r in [r for r in left if r["source"] == src][:PER_SOURCE_RANDOM]]
        ids = {r["request_id"] for r in rows}
        flagged = [r for r in left if r["request_id"] not in ids and "1" in (r["rant"], r["express_emotion"])]
        rows += [_row(r, "flagged") for r in flagged[:FLAGGED]]
        if name == part:
            return rows
        taken |= {r["request_id"] for r in rows}
    raise AssertionError("unreachable")


def _row(r: dict[str, str], stratum: str) -> dict[str, str]:
    return {"request_id": r["request_id"], "source": r["source"], "stratum": stratum, "text": r["text"].strip()}


def load_labels(name: str = "rsics_labels.jsonl", gold_dir: Path = GOLD_DIR) -> dict[str, dict[str, Any]]:
    """Labels by request id, validated (``models.gold.checked_labels``, and every row's stratum): a clear
    ``ValueError`` on a bad value or a request labelled twice."""
    from models.gold import _jsonl, checked_labels

    rows = _jsonl(gold_dir / name)
    for i, r in enumerate(rows, 1):
        if r.get("stratum") not in STRATA:
            raise ValueError(f"{name} line {i}: stratum must be one of {STRATA}, got {r.get('stratum')!r}")
    return checked_labels(rows, name, "request_id")


def labelled_rows(data_dir: Path, lang: str = "en", gold_dir: Path = GOLD_DIR,
                  part: str = "eval") -> list[dict[str, Any]]:
    """The labelled requests of ``part`` (``PARTS``) as rows of the labelled format (``models/labelled.py``) plus
    their ``stratum``, in sample order; ``lang="nl"``: the Dutch translations (the requests that have one). Raises
    ``ValueError`` when the labels and the sample disagree (a request missing from either)."""
    return [r for _, r in _rows_by_id(data_dir, lang, gold_dir, part)]


def _rows_by_id(data_dir: Path, lang: str, gold_dir: Path, part: str) -> list[tuple[str, dict[str, Any]]]:
    if lang not in ("en", "nl"):
        raise ValueError(f"RSiCS gold set: lang must be 'en' or 'nl', got {lang!r}")
    rows = sample(data_dir, part)
    labels = load_labels(PARTS[part], gold_dir)
    ids = [r["request_id"] for r in rows]
    if set(ids) != set(labels):
        extra, missing = sorted(set(labels) - set(ids)), sorted(set(ids) - set(labels))
        raise ValueError(f"RSiCS gold set: labels and sample differ ({len(missing)} unlabelled, "
                         f"{len(extra)} labelled but not sampled)")
    texts = {r["request_id"]: r["text"] for r in rows}
    if lang == "nl":
        texts = {r["request_id"]: r["text_nl"] for r in _nl_rows(gold_dir)}
    return [(rid, {"text": texts[rid], "language": lang, "speaker": "customer", "stratum": labels[rid]["stratum"],
                   "labels": {t: labels[rid][t] for t in ("sentiment", *BINARY_TASKS)}})
            for rid in ids if rid in texts]


def agreement(gold_dir: Path = GOLD_DIR) -> dict[str, dict[str, float]]:
    """Per task: requests labelled twice, raw agreement, Cohen's kappa and each labelling's positives, the second
    labelling (``rsics_second.jsonl``) against the adjudicated labels (``models.gold.agreement_of``)."""
    from models.gold import agreement_of

    return agreement_of(load_labels(gold_dir=gold_dir), load_labels("rsics_second.jsonl", gold_dir))


def examples(data_dir: Path, lang: str = "en", stratum: str | None = None, gold_dir: Path = GOLD_DIR,
             part: str = "eval") -> list[Any]:
    """The labelled requests of ``part`` as ``models.datasets.Example`` rows (redacted as the worker does, customer
    turns), in sample order; ``stratum``: ``random`` or ``flagged`` only (default both). The ``eval`` part is what
    ``imon evaluate`` reports as ``gold_rsics_<lang>[_<stratum>]``."""
    if stratum not in (None, *STRATA):
        raise ValueError(f"RSiCS gold set: stratum must be one of {STRATA} or None, got {stratum!r}")
    return [e for _, e in _examples_by_id(data_dir, lang, gold_dir, part, stratum)]


def pairs(data_dir: Path, gold_dir: Path = GOLD_DIR) -> list[tuple[Any, Any]]:
    """(English, Dutch) ``Example`` pairs of the same request (every translated one of the eval part), for
    ``models.evaluate.language_consistency``: same labels, so a difference in scores is the language's."""
    en = dict(_examples_by_id(data_dir, "en", gold_dir, "eval"))
    return [(en[rid], e) for rid, e in _examples_by_id(data_dir, "nl", gold_dir, "eval")]


def _examples_by_id(data_dir: Path, lang: str, gold_dir: Path, part: str,
                    stratum: str | None = None) -> list[tuple[str, Any]]:
    from models.datasets import SENT_INDEX, Example
    from streams.redaction import Redactor

    red = Redactor()
    out = []
    for rid, r in _rows_by_id(data_dir, lang, gold_dir, part):
        if stratum is not None and r["stratum"] != stratum:
            continue
        lab: dict[str, int | None] = {"sentiment": SENT_INDEX[r["labels"]["sentiment"]]}
        lab.update({t: r["labels"][t] for t in BINARY_TASKS})
        out.append((rid, Example(text=red.redact(r["text"], lang).text.strip(), source=f"gold_rsics_{lang}",
                                 lang=lang, speaker="customer", labels=lab)))
    return out


def _nl_rows(gold_dir: Path) -> list[dict[str, Any]]:
    from models.gold import _jsonl

    return _jsonl(gold_dir / "rsics_nl.jsonl")
