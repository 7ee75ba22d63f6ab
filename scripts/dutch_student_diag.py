"""Where a Dutch student adapter (``imon train --distil-nl``) moves Dutch, and what the decisions make of it
(docs/experiments/rule_16.md, "Diagnostics"). Measurements, not a candidate:

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/dutch_student_diag.py out/s23/cand16/adapter.npz \\
        [--heads out/s23/cand16/heads.npz]

1. Distances: mean squared distance between unit embeddings of a Dutch turn and the teacher's (the shipped
   encoder's) embedding of its English original, for the teacher and the student, on 300 training pairs and
   the gold dev / test pairs (never trained on); and how far the student moves English.
2. A Dutch-only route with the shipped heads (English through the shipped encoder, as served; Dutch through
   the student): escalation flagged on the same gold turns in each language, and macro-F1 per task on the
   gold and synthetic Dutch sets, against the shipped encoder for Dutch too.
3. With ``--heads`` (heads fitted on the student): the same counts and Dutch metrics for those heads on the
   student and, as a pointer only, on the shipped encoder (a mismatch the scorer refuses).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np

from models import datasets as D
from models import gold
from models.encoder import load_encoder
from models.evaluate import _eval_set, language_consistency
from models.heads import Heads, default_heads_path


def _route(en_enc: Callable[[list[str]], np.ndarray], nl_enc: Callable[[list[str]], np.ndarray],
           english: set[str]) -> Callable[[list[str]], np.ndarray]:
    """Embed the texts in ``english`` with ``en_enc`` and the rest with ``nl_enc`` (the gold pairs are known
    to be English or Dutch: no language detection is involved)."""

    def encode(texts: list[str]) -> np.ndarray:
        ie = [i for i, t in enumerate(texts) if t in english]
        inl = [i for i, t in enumerate(texts) if t not in english]
        parts: dict[int, np.ndarray] = {}
        if ie:
            parts.update(zip(ie, en_enc([texts[i] for i in ie]), strict=True))
        if inl:
            parts.update(zip(inl, nl_enc([texts[i] for i in inl]), strict=True))
        return np.stack([parts[i] for i in range(len(texts))])

    return encode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("student", help="the student adapter (.npz)")
    ap.add_argument("--heads", default=None, help="heads fitted on the student (optional, part 3)")
    args = ap.parse_args()
    teacher_enc = load_encoder(None, threads=2, adapter="auto")
    student_enc = load_encoder(None, threads=2, adapter=args.student)
    enc = {"shipped": lambda t: teacher_enc.encode(t, batch_size=64),
           "student": lambda t: student_enc.encode(t, batch_size=64)}
    data = D.default_data_dir()
    pairs = {"dev": gold.pairs(data, "dev"), "test": gold.pairs(data, "test")}

    def dist(x: np.ndarray, y: np.ndarray) -> float:
        return float(((x - y) ** 2).sum(-1).mean())

    print("1. mean squared distance from the shipped encoder's English (teacher -> student; English drift)")
    named = [("300 training pairs", D.translation_pairs()[:300])]
    named += [(f"gold {p} pairs", [(a.text, b.text) for a, b in prs]) for p, prs in pairs.items()]
    for name, texts in named:
        en, nl = [a for a, _ in texts], [b for _, b in texts]
        t_en = enc["shipped"](en)
        print(f"   {name:20s} n={len(texts):4d}  Dutch {dist(enc['shipped'](nl), t_en):.3f} -> "
              f"{dist(enc['student'](nl), t_en):.3f}  English drift {dist(enc['student'](en), t_en):.3f}")

    shipped = Heads.load(default_heads_path())
    combos = [("shipped heads", shipped, "shipped", "shipped"), ("shipped heads", shipped, "shipped", "student")]
    if args.heads:
        own = Heads.load(args.heads)
        combos += [("student heads", own, "student", "student"), ("student heads (mismatch)", own, "shipped", "shipped")]
    print("2/3. gold escalation flagged (customer turns), English vs Dutch; mean difference Dutch - English")
    for label, heads, en_name, nl_name in combos:
        for part, prs in pairs.items():
            r = language_consistency(heads, _route(enc[en_name], enc[nl_name], {a.text for a, _ in prs}), prs)
            e = r["escalation"]
            print(f"   {label:25s} EN via {en_name:7s} NL via {nl_name:7s} {part:4s}: "
                  f"{e['flagged_en']:3d} vs {e['flagged_nl']:3d}  {e['mean_diff']:+.3f}")
    print("2/3. Dutch macro-F1 per task: heads x the encoder the Dutch goes through")
    sets = {f"gold_nl_{p}": gold.examples(data, "nl", p) for p in ("dev", "test")}
    sets["synth_test_nl"] = [e for e in D.synthetic("test", None, 13) if e.lang == "nl"]
    runs = [("shipped heads", shipped, "shipped"), ("shipped heads", shipped, "student")]
    if args.heads:
        runs += [("student heads", own, "student"), ("student heads (mismatch)", own, "shipped")]
    for name, exs in sets.items():
        for label, heads, via in runs:
            r = _eval_set(heads, enc[via]([x.text for x in exs]), exs, ci=False)
            print(f"   {name:14s} {label:25s} via {via:7s} "
                  + "  ".join(f"{t} {v['macro_f1']:.3f}" for t, v in r.items()))


if __name__ == "__main__":
    main()
