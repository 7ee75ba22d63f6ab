"""The cascade: the static fast path scores every utterance; the transformer re-scores the uncertain and
the alert-worthy ones.

Routing (:func:`route_mask`): an utterance goes to the transformer when, on the fast path,

- any binary task's probability is at least ``threshold - band[task]`` (positive, or within the band
  below the threshold); escalation and human_requested only count for customer turns (they are never
  positive for agent/bot turns, see :func:`models.heads.decide`);
- sentiment is negative (the fast path's decision, ``models.heads.sentiment_decisions``), or negative is
  within ``band["sentiment"]`` of the top class, or the top two classes are within ``band["sentiment"]`` of
  each other;
- or (in :meth:`CascadeScorer.route`) the text is longer than the encoder reads at once, so the transformer
  scores it in windows (:func:`models.scorer.text_windows`): averaged over a long text, the fast path's
  static vectors would dilute a request for a person made in one sentence of it.

Every band is >= 0, so an utterance the fast path keeps has no positive binary label and no negative
sentiment: **every positive decision and all evidence come from the transformer**. Kept utterances report
the fast path's calibrated probabilities and its labels (all negative), with empty evidence.

The bands are chosen on the validation split (:func:`choose_bands`) at build time and stored in the
fast path's ``heads.json`` → ``cascade``: per task the narrowest losing at most 0.01 macro-F1, and for
human_requested at least wide enough to route every request for a person the transformer finds on validation
(:data:`DEFAULT_COVER`). ``imon train --fast-path --bands-only`` chooses them again for an existing build;
``imon evaluate --cascade`` measures quality and speed, and counts the transformer's flags left to the fast path.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from models.base import BINARY_TASKS, SENTIMENT_CLASSES, Scorer, Utterance, UtteranceScore
from models.calibration import confusion, per_class
from models.fastpath import FastPath, FastPathMissingError, check_fastpath_dir
from models.heads import decide

if TYPE_CHECKING:
    from models import datasets as D
    from models.scorer import TransformerScorer

log = logging.getLogger(__name__)

TASKS = ("sentiment", *BINARY_TASKS)
CUSTOMER_ONLY = ("escalation", "human_requested")
#: Candidate band widths (probability units; for sentiment, probability margin).
BAND_GRID = tuple(round(x, 3) for x in np.arange(0.0, 1.0001, 0.01))

#: Coverage floors applied by default when the bands are chosen (``imon train --fast-path --cascade-cover``):
#: task -> the share of the transformer's own validation positives the routing must send to it. Every request
#: for a person the transformer finds on validation is routed to it (docs/experiments/rule_52.md: on real text
#: no request for a person was left to the fast path, for +0.01-0.03 of the traffic routed).
DEFAULT_COVER: dict[str, float] = {"human_requested": 1.0}

__all__ = ["DEFAULT_COVER", "CascadeScorer", "FastOnlyScorer", "FastPathMissingError", "choose_bands",
           "coverage_band", "load_cascade", "route_mask"]


def route_mask(
    probs: dict[str, np.ndarray],
    thresholds: dict[str, float],
    bands: dict[str, float],
    speakers: Sequence[str],
    tasks: Sequence[str] = TASKS,
    sentiment_divisor: np.ndarray | None = None,
) -> np.ndarray:
    """Boolean (n,): which utterances the transformer must score (see the module docstring). With the fast
    path's ``sentiment_divisor`` (its balanced or adapted decision, ``models.heads.sentiment_decisions``) the
    sentiment bands apply to p(c | x) / divisor(c), normalised: the scores its decision compares."""
    s = probs["sentiment"]
    if sentiment_divisor is not None:
        s = s / sentiment_divisor
        s = s / s.sum(axis=1, keepdims=True)
    n = s.shape[0]
    routed = np.zeros(n, dtype=bool)
    customer = np.array([sp == "customer" for sp in speakers], dtype=bool)
    if "sentiment" in tasks and n:
        b = float(bands.get("sentiment", 0.0))
        srt = np.sort(s, axis=1)
        top, second = srt[:, -1], srt[:, -2]
        routed |= (s.argmax(1) == 0) | (s[:, 0] >= top - b) | (top - second < b)
    for t in BINARY_TASKS:
        if t not in tasks:
            continue
        near = probs[t] >= thresholds[t] - float(bands.get(t, 0.0))
        routed |= (near & customer) if t in CUSTOMER_ONLY else near
    return routed


def _to_score(probs: dict[str, np.ndarray], i: int, labels: dict[str, Any]) -> UtteranceScore:
    s = probs["sentiment"][i].astype(np.float64)
    s = s / s.sum()
    return UtteranceScore(
        sentiment={c: float(s[j]) for j, c in enumerate(SENTIMENT_CLASSES)},
        escalation=float(probs["escalation"][i]),
        human_requested=float(probs["human_requested"][i]),
        unfair_treatment=float(probs["unfair_treatment"][i]),
        labels=labels,
        evidence={},
    )


class CascadeScorer(Scorer):
    """Fast path on every utterance, :class:`models.scorer.TransformerScorer` on the routed ones.

    ``routed`` / ``scored`` count utterances since load (``routed_fraction``), for reports and metrics.
    """

    def __init__(self, fast: FastPath, transformer: TransformerScorer, bands: dict[str, float]) -> None:
        if any(float(v) < 0 for v in bands.values()):
            raise ValueError(f"cascade bands must be >= 0 (got {bands})")
        self.fast = fast
        self.transformer = transformer
        self.bands = {t: float(bands.get(t, 0.0)) for t in TASKS}
        self.name = "imon-cascade"
        # the bands are part of the behaviour (re-banding keeps the fast path's own version): in the version too
        # (in hundredths, in TASKS order: "b36-4-0-12")
        bands_tag = "-".join(str(round(self.bands[t] * 100)) for t in TASKS)
        self.version = f"{transformer.version}+fast.{fast.heads.meta.get('version', '0')}.b{bands_tag}"
        self.encoder = transformer.encoder
        self.scored = 0
        self.routed = 0
        self._lock = threading.Lock()

    @property
    def thresholds(self) -> dict[str, float]:
        """The transformer's thresholds: every positive decision is the transformer's."""
        return self.transformer.thresholds

    @property
    def routed_fraction(self) -> float:
        return self.routed / self.scored if self.scored else 0.0

    def route(self, batch: Sequence[Utterance]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(routed mask, fast-path probabilities) for ``batch``."""
        texts = self.transformer.preprocess(batch)
        probs = self.fast.predict(texts)
        mask = route_mask(probs, self.fast.heads.thresholds, self.bands, [u.speaker for u in batch],
                          sentiment_divisor=self.fast.heads.sentiment_divisor)
        kept = np.flatnonzero(~mask)  # routed texts are windowed by the transformer itself: check the rest only
        if len(kept):
            mask[kept] = [len(w) > 1 for w in self.transformer.windows([texts[int(i)] for i in kept])]
        return mask, probs

    def score(self, batch: Sequence[Utterance]) -> list[UtteranceScore]:
        if not batch:
            return []
        mask, probs = self.route(batch)
        out: list[UtteranceScore | None] = [None] * len(batch)
        idx = np.flatnonzero(mask)
        if len(idx):
            for i, r in zip(idx, self.transformer.score([batch[int(i)] for i in idx]), strict=True):
                out[int(i)] = r
        keep = np.flatnonzero(~mask)
        if len(keep):
            sub = {k: v[keep] for k, v in probs.items()}
            labels = decide(sub, self.fast.heads.thresholds, [batch[int(i)].speaker for i in keep],
                            self.fast.heads.sentiment_divisor)
            for j, i in enumerate(keep):
                out[int(i)] = _to_score(sub, j, labels[j])
        with self._lock:
            self.scored += len(batch)
            self.routed += len(idx)
        return out  # type: ignore[return-value]  # every slot is filled above

    def warmup(self) -> None:
        self.transformer.warmup()
        self.fast.predict(["hello, I need help with my bill"])


