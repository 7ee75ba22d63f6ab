"""``imon train``: fit the calibrated heads on the encoder and write ``models/artifacts/heads.*``.

Steps (seeded, reproducible: same data + seed + encoder -> byte-identical heads):
1. examples: public sets (``shared/data``) + our synthetic EN/NL set (``models/data``), each labelling
   only the tasks it speaks to (see ``models/datasets.py``);
1b. with ``--finetune``: a multi-task LoRA adapter for the encoder (``models/finetune.py``), written to
   ``models/artifacts/adapter.npz``; otherwise the configured adapter (default: the shipped one) is used;
2. embeddings from the (adapted, then frozen) encoder, cached under ``models/build/`` (only new texts are
   encoded);
3. one small head per task on the embedding: one GELU hidden layer (64) or logistic regression
   (``--hidden 0``), class-balanced, per-source weights;
4. calibration on the *validation* split: temperature (sentiment), Platt scaling (binary heads);
5. per-task thresholds on validation: the lowest threshold reaching the stated precision;
6. held-out evaluation (TweetEval sentiment val, synthetic test templates) written into the metadata;
7. the drift reference ``reference_scores.json`` (next to the heads): decile bins of the validation
   split's customer-utterance scores (``streams.drift``).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from models import datasets as D
from models.base import BINARY_TASKS, SENTIMENT_CLASSES, task_value_arg

log = logging.getLogger(__name__)

MODEL_VERSION = "0.1.0"
#: Precision each binary decision must reach on validation data (alerts page people: favour precision,
#: most for human requests which start an SLA clock).
DEFAULT_TARGET_PRECISION = {"escalation": 0.75, "human_requested": 0.85, "unfair_treatment": 0.80}


def _balanced_weights(y: np.ndarray, w: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """Sample weights so every class has the same total weight (mean weight 1). With ``groups`` (e.g. the
    rows' languages) classes are balanced *within* each group, which keeps its total weight: then the group
    says nothing about the label (the synthetic Dutch rows are 59 % escalations against 9 % of the English
    ones, and a model that learns "Dutch means escalation" flags routine Dutch turns)."""
    out = w.astype(np.float64).copy()
    for g in (np.unique(groups) if groups is not None else [None]):
        in_g = np.ones(len(y), dtype=bool) if g is None else groups == g
        classes = np.unique(y[in_g])
        total = w[in_g].sum()
        for c in classes:
            m = in_g & (y == c)
            out[m] *= total / (len(classes) * w[m].sum())
    return out * (len(out) / out.sum())


#: Sources whose positive label for a task follows another definition than ours (``imon train
#: --threshold-rows own`` leaves them out when choosing that task's threshold; docs/experiments/rule_18.md):
#: Davidson's "hate speech or offensive language" and TweetEval's hate / offensive tweets count swearing at a
#: situation, which the product's unfair_treatment does not.
PROXY_LABEL_SOURCES = {"unfair_treatment": ("davidson", "tweeteval_hate", "tweeteval_offensive")}
THRESHOLD_ROWS = ("all", "own")

#: ``train_heads(shared_prior=...)`` / ``imon train --shared-prior``.
SHARED_PRIOR_MODES = ("off", "binary", "all")
#: How the sentiment label is decided from the calibrated probabilities (``train_heads``, ``imon train
#: --sentiment-decision``; docs/experiments/rule_44.md).
SENTIMENT_DECISIONS = ("argmax", "balanced")


def _shared_prior_weights(y: np.ndarray, groups: np.ndarray, ref: str = "en") -> np.ndarray:
    """Weights for the validation rows under which every group (language) has the class shares of group
    ``ref`` (of all rows when ``ref`` is absent or lacks a class), each group keeping its row count as its
    total weight. Calibration and thresholds fitted with them cannot learn "this language is more often
    positive" from how our validation data was made (its Dutch rows are 37 % escalations, its English ones
    13 %): where the scores are unsure, more often in Dutch, that prior would decide."""
    classes = np.unique(y)
    base = groups == ref
    if not base.any() or len(np.unique(y[base])) < len(classes):
        base = np.ones(len(y), dtype=bool)
    share = {c: float((y[base] == c).mean()) for c in classes}
    out = np.ones(len(y), dtype=np.float64)
    for g in np.unique(groups):
        m = groups == g
        for c in classes:
            mc = m & (y == c)
            if mc.any():
                out[mc] = share[c] * m.sum() / mc.sum()
        out[m] *= m.sum() / out[m].sum()
    return out


def _fit_lr(X: np.ndarray, y: np.ndarray, w: np.ndarray, C: float, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=C, max_iter=2000, tol=1e-6, random_state=seed)
    clf.fit(X, y, sample_weight=w)
    return clf


def _fit_stack(Z: np.ndarray, y: np.ndarray, seed: int, w: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Calibration that fuses channels: (nearly unregularised) logistic regression of the labels on the
    channels' decision values, fitted on validation rows (Platt scaling with more than one input)."""
    clf = _fit_lr(Z.astype(np.float64), y, np.ones(len(y)) if w is None else w, 10.0, seed)
    return clf.coef_.astype(np.float32), clf.intercept_.astype(np.float32)


