"""Multi-task LoRA fine-tuning of the sentence encoder (``imon train --finetune``).

The encoder stays frozen; rank-``r`` LoRA factors on every linear layer (``models.adapter``) are trained
together with one throw-away linear head per task on the scorer's own embedding (mean pool + L2 norm),
on the same training rows ``imon train`` fits its heads on. Each row labels only the tasks its source
speaks to; a task's loss is taken over the rows that label it. Rows are drawn in proportion to their
source weight (``models.datasets``: e.g. SemEval's 30,000 tweets count as 8,000), classes are balanced
per task. Only the adapter is kept: the shipped heads, lexical channel, calibration and thresholds are
then fitted on the adapted encoder's embeddings exactly as on a frozen one (``models.train``).

Why (models/MODEL_CARD.md, "Fine-tuning the encoder"): on TweetEval sentiment the frozen encoder with a
logistic head reached macro-recall 0.670, the fine-tuned one 0.727 with the same 24,000 rows and head.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

import numpy as np

from models import datasets as D
from models.base import BINARY_TASKS

log = logging.getLogger(__name__)

#: Logit scale on unit-length embeddings (cosine logits are too flat to train on otherwise).
LOGIT_SCALE = 20.0


def _class_balance(y: np.ndarray, labelled: np.ndarray, langs: np.ndarray | None = None) -> np.ndarray:
    """Per-row weight that gives every class of a task the same total weight over the rows that label it
    (mean 1 there, 0 elsewhere): ``models.train``'s balancing of the heads, on rows already drawn by weight;
    with ``langs``, within each language (``models.train._balanced_weights``)."""
    from models.train import _balanced_weights

    w = np.zeros(len(y), dtype=np.float32)
    if labelled.any():
        w[labelled] = _balanced_weights(y[labelled], np.ones(int(labelled.sum())),
                                        None if langs is None else langs[labelled])
    return w


def sample_rows(exs: list[D.Example], rows: int, seed: int) -> np.ndarray:
    """``rows`` indices drawn without replacement in proportion to the examples' weights (seeded)."""
    w = np.array([max(e.weight, 0.0) for e in exs], dtype=np.float64)
    n = min(rows, int((w > 0).sum()))
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(len(exs), size=n, replace=False, p=w / w.sum()))


