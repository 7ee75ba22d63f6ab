#!/usr/bin/env python3
"""Probe: does fine-tuning the encoder help TweetEval sentiment, against the frozen encoder?

Both sides get the same SemEval training rows (seeded sample) and the same head: a class-balanced
logistic regression on the mean-pooled, L2-normalised embedding, scored on TweetEval sentiment val
(never trained on). The fine-tuned side first trains the whole encoder with a linear softmax head on
those rows (AdamW 3e-5, 10 % warm-up then linear decay, batch 32, class-balanced cross-entropy).
Nothing is saved but a JSON summary: this measures whether fine-tuning is worth building
(models/MODEL_CARD.md, "Fine-tuning the encoder").

    .venv/bin/python scripts/finetune_probe.py --rows 8000 --epochs 1 --out out/finetune_probe.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import datasets as D  # noqa: E402
from models.encoder import Encoder, default_encoder_dir  # noqa: E402

BATCH = 32
LR = 3e-5
SEED = 13


def lr_score(encoder: Encoder, xtr: list[str], ytr: np.ndarray, xva: list[str], yva: np.ndarray) -> dict[str, float]:
    """Fit the LR head on the encoder's embeddings of the training rows; score TweetEval val."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score, recall_score

    t0 = time.time()
    etr, eva = encoder.encode(xtr, batch_size=64), encoder.encode(xva, batch_size=64)
    clf = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced").fit(etr, ytr)
    pred = clf.predict(eva)
    return {
        "macro_recall": round(float(recall_score(yva, pred, average="macro")), 4),
        "macro_f1": round(float(f1_score(yva, pred, average="macro")), 4),
        "embed_s": round(time.time() - t0, 1),
    }


def fine_tune(enc: Encoder, xtr: list[str], ytr: np.ndarray, epochs: float, lora: int = 0,
              lora_lr: float = 5e-4) -> float:
    """Train the encoder (all weights, or rank-``lora`` LoRA adapters merged back at the end, as
    models.adapter ships them) and a linear head on (xtr, ytr); returns the seconds it took."""
    from models import adapter as A

    model = enc.model
    head = torch.nn.Linear(model.config.hidden_size, 3)
    weights = torch.tensor(len(ytr) / (3 * np.bincount(ytr, minlength=3)), dtype=torch.float32)
    wrapped = A.attach_lora(model, lora, 2.0 * lora, SEED) if lora else {}
    params = [p for p in model.parameters() if p.requires_grad] + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=lora_lr if lora else LR, weight_decay=0.01)
    steps = max(1, int(epochs * len(xtr) / BATCH))
    warm = max(1, int(0.1 * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / steps))
    rng = np.random.default_rng(SEED)
    model.train()
    t0, step = time.time(), 0
    while step < steps:
        perm = rng.permutation(len(xtr))
        for s in range(0, len(perm) - BATCH + 1, BATCH):
            if step >= steps:
                break
            idx = perm[s : s + BATCH]
            logits = head(enc.embed_for_training([xtr[i] for i in idx])) * 20.0  # unit vectors: scale the logits
            loss = torch.nn.functional.cross_entropy(logits, torch.tensor(ytr[idx]), weight=weights)
            loss.backward()
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % 50 == 0:
                rate = BATCH * step / (time.time() - t0)
                print(f"step {step}/{steps} loss {loss.item():.3f} {rate:.1f} utt/s", file=sys.stderr, flush=True)
    took = time.time() - t0
    if wrapped:  # what ships: float16 factors merged into the base weights
        adapter = A.from_wrapped(wrapped, lora, 2.0 * lora, {})
        A.unwrap(model, wrapped)
        A.merge_adapter(model, adapter, "")
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description="Fine-tuned vs frozen encoder on TweetEval sentiment val.")
    ap.add_argument("--rows", type=int, default=8000, help="SemEval training rows (seeded sample; default 8000)")
    ap.add_argument("--epochs", type=float, default=1.0, help="fine-tuning epochs (default 1)")
    ap.add_argument("--lora", type=int, default=0,
                    help="train rank-R LoRA adapters (alpha 2R, all linear layers) instead of all weights (default 0)")
    ap.add_argument("--lora-lr", type=float, default=5e-4, help="learning rate with --lora (default 5e-4)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--out", default="out/finetune_probe.json", help="JSON summary (default out/finetune_probe.json)")
    args = ap.parse_args()

    torch.manual_seed(SEED)
    random.seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(args.threads)
    data = D.default_data_dir()
    train, val = D.semeval(data, "train", args.rows, SEED), D.tweeteval_sentiment(data)
    xtr, ytr = [e.text for e in train], np.array([e.label("sentiment") for e in train])
    xva, yva = [e.text for e in val], np.array([e.label("sentiment") for e in val])
    path = default_encoder_dir()
    res: dict[str, Any] = {"rows": len(xtr), "epochs": args.epochs, "seed": SEED, "encoder": str(path),
                           "lora": args.lora, "lr": args.lora_lr if args.lora else LR}
    frozen = Encoder(path)  # the scorer's own encoder class: same tokeniser, pooling and batching
    res["frozen_lr"] = lr_score(frozen, xtr, ytr, xva, yva)
    print("frozen + LR", res["frozen_lr"], file=sys.stderr, flush=True)
    tuned = Encoder(path)
    res["train_s"] = round(fine_tune(tuned, xtr, ytr, args.epochs, args.lora, args.lora_lr), 1)
    tuned.model.eval()
    res["finetuned_lr"] = lr_score(tuned, xtr, ytr, xva, yva)
    print("fine-tuned + LR", res["finetuned_lr"], file=sys.stderr, flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res))
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
