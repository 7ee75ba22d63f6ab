#!/usr/bin/env python3
"""Set how a trained heads file decides sentiment, without training it again (docs/experiments/rule_44.md, rule_45.md).

``argmax``: the most probable class (the rule before rule 44). ``balanced``: the argmax of p(c | x) / prior(c)
(``models.heads.sentiment_decisions``), the prior being the class shares of the validation rows the heads'
sentiment calibration was fitted on. They are counted here from the same split ``imon train`` drew
(``models.datasets.load_split`` with the file's seed, row cap and written batches) and checked against the counts
the file recorded when it was trained. ``adapted``: the argmax of p(c | x) * target(c) / prior(c), the target being
the class shares of a body of unlabelled text, estimated by EM (``models.labelshift``): ``--texts FILE`` (JSONL,
one event per line with at least "text", as ``imon score`` reads; turns whose consent.ai_analysis is false and
non-utterance events are left out) or ``--rsics`` (RSiCS's requests to customer-service virtual agents in
shared/data). The texts are redacted as the worker redacts them, then encoded by the configured encoder
(``IMON_ENCODER_*``), so this loads the model (~10 s) and scores every text once. Rule 45 measured it and did
not keep it: on RSiCS the estimate put the positive share at 0 and the gold set's sentiment macro-F1 fell from 0.620
to 0.394. Check an adapted file against labelled turns of your traffic (``imon evaluate --heads``) before serving it.

The weights are not touched. When the decision changes, the version's hash is recomputed
(``models.train.content_digest``), so two decisions never share a version, and switching back to argmax restores
the version the file had; a file that already decides by argmax or balanced is left as it is when asked for the
same. ``imon train --sentiment-decision`` writes argmax or balanced when it trains.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/sentiment_decision.py balanced --heads models/artifacts/heads.npz
    HF_HUB_OFFLINE=1 .venv/bin/python scripts/sentiment_decision.py adapted --texts my_turns.jsonl --out out/h/heads.npz

Only for heads calibrated without validation weights (``shared_prior`` "off"): with them, the prior is the
weighted shares, which only a training run knows.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import datasets as D  # noqa: E402
from models.base import SENTIMENT_CLASSES  # noqa: E402
from models.heads import Heads, default_heads_path  # noqa: E402
from models.train import MODEL_VERSION, SENTIMENT_DECISIONS, content_digest  # noqa: E402


def validation_prior(meta: dict, data_dir: Path) -> np.ndarray:
    """Class shares (negative, neutral, positive) of the sentiment-labelled validation rows of the heads'
    training run, checked against the counts it recorded."""
    if meta.get("shared_prior", "off") != "off":
        raise SystemExit(f"these heads were calibrated with shared_prior={meta['shared_prior']!r}: retrain them with "
                         "imon train --sentiment-decision instead")
    td = meta.get("training_data") or {}
    va = D.split_of(meta, data_dir, "val")
    ys = [y for y in (e.label("sentiment") for e in va) if y is not None]
    counts = np.bincount(np.array(ys, dtype=int), minlength=len(SENTIMENT_CLASSES)).astype(np.float64)
    recorded = np.array([sum(int(s.get(f"sentiment={c}", 0)) for s in td.get("validation", {}).values())
                         for c in SENTIMENT_CLASSES], dtype=np.float64)
    if not np.array_equal(counts, recorded):
        raise SystemExit(f"the validation split drawn now ({counts.astype(int).tolist()}) is not the one these heads "
                         f"were calibrated on ({recorded.astype(int).tolist()}): the data or the code changed since")
    if not np.all(counts > 0):
        raise SystemExit("the validation split lacks a sentiment class: no balanced decision")
    return counts / counts.sum()


def read_texts(path: Path) -> tuple[list[str], int]:
    """The texts of a JSONL file of events to estimate class shares on, and how many lines were left out
    (consent.ai_analysis false, not an utterance, no text). ``SystemExit`` naming the line on bad JSON."""
    texts, left_out = [], 0
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                ev = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"{path} line {i}: not JSON ({e.msg})") from None
            consent = ev.get("consent") if isinstance(ev, dict) else None
            text = ev.get("text") if isinstance(ev, dict) else None
            if (not isinstance(text, str) or not text.strip() or ev.get("type", "utterance") != "utterance"
                    or (isinstance(consent, dict) and consent.get("ai_analysis") is False)):
                left_out += 1
                continue
            texts.append(text)
    return texts, left_out


def sentiment_probs(heads: Heads, texts: list[str]) -> np.ndarray:
    """Calibrated sentiment probabilities of ``texts``, redacted as the worker redacts them and encoded by the
    configured encoder, as ``imon evaluate`` scores the gold set."""
    from models.embcache import EmbeddingCache
    from models.encoder import configured_encoder
    from streams.config import load_settings
    from streams.redaction import Redactor

    try:
        enc = configured_encoder(load_settings(), heads.meta)
    except ValueError as e:
        raise SystemExit(str(e)) from None
    red = Redactor()
    texts = [red.redact(t).text for t in texts]
    return heads.predict(EmbeddingCache(enc, None).encode(texts, progress=True), texts)["sentiment"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("rule", choices=(*SENTIMENT_DECISIONS, "adapted"), help="argmax, balanced or adapted")
    ap.add_argument("--heads", type=Path, default=default_heads_path(), help="heads file (.npz) to read")
    ap.add_argument("--out", type=Path, default=None, help="heads file to write (default: --heads, in place)")
    ap.add_argument("--data-dir", type=Path, default=None, help="public data folder (default: ../shared/data)")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--texts", type=Path, default=None, help="adapted: JSONL events whose class shares to estimate")
    src.add_argument("--rsics", action="store_true", help="adapted: estimate on RSiCS's virtual-agent requests")
    args = ap.parse_args(argv)
    if (args.rule == "adapted") != bool(args.texts or args.rsics):
        ap.error("--texts or --rsics goes with adapted, and only with it")
    heads = Heads.load(args.heads)
    old = heads.meta.get("version")
    current = "argmax" if heads.sentiment_prior is None else "balanced" if heads.sentiment_target is None else "adapted"
    if current == args.rule != "adapted":
        print(f"{old}: sentiment already decided by {args.rule}; nothing written")
        return 0
    data_dir = args.data_dir or D.default_data_dir()
    heads.meta.pop("sentiment_target_estimate", None)
    if args.rule == "argmax":
        heads.sentiment_prior = heads.sentiment_target = None
    else:
        heads.sentiment_prior, heads.sentiment_target = validation_prior(heads.meta, data_dir), None
    if args.rule == "adapted":
        from models.labelshift import em_prior, rsics_texts

        if args.rsics:
            texts, left_out, origin = rsics_texts(data_dir), 0, "RSiCS virtual-agent requests (distinct texts)"
        else:
            texts, left_out = read_texts(args.texts)
            origin = str(args.texts)
        if not texts:
            raise SystemExit(f"{origin}: no text to estimate class shares on")
        assert heads.sentiment_prior is not None
        heads.sentiment_target, iters = em_prior(sentiment_probs(heads, texts), heads.sentiment_prior)
        heads.meta["sentiment_target_estimate"] = {"from": origin, "texts": len(texts), "left_out": left_out,
                                                   "em_iterations": iters}
    if args.rule == "argmax" and heads.meta.get("sentiment_decision_set_from"):
        heads.meta["version"] = heads.meta.pop("sentiment_decision_set_from")  # back to the file as trained
    else:
        heads.meta["version"] = f"{MODEL_VERSION}+{content_digest(heads)}"
        # heldout_metrics were measured under the version as trained: keep naming it through later switches
        heads.meta.setdefault("sentiment_decision_set_from", old)
    # Only the metadata changes: the weights file is copied byte for byte when written elsewhere, never re-encoded
    # (np.savez's zip headers differ between Python builds).
    npz = Path(args.out or args.heads)
    if npz.resolve() != Path(args.heads).resolve():
        npz.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(args.heads, npz)
    meta = npz.with_suffix(".json")
    meta.write_text(json.dumps(heads.meta_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    def shares(v: np.ndarray) -> str:
        return ", ".join(f"{c} {x:.4f}" for c, x in zip(SENTIMENT_CLASSES, v, strict=True))

    prior = "" if heads.sentiment_prior is None else " prior " + shares(heads.sentiment_prior)
    if heads.sentiment_target is not None:
        est = heads.meta["sentiment_target_estimate"]
        prior += (f", target {shares(heads.sentiment_target)} (EM, {est['em_iterations']} iterations, "
                  f"{est['texts']} texts, {est['left_out']} lines left out)")
    print(f"{old} -> {heads.meta['version']}: sentiment decided by {args.rule}{prior}; wrote {npz} and {meta}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