class FastOnlyScorer(Scorer):
    """The fast path's own scores and decisions for every utterance (never routes): the cascade's speed
    ceiling, for measurement only; not a production scorer (its positives carry no evidence)."""

    def __init__(self, fast: FastPath) -> None:
        self.fast = fast
        self.name, self.version, self.encoder = "imon-fastpath", str(fast.heads.meta.get("version", "0")), "static"

    @property
    def thresholds(self) -> dict[str, float]:
        return dict(self.fast.heads.thresholds)

    def score(self, batch: Sequence[Utterance]) -> list[UtteranceScore]:
        from models.scorer import TransformerScorer

        probs = self.fast.predict(TransformerScorer.preprocess(batch))
        labels = decide(probs, self.fast.heads.thresholds, [u.speaker for u in batch], self.fast.heads.sentiment_divisor)
        return [_to_score(probs, i, lab) for i, lab in enumerate(labels)]


def load_cascade(fast_dir: Path | str | None, transformer: TransformerScorer) -> CascadeScorer:
    """The cascade over ``transformer`` with the fast path in ``fast_dir`` (default ``models/build/fastpath``).

    Raises :class:`FastPathMissingError` (run ``imon train --fast-path``) when the files are not built, and
    ``ValueError`` when the fast path was distilled from another encoder than the transformer's.
    """
    fast = FastPath.load(check_fastpath_dir(fast_dir))
    want = fast.heads.meta.get("distilled_from_fingerprint")
    have = transformer.heads.meta.get("encoder", {}).get("fingerprint")
    if want and have and want != have:
        raise ValueError(f"fast path {fast.path} was distilled from encoder {want}, the transformer heads use "
                         f"{have}; run `imon train --fast-path` again")
    bands = fast.heads.meta.get("cascade", {}).get("bands")
    if not bands:
        raise FastPathMissingError(f"fast path {fast.path} has no cascade bands; run `imon train --fast-path`")
    log.info("cascade: fast path %s (bands %s) over %s %s", fast.heads.meta.get("version"), bands,
             transformer.name, transformer.version)
    return CascadeScorer(fast, transformer, bands)


