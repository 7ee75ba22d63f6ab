#!/usr/bin/env python3
"""Write a gold set as a labelled JSONL file in the format of ``imon evaluate --labelled`` and ``imon train
--extra-data`` (models/labelled.py).

``--set ibm`` (default): a half of the gold set (models/gold.py), real customer-care text (IBM Twitter customer
care) with a Dutch translation of half of it, split by conversation into ``dev`` and ``test``; training on the dev
half and reporting on the test half measures what a site gains from labelling its own turns (models/MODEL_CARD.md,
"Your own traffic"). ``--set rsics``: the hand-labelled requests to three virtual agents (models/gold_rsics.py,
evaluation only), a stratum of them with ``--stratum``.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/gold_labelled.py --part dev --out out/s40/gold_dev.jsonl
    HF_HUB_OFFLINE=1 .venv/bin/python scripts/gold_labelled.py --set rsics --stratum random --out out/rsics_random.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import datasets as D  # noqa: E402
from models import gold as G  # noqa: E402
from models.base import BINARY_TASKS, SENTIMENT_CLASSES  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", dest="gold_set", choices=("ibm", "rsics"), default="ibm",
                    help="ibm: the IBM Twitter customer-care gold set (default); rsics: the virtual-agent requests")
    ap.add_argument("--part", choices=("dev", "test", "eval"), default=None,
                    help="--set ibm: which half, dev or test (required); --set rsics: eval (default, what imon "
                         "evaluate reports) or dev (for error analysis)")
    ap.add_argument("--stratum", choices=("random", "flagged"), default=None,
                    help="--set rsics: only this stratum (models/data/gold/RSICS.md; default both)")
    ap.add_argument("--lang", choices=("en", "nl"), action="append", default=None,
                    help="languages to write (default both; repeatable)")
    ap.add_argument("--company-fold", type=int, choices=(1, 2), default=None,
                    help="only the turns of the companies in this fold of the half (models.gold.company_folds: two "
                         "folds of about equal size), for figures on companies a model never saw")
    ap.add_argument("--data-dir", type=Path, default=None, help="public data folder (default: ../shared/data)")
    ap.add_argument("--out", type=Path, required=True, help="JSONL file to write")
    args = ap.parse_args(argv)
    if args.gold_set == "ibm" and args.part not in ("dev", "test"):
        ap.error("--set ibm needs --part dev or --part test")
    if args.gold_set == "rsics" and (args.part == "test" or args.company_fold):
        ap.error("--set rsics takes --part eval or dev and --stratum; --company-fold is for --set ibm")
    if args.gold_set == "ibm" and args.stratum:
        ap.error("--stratum is for --set rsics")
    data_dir = args.data_dir or D.default_data_dir()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.gold_set == "rsics":
        return _write_rsics(data_dir, args.lang or ["en", "nl"], args.stratum, args.part or "eval", args.out)
    companies = None
    if args.company_fold is not None:
        folds = G.company_folds(data_dir, args.part)
        companies = {c for c, k in folds.items() if k == args.company_fold}
    n = 0
    with args.out.open("w", encoding="utf-8") as f:
        for lang in args.lang or ["en", "nl"]:
            for e in G.examples(data_dir, lang, args.part, companies=companies):
                labels = {t: e.label(t) for t in ("sentiment", *BINARY_TASKS)}
                if labels["sentiment"] is not None:
                    labels["sentiment"] = SENTIMENT_CLASSES[labels["sentiment"]]
                f.write(json.dumps({"text": e.text, "labels": labels, "language": lang, "speaker": e.speaker},
                                   ensure_ascii=False) + "\n")
                n += 1
    fold = "" if companies is None else f" (company fold {args.company_fold}: {', '.join(sorted(companies))})"
    print(f"wrote {n} turns of the gold {args.part} half{fold} to {args.out}")
    return 0


def _write_rsics(data_dir: Path, langs: list[str], stratum: str | None, part: str, out: Path) -> int:
    from models import gold_rsics as R

    n = 0
    with out.open("w", encoding="utf-8") as f:
        for lang in langs:
            for r in R.labelled_rows(data_dir, lang, part=part):
                if stratum is None or r["stratum"] == stratum:
                    f.write(json.dumps(r, ensure_ascii=False) + "\n")
                    n += 1
    print(f"wrote {n} labelled RSiCS requests of the {part} part{'' if stratum is None else f' ({stratum})'} to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