def finetune_adapter(
    enc: Any,
    exs: list[D.Example],
    *,
    rows: int = 48000,
    epochs: float = 1.0,
    r: int = 8,
    alpha: float = 16.0,
    lr: float = 5e-4,
    batch: int = 32,
    seed: int = 13,
    progress: bool = True,
    clp: float = 0.0,
    clp_groups: int = 4,
    language_balance: bool = True,
    align: float = 0.0,
    align_pairs: int = 8,
    pairs: list[tuple[str, str]] | None = None,
) -> Any:
    """Train a LoRA adapter for ``enc`` (a :class:`models.encoder.Encoder` without one) on ``exs``.
    Returns a :class:`models.adapter.Adapter`; ``enc.model`` is left as it was (unwrapped).

    ``clp`` > 0 adds counterfactual pairing at the encoder: every step also embeds ``clp_groups`` groups of
    counterfactual copies (``models.cda``: one utterance with different names / identity terms) and adds
    ``clp`` x their mean squared distance from the group's mean embedding to the loss. The penalty is on the
    embedding, not on the throw-away heads, because the shipped heads are fitted afterwards on it.
    ``language_balance``: classes are balanced within each language (as the heads are).

    ``align`` > 0 adds cross-lingual alignment: every step also embeds ``align_pairs`` (English, Dutch)
    translation pairs (``pairs``, default ``models.datasets.translation_pairs()``) and adds ``align`` x the
    mean squared distance between the Dutch unit embedding and its English source's, the English side with
    its gradient stopped: Dutch is pulled to where the tasks put English that says the same, not the reverse
    (docs/experiments/rule_14.md)."""
    import torch
    from tqdm import tqdm

    from models import adapter as A

    if getattr(enc, "adapter", None) is not None:
        raise ValueError("fine-tune the base encoder, not one with an adapter merged in (IMON_ENCODER_ADAPTER=none)")
    torch.manual_seed(seed)
    pick = sample_rows(exs, rows, seed)
    texts = [exs[i].text for i in pick]
    tasks = ("sentiment", *BINARY_TASKS)
    langs = np.array([exs[i].lang for i in pick]) if language_balance else None
    ys, ws = {}, {}
    for t in tasks:
        raw = [exs[i].label(t) for i in pick]
        labelled = np.array([v is not None for v in raw])
        y = np.array([int(v) if v is not None else 0 for v in raw], dtype=np.int64)
        ys[t] = torch.from_numpy(y)
        ws[t] = torch.from_numpy(_class_balance(y, labelled, langs))
    counts = {t: int((ws[t] > 0).sum()) for t in tasks}
    log.info("fine-tuning LoRA r=%d on %d rows drawn by source weight (labelled per task: %s)", r, len(pick), counts)

    from models.cda import groups as cda_groups

    cgroups = cda_groups(exs, np.arange(len(exs))) if clp > 0 else np.zeros((0, 0), dtype=np.int64)
    if clp > 0 and not len(cgroups):
        raise ValueError("--finetune-clp needs counterfactual copies (models.cda) in the training rows")
    if align > 0 and pairs is None:
        pairs = D.translation_pairs()
    if align > 0 and not pairs:  # an empty list given, or no pairs shipped
        raise ValueError("--finetune-align needs (English, Dutch) translation pairs")
    model, embed = enc.model, enc.embed_for_training
    dev = next(model.parameters()).device  # IMON_DEVICE: everything trained sits beside the encoder
    wrapped = A.attach_lora(model, r, alpha, seed)
    dim = int(model.config.hidden_size)
    heads = torch.nn.ModuleDict({t: torch.nn.Linear(dim, 3 if t == "sentiment" else 1) for t in tasks}).to(dev)
    ys = {t: y.to(dev) for t, y in ys.items()}
    ws = {t: w.to(dev) for t, w in ws.items()}
    params = [p for w in wrapped.values() for p in (w.A, w.B)] + list(heads.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    steps = max(1, int(epochs * len(pick) / batch))
    warm = max(1, int(0.1 * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / steps))
    gen = np.random.default_rng(seed)
    model.train()
    t0, step, losses = time.time(), 0, []
    bar = tqdm(total=steps, desc="fine-tune (LoRA)", unit="step", disable=not progress)
    try:
        while step < steps:
            perm = gen.permutation(len(pick))
            for s in range(0, len(perm) - batch + 1, batch):
                if step >= steps:
                    break
                pos = perm[s : s + batch]
                idx = torch.from_numpy(pos).to(dev)
                e = embed([texts[i] for i in pos.tolist()])
                loss = torch.zeros((), device=dev)
                for t in tasks:
                    w = ws[t][idx]
                    if not bool((w > 0).any()):
                        continue
                    z = heads[t](e) * LOGIT_SCALE
                    if t == "sentiment":
                        lt = torch.nn.functional.cross_entropy(z, ys[t][idx], reduction="none")
                    else:
                        lt = torch.nn.functional.binary_cross_entropy_with_logits(
                            z[:, 0], ys[t][idx].float(), reduction="none")
                    loss = loss + (lt * w).sum() / batch
                if clp > 0:
                    g = cgroups[gen.integers(len(cgroups), size=clp_groups)]
                    eg = embed([exs[int(i)].text for i in g.reshape(-1)]).reshape(g.shape[0], g.shape[1], -1)
                    loss = loss + clp * ((eg - eg.mean(dim=1, keepdim=True)) ** 2).sum(-1).mean()
                if align > 0 and pairs:
                    pp = [pairs[int(i)] for i in gen.integers(len(pairs), size=align_pairs)]
                    with torch.no_grad():
                        e_en = embed([a for a, _ in pp])
                    e_nl = embed([b for _, b in pp])
                    loss = loss + align * ((e_nl - e_en) ** 2).sum(-1).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                step += 1
                losses.append(loss.item())
                bar.update(1)
                if step % 20 == 0:
                    bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}", utt_s=f"{batch * step / (time.time() - t0):.0f}")
    finally:
        bar.close()
        model.eval()
    took = time.time() - t0
    meta = {
        "base_fingerprint": enc.fingerprint,
        "base_encoder": enc.name,
        "training": {"rows": len(pick), "drawn": "without replacement, p proportional to source weight",
                     "labelled_per_task": counts, "epochs": epochs, "steps": steps, "batch": batch, "lr": lr,
                     "schedule": "10% linear warm-up, then linear decay", "weight_decay": 0.01,
                     "loss": "sum over tasks of class-balanced cross-entropy on 20 x cosine logits"
                             + (", classes balanced within each language" if language_balance else ""),
                     "seed": seed, "seconds": round(took, 1),
                     "clp": ({"weight": clp, "groups_per_step": clp_groups, "groups": int(len(cgroups)),
                              "on": "squared distance of the unit embeddings from their group mean"} if clp > 0 else None),
                     "align": ({"weight": align, "pairs_per_step": align_pairs, "pairs": len(pairs or []),
                                "on": "squared distance of the Dutch unit embedding from its English source's "
                                      "(English side gradient-stopped)"} if align > 0 else None),
                     "final_loss_mean_last_50": round(float(np.mean(losses[-50:])), 4) if losses else None,
                     "sources": dict(sorted(_sources(exs, pick).items()))},
    }
    adapter = A.from_wrapped(wrapped, r, alpha, meta)
    A.unwrap(model, wrapped)
    for p in model.parameters():
        p.requires_grad_(False)
    log.info("fine-tuned %d steps in %.0f s (%.1f utt/s)", steps, took, batch * steps / max(took, 1e-9))
    return adapter


