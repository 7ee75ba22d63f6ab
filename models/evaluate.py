"""``imon evaluate``: measure the heads on held-out data, and the scorer's speed.

Reports (JSON + a short table on stdout):
- sentiment on TweetEval sentiment *val* (macro-recall = the TweetEval metric, macro-F1, ECE); never
  trained or calibrated on;
- each binary task on our synthetic *test* split (templates and many slot values never seen in
  training), overall and per language, at the shipped thresholds;
- public proxies: abusive/hateful language (TweetEval hate/offensive val, Davidson hold-out) for
  unfair_treatment, bitext hold-out for human_requested;
- the gold sets: hand-labelled real customer-care turns (IBM Twitter customer care, ``models/gold.py``) and
  requests to three virtual agents (RSiCS, ``models/gold_rsics.py``), with Dutch translations, 95 % bootstrap
  intervals of macro-F1 and the labellers' agreement (``--no-gold`` skips them);
- a bias audit (``models/bias.py``): counterfactual name / identity-term swaps, mean |score change| per
  axis and task with a paired sign-flip permutation test per group (``--no-bias`` skips it);
- with ``--labelled PATH``: instead of all the above, the same per-task figures (with 95 % bootstrap intervals
  and confusion matrices) on the user's own labelled turns (``models/labelled.py``), per file and, where a file
  mixes languages, per language; no public data is needed;
- with ``--bench``: ``score`` throughput in utterances/s at batch 1 and 64 (evidence included);
- with ``--cascade``: transformer-only vs the cascade (``models/cascade.py``) in one run: per-task macro-F1
  on the synthetic test split, TweetEval sentiment val and the real-text sets (gold test half, RSiCS
  requests), the routed fraction and the transformer's own flag share on each, and utterances/s of both
  scorers on the same redacted simulated contact-centre stream (``--stream-n`` utterances, batches of
  ``IMON_BATCH_MAX_SIZE``) and on the RSiCS random requests (real ordinary traffic);
- with ``--onnx``: the torch fp32 encoder vs its ONNX Runtime int8 export (``imon train --onnx``) under the
  same heads, in one run: per-task macro-F1 on the same two held-out sets, decision agreement, fp32/int8
  embedding cosine, and utterances/s of both on the same redacted simulated stream.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from models import datasets as D
from models.base import BINARY_TASKS, SENTIMENT_CLASSES, task_value_arg
from models.calibration import binary_macro_f1, binary_report, sentiment_macro_f1, sentiment_report
from models.heads import Heads, sentiment_decisions

if TYPE_CHECKING:
    from models.embcache import EmbeddingCache

log = logging.getLogger(__name__)


MIN_LABELLED = 10


def unreportable(task: str, labels: Sequence[int | None]) -> str | None:
    """Why ``_eval_set`` cannot report ``task`` on rows with these labels (None = unlabelled), or None when it
    can: it needs ``MIN_LABELLED`` labelled rows and every class (sentiment) or both (binary tasks)."""
    ys = [y for y in labels if y is not None]
    n_classes = len(SENTIMENT_CLASSES) if task == "sentiment" else 2
    if len(ys) >= MIN_LABELLED and len(set(ys)) == n_classes:
        return None
    classes = [SENTIMENT_CLASSES[y] if task == "sentiment" else str(y) for y in sorted(set(ys))]
    need = "all three classes" if task == "sentiment" else "both classes"
    return f"{len(ys)} labelled turn(s), classes {', '.join(classes)}: needs >= {MIN_LABELLED} and {need}"


def _eval_set(heads: Heads, X: np.ndarray, exs: Sequence[D.Example], ci: bool = False) -> dict[str, Any]:
    """Per-task report of ``heads`` on ``exs``; ``ci``: add a 95 % bootstrap interval of macro-F1
    (``macro_f1_ci``) for the small sets whose positives are few (the gold set)."""
    from models.gold import bootstrap_ci

    probs = heads.predict(X, [e.text for e in exs]) if len(exs) else {}
    out: dict[str, Any] = {}
    ys = [e.label("sentiment") for e in exs]
    m = np.array([y is not None for y in ys], dtype=bool)
    if unreportable("sentiment", ys) is None:
        ps, y = probs["sentiment"][m], np.array([y for y in ys if y is not None])
        divisor = heads.sentiment_divisor
        out["sentiment"] = sentiment_report(ps, y, divisor)
        if ci:
            out["sentiment"]["macro_f1_ci"] = bootstrap_ci(lambda i: sentiment_macro_f1(ps[i], y[i], divisor), len(y))
    for t in BINARY_TASKS:
        ys = [e.label(t) for e in exs]
        # agent turns are never escalation / human requests (see heads.decide): score them as decided
        m = np.array([y is not None for y in ys], dtype=bool)
        if unreportable(t, ys) is not None:
            continue
        p = probs[t][m].copy()
        if t in ("escalation", "human_requested"):
            agent = np.array([e.speaker != "customer" for e, keep in zip(exs, m, strict=True) if keep])
            p[agent] = 0.0
        yb, th = np.array([y for y in ys if y is not None]), heads.thresholds[t]
        out[t] = binary_report(p, yb, th)
        if ci:
            out[t]["macro_f1_ci"] = bootstrap_ci(lambda i, p=p, yb=yb, th=th: binary_macro_f1(p[i], yb[i], th), len(yb))
    return out


def real_text_sets(data_dir: Path, ibm_parts: Sequence[str] = ("dev", "test")) -> dict[str, list[D.Example]]:
    """The real-text sets by report name: the gold set's ``ibm_parts`` (``gold_ibm_<lang>_<part>``), then the RSiCS
    eval part's requests to virtual agents, both strata (``gold_rsics_<lang>``) and the random one alone
    (``gold_rsics_<lang>_random``, ordinary traffic); English and Dutch."""
    from models import gold as G
    from models import gold_rsics as GR

    sets = {f"gold_ibm_{lang}_{part}": G.examples(data_dir, lang, part) for lang in ("en", "nl") for part in ibm_parts}
    for lang in ("en", "nl"):
        sets[f"gold_rsics_{lang}"] = GR.examples(data_dir, lang)
        sets[f"gold_rsics_{lang}_random"] = GR.examples(data_dir, lang, "random")
    return sets


def evaluate_heads(
    heads: Heads, cache: EmbeddingCache, data_dir: Path, limit: int | None = None, seed: int = 0, gold: bool = False
) -> dict[str, Any]:
    """All held-out reports for ``heads`` (embeddings from ``cache``); ``gold``: also the hand-labelled real
    customer-care turns (``models/gold.py``) and requests to virtual agents (``models/gold_rsics.py``), English
    and their Dutch translations."""
    sets: dict[str, list[D.Example]] = {
        "tweeteval_sentiment_val": D.tweeteval_sentiment(data_dir),
        "synth_test": D.synthetic("test", limit, seed),
        "synth_test_en": [e for e in D.synthetic("test", limit, seed) if e.lang == "en"],
        "synth_test_nl": [e for e in D.synthetic("test", limit, seed) if e.lang == "nl"],
        "tweeteval_hate_offensive_val": D.tweeteval_abuse(data_dir, "val", limit, seed),
        "davidson_holdout": D.davidson(data_dir, "val", limit if limit else 2000, seed),
        "bitext_holdout": D.bitext(data_dir, "val", limit, seed),
    }
    if limit is not None:
        sets["tweeteval_sentiment_val"] = sets["tweeteval_sentiment_val"][: max(limit, 60)]
    if gold:
        sets.update(real_text_sets(data_dir))
    report: dict[str, Any] = {}
    for name, exs in sets.items():
        X = cache.encode([e.text for e in exs])
        report[name] = _eval_set(heads, X, exs, ci=name.startswith("gold_"))
    return report


def language_consistency(
    heads: Heads, encode: Callable[[list[str]], np.ndarray], pairs: Sequence[tuple[D.Example, D.Example]]
) -> dict[str, Any]:
    """The same turns scored in English and in Dutch (the gold set's translations, ``models.gold.pairs``).
    Per task: the mean score and the number flagged in each language, how often the two decisions agree,
    and the mean paired difference Dutch - English with a 95 % bootstrap interval. The labels are the same
    on both sides, so a model that treats the two languages alike shows a difference near 0: a customer
    should not be flagged more for writing Dutch. Sentiment: p(negative), flagged = negative decided;
    escalation and human_requested on customer turns only (as ``heads.decide``)."""
    from models.gold import bootstrap_ci

    if not pairs:
        return {}
    en, nl = [a.text for a, _ in pairs], [b.text for _, b in pairs]
    pe, pn = heads.predict(encode(en), en), heads.predict(encode(nl), nl)
    customer = np.array([a.speaker == "customer" for a, _ in pairs], dtype=bool)
    out: dict[str, Any] = {}
    for task in ("sentiment", *BINARY_TASKS):
        if task == "sentiment":
            se, sn = pe[task][:, 0], pn[task][:, 0]
            fe = sentiment_decisions(pe[task], heads.sentiment_divisor) == 0
            fn = sentiment_decisions(pn[task], heads.sentiment_divisor) == 0
        else:
            se, sn = pe[task], pn[task]
            fe, fn = se >= heads.thresholds[task], sn >= heads.thresholds[task]
        m = customer if task in ("escalation", "human_requested") else np.ones(len(pairs), dtype=bool)
        se, sn, fe, fn = se[m], sn[m], fe[m], fn[m]
        if not len(se):
            continue
        d = (sn - se).astype(np.float64)
        out[task] = {"n": len(d), "mean_en": float(se.mean()), "mean_nl": float(sn.mean()),
                     "flagged_en": int(fe.sum()), "flagged_nl": int(fn.sum()), "agreement": float((fe == fn).mean()),
                     "mean_diff": float(d.mean()), "mean_diff_ci": bootstrap_ci(lambda i, d=d: float(d[i].mean()), len(d))}
    return out


def format_language_consistency(rep: dict[str, dict[str, Any]]) -> str:
    lines = ["gold sets, the same turns in English and in Dutch (diff = Dutch - English; part rsics: the "
             "virtual-agent requests):",
             f"{'part':6s} {'task':18s} {'n':>5s} {'mean EN':>8s} {'mean NL':>8s} {'flag EN':>8s} {'flag NL':>8s} "
             f"{'agree':>6s} {'diff':>7s} 95% CI"]
    for part, tasks in rep.items():
        for task, r in tasks.items():
            lines.append(f"{part:6s} {task:18s} {r['n']:5d} {r['mean_en']:8.3f} {r['mean_nl']:8.3f} "
                         f"{r['flagged_en']:8d} {r['flagged_nl']:8d} {r['agreement']:6.3f} {r['mean_diff']:+7.3f} "
                         "[{:+.3f}, {:+.3f}]".format(*r["mean_diff_ci"]))
    return "\n".join(lines)


def format_report(report: dict[str, Any]) -> str:
    """The metrics table (P and R: the positive class of a binary task; PR-AUC: average precision, for sentiment
    the mean over its classes, each against the rest)."""
    lines = [f"{'set':32s} {'task':18s} {'n':>6s} {'macroF1':>8s} {'P':>6s} {'R':>6s} {'mRecall':>8s} {'PR-AUC':>7s} "
             f"{'ECE':>6s} macroF1 95% CI"]
    for name, tasks in report.items():
        for task, r in tasks.items():
            lines.append(
                f"{name:32s} {task:18s} {r['n']:6d} {r['macro_f1']:8.3f} "
                f"{r.get('precision', float('nan')):6.3f} {r.get('recall', float('nan')):6.3f} "
                f"{r.get('macro_recall', float('nan')):8.3f} {r.get('pr_auc', float('nan')):7.3f} {r['ece']:6.3f}"
                + (" [{:.3f}, {:.3f}]".format(*r["macro_f1_ci"]) if "macro_f1_ci" in r else "")
            )
    return "\n".join(lines)


def format_confusion(report: dict[str, Any]) -> str:
    """One line per set and task: the confusion matrix, rows the true class, columns the decided one
    (sentiment: negative / neutral / positive; binary tasks: 0 / 1)."""
    lines = ["confusion matrices (rows: true; columns: decided; sentiment neg/neu/pos, binary 0/1):"]
    for name, tasks in report.items():
        for task, r in tasks.items():
            if "confusion" in r:
                rows = "  ".join("[" + " ".join(f"{v:5d}" for v in row) + "]" for row in r["confusion"])
                lines.append(f"  {name:32s} {task:18s} {rows}")
    return "\n".join(lines)


def bench(scorer: Any, seconds: float = 5.0, rounds: int = 5) -> dict[str, Any]:
    """Utterances/s of the raw encoder and of ``scorer.score`` (evidence included) at batch 1 and 32, on
    the synthetic test utterances (most of them positive, so evidence is computed for almost all).

    The box is shared: configurations are interleaved over ``rounds`` rounds of ``seconds / rounds``
    each and both the best and the median round are reported.
    """
    import statistics

    from models.base import Utterance

    texts = [e.text for e in D.synthetic("test")][:512]

    def rate(fn: Any, bs: int, secs: float) -> float:
        n, t0, i = 0, time.perf_counter(), 0
        while time.perf_counter() - t0 < secs:
            fn([texts[(i + k) % len(texts)] for k in range(bs)])
            n += bs
            i += bs
        return n / (time.perf_counter() - t0)

    cfgs = {}
    for bs in (1, 64):
        cfgs[f"encoder_batch_{bs}"] = (bs, lambda b: scorer.enc.encode(b, batch_size=64))
        cfgs[f"score_batch_{bs}"] = (bs, lambda b: scorer.score([Utterance(text=t) for t in b]))
    runs: dict[str, list[float]] = {k: [] for k in cfgs}
    for _ in range(rounds):
        for k, (bs, fn) in cfgs.items():
            runs[k].append(rate(fn, bs, seconds / rounds))
    out: dict[str, Any] = {}
    for k, v in runs.items():
        out[f"{k}_utt_per_s_best"] = max(v)
        out[f"{k}_utt_per_s_median"] = statistics.median(v)
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--heads", type=Path, default=None, help="heads .npz (default: settings.heads_path / shipped)")
    parser.add_argument("--data-dir", type=Path, default=None, help="public data folder (default: ../shared/data)")
    parser.add_argument("--build-dir", type=Path, default=None, help="embedding cache folder (default: models/build)")
    parser.add_argument("--limit", type=int, default=None, help="cap rows per set (quick runs)")
    parser.add_argument("--report", type=Path, default=None, help="write the JSON report here")
    parser.add_argument("--labelled", type=Path, action="append", default=None, metavar="PATH",
                        help="evaluate on your own labelled turns instead of the built-in sets: a JSONL file (one "
                             'turn per line: {"text", "labels": {"sentiment": "negative", "escalation": true, ...}, '
                             '"language": "en"|"nl", "speaker"}) or a folder of them, e.g. IMON_FEEDBACK_DATA_DIR '
                             "(format: models/labelled.py); redacted as the worker does; repeatable, one set per file")
    parser.add_argument("--bench", action="store_true", help="also measure score() throughput")
    parser.add_argument("--no-bias", action="store_true", help="skip the counterfactual bias audit")
    parser.add_argument("--no-gold", action="store_true",
                        help="skip the hand-labelled real customer-care turns and virtual-agent requests "
                             "(models/data/gold, EN + Dutch translations)")
    parser.add_argument("--bias-units", type=int, default=40, help="carriers per bias-audit axis (default 40)")
    parser.add_argument("--bench-seconds", type=float, default=15.0, help="seconds per configuration")
    parser.add_argument("--cascade", action="store_true",
                        help="compare transformer-only with the cascade (quality + throughput); needs "
                             "`imon train --fast-path`; skips the other reports")
    parser.add_argument("--onnx", action="store_true",
                        help="compare the torch fp32 encoder with the ONNX Runtime int8 one under the same heads "
                             "(macro-F1, cosine, throughput); needs `imon train --onnx`; skips the other reports")
    parser.add_argument("--onnx-dir", type=Path, default=None, help="int8 ONNX folder (default: settings / build)")
    parser.add_argument("--onnx-heads", type=Path, default=None,
                        help="heads for the int8 side of --onnx (default: <onnx dir>/heads.npz when "
                             "`IMON_ENCODER_BACKEND=onnx-int8 imon train` built it, else the same heads)")
    parser.add_argument("--fast-path-dir", type=Path, default=None, help="fast-path folder (default: settings / build)")
    parser.add_argument("--cascade-bands", type=_band_arg, action="append", default=None, metavar="TASK=BAND",
                        help="with --cascade: evaluate with this band for TASK instead of the build's (what-if; "
                             "repeatable; TASK sentiment or a binary task, BAND in [0, 1])")
    parser.add_argument("--stream-n", type=int, default=2000, help="simulated utterances for --cascade / --onnx throughput")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved throughput rounds for --cascade / --onnx")


def _band_arg(value: str) -> tuple[str, float]:
    """``"human_requested=0.2"`` -> ("human_requested", 0.2), checked."""
    return task_value_arg(value, ("sentiment", *BINARY_TASKS), "BAND")


def run(args: argparse.Namespace, settings: Any) -> int:
    from models.embcache import EmbeddingCache
    from models.encoder import load_encoder
    from models.heads import default_heads_path
    from models.scorer import TransformerScorer

    if getattr(args, "cascade_bands", None) and not getattr(args, "cascade", False):
        print("imon evaluate: --cascade-bands goes with --cascade", file=sys.stderr)
        return 2
    if getattr(args, "onnx", False):  # fail before loading anything when the int8 encoder is not built
        from models.onnx_encoder import check_onnx_dir

        check_onnx_dir(args.onnx_dir or settings.onnx_dir)
    heads_path = args.heads or (Path(settings.heads_path) if settings.heads_path else default_heads_path())
    heads = Heads.load(heads_path)
    labelled = None
    if getattr(args, "labelled", None):  # read (and reject) the user's file before minutes of loading
        from models import labelled as L

        try:
            labelled = L.load(args.labelled)
        except ValueError as e:
            print(f"imon evaluate: {e}", file=sys.stderr)
            return 2
        log.info("labelled data: %d turns from %s; labels per task: %s", len(labelled),
                 ", ".join(map(str, args.labelled)), L.counts(labelled))
    # --onnx compares the float32 encoder with its int8 export; everything else measures what is served
    dtype = "float32" if getattr(args, "onnx", False) else settings.encoder_dtype
    enc = load_encoder(settings.encoder_dir, device=settings.device, threads=settings.torch_threads or 2,
                       adapter=settings.encoder_adapter, dtype=dtype)
    if heads.meta.get("encoder", {}).get("fingerprint") not in (None, enc.fingerprint):
        log.error("heads %s were trained on a different encoder than %s", heads_path, enc.path)
        return 2
    cache = EmbeddingCache(enc, args.build_dir)
    if labelled is not None:
        return _run_labelled(args, heads, heads_path, enc, cache, labelled)
    data_dir = args.data_dir or D.default_data_dir()
    if getattr(args, "cascade", False):
        return _run_cascade(args, settings, enc, heads, cache, data_dir)
    if getattr(args, "onnx", False):
        return _run_onnx(args, settings, enc, heads, data_dir)
    report: dict[str, Any] = {
        "heads": str(heads_path),
        "version": heads.meta.get("version"),
        "thresholds": heads.thresholds,
        "encoder": {"fingerprint": enc.fingerprint, "backend": enc.backend, "dtype": getattr(enc, "dtype", "float32")},
        "results": evaluate_heads(heads, cache, data_dir, args.limit, int(heads.meta.get("seed", 0)),
                                  gold=not args.no_gold),
    }
    if not args.no_gold:
        from models import gold as G
        from models import gold_rsics as GR

        report["gold_agreement"] = G.agreement()
        report["gold_rsics_agreement"] = GR.agreement()
        pairs = {part: G.pairs(data_dir, part) for part in ("dev", "test")}
        pairs["rsics"] = GR.pairs(data_dir)
        report["gold_language_consistency"] = {
            part: language_consistency(heads, lambda t: cache.encode(t, progress=False), ps)
            for part, ps in pairs.items()}
    if not args.no_bias:
        from models import bias

        audit_set = bias.build_audit(data_dir, n_units=args.bias_units, seed=int(heads.meta.get("seed", 13)))
        report["bias_audit"] = bias.audit(
            audit_set, bias.heads_score_fn(heads, lambda t: cache.encode(t, progress=False)), heads.thresholds)
    if args.bench:
        from models.scorer import _single_thread_blas

        _single_thread_blas()
        report["speed"] = bench(TransformerScorer(enc, heads), args.bench_seconds)
    print(format_report(report["results"]))
    print(format_confusion(report["results"]))
    if "gold_language_consistency" in report:
        print(format_language_consistency(report["gold_language_consistency"]))
    if "bias_audit" in report:
        from models.bias import format_audit

        print(format_audit(report["bias_audit"]))
        print(json.dumps(report["bias_audit"]["summary"], indent=1))
    if "speed" in report:
        print(json.dumps(report["speed"]))
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def labelled_sets(exs: Sequence[D.Example]) -> dict[str, list[D.Example]]:
    """The sets ``--labelled`` reports: one per file (its stem) and, where a file holds more than one language,
    one per language of it (``<stem> [nl]``)."""
    by_file: dict[str, list[D.Example]] = {}
    for e in exs:
        by_file.setdefault(e.source.split(":", 1)[1], []).append(e)
    sets: dict[str, list[D.Example]] = {}
    for name, rows in by_file.items():
        sets[name] = rows
        langs = sorted({e.lang for e in rows})
        if len(langs) > 1:
            for lang in langs:
                sets[f"{name} [{lang}]"] = [e for e in rows if e.lang == lang]
    return sets


def _run_labelled(args: argparse.Namespace, heads: Heads, heads_path: Path, enc: Any, cache: Any,
                  exs: Sequence[D.Example]) -> int:
    """``--labelled``: the model on the user's own labelled turns only (no public data needed)."""
    results: dict[str, Any] = {}
    skipped: dict[str, dict[str, str]] = {}
    for name, rows in labelled_sets(exs).items():
        X = cache.encode([e.text for e in rows])
        results[name] = _eval_set(heads, X, rows, ci=True)
        miss = {t: why for t in D.TASKS if any(e.label(t) is not None for e in rows)
                and (why := unreportable(t, [e.label(t) for e in rows])) is not None}
        if miss:
            skipped[name] = miss
    report = {"heads": str(heads_path), "version": heads.meta.get("version"), "thresholds": heads.thresholds,
              "encoder": {"fingerprint": enc.fingerprint, "backend": enc.backend,
                          "dtype": getattr(enc, "dtype", "float32")},
              "labelled": [str(p) for p in args.labelled], "results": results, "not_reported": skipped}
    print(format_report(results))
    print(format_confusion(results))
    for name, miss in skipped.items():
        for t, why in miss.items():
            print(f"not reported: {name} {t}: {why}")
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def _run_cascade(args: argparse.Namespace, settings: Any, enc: Any, heads: Heads, cache: Any, data_dir: Path) -> int:
    from models.cascade import evaluate_cascade, format_cascade
    from models.fastpath import FastPath
    from models.scorer import TransformerScorer, _single_thread_blas

    _single_thread_blas()
    fast = FastPath.load(args.fast_path_dir or settings.fast_path_dir)
    rep = evaluate_cascade(TransformerScorer(enc, heads), fast, cache, data_dir, args.limit,
                           int(heads.meta.get("seed", 0)), stream_n=args.stream_n,
                           batch_size=settings.batch_max_size, rounds=args.rounds,
                           bands=dict(args.cascade_bands) if args.cascade_bands else None)
    import os

    rep["conditions"] = {"torch_threads": enc._torch.get_num_threads(), "cpus": os.cpu_count(),
                         "load_avg_at_end": list(os.getloadavg()), "device": settings.device}
    print(format_cascade(rep))
    out = args.report or Path("out") / "cascade_report.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rep, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


def _run_onnx(args: argparse.Namespace, settings: Any, enc: Any, heads: Heads, data_dir: Path) -> int:
    import os

    from models.onnx_encoder import OnnxEncoder, evaluate_backends, format_backends
    from models.scorer import _single_thread_blas

    _single_thread_blas()
    threads = settings.torch_threads or 2
    onnx_dir = args.onnx_dir or settings.onnx_dir
    onnx_enc = OnnxEncoder(enc.path, onnx_dir=onnx_dir, threads=threads, adapter=enc.adapter)
    from models.onnx_encoder import onnx_heads_path

    given = getattr(args, "onnx_heads", None)
    if given is not None and not Path(given).is_file():
        log.error("--onnx-heads %s: no such heads file", given)
        return 2
    refit = Path(given) if given is not None else onnx_heads_path(onnx_dir)
    onnx_heads = Heads.load(refit) if refit.is_file() else None
    if onnx_heads is not None and onnx_heads.meta.get("encoder", {}).get("fingerprint") not in (None, onnx_enc.fingerprint):
        if given is not None:
            log.error("--onnx-heads %s were fitted on another encoder (%s, this one is %s)", given,
                      onnx_heads.meta["encoder"]["fingerprint"], onnx_enc.fingerprint)
            return 2
        log.warning("ignoring %s: fitted on encoder %s, not this one (%s); refit with "
                    "`IMON_ENCODER_BACKEND=onnx-int8 imon train`", refit, onnx_heads.meta["encoder"]["fingerprint"],
                    onnx_enc.fingerprint)
        onnx_heads = None
    print(f"int8 side uses {'heads ' + str(refit) if onnx_heads else 'the same heads as fp32'}")
    rep = evaluate_backends(enc, onnx_enc, heads, data_dir, args.build_dir, args.limit, int(heads.meta.get("seed", 0)),
                            stream_n=args.stream_n, batch_size=settings.batch_max_size, rounds=args.rounds,
                            onnx_heads=onnx_heads)
    import onnxruntime

    rep["conditions"] = {"torch_threads": enc._torch.get_num_threads(), "onnx_intra_op_threads": threads,
                         "onnxruntime": onnxruntime.__version__, "cpus": os.cpu_count(),
                         "load_avg_at_end": list(os.getloadavg()), "device": "cpu"}
    print(format_backends(rep))
    out = args.report or Path("out") / "onnx_report.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rep, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m models.evaluate`` (the same as ``imon evaluate``)."""
    from streams.config import load_settings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(prog="imon evaluate", description=__doc__.split("\n")[0])
    add_arguments(p)
    return run(p.parse_args(argv), load_settings())


if __name__ == "__main__":
    raise SystemExit(main())