def _fit_mlp(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, n_out: int, hidden: int, seed: int,
    epochs: int = 20, weight_decay: float = 1e-2, dropout: float = 0.1, progress: bool = True, desc: str = "",
    groups: np.ndarray | None = None, clp: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One GELU hidden layer, weighted cross-entropy, AdamW; returns (W1, b1, W2, b2) as float32.
    Seeded (init and batch order), single process: same inputs -> same weights on the same machine.
    ``groups`` (rows of X that differ only in a name / identity term) with ``clp`` > 0 adds counterfactual
    logit pairing: ``clp`` x the within-group variance of the (log-softmax) outputs, one batch of groups
    per step."""
    import torch
    from tqdm import tqdm

    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Dropout(dropout),
        torch.nn.Linear(X.shape[1], hidden),
        torch.nn.GELU(approximate="tanh"),
        torch.nn.Linear(hidden, n_out),
    )
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=weight_decay)
    Xt, yt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)), torch.from_numpy(y.astype(np.int64))
    wt = torch.from_numpy(w.astype(np.float32))
    for _ in tqdm(range(epochs), desc=f"head {desc}", unit="epoch", disable=not progress):
        perm = torch.randperm(len(X), generator=g)
        for s in range(0, len(X), 256):
            i = perm[s : s + 256]
            z = net(Xt[i])
            if n_out == 1:
                loss = torch.nn.functional.binary_cross_entropy_with_logits(z[:, 0], yt[i].float(), reduction="none")
            else:
                loss = torch.nn.functional.cross_entropy(z, yt[i], reduction="none")
            loss = (loss * wt[i]).sum() / wt[i].sum()
            if clp and groups is not None and len(groups):
                gi = torch.from_numpy(groups[torch.randint(len(groups), (128,), generator=g).numpy()])
                zg = net(Xt[gi.reshape(-1)]).reshape(gi.shape[0], gi.shape[1], n_out)
                if n_out > 1:
                    zg = torch.log_softmax(zg, dim=-1)
                loss = loss + clp * ((zg - zg.mean(dim=1, keepdim=True)) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    params = [p.detach().numpy().astype(np.float32).copy() for p in net.parameters()]  # W1, b1, W2, b2
    return params[0], params[1], params[2], params[3]


def _fit_mlp_seeds(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, n_out: int, hidden: int, seed: int, seeds: int = 1, **kw: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``_fit_mlp`` with seeds ``seed`` .. ``seed + seeds - 1``, folded into one MLP whose output is the mean of
    their logits: first layers stacked (``seeds`` x ``hidden`` units), output weights divided by ``seeds``,
    output bias the mean. Same layout as one MLP, so serving is unchanged (docs/experiments/rule_48.md).
    ``seeds`` = 1 is ``_fit_mlp`` itself."""
    if seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {seeds}")
    desc = kw.pop("desc", "")
    fits = [_fit_mlp(X, y, w, n_out, hidden, seed + k, desc=desc if seeds == 1 else f"{desc} seed {k + 1}/{seeds}", **kw)
            for k in range(seeds)]
    if seeds == 1:
        return fits[0]
    W1 = np.concatenate([f[0] for f in fits], axis=0)
    b1 = np.concatenate([f[1] for f in fits])
    W2 = (np.concatenate([f[2] for f in fits], axis=1) / seeds).astype(np.float32)
    b2 = np.mean([f[3] for f in fits], axis=0).astype(np.float32)
    return W1, b1, W2, b2


def _labelled(exs: list[D.Example], task: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    idx = np.array([i for i, e in enumerate(exs) if e.label(task) is not None], dtype=int)
    y = np.array([exs[i].label(task) for i in idx], dtype=int)
    w = np.array([exs[i].weight for i in idx], dtype=np.float64)
    return idx, y, w


def _summary(exs: list[D.Example]) -> dict[str, Any]:
    by_src: dict[str, Counter[str]] = {}
    for e in exs:
        src = e.source.split(":")[0]
        c = by_src.setdefault(src, Counter())
        c["rows"] += 1
        for t in D.TASKS:
            v = e.label(t)
            if v is not None:
                c[f"{t}={SENTIMENT_CLASSES[v] if t == 'sentiment' else v}"] += 1
    return {s: dict(sorted(c.items())) for s, c in sorted(by_src.items())}


def train_heads(
    X_tr: np.ndarray,
    tr: list[D.Example],
    X_va: np.ndarray,
    va: list[D.Example],
    seed: int,
    C: float = 2.0,
    target_precision: dict[str, float] | None = None,
    hidden: int = 64,
    progress: bool = True,
    clp: float = 0.0,
    lexical: bool = False,
    lexical_bits: int = 17,
    lexical_C: float = 1.0,
    language_balance: bool = True,
    shared_prior: str = "off",
    threshold_rows: str = "all",
    sentiment_decision: str = "argmax",
    identity_directions: int = 0,
    head_seeds: int = 1,
) -> Any:
    """Fit, calibrate and threshold all heads. Returns :class:`models.heads.Heads` (meta partly filled).
    ``hidden`` = 0: logistic regression (L2 strength ``C``); > 0: one GELU hidden layer of that size.
    ``lexical``: also fit the character n-gram channel (``models.lexical``) on the training texts and fuse
    it with each head in the calibration step, on the validation split (which then chooses how far to
    trust each channel); thresholds are chosen on the fused probabilities. ``language_balance``: balance
    classes within each language (``_balanced_weights``), so the language of a turn is no evidence.
    ``shared_prior``: fit on validation rows weighted to the English rows' class shares in every language
    (``_shared_prior_weights``), for the same reason: ``binary`` the binary tasks' fused calibration,
    ``all`` also the sentiment stack and the thresholds; ``off`` nothing (docs/experiments/rule_6.md, 7).
    ``threshold_rows``: ``own`` chooses each task's precision threshold without the validation rows of
    ``PROXY_LABEL_SOURCES`` (whose positives mean something else); ``all`` on every labelled row.
    ``sentiment_decision``: ``argmax`` labels sentiment by the highest calibrated probability; ``balanced`` by
    p(c | x) / prior(c), the prior being the class shares of the validation rows the sentiment calibration was
    fitted on, with its weights (``models.heads.sentiment_decisions``, docs/experiments/rule_44.md).
    ``identity_directions`` = k > 0: fit the sentiment head on embeddings with the k directions the
    counterfactual copies differ in projected out (``models.cda.identity_directions``), then fold the projection
    into its first layer, so it is served as usual (docs/experiments/rule_47.md).
    ``head_seeds`` = k > 1: each MLP head is the mean of k fitted with seeds ``seed`` .. ``seed + k - 1``
    (``_fit_mlp_seeds``; docs/experiments/rule_48.md); calibration and thresholds then as usual."""
    if sentiment_decision not in SENTIMENT_DECISIONS:
        raise ValueError(f"sentiment_decision must be one of {SENTIMENT_DECISIONS}, got {sentiment_decision!r}")
    if shared_prior not in SHARED_PRIOR_MODES:
        raise ValueError(f"shared_prior must be one of {SHARED_PRIOR_MODES}, got {shared_prior!r}")
    if threshold_rows not in THRESHOLD_ROWS:
        raise ValueError(f"threshold_rows must be one of {THRESHOLD_ROWS}, got {threshold_rows!r}")
    if identity_directions < 0:
        raise ValueError(f"identity_directions must be >= 0, got {identity_directions}")
    if head_seeds < 1:
        raise ValueError(f"head_seeds must be >= 1, got {head_seeds}")
    if head_seeds > 1 and not hidden:
        raise ValueError("head_seeds > 1 needs MLP heads (hidden > 0)")
    from models.calibration import fit_platt, fit_temperature, threshold_for_precision
    from models.heads import BinaryHead, Heads, SentimentHead

    va_langs = np.array([e.lang for e in va])

    def vw(vi: np.ndarray, vy: np.ndarray, *modes: str) -> np.ndarray | None:
        """Validation weights for rows ``vi`` when ``shared_prior`` is one of ``modes``, else None."""
        return _shared_prior_weights(vy, va_langs[vi]) if shared_prior in modes else None

    target_precision = {**DEFAULT_TARGET_PRECISION, **(target_precision or {})}
    from models.cda import groups as cda_groups

    def bw(idx: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
        langs = np.array([tr[i].lang for i in idx]) if language_balance else None
        return _balanced_weights(y, w, langs)

    idx, y, w = _labelled(tr, "sentiment")
    Xs, proj = X_tr[idx], None
    if identity_directions:
        from models.cda import cda_group
        from models.cda import identity_directions as directions

        ci = [i for i, e in enumerate(tr) if cda_group(e) is not None]
        U, share = directions(np.asarray(X_tr[ci], dtype=np.float64), [str(cda_group(tr[i])) for i in ci],
                              identity_directions)
        proj = np.eye(U.shape[1]) - U.T @ U
        Xs = (np.asarray(Xs, dtype=np.float64) @ proj).astype(np.float32)
        log.info("sentiment head: %d identity directions (%.1f%% of %d counterfactual copies' residuals) projected out",
                 identity_directions, 100 * share, len(ci))
    if hidden:
        W1, b1, W2, b2 = _fit_mlp_seeds(Xs, y, bw(idx, y, w), 3, hidden, seed, head_seeds, progress=progress,
                                        desc="sentiment", groups=cda_groups(tr, idx), clp=clp)
        sent = SentimentHead(W=W2, b=b2, W1=W1, b1=b1)
    else:
        clf = _fit_lr(Xs, y, bw(idx, y, w), C, seed)
        sent = SentimentHead(W=clf.coef_.astype(np.float32), b=clf.intercept_.astype(np.float32))
    if proj is not None:  # fold: the head reads raw embeddings and computes what it was fitted on
        if sent.W1 is not None:
            sent.W1 = (sent.W1.astype(np.float64) @ proj).astype(np.float32)
        else:
            sent.W = (sent.W.astype(np.float64) @ proj).astype(np.float32)
    lex = zl_va = None
    if lexical:
        from models.lexical import fit_lexical

        labels = {}
        for t in ("sentiment", *BINARY_TASKS):
            li, ly, lw = _labelled(tr, t)
            labels[t] = (li, ly, bw(li, ly, lw))
        log.info("lexical channel: fitting on %d training texts (2^%d hashed n-grams)", len(tr), lexical_bits)
        lex = fit_lexical([e.text for e in tr], labels, seed=seed, bits=lexical_bits, C=lexical_C)
        zl_va = lex.logits([e.text for e in va])
    vi, vy, _ = _labelled(va, "sentiment")
    if zl_va is None:
        sent.temperature = fit_temperature(sent.logits(X_va[vi]), vy)
    else:
        sent.fuse_W, sent.fuse_b = _fit_stack(np.hstack([sent.logits(X_va[vi]), zl_va[vi, :3]]), vy, seed, vw(vi, vy, "all"))
    sent_prior = None
    if sentiment_decision == "balanced":
        counts = np.bincount(vy, weights=vw(vi, vy, "all"), minlength=len(SENTIMENT_CLASSES))
        if not np.all(counts > 0):
            raise ValueError("the balanced sentiment decision needs validation rows of every sentiment class")
        sent_prior = counts / counts.sum()

    binary: dict[str, BinaryHead] = {}
    thresholds: dict[str, float] = {}
    rules: dict[str, str] = {}
    for t in BINARY_TASKS:
        idx, y, w = _labelled(tr, t)
        if len(np.unique(y)) < 2:
            raise ValueError(f"training data for {t} has one class only; raise --limit")
        if hidden:
            W1, b1, W2, b2 = _fit_mlp_seeds(X_tr[idx], y, bw(idx, y, w), 1, hidden, seed, head_seeds,
                                            progress=progress, desc=t, groups=cda_groups(tr, idx), clp=clp)
            head = BinaryHead(w=W2[0], b=float(b2[0]), W1=W1, b1=b1)
        else:
            clf = _fit_lr(X_tr[idx], y, bw(idx, y, w), C, seed)
            head = BinaryHead(w=clf.coef_[0].astype(np.float32), b=float(clf.intercept_[0]))
        vi, vy, _ = _labelled(va, t)
        zl = None
        if zl_va is None:
            head.platt_a, head.platt_c = fit_platt(head.logit(X_va[vi]).astype(np.float64), vy)
        else:
            from models.lexical import lexical_index

            zl = zl_va[vi, lexical_index(t)]
            W, c = _fit_stack(np.column_stack([head.logit(X_va[vi]), zl]), vy, seed, vw(vi, vy, "all", "binary"))
            head.platt_a, head.platt_b, head.platt_c = float(W[0, 0]), float(W[0, 1]), float(c[0])
        pv, tw = head.proba(X_va[vi], zl), vw(vi, vy, "all")
        keep = np.ones(len(vi), dtype=bool)
        if threshold_rows == "own":
            keep = np.array([va[i].source.split(":")[0] not in PROXY_LABEL_SOURCES.get(t, ()) for i in vi])
        thresholds[t], rules[t] = threshold_for_precision(pv[keep], vy[keep], target_precision[t],
                                                          w=None if tw is None else tw[keep])
        binary[t] = head
    heads = Heads(sentiment=sent, binary=binary, thresholds=thresholds, lexical=lex, sentiment_prior=sent_prior)
    heads.meta["threshold_rule"] = {t: {"target_precision": target_precision[t], "rule": rules[t]} for t in BINARY_TASKS}
    heads.meta["shared_prior"] = shared_prior
    heads.meta["threshold_rows"] = threshold_rows
    if head_seeds > 1:
        heads.meta["head_seeds"] = {"seeds": list(range(seed, seed + head_seeds)), "hidden_each": hidden,
                                    "combined": "mean of logits, folded into one MLP"}
    if identity_directions:
        heads.meta["identity_projection"] = {"k": identity_directions, "residual_share": round(share, 4),
                                             "copies": len(ci), "head": "sentiment", "fitted": "on projected rows"}
    return heads


REFERENCE_FILE = "reference_scores.json"


def write_reference(heads: Any, X_va: np.ndarray, va: list[D.Example], path: Path) -> dict[str, Any]:
    """Drift reference from the validation split's customer utterances (agent turns excluded)."""
    from streams.drift import reference_from_scores, save_reference, scores_by_task

    keep = np.array([e.speaker == "customer" for e in va], dtype=bool)
    p = heads.predict(X_va[keep], [e.text for e, k in zip(va, keep, strict=True) if k])
    records = [
        {"scores": {"sentiment": {c: float(p["sentiment"][i, j]) for j, c in enumerate(SENTIMENT_CLASSES)},
                    **{t: float(p[t][i]) for t in BINARY_TASKS}}}
        for i in range(int(keep.sum()))
    ]
    ref = reference_from_scores(scores_by_task(records))
    save_reference(ref, path)
    return {t: r.n for t, r in ref.items()}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=None, help="heads file to write (default: models/artifacts/heads.npz)")
    parser.add_argument("--seed", type=int, default=13, help="random seed (default 13)")
    parser.add_argument("--limit", type=int, default=None, help="cap rows per source (quick/test runs)")
    parser.add_argument("--data-dir", type=Path, default=None, help="public data folder (default: ../shared/data)")
    parser.add_argument("--build-dir", type=Path, default=None, help="embedding cache (default: models/build)")
    parser.add_argument("--hidden", type=int, default=64, help="hidden units per head; 0 = logistic regression (default 64)")
    parser.add_argument("--C", type=float, default=2.0, help="inverse L2 strength when --hidden 0 (default 2.0)")
    parser.add_argument("--clp", type=float, default=0.0,
                        help="counterfactual logit pairing weight on the CDA groups (default 0 = off)")
    parser.add_argument("--no-lexical", action="store_true",
                        help="heads on the embedding only, without the character n-gram channel (models/lexical.py)")
    parser.add_argument("--no-language-balance", action="store_true",
                        help="balance classes over all rows instead of within each language (default: within, so "
                             "a turn's language is no evidence for its label)")
    parser.add_argument("--shared-prior", choices=SHARED_PRIOR_MODES, default="off",
                        help="weight the validation rows to the English rows' class shares in every language when "
                             "fitting: binary = the binary tasks' calibration, all = also sentiment and the "
                             "thresholds (docs/experiments/rule_6.md, rule_7.md; default off)")
    parser.add_argument("--sentiment-decision", choices=SENTIMENT_DECISIONS, default="argmax",
                        help="how the sentiment label is decided: argmax = the most probable class; balanced = the "
                             "most probable once divided by the class shares the probabilities were calibrated "
                             "under; measured worse on TweetEval and the gold dev set (docs/experiments/rule_44.md; default argmax)")
    parser.add_argument("--identity-directions", type=int, default=0, metavar="K",
                        help="fit the sentiment head with the K directions counterfactual name / identity copies "
                             "differ in projected out (docs/experiments/rule_47.md; default 0: off)")
    parser.add_argument("--head-seeds", type=int, default=1, metavar="K",
                        help="fit each MLP head K times (seeds SEED .. SEED+K-1) and serve the mean of their logits, "
                             "folded into one wider head (docs/experiments/rule_48.md; default 1)")
    parser.add_argument("--threshold-rows", choices=THRESHOLD_ROWS, default="all",
                        help="validation rows each precision threshold is chosen on: all labelled rows, or own = "
                             "without sources whose positive label follows another definition (Davidson and "
                             "TweetEval hate/offensive for unfair_treatment; docs/experiments/rule_18.md; default all)")
    parser.add_argument("--written-batch", type=_written_batch, action="append", default=None, metavar="N=TASKS",
                        help="train written batch N (models/data/written_batchN.jsonl) for the comma-separated TASKS "
                             "only, its other labels left out (repeatable; 'N=' = not at all; "
                             "docs/experiments/rule_17.md, rule_19.md; default: "
                             f"{_batches_text(D.WRITTEN_BATCHES_DEFAULT)})")
    parser.add_argument("--extra-data", type=Path, action="append", default=None, metavar="PATH",
                        help="also train on your own labelled turns: a JSONL file or a folder of them (e.g. the "
                             "supervisors' verdicts kept in IMON_FEEDBACK_DATA_DIR; format: models/labelled.py), "
                             "redacted as the worker does; a hash of each text sends --extra-val-share of them to "
                             "the validation rows that calibration and thresholds are fitted on (repeatable)")
    parser.add_argument("--extra-weight", type=float, default=1.0,
                        help="sample weight of each --extra-data turn (default 1.0: the say of one written row; "
                             "749 gold turns at 1 moved English sentiment on other conversations of the same companies by "
                             "+0.12, not on other companies: models/MODEL_CARD.md, \"Your own traffic\")")
    parser.add_argument("--extra-tasks", type=_task_list, default=None, metavar="TASKS",
                        help="train only these comma-separated tasks on the --extra-data turns, their other labels "
                             "left out (default: every task they label; e.g. sentiment: models/MODEL_CARD.md, "
                             "\"Your own traffic\", on escalation's threshold after adapting)")
    parser.add_argument("--extra-val-share", type=float, default=0.2,
                        help="share of --extra-data turns kept for validation (default 0.2)")
    parser.add_argument("--lexical-bits", type=int, default=17, help="hashed n-gram buckets = 2^bits (default 17)")
    parser.add_argument("--lexical-C", type=float, default=1.0,
                        help="inverse L2 strength of the n-gram models (default 1.0)")
    parser.add_argument("--no-eval", action="store_true", help="skip the held-out evaluation")
    ft = parser.add_argument_group("encoder fine-tuning: LoRA adapters (models/finetune.py, models/adapter.py)")
    ft.add_argument("--finetune", action="store_true",
                    help="first train a LoRA adapter for the encoder on all tasks (about 45 min for 48,000 rows with "
                         "multilingual-e5-small on 2 CPU cores: 2,745 s in rule 41), write it to --adapter-out, then "
                         "fit the heads on the adapted encoder (about 11 min)")
    ft.add_argument("--adapter-out", type=Path, default=None,
                    help="adapter file to write (default: models/artifacts/adapter.npz; then give --out too)")
    ft.add_argument("--finetune-rows", type=int, default=48000,
                    help="training rows drawn (by source weight) for the fine-tune (default 48000, as shipped)")
    ft.add_argument("--finetune-epochs", type=float, default=1.0, help="passes over those rows (default 1)")
    ft.add_argument("--lora-r", type=int, default=8, help="LoRA rank (default 8; alpha = 2 x rank)")
    ft.add_argument("--lora-lr", type=float, default=5e-4, help="fine-tuning learning rate (default 5e-4)")
    ft.add_argument("--finetune-clp", type=float, default=0.0,
                    help="counterfactual pairing weight during the fine-tune: penalise different embeddings for "
                         "copies of one utterance with different names / identity terms (default 0 = off, so the "
                         "recorded commands of earlier adapters still reproduce them; the shipped adapter used 2 "
                         "since rule 41)")
    ft.add_argument("--finetune-align", type=float, default=0.0,
                    help="cross-lingual alignment weight during the fine-tune: pull each Dutch translation's "
                         "embedding towards its English source's (models/data/written_nl_translations.jsonl; "
                         "docs/experiments/rule_14.md; default 0 = off)")
    ft.add_argument("--finetune-align-pairs", type=int, default=8,
                    help="translation pairs embedded per fine-tuning step for --finetune-align (default 8)")
    ft.add_argument("--distil-nl", type=float, default=0.0, metavar="EPOCHS",
                    help="then distil a Dutch student from the adapter (the one --finetune just trained, else the "
                         "configured one): Dutch translations are pulled to where the adapter puts their English "
                         "sources while English is held where it was; EPOCHS passes over the 1,200 translation "
                         "pairs (about 8 min for 3 on 2 CPU cores); the student is written to --adapter-out and "
                         "the heads are fitted on it (docs/experiments/rule_16.md; default 0 = off)")
    fp = parser.add_argument_group("fast path / cascade (models/fastpath.py, models/cascade.py)")
    fp.add_argument("--fast-path", action="store_true",
                    help="build the cascade's fast path (static embeddings distilled from the encoder + heads) "
                         "instead of the transformer heads")
    fp.add_argument("--fast-path-dir", type=Path, default=None,
                    help="fast-path folder to write (default: settings.fast_path_dir / models/build/fastpath)")
    fp.add_argument("--transformer-heads", type=Path, default=None,
                    help="transformer heads the cascade routes to (default: settings.heads_path / shipped)")
    fp.add_argument("--fast-dims", type=int, default=256, help="PCA dimensions of the static vectors (default 256)")
    fp.add_argument("--fast-sif", type=float, default=1e-3, help="SIF frequency-weight coefficient (default 1e-3)")
    fp.add_argument("--fast-max-vocab", type=int, default=None,
                    help="distil only the N most frequent training tokens (quick/test builds; default: all)")
    fp.add_argument("--fast-refine-epochs", type=int, default=8,
                    help="epochs of sentence-level distillation of the static vectors (0 = PCA+SIF only; default 8)")
    fp.add_argument("--cascade-max-loss", type=float, default=0.01,
                    help="most macro-F1 the cascade may lose per task on validation when choosing bands (0.01)")
    fp.add_argument("--cascade-cover", type=_cover_arg, action="append", default=None, metavar="TASK=SHARE",
                    help="route at least SHARE of the transformer's own positive decisions for binary TASK on "
                         "validation (a floor under that task's band; SHARE 0 = none; repeatable; default "
                         "human_requested=1: every request for a person it finds goes to it, "
                         "docs/experiments/rule_52.md)")
    fp.add_argument("--bands-only", action="store_true",
                    help="with --fast-path: choose the cascade bands again for the existing fast path (e.g. after "
                         "new transformer heads or another --cascade-cover), without distilling again "
                         "(about 20 s with the embedding cache warm)")
    ox = parser.add_argument_group("ONNX Runtime int8 encoder (models/onnx_encoder.py)")
    ox.add_argument("--onnx", action="store_true",
                    help="export the encoder to ONNX and quantize it to int8 (IMON_ENCODER_BACKEND=onnx-int8) "
                         "instead of training heads")
    ox.add_argument("--onnx-dir", type=Path, default=None,
                    help="folder to write (default: settings.onnx_dir / models/build/onnx)")
    ox.add_argument("--onnx-drop-fp32", action="store_true", help="delete the exported float model afterwards")


def _written_batch(value: str) -> tuple[int, tuple[str, ...]]:
    """``"3=sentiment,unfair_treatment"`` -> (3, the tasks), checked; ``"3="`` -> batch 3 with no task."""
    n, sep, rest = value.partition("=")
    if not sep or not n.strip().isdigit() or int(n) not in D.WRITTEN_BATCHES:
        raise argparse.ArgumentTypeError(f"expected N=TASKS with N one of {sorted(D.WRITTEN_BATCHES)}, got {value!r}")
    return int(n), _tasks(rest)


def _cover_arg(value: str) -> tuple[str, float]:
    """``"human_requested=1.0"`` -> ("human_requested", 1.0), checked."""
    return task_value_arg(value, BINARY_TASKS, "SHARE")


def _tasks(value: str) -> tuple[str, ...]:
    """Comma-separated task names, checked; may be empty."""
    tasks = tuple(t.strip() for t in value.split(",") if t.strip())
    try:
        D.check_tasks(tasks)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return tasks


def _task_list(value: str) -> tuple[str, ...]:
    """``"sentiment,unfair_treatment"`` -> the tasks, checked (at least one)."""
    tasks = _tasks(value)
    if not tasks:
        raise argparse.ArgumentTypeError("give at least one task")
    return tasks


def _batches_text(batches: dict[int, tuple[str, ...]]) -> str:
    return " ".join(f"{n}={','.join(t)}" for n, t in sorted(batches.items()) if t) or "none"


def _class_weight_rule(args: argparse.Namespace) -> str:
    return "balanced x source weight" + ("" if getattr(args, "no_language_balance", False) else ", within each language")


def content_digest(heads: Any) -> str:
    """The version's hash: the heads' weights, thresholds and (when balanced) sentiment prior; heads that
    decide alike on the same embeddings share it, on any machine. Each array enters as its dtype, shape and
    bytes. Until 2026-12-06 the arrays were hashed as ``np.savez`` wrote them, and a zip's headers differ between
    Python builds (zip64 or not), so the same heads got another version on another build: versions up to
    0.1.0+80de98f0 were computed that way and stay as they were named."""
    h = hashlib.sha256()
    arrays = [heads.sentiment.W, heads.sentiment.b, heads.sentiment.W1, heads.sentiment.fuse_W]
    for b in heads.binary.values():
        arrays += [b.w, np.array([b.b]), b.W1, np.array([b.platt_b])]
    if heads.lexical is not None:
        arrays += list(heads.lexical.arrays().values())
    for a in arrays:
        if a is not None:
            a = np.ascontiguousarray(a)
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(a.tobytes())
    h.update(repr(sorted(heads.thresholds.items())).encode())
    if heads.sentiment_prior is not None:
        h.update(repr([round(float(v), 6) for v in heads.sentiment_prior]).encode())
    if heads.sentiment_target is not None:
        h.update(b"target" + repr([round(float(v), 6) for v in heads.sentiment_target]).encode())
    return h.hexdigest()[:8]


def lexical_options(args: argparse.Namespace) -> dict[str, Any]:
    """``train_heads`` keyword arguments for the n-gram channel (on by default), the per-language class
    balance (on by default), the calibration's priors and the threshold rows from the command line."""
    return {"lexical": not getattr(args, "no_lexical", False), "lexical_bits": getattr(args, "lexical_bits", 17),
            "lexical_C": getattr(args, "lexical_C", 1.0),
            "language_balance": not getattr(args, "no_language_balance", False),
            "shared_prior": getattr(args, "shared_prior", "off"),
            "threshold_rows": getattr(args, "threshold_rows", "all"),
            "sentiment_decision": getattr(args, "sentiment_decision", "argmax"),
            "identity_directions": getattr(args, "identity_directions", 0),
            "head_seeds": getattr(args, "head_seeds", 1)}


def run(args: argparse.Namespace, settings: Any) -> int:
    import torch

    from models.embcache import EmbeddingCache
    from models.encoder import load_encoder
    from models.evaluate import evaluate_heads, format_report
    from models.heads import MODEL_NAME, default_heads_path

    if getattr(args, "fast_path", False):
        from models.fastpath import build, rebands

        return (rebands if getattr(args, "bands_only", False) else build)(args, settings)
    for flag, given in (("--bands-only", getattr(args, "bands_only", False)),
                        ("--cascade-cover", getattr(args, "cascade_cover", None))):
        if given:  # a usage error: exit status 2
            print(f"imon train: {flag} goes with --fast-path (the cascade's bands)", file=sys.stderr)
            raise SystemExit(2)
    if getattr(args, "onnx", False):
        from models.onnx_encoder import export_onnx

        export_onnx(settings.encoder_dir, args.onnx_dir or settings.onnx_dir, keep_fp32=not args.onnx_drop_fp32,
                    adapter=settings.encoder_adapter)
        return 0
    if getattr(args, "distil_nl", 0.0) < 0:  # before minutes of loading data
        raise SystemExit("--distil-nl must be >= 0 (passes over the translation pairs; 0 = off)")
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    threads = min(settings.torch_threads or 2, 2)  # shared 2-core box: never more than 2
    backend = settings.encoder_backend
    # With IMON_ENCODER_BACKEND=onnx-int8 the heads are fitted, calibrated and thresholded on the int8
    # encoder's own embeddings (its vectors differ from fp32 by cosine ~0.99, enough to move thresholds).
    extra_tr, extra_va = _extra_data(args)  # before minutes of loading: a bad file fails at once
    data_dir = args.data_dir or D.default_data_dir()
    batches = {**D.WRITTEN_BATCHES_DEFAULT, **dict(getattr(args, "written_batch", None) or [])}
    tr = D.load_split(data_dir, "train", args.limit, args.seed, batches) + extra_tr
    va = D.load_split(data_dir, "val", args.limit, args.seed, batches) + extra_va
    log.info("train %d examples, validation %d", len(tr), len(va))
    adapter = settings.encoder_adapter
    if getattr(args, "finetune", False):
        adapter = str(_finetune(args, settings, tr, threads))
    if getattr(args, "distil_nl", 0.0):
        adapter = str(_distil_nl(args, settings, tr, threads, adapter))
    enc = load_encoder(settings.encoder_dir, device=settings.device, threads=threads, backend=backend,
                       onnx_dir=settings.onnx_dir, adapter=adapter)
    cache = EmbeddingCache(enc, args.build_dir)
    X_tr = cache.encode([e.text for e in tr])
    X_va = cache.encode([e.text for e in va])

    heads = train_heads(X_tr, tr, X_va, va, seed=args.seed, C=args.C, hidden=args.hidden, clp=args.clp,
                        **lexical_options(args))
    heads.meta.update(
        {
            "name": MODEL_NAME,
            "version": f"{MODEL_VERSION}+{content_digest(heads)}",
            "encoder": {"name": enc.name, "fingerprint": enc.fingerprint, "max_length": enc.max_length,
                        "pooling": "mean", "normalize": "l2", "dim": enc.dim, "backend": backend,
                        "base_fingerprint": enc.base_fingerprint, "adapter": _adapter_summary(enc.adapter)},
            "classes": {"sentiment": list(SENTIMENT_CLASSES), "binary": list(BINARY_TASKS)},
            "head": (
                {"type": "mlp", "hidden": args.hidden, "activation": "gelu_tanh", "epochs": 20, "weight_decay": 1e-2,
                 "dropout": 0.1, "class_weight": _class_weight_rule(args)}
                if args.hidden
                else {"type": "logistic_regression", "C": args.C, "class_weight": _class_weight_rule(args)}
            ),
            "lexical_channel": (
                {"type": "char_wb n-grams 2-5, hashed, sublinear tf-idf, L2 logistic regression per task",
                 "bits": args.lexical_bits, "C": args.lexical_C, "fusion": "fitted on validation"}
                if heads.lexical is not None else None
            ),
            "seed": args.seed,
            "limit": args.limit,
            "extra_data": _extra_summary(args, extra_tr, extra_va),
            "training_data": {"train": _summary(tr), "validation": _summary(va),
                              "written_batches": {str(n): list(t) for n, t in sorted(batches.items()) if t}},
        }
    )
    if not args.no_eval:
        results = evaluate_heads(heads, cache, data_dir, args.limit, args.seed)
        heads.meta["heldout_metrics"] = results
        print(format_report(results))
    if args.out or settings.heads_path:
        out = args.out or Path(settings.heads_path)
    elif backend == "onnx-int8":  # never overwrite the shipped (fp32) heads with int8 ones
        from models.onnx_encoder import onnx_heads_path

        out = onnx_heads_path(settings.onnx_dir)
    else:
        out = default_heads_path()
    npz, meta = heads.save(out)
    counts = write_reference(heads, X_va, va, Path(npz).parent / REFERENCE_FILE)
    log.info("drift reference %s (%s scores per task)", Path(npz).parent / REFERENCE_FILE, counts)
    print(f"wrote {npz} and {meta} (version {heads.meta['version']})")
    return 0


def _extra_data(args: argparse.Namespace) -> tuple[list[D.Example], list[D.Example]]:
    """``--extra-data``: the user's labelled turns (``models/labelled.py``), weighted, split by a hash of the
    text into training and validation rows (so calibration and thresholds see the site too)."""
    paths = getattr(args, "extra_data", None)
    if not paths:
        return [], []
    from models import labelled as L

    weight, share = getattr(args, "extra_weight", 1.0), getattr(args, "extra_val_share", 0.2)
    problem = (f"--extra-weight must be > 0, got {weight}" if not weight > 0 else
               f"--extra-val-share must be in [0, 1), got {share}" if not 0.0 <= share < 1.0 else None)
    if problem is None:
        try:
            exs = L.load(paths, source="extra")
        except ValueError as err:
            problem = str(err)
    if problem is not None:  # a usage error (exit status 2, as the README lists), not a traceback
        print(f"imon train: {problem}", file=sys.stderr)
        raise SystemExit(2)
    keep = getattr(args, "extra_tasks", None)
    for ex in exs:
        ex.weight = weight
        if keep is not None:
            ex.labels = {t: (v if t in keep else None) for t, v in ex.labels.items()}
    exs = [ex for ex in exs if any(v is not None for v in ex.labels.values())]
    if not exs:
        print(f"imon train: no --extra-data turn labels any of {', '.join(keep or ())}", file=sys.stderr)
        raise SystemExit(2)
    tr, va = L.split(exs, share)
    log.info("extra data: %d labelled turns (weight %g) -> %d training, %d validation; labels per task %s",
             len(exs), weight, len(tr), len(va), L.counts(exs))
    return tr, va


def _extra_summary(args: argparse.Namespace, tr: list[D.Example], va: list[D.Example]) -> dict[str, Any] | None:
    if not (tr or va):
        return None
    from models import labelled as L

    return {"paths": [str(p) for p in args.extra_data], "weight": args.extra_weight,
            "tasks": list(args.extra_tasks) if getattr(args, "extra_tasks", None) else "all",
            "val_share": args.extra_val_share, "train": L.counts(tr), "validation": L.counts(va)}


def _check_adapter_training(args: argparse.Namespace, settings: Any, flag: str) -> None:
    """What ``--finetune`` and ``--distil-nl`` both need before they train an adapter."""
    if settings.encoder_backend != "torch":
        raise SystemExit(f"{flag} trains on the torch encoder: unset IMON_ENCODER_BACKEND")
    if args.adapter_out and not (args.out or settings.heads_path):
        raise SystemExit("--adapter-out writes an adapter the shipped heads were not fitted on: give --out too")


def _finetune(args: argparse.Namespace, settings: Any, tr: list[D.Example], threads: int) -> Path:
    """``--finetune``: train a LoRA adapter on the base encoder, save it; returns its path."""
    from models.adapter import default_adapter_path, save_adapter
    from models.encoder import load_encoder
    from models.finetune import finetune_adapter

    _check_adapter_training(args, settings, "--finetune")
    if args.finetune_align < 0 or args.finetune_align_pairs < 1:
        raise SystemExit("--finetune-align must be >= 0 and --finetune-align-pairs >= 1")
    out = args.adapter_out or default_adapter_path()
    base = load_encoder(settings.encoder_dir, device=settings.device, threads=threads, adapter="none")
    adapter = finetune_adapter(base, tr, rows=args.finetune_rows, epochs=args.finetune_epochs, r=args.lora_r,
                               alpha=2.0 * args.lora_r, lr=args.lora_lr, seed=args.seed,
                               clp=args.finetune_clp, align=args.finetune_align,
                               align_pairs=args.finetune_align_pairs,
                               language_balance=not getattr(args, "no_language_balance", False))
    npz, meta = save_adapter(adapter, out)
    print(f"wrote {npz} and {meta} ({adapter.n_params:,} parameters, {npz.stat().st_size / 1e3:.0f} KB)")
    return Path(npz)


def _distil_nl(args: argparse.Namespace, settings: Any, tr: list[D.Example], threads: int, teacher: Any) -> Path:
    """``--distil-nl``: distil a Dutch student from the ``teacher`` adapter setting, save it; returns its path."""
    from models.adapter import default_adapter_path, save_adapter
    from models.encoder import load_encoder, resolve_adapter
    from models.finetune import distil_student

    _check_adapter_training(args, settings, "--distil-nl")
    base = load_encoder(settings.encoder_dir, device=settings.device, threads=threads, adapter="none")
    lora = resolve_adapter(teacher, base.path)
    if lora is None:
        raise SystemExit("--distil-nl distils from an adapter: train one (--finetune) or configure one "
                         "(IMON_ENCODER_ADAPTER), not none")
    student = distil_student(base, lora, tr, epochs=args.distil_nl, seed=args.seed)
    npz, meta = save_adapter(student, args.adapter_out or default_adapter_path())
    print(f"wrote {npz} and {meta} (Dutch student of adapter {lora.sha256[:12]}, {npz.stat().st_size / 1e3:.0f} KB)")
    return Path(npz)


def _adapter_summary(adapter: Any) -> dict[str, Any] | None:
    if adapter is None:
        return None
    return {"type": "lora", "r": adapter.r, "alpha": adapter.alpha, "params": adapter.n_params,
            "sha256": adapter.sha256, "training": adapter.meta.get("training")}


def main(argv: list[str] | None = None) -> int:
    """``python -m models.train`` (the same as ``imon train``)."""
    from streams.config import load_settings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(prog="imon train", description=__doc__.split("\n")[0])
    add_arguments(p)
    return run(p.parse_args(argv), load_settings())


if __name__ == "__main__":
    raise SystemExit(main())
