"""Would "blindness" to identity words at scoring time meet the bias audit's sentiment target? (Exploratory;
models/MODEL_CARD.md, "Bias audit".)

Two measurements on the shipped encoder and heads, sentiment only (the other tasks as shipped):

1. **oracle**: for every audit text, the span the audit inserted (name or identity term, found by comparing
   the unit's variants) is known; its tokens are dropped from the mean pool and the span is cut from the
   text the n-gram channel reads. The best case for dropping words from the pooled vector.
2. **tagger**: a logistic regression on contextual token states learnt to mark the inserted span in our
   own counterfactual copies (models/cda.py names and terms, disjoint from the audit's); first on half the
   terms and scored on the other half (how well it finds unseen terms), then on all of them, applied at
   thresholds 0.5 / 0.8 / 0.9 to the audit and to TweetEval validation (tweets tagged, macro-recall).

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/identity_blindness_probe.py   # ~4 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import bias, cda  # noqa: E402
from models import datasets as D  # noqa: E402
from models.base import BINARY_TASKS  # noqa: E402
from models.encoder import load_encoder  # noqa: E402
from models.heads import Heads, default_heads_path  # noqa: E402


def carriers(texts_en: list[str], texts_nl: list[str], id_en: list[str], names_en: list[str], id_nl: list[str],
             names_nl: list[str], n: int, rng: random.Random) -> list[tuple[str, tuple[int, int] | None]]:
    """Texts with an inserted term and its character span, plus plain texts (span None)."""
    def make(utts: list[str], terms: list[str], forms: list[str], k: int) -> list[tuple[str, tuple[int, int] | None]]:
        out: list[tuple[str, tuple[int, int] | None]] = []
        for j in range(k):
            u, form, x = utts[j % len(utts)], rng.choice(forms), rng.choice(terms)
            pre, post = form.split("{x}")
            pre = pre.format(u=u)
            out.append((pre + x + post.format(u=u), (len(pre), len(pre) + len(x))))
        return out

    return (make(texts_en, id_en, cda.CARRIERS_EN_ID, n) + make(texts_en, names_en, cda.CARRIERS_EN_NAME, n // 2)
            + make(texts_nl, id_nl, cda.CARRIERS_NL_ID, n // 2) + make(texts_nl, names_nl, cda.CARRIERS_NL_NAME, n // 4)
            + [(t, None) for t in texts_en[: n // 2]] + [(t, None) for t in texts_nl[: n // 4]])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--units", type=int, default=40, help="audit carriers per axis (default 40, as the card)")
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = ap.parse_args(argv)
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import recall_score

    enc = load_encoder(None, threads=2)
    heads = Heads.load(default_heads_path())
    audit_set = bias.build_audit(D.default_data_dir(), n_units=args.units, seed=13)
    result: dict[str, Any] = {}

    def audit_with(sentiment_probs: Any) -> dict[str, float]:
        def fn(texts: list[str]) -> dict[str, np.ndarray]:
            emb = enc.encode(texts, batch_size=64)
            p = heads.predict(emb, texts)
            s = sentiment_probs(texts)
            return {"sentiment_negative": s[:, 0], "sentiment_positive": s[:, 2], **{t: p[t] for t in BINARY_TASKS}}
        r = bias.audit(audit_set, fn, heads.thresholds, n_perm=500)
        return {t: round(v["mean_abs_delta_swaps"], 4) for t, v in r["summary"].items()}

    def blind(texts: list[str], spans_of: Any) -> np.ndarray:
        """Sentiment with the given character spans' tokens out of the pool and out of the n-gram text."""
        emb, toks = enc.encode_with_tokens(texts, batch_size=64)
        cut = list(texts)
        for i, ts in enumerate(toks):
            spans = spans_of(i, texts[i], ts)
            if not spans:
                continue
            keep = np.array([not any(a <= o[0] and o[1] <= b and w is not None for a, b in spans)
                             for w, o in zip(ts.word_ids, ts.offsets, strict=True)])
            v = ts.hidden[keep].mean(0)
            emb[i] = v / np.linalg.norm(v)
            for a, b in sorted(spans, reverse=True):
                cut[i] = cut[i][:a] + cut[i][b:]
        return heads.predict(emb, cut)["sentiment"]

    # 1. oracle: the audit's own inserted spans (variants of a unit differ only there), widened to whole words
    known: dict[str, tuple[int, int]] = {}
    for u in audit_set.units:
        if u.axis.startswith("crows_"):
            continue
        vs = list(u.texts.values())
        pre, suf = os.path.commonprefix(vs), os.path.commonprefix([v[::-1] for v in vs])
        for v in vs:
            a, b = len(pre), len(v) - len(suf)
            while a > 0 and v[a - 1].isalnum():
                a -= 1
            while b < len(v) and v[b].isalnum():
                b += 1
            known[v] = (a, max(a, b))
    result["shipped"] = audit_with(lambda t: heads.predict(enc.encode(t, batch_size=64), t)["sentiment"])
    result["oracle"] = audit_with(lambda t: blind(t, lambda i, text, ts: [known[text]] if text in known else []))
    print("audit mean |delta| (shipped / oracle):", result["shipped"], result["oracle"], file=sys.stderr)

    # 2. tagger on contextual token states, from our CDA names and terms
    rng = random.Random(7)
    rows = [json.loads(line) for line in (Path(D.synth_dir()) / "synth_train.jsonl").open(encoding="utf-8")]
    pool = {lang: [r["text"] for r in rows if r["speaker"] == "customer" and r["lang"] == lang
                   and 10 <= len(r["text"]) <= 200] for lang in ("en", "nl")}
    for v in pool.values():
        rng.shuffle(v)
    names_en = [n for g in cda.NAMES_EN.values() for n in g]
    names_nl = [n for g in cda.NAMES_NL.values() for n in g]
    lists = [list(cda.IDENTITY_EN), names_en, list(cda.IDENTITY_NL), names_nl]

    def features(data: list[tuple[str, tuple[int, int] | None]]) -> tuple[np.ndarray, np.ndarray]:
        _, toks = enc.encode_with_tokens([t for t, _ in data], batch_size=64)
        X, y = [], []
        for (_, span), ts in zip(data, toks, strict=True):
            for k, w in enumerate(ts.word_ids):
                if w is not None:
                    a, b = ts.offsets[k]
                    X.append(ts.hidden[k])
                    y.append(int(span is not None and b > a and a >= span[0] and b <= span[1]))
        return np.array(X, np.float32), np.array(y)

    halves = [sorted(x) for x in lists]
    for h in halves:
        random.Random(3).shuffle(h)
    first = [h[: len(h) // 2] for h in halves]
    second = [h[len(h) // 2:] for h in halves]
    Xa, ya = features(carriers(pool["en"], pool["nl"], *first, n=2000, rng=rng))
    Xb, yb = features(carriers(pool["en"], pool["nl"], *second, n=800, rng=rng))
    clf = LogisticRegression(C=0.1, max_iter=3000, class_weight="balanced").fit(Xa, ya)
    pb = clf.predict_proba(Xb)[:, 1]
    result["held_out_terms"] = {}
    for th in (0.5, 0.8, 0.9, 0.95):
        hit = pb >= th
        tp = int((hit & (yb == 1)).sum())
        result["held_out_terms"][str(th)] = {"precision": round(tp / max(int(hit.sum()), 1), 3),
                                             "recall": round(tp / max(int((yb == 1).sum()), 1), 3)}
    print("tagger on held-out terms:", result["held_out_terms"], file=sys.stderr)
    X, y = features(carriers(pool["en"], pool["nl"], *lists, n=3000, rng=rng))
    clf = LogisticRegression(C=0.1, max_iter=3000, class_weight="balanced").fit(X, y)
    w, b0 = clf.coef_[0].astype(np.float32), float(clf.intercept_[0])

    def tagged(th: float) -> Any:
        def spans_of(i: int, text: str, ts: Any) -> list[tuple[int, int]]:
            p = 1 / (1 + np.exp(-(ts.hidden @ w + b0)))
            words: dict[int, list[int]] = {}
            for k, wd in enumerate(ts.word_ids):
                if wd is not None:
                    words.setdefault(wd, []).append(k)
            return [(int(ts.offsets[ks[0]][0]), int(ts.offsets[ks[-1]][1])) for ks in words.values() if p[ks].max() >= th]
        return spans_of

    tweets = D.tweeteval_sentiment(D.default_data_dir())
    tt, ty = [e.text for e in tweets], np.array([e.label("sentiment") for e in tweets])
    base = heads.predict(enc.encode(tt, batch_size=64), tt)["sentiment"].argmax(1)
    result["tweeteval_macro_recall_shipped"] = round(float(recall_score(ty, base, average="macro")), 4)
    result["tagger"] = {}
    for th in (0.5, 0.8, 0.9):
        n_tagged = [0]

        def counting(i: int, text: str, ts: Any, th: float = th) -> list[tuple[int, int]]:
            s = tagged(th)(i, text, ts)
            n_tagged[0] += bool(s)
            return s
        pred = blind(tt, counting).argmax(1)
        result["tagger"][str(th)] = {
            "audit": audit_with(lambda t, th=th: blind(t, tagged(th))),
            "tweets_tagged": n_tagged[0], "tweets": len(tt),
            "tweeteval_macro_recall": round(float(recall_score(ty, pred, average="macro")), 4)}
        print(f"tagger at {th}:", result["tagger"][str(th)], file=sys.stderr)
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