def _sources(exs: list[D.Example], pick: np.ndarray) -> dict[str, int]:
    return dict(Counter(exs[i].source.split(":")[0] for i in pick))


def distil_student(
    enc: Any,
    teacher: Any,
    exs: list[D.Example],
    *,
    epochs: float = 3.0,
    pairs_per_step: int = 8,
    rows_per_step: int = 16,
    lr: float = 5e-4,
    seed: int = 13,
    progress: bool = True,
    pairs: list[tuple[str, str]] | None = None,
) -> Any:
    """Distil a bilingual student from ``teacher`` (a :class:`models.adapter.Adapter` for ``enc``, the base
    encoder without one merged in): the student is a LoRA adapter of the same rank that starts as the
    teacher; each step it embeds ``pairs_per_step`` (English, Dutch) translation pairs and
    ``rows_per_step`` English rows of ``exs`` (drawn by source weight), and the loss is the mean squared
    distance of its Dutch embeddings from the teacher's embedding of their English sources plus the mean
    squared distance of its English embeddings from the teacher's own (multilingual knowledge distillation,
    Reimers & Gurevych 2020). English is held where the teacher's heads were trained on it; Dutch is moved
    to where the teacher puts English that says the same (docs/experiments/rule_16.md). Teacher embeddings
    are computed once, before training. Returns the student :class:`models.adapter.Adapter`; ``enc.model``
    is left as it was."""
    import torch
    from tqdm import tqdm

    from models import adapter as A

    if getattr(enc, "adapter", None) is not None:
        raise ValueError("distil on the base encoder, not one with an adapter merged in")
    if pairs is None:
        pairs = D.translation_pairs()
    if not pairs:
        raise ValueError("--distil-nl needs (English, Dutch) translation pairs")
    if epochs <= 0 or pairs_per_step < 1 or rows_per_step < 0:
        raise ValueError("--distil-nl needs epochs > 0, pairs per step >= 1 and rows per step >= 0")
    torch.manual_seed(seed)
    steps = max(1, int(epochs * len(pairs) / pairs_per_step))
    english = [e for e in exs if e.lang == "en"]
    if rows_per_step and not english:
        raise ValueError("--distil-nl holds English in place with English training rows: none given")
    pick = sample_rows(english, steps * rows_per_step, seed) if rows_per_step else np.zeros(0, dtype=np.int64)
    rows = [english[i].text for i in pick]
    model, embed = enc.model, enc.embed_for_training
    dev = next(model.parameters()).device
    wrapped = A.attach_lora(model, teacher.r, teacher.alpha, seed, init=teacher)
    model.eval()
    try:
        # the student starts as the teacher: its eval-mode embeddings are the targets
        sources = sorted({a for a, _ in pairs})
        t_src = torch.from_numpy(enc.encode(sources, batch_size=64, progress=progress)).to(dev)
        t_rows = torch.from_numpy(enc.encode(rows, batch_size=64, progress=progress)).to(dev)
        src_at = {a: i for i, a in enumerate(sources)}
        params = [p for w in wrapped.values() for p in (w.A, w.B)]
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
        warm = max(1, int(0.1 * steps))
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / steps))
        gen = np.random.default_rng(seed)
        order = np.concatenate([gen.permutation(len(pairs)) for _ in range(int(np.ceil(epochs)) + 1)])
        model.train()
        t0, losses, gaps = time.time(), [], []
        bar = tqdm(total=steps, desc="distil Dutch student", unit="step", disable=not progress)
        for step in range(steps):
            pp = [pairs[int(i)] for i in order[step * pairs_per_step : (step + 1) * pairs_per_step]]
            target = t_src[[src_at[a] for a, _ in pp]]
            r0 = step * rows_per_step
            en_texts = [a for a, _ in pp] + rows[r0 : r0 + rows_per_step]
            en_target = torch.cat([target, t_rows[r0 : r0 + rows_per_step]])
            e = embed([b for _, b in pp] + en_texts)
            gap = ((e[: len(pp)] - target) ** 2).sum(-1).mean()
            hold = ((e[len(pp) :] - en_target) ** 2).sum(-1).mean()
            loss = gap + hold
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            gaps.append(gap.item())
            bar.update(1)
            if (step + 1) % 20 == 0:
                bar.set_postfix(nl_gap=f"{np.mean(gaps[-50:]):.3f}", loss=f"{np.mean(losses[-50:]):.3f}")
        bar.close()
    finally:
        model.eval()
    took = time.time() - t0
    meta = {
        "base_fingerprint": enc.fingerprint,
        "base_encoder": enc.name,
        "training": {"distilled_from": {"content_sha256": teacher.sha256, "training": teacher.meta.get("training")},
                     "method": "multilingual knowledge distillation (student starts as the teacher)",
                     "loss": "squared distance of the student's Dutch unit embedding from the teacher's embedding "
                             "of its English source + of the student's English embeddings from the teacher's",
                     "pairs": len(pairs), "pairs_per_step": pairs_per_step, "english_rows_per_step": rows_per_step,
                     "epochs": epochs, "steps": steps, "lr": lr, "weight_decay": 0.01,
                     "schedule": "10% linear warm-up, then linear decay", "seed": seed, "seconds": round(took, 1),
                     "nl_gap_first_50": round(float(np.mean(gaps[:50])), 4),
                     "nl_gap_last_50": round(float(np.mean(gaps[-50:])), 4),
                     "final_loss_mean_last_50": round(float(np.mean(losses[-50:])), 4)},
    }
    student = A.from_wrapped(wrapped, teacher.r, teacher.alpha, meta)
    A.unwrap(model, wrapped)
    for p in model.parameters():
        p.requires_grad_(False)
    log.info("distilled the Dutch student: %d steps in %.0f s; Dutch-to-source distance %.3f -> %.3f",
             steps, took, meta["training"]["nl_gap_first_50"], meta["training"]["nl_gap_last_50"])
    return student