# --- quality: band selection and evaluation -------------------------------------------------------


def _labels(probs: dict[str, np.ndarray], thresholds: dict[str, float], speakers: list[str],
            divisor: np.ndarray | None) -> dict[str, np.ndarray]:
    labs = decide(probs, thresholds, speakers, divisor)
    out = {"sentiment": np.array([SENTIMENT_CLASSES.index(lab["sentiment"]) for lab in labs], dtype=int)}
    for t in BINARY_TASKS:
        out[t] = np.array([lab[t] for lab in labs], dtype=bool)
    return out


def _macro_f1(task: str, pred: np.ndarray, y: np.ndarray) -> float:
    """The same macro-F1 as ``imon evaluate`` (``models.calibration``), from hard decisions."""
    k = len(SENTIMENT_CLASSES) if task == "sentiment" else 2
    return float(per_class(confusion(pred.astype(int), y, k))[2].mean())


def compare(
    fast_probs: dict[str, np.ndarray],
    fast_thr: dict[str, float],
    tf_probs: dict[str, np.ndarray],
    tf_thr: dict[str, float],
    exs: Sequence[D.Example],
    bands: dict[str, float],
    fast_divisor: np.ndarray | None = None,
    tf_divisor: np.ndarray | None = None,
) -> dict[str, Any]:
    """Per-task macro-F1 of transformer-only, fast-only and the cascade on labelled ``exs``, the routed
    fraction, and the share the transformer itself flags (negative sentiment or any binary task: the routing
    floor, as those must reach it). Scored as ``imon evaluate`` does (agent turns are never escalation / human
    requests)."""
    speakers = [e.speaker for e in exs]
    fl, tl = _labels(fast_probs, fast_thr, speakers, fast_divisor), _labels(tf_probs, tf_thr, speakers, tf_divisor)
    routed = route_mask(fast_probs, fast_thr, bands, speakers, sentiment_divisor=fast_divisor)
    # the transformer's own flags (labelled or not); those the routing leaves to the fast path are decisions
    # the cascade gets wrong against the transformer (long texts, routed in windows, not modelled)
    own = {"sentiment_negative": tl["sentiment"] == SENTIMENT_CLASSES.index("negative"),
           **{t: tl[t] for t in BINARY_TASKS}}
    flagged = np.any(list(own.values()), axis=0)
    out: dict[str, Any] = {"n": len(exs), "routed_fraction": float(routed.mean()) if len(exs) else 0.0,
                           "transformer_flagged_fraction": float(flagged.mean()) if len(exs) else 0.0, "tasks": {}}
    out["transformer_positives"] = {k: int(v.sum()) for k, v in own.items()}
    out["left_to_fast_path"] = {k: int((v & ~routed).sum()) for k, v in own.items()}
    # ... and how many of those the gold label confirms ("true") or rejects ("false"; unlabelled turns: neither)
    out["left_to_fast_path_gold"] = {}
    for k, v in own.items():
        task, positive = ("sentiment", 0) if k == "sentiment_negative" else (k, 1)
        ys = [e.label(task) for e in exs]
        pos = np.array([y == positive for y in ys], dtype=bool)
        neg = np.array([y is not None and y != positive for y in ys], dtype=bool)
        left = v & ~routed
        out["left_to_fast_path_gold"][k] = {"true": int((left & pos).sum()), "false": int((left & neg).sum())}
    for t in TASKS:
        ys = [e.label(t) for e in exs]
        m = np.array([y is not None for y in ys], dtype=bool)
        if m.sum() < 10 or len({y for y in ys if y is not None}) < 2:
            continue
        y = np.array([v for v in ys if v is not None], dtype=int)
        mixed = np.where(routed, tl[t], fl[t])
        r = {
            "n": int(m.sum()),
            "transformer_macro_f1": _macro_f1(t, tl[t][m], y),
            "fast_macro_f1": _macro_f1(t, fl[t][m], y),
            "cascade_macro_f1": _macro_f1(t, mixed[m], y),
        }
        r["cascade_loss"] = r["transformer_macro_f1"] - r["cascade_macro_f1"]
        out["tasks"][t] = r
    return out


def coverage_band(
    fast_probs: dict[str, np.ndarray],
    fast_thr: dict[str, float],
    positives: np.ndarray,
    speakers: Sequence[str],
    task: str,
    share: float,
    grid: Sequence[float] = BAND_GRID,
) -> float:
    """Smallest band on ``grid`` at which routing on binary ``task`` alone sends at least ``share`` of
    ``positives`` (boolean: the transformer's own positive decisions) to the transformer; the grid's last
    value if none does. 0 when there are no positives."""
    if task not in BINARY_TASKS:
        raise ValueError(f"a coverage floor applies to a binary task ({', '.join(BINARY_TASKS)}), not {task!r}")
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"coverage share must be in [0, 1], got {share}")
    n = int(positives.sum())
    if n == 0 or share == 0.0:
        return 0.0
    for b in grid:
        r = route_mask(fast_probs, fast_thr, {task: b}, speakers, tasks=(task,))
        if (r & positives).sum() >= share * n - 1e-9:
            return float(b)
    return float(grid[-1])


def choose_bands(
    fast_probs: dict[str, np.ndarray],
    fast_thr: dict[str, float],
    tf_probs: dict[str, np.ndarray],
    tf_thr: dict[str, float],
    exs: Sequence[D.Example],
    max_loss: float = 0.01,
    grid: Sequence[float] = BAND_GRID,
    fast_divisor: np.ndarray | None = None,
    tf_divisor: np.ndarray | None = None,
    cover: dict[str, float] | None = None,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Smallest band per task (on ``grid``) whose cascade loses at most ``max_loss`` macro-F1 on that task
    against the transformer alone, routing on that task only; raised, for each task in ``cover``, to its
    coverage floor (:func:`coverage_band`: the routing sends at least that share of the transformer's own
    positive decisions on ``exs`` to it; docs/experiments/rule_52.md); then, jointly (routing on all tasks),
    bands of tasks still over the target are widened until every task meets it (or the grid ends).

    ``exs`` must be *validation* data. Returns (bands, the joint validation comparison, with ``cover``:
    per floored task its share, floor band and transformer positives).
    """
    speakers = [e.speaker for e in exs]
    fl, tl = _labels(fast_probs, fast_thr, speakers, fast_divisor), _labels(tf_probs, tf_thr, speakers, tf_divisor)
    floors = {t: coverage_band(fast_probs, fast_thr, tl[t], speakers, t, float(c), grid)
              for t, c in (cover or {}).items()}
    bands: dict[str, float] = {}
    for t in TASKS:
        ys = [e.label(t) for e in exs]
        m = np.array([y is not None for y in ys], dtype=bool)
        bands[t] = float(grid[-1])
        if m.sum() < 10 or len({y for y in ys if y is not None}) < 2:
            log.warning("cascade: too few validation labels for %s; band = %s", t, bands[t])
            continue
        y = np.array([v for v in ys if v is not None], dtype=int)
        base = _macro_f1(t, tl[t][m], y)
        for b in grid:
            r = route_mask(fast_probs, fast_thr, {t: b}, speakers, tasks=(t,), sentiment_divisor=fast_divisor)
            if base - _macro_f1(t, np.where(r, tl[t], fl[t])[m], y) <= max_loss:
                bands[t] = float(b)
                break
    for t, floor in floors.items():
        if floor > bands[t]:
            log.info("cascade: %s band %.2f -> %.2f (coverage floor %s)", t, bands[t], floor, (cover or {})[t])
            bands[t] = floor
    while True:
        rep = compare(fast_probs, fast_thr, tf_probs, tf_thr, exs, bands, fast_divisor, tf_divisor)
        over = [t for t, r in rep["tasks"].items() if r["cascade_loss"] > max_loss and bands[t] < grid[-1]]
        if not over:
            break
        for t in over:
            bands[t] = float(min(g for g in grid if g > bands[t]))
    rep["bands"] = dict(bands)
    rep["cover"] = {t: {"share": float(c), "floor_band": floors[t], "transformer_positives": int(tl[t].sum())}
                    for t, c in (cover or {}).items()}
    return bands, rep


# --- ``imon evaluate --cascade`` ------------------------------------------------------------------


def stream_utterances(n: int, seed: int) -> list[Utterance]:
    """``n`` redacted utterances of the simulated contact-centre stream (as ``imon bench`` produces it)."""
    import orjson

    from streams.redaction import Redactor
    from streams.simulator import Simulator

    sim = Simulator(seed=seed, bad_ratio=0.0, no_consent_ratio=0.0, active=200)
    red = Redactor()
    out: list[Utterance] = []
    for _, value in sim.events():
        e = orjson.loads(value)
        if e.get("type") != "utterance":
            continue
        out.append(Utterance(text=red.redact(e["text"]).text, speaker=e.get("speaker", "customer"),
                             language=e.get("language")))
        if len(out) >= n:
            break
    return out


def throughput(scorers: dict[str, Scorer], utts: list[Utterance], batch_size: int, rounds: int = 3,
               progress: bool = True) -> dict[str, Any]:
    """Utterances/s of each scorer over the same ``utts`` in batches of ``batch_size``; the scorers take
    turns (``rounds`` rounds) so load changes on a shared box hit all of them alike."""
    from tqdm import tqdm

    runs: dict[str, list[float]] = {k: [] for k in scorers}
    for _ in tqdm(range(rounds), desc="throughput rounds", disable=not progress):
        for name, sc in scorers.items():
            t0 = time.perf_counter()
            for i in range(0, len(utts), batch_size):
                sc.score(utts[i : i + batch_size])
            runs[name].append(len(utts) / (time.perf_counter() - t0))
    return {k: {"utt_per_s_median": statistics.median(v), "utt_per_s_best": max(v), "rounds": v}
            for k, v in runs.items()}


def evaluate_cascade(
    transformer: TransformerScorer,
    fast: FastPath,
    cache: Any,
    data_dir: Path,
    limit: int | None = None,
    seed: int = 0,
    stream_n: int = 2000,
    batch_size: int = 64,
    rounds: int = 3,
    progress: bool = True,
    bands: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Quality (held-out test data) and speed (simulated stream) of transformer-only vs cascade.

    Quality is also reported on real text never trained on: the gold test half (IBM customer care, English
    and Dutch) and the RSiCS requests (both strata, and the random one alone: ordinary traffic), and the speed
    a second time on those random requests, so the routed share and the speed-up are seen on real traffic
    as well as on the simulated stream. ``limit`` caps every set (quick runs). ``bands`` replaces the built
    bands of the tasks it names (what-if runs; the report records both)."""
    from models import datasets as D
    from models.evaluate import real_text_sets

    built = dict(fast.heads.meta["cascade"]["bands"])
    if bands and not set(bands) <= set(TASKS):
        raise ValueError(f"unknown task in cascade bands {sorted(bands)}; tasks are {', '.join(TASKS)}")
    bands = {**built, **(bands or {})}
    sets = {"synth_test": D.synthetic("test", limit, seed), "tweeteval_sentiment_val": D.tweeteval_sentiment(data_dir),
            **real_text_sets(data_dir, ibm_parts=("test",))}
    if limit is not None:
        sets = {k: v[: max(limit, 60)] if k != "synth_test" else v for k, v in sets.items()}
    quality = {}
    for name, exs in sets.items():
        texts = [e.text for e in exs]
        tf_probs = transformer.heads.predict(cache.encode(texts, progress=progress), texts)
        quality[name] = compare(fast.predict(texts), fast.heads.thresholds, tf_probs, transformer.thresholds,
                                exs, bands, fast.heads.sentiment_divisor, transformer.heads.sentiment_divisor)
    utts = stream_utterances(stream_n, seed)
    cascade = CascadeScorer(fast, transformer, bands)
    cascade.warmup()
    speed = throughput({"transformer": transformer, "cascade": cascade, "fast_path_only": FastOnlyScorer(fast)},
                       utts, batch_size, rounds, progress)
    stream_routed = cascade.routed_fraction
    # the floor of the routed fraction: utterances the transformer itself flags (positive or negative
    # sentiment) must be routed by design; measured on the same stream
    flagged = 0
    for i in range(0, len(utts), batch_size):
        for r in transformer.score(utts[i : i + batch_size]):
            flagged += r.labels["sentiment"] == "negative" or any(r.labels[t] for t in BINARY_TASKS)
    speed["ratio_median"] = speed["cascade"]["utt_per_s_median"] / speed["transformer"]["utt_per_s_median"]
    speed["ratio_best"] = speed["cascade"]["utt_per_s_best"] / speed["transformer"]["utt_per_s_best"]
    # Real ordinary traffic: the RSiCS random requests, English then Dutch, as the customer turns they are.
    real = [Utterance(text=e.text, speaker=e.speaker, language=e.lang)
            for lang in ("en", "nl") for e in sets[f"gold_rsics_{lang}_random"]]
    real_cascade = CascadeScorer(fast, transformer, bands)
    rs = throughput({"transformer": transformer, "cascade": real_cascade}, real, batch_size, rounds, progress)
    rs["ratio_median"] = rs["cascade"]["utt_per_s_median"] / rs["transformer"]["utt_per_s_median"]
    rs["utterances"], rs["routed_fraction"] = len(real), real_cascade.routed_fraction
    speed["rsics_random_requests"] = rs
    return {
        "bands": bands,
        "built_bands": built,
        "fast_path_version": fast.heads.meta.get("version"),
        "transformer_version": transformer.version,
        "quality": quality,
        "stream": {"utterances": len(utts), "seed": seed, "batch_size": batch_size, "routed_fraction": stream_routed,
                   "transformer_flagged_fraction": flagged / max(len(utts), 1),
                   "distinct_texts": len({u.text for u in utts}),
                   "customer_share": sum(u.speaker == "customer" for u in utts) / max(len(utts), 1)},
        "speed": speed,
    }


def format_cascade(rep: dict[str, Any]) -> str:
    lines = [f"{'set':26s} {'task':18s} {'n':>6s} {'transf':>7s} {'fast':>7s} {'cascade':>8s} {'loss':>7s}"]
    for name, q in rep["quality"].items():
        for t, r in q["tasks"].items():
            lines.append(f"{name:26s} {t:18s} {r['n']:6d} {r['transformer_macro_f1']:7.3f} {r['fast_macro_f1']:7.3f} "
                         f"{r['cascade_macro_f1']:8.3f} {r['cascade_loss']:7.3f}")
        lines.append(f"{name:26s} routed fraction {q['routed_fraction']:.3f} (the transformer flags "
                     f"{q['transformer_flagged_fraction']:.3f})")
        gold = q.get("left_to_fast_path_gold", {})
        left = [f"{k} {q['left_to_fast_path'][k]}/{n}" + (f" ({gold[k]['true']} true by gold)" if k in gold else "")
                for k, n in q["transformer_positives"].items() if n]
        lines.append(f"{name:26s} transformer flags left to the fast path: {', '.join(left) or 'none flagged'}")
    sp = rep["speed"]
    if rep.get("built_bands") not in (None, rep["bands"]):
        lines.insert(0, f"bands {rep['bands']} (the build's: {rep['built_bands']})")
    lines.append(
        f"stream ({rep['stream']['utterances']} utterances, batch {rep['stream']['batch_size']}): routed "
        f"{rep['stream']['routed_fraction']:.3f}; transformer {sp['transformer']['utt_per_s_median']:.1f} utt/s, "
        f"cascade {sp['cascade']['utt_per_s_median']:.1f} utt/s (median of rounds) -> x{sp['ratio_median']:.2f}; "
        f"fast path alone {sp['fast_path_only']['utt_per_s_median']:.0f} utt/s; the transformer itself flags "
        f"{rep['stream']['transformer_flagged_fraction']:.3f} of the stream (routing floor)"
    )
    rs = sp.get("rsics_random_requests")
    if rs:
        lines.append(
            f"real requests (RSiCS random, {rs['utterances']} utterances): routed {rs['routed_fraction']:.3f}; "
            f"transformer {rs['transformer']['utt_per_s_median']:.1f} utt/s, cascade "
            f"{rs['cascade']['utt_per_s_median']:.1f} utt/s -> x{rs['ratio_median']:.2f}"
        )
    return "\n".join(lines)
