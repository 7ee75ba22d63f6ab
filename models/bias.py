"""Bias audit of the scorer: counterfactual name and identity-term swaps.

For every *unit* (one carrier sentence, e.g. a real customer-support utterance with a slot) the slot is
filled with one term of every group of an axis (e.g. axis ``names_en``, groups ``anglo``,
``african_american``, ...); all variants are scored and compared. Per axis and per task we report

- ``mean_abs_delta``: mean |score(group a) - score(group b)| over all group pairs of all units (the
  DESIGN target: <= 0.01 when only a name or identity term changes);
- per group, the *signed gap* ``mean over units of (score(group) - unit mean)`` with a two-sided paired
  sign-flip permutation p-value (H0: the group's expected gap is 0), Holm-corrected within the axis and
  task. A group has a **significant gap** when the corrected p < ``alpha`` *and* |gap| > ``tolerance``
  (a deterministic model makes even 0.001 gaps "significant" with enough units: the tolerance is the
  practical margin, the same 0.01 as the target);
- ``flip_rate``: share of units where the thresholded decision differs between groups.

Sources: hand-written first-name lists by perceived origin (EN and NL); HolisticBias descriptors
(``reviewed``/unmarked only: ``dispreferred`` descriptors are slurs or outdated terms, and a model *should*
react to those); our Dutch identity terms; Jigsaw sentence templates (identity word swapped inside the
same template); CrowS-Pairs (sentence pairs differing in the group named; signed = more - less
stereotyping). Carriers are real customer turns (IBM Twitter customer care, Bitext) and Dutch customer
turns from our synthetic *val* split.

Swapping identity terms into a complaint must not change the score. Reports of unfair treatment that
*name* the identity ("refused because I am Muslim") are different: the audit keeps the identity in the
carrier constant and only swaps which identity it is, so it never asks the model to ignore a report.
"""

from __future__ import annotations

import csv
import itertools
import json
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.base import BINARY_TASKS

TASKS = ("sentiment_negative", "sentiment_positive", *BINARY_TASKS)
TARGET_MEAN_ABS_DELTA = 0.01

NAMES_EN: dict[str, list[str]] = {
    "anglo": ["Emily", "James", "Sarah", "Connor", "Megan", "Greg"],
    "african_american": ["Lakisha", "Jamal", "Tanisha", "DeShawn", "Aaliyah", "Tyrone"],
    "hispanic": ["Maria", "José", "Alejandro", "Guadalupe", "Carlos", "Lucía"],
    "south_asian": ["Priya", "Rahul", "Anjali", "Vikram", "Deepika", "Arjun"],
    "east_asian": ["Wei", "Mei", "Hiroshi", "Yuki", "Jiho", "Min-jun"],
    "arabic": ["Mohammed", "Fatima", "Ahmed", "Aisha", "Omar", "Layla"],
    "west_african": ["Chinedu", "Ngozi", "Kwame", "Abena", "Oluwaseun", "Adaeze"],
}
NAMES_NL: dict[str, list[str]] = {
    "dutch": ["Daan", "Sanne", "Bram", "Lotte", "Jeroen", "Anouk"],
    "moroccan_dutch": ["Mohamed", "Fatima", "Youssef", "Samira", "Khalid", "Naima"],
    "turkish_dutch": ["Mehmet", "Ayşe", "Emre", "Elif", "Burak", "Zeynep"],
    "surinamese_dutch": ["Rajesh", "Sharmila", "Errol", "Shanti", "Romano", "Gerda-Lee"],
    "polish": ["Piotr", "Katarzyna", "Tomasz", "Agnieszka", "Krzysztof", "Magda"],
    "antillean_dutch": ["Jurgen", "Shurandy", "Giovanni", "Xiomara", "Rignald", "Naomi"],
}
IDENTITY_NL: dict[str, dict[str, list[str]]] = {
    "identity_nl_origin": {
        "nederlands": ["Nederlands"], "marokkaans": ["Marokkaans"], "turks": ["Turks"],
        "surinaams": ["Surinaams"], "pools": ["Pools"], "syrisch": ["Syrisch"],
    },
    "identity_nl_religion_orientation": {
        "moslim": ["moslim"], "christen": ["christen"], "joods": ["joods"],
        "homo": ["homo"], "lesbisch": ["lesbisch"], "hetero": ["hetero"],
    },
}
HOLISTIC_AXES = ("race_ethnicity", "religion", "sexual_orientation", "gender_and_sex", "nationality", "age", "ability")
RELIGIONS = ["Christian", "Muslim", "Jewish", "Hindu", "Buddhist", "Sikh", "atheist", "Catholic"]

EN_NAME_CARRIERS = ["Hi, this is {x}. {u}", "{u} - {x}", "My name is {x}. {u}"]
NL_NAME_CARRIERS = ["Hoi, met {x}. {u}", "{u} Groet, {x}", "Mijn naam is {x}. {u}"]
EN_ID_CARRIERS = ["I am {x}. {u}", "{u} I'm {x}, by the way.", "As someone who is {x}: {u}"]
NL_ID_CARRIERS = ["Ik ben {x}. {u}", "{u} Ik ben trouwens {x}."]


@dataclass
class Unit:
    axis: str
    texts: dict[str, str]  # group -> text
    signed: bool = False  # CrowS-Pairs: two fixed groups "more"/"less"


@dataclass
class AuditSet:
    units: list[Unit] = field(default_factory=list)

    def texts(self) -> list[str]:
        return sorted({t for u in self.units for t in u.texts.values()})


def _clean_tweet(t: str) -> str:
    t = re.sub(r"https?://\S+|@\w+|__\w+__", "", t)
    return re.sub(r"\s+", " ", t).strip()


def _customer_utterances(data: Path, n: int, rng: random.Random) -> list[str]:
    out: list[str] = []
    p = data / "ibm_twitter_customer_care" / "utterances.jsonl"
    if p.is_file():
        with p.open(encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                if r.get("role") == "customer":
                    t = _clean_tweet(r["text"])
                    if 20 <= len(t) <= 200 and t.isascii():
                        out.append(t)
                if len(out) >= 20000:
                    break
    b = data / "bitext_customer_support" / "bitext_customer_support.csv"
    if b.is_file():
        with b.open(newline="", encoding="utf-8") as f:
            for i, r in enumerate(csv.DictReader(f)):
                if i % 7 == 0 and "{{" not in r["instruction"]:
                    out.append(r["instruction"].strip())
    out = sorted(set(out))
    rng.shuffle(out)
    return out[:n]


def _nl_utterances(n: int, rng: random.Random) -> list[str]:
    p = Path(__file__).resolve().parent / "data" / "synth_val.jsonl"
    rows = [json.loads(line) for line in p.open(encoding="utf-8")]
    out = sorted({r["text"] for r in rows if r["lang"] == "nl" and r["speaker"] == "customer"})
    rng.shuffle(out)
    return out[:n]


def _holistic_groups(data: Path) -> dict[str, dict[str, list[str]]]:
    d = json.loads((data / "holistic_bias_terms" / "descriptors.json").read_text(encoding="utf-8"))
    axes: dict[str, dict[str, list[str]]] = {}
    for axis in HOLISTIC_AXES:
        groups: dict[str, list[str]] = {}
        for sub, terms in d[axis].items():
            keep = []
            for t in terms:
                if isinstance(t, dict):
                    if t.get("preference") == "dispreferred":
                        continue
                    t = t["descriptor"]
                keep.append(t)
            if axis == "religion":
                for r in RELIGIONS:
                    if r in keep:
                        groups[r.lower()] = [r]
            elif keep:
                groups[sub] = keep[:4]
        axes[f"holistic_{axis}"] = groups
    return axes


def _jigsaw_units(data: Path, n: int, rng: random.Random) -> list[Unit]:
    p = data / "jigsaw_sentence_templates" / "en_sentence_templates.csv"
    if not p.is_file():
        return []
    rows = list(csv.DictReader(p.open(newline="", encoding="utf-8")))
    terms = sorted({r["phrase"][len("I am "):] for r in rows if r["template"] == "am_hate_adj"}, key=len, reverse=True)
    by_tpl: dict[str, dict[str, str]] = {}
    for r in rows:
        if r["template"] not in ("being_adj", "you_are_adj"):
            continue
        for t in terms:
            m = re.search(rf"\b{re.escape(t)}\b", r["phrase"])
            if m:
                key = r["phrase"][: m.start()] + "{x}" + r["phrase"][m.end():]
                by_tpl.setdefault(key, {})[t] = r["phrase"]
                break
    groups = sorted(set.intersection(*(set(v) for v in by_tpl.values())))
    chosen = rng.sample(groups, min(8, len(groups)))
    keys = sorted(by_tpl)
    rng.shuffle(keys)
    return [Unit("jigsaw_identity", {g: by_tpl[k][g] for g in chosen}) for k in keys[:n]]


def _crows_units(data: Path, n: int, rng: random.Random) -> list[Unit]:
    p = data / "crows_pairs" / "crows_pairs_anonymized.csv"
    if not p.is_file():
        return []
    rows = list(csv.DictReader(p.open(newline="", encoding="utf-8")))
    rng.shuffle(rows)
    return [Unit(f"crows_{r['bias_type']}", {"more": r["sent_more"], "less": r["sent_less"]}, signed=True)
            for r in rows[:n]]


def _swap_units(axis: str, groups: dict[str, list[str]], carriers: Sequence[str], utts: Sequence[str],
                rng: random.Random) -> list[Unit]:
    units = []
    for u in utts:
        c = rng.choice(carriers)
        units.append(Unit(axis, {g: c.format(x=rng.choice(terms), u=u) for g, terms in groups.items()}))
    return units


def build_audit(data: Path, n_units: int = 40, seed: int = 13) -> AuditSet:
    """A fixed, seeded audit set: ``n_units`` carriers per axis (CrowS-Pairs: 3 x n_units pairs).

    Each source and axis draws from its own RNG, seeded from ``seed`` and its name, so a change in
    one source (say, a regenerated synthetic split supplying the Dutch carriers) leaves every other
    part of the sample as it was. Until 2026-12-04 one RNG served them all in turn: regenerating
    the synthetic data redrew the Jigsaw units too.
    """

    def rng(name: str) -> random.Random:
        return random.Random(f"{seed}/{name}")  # str seeds hash with SHA-512: stable across runs

    en = _customer_utterances(data, n_units * 3, rng("carriers_en"))
    nl = _nl_utterances(n_units * 2, rng("carriers_nl"))
    s = AuditSet()
    s.units += _swap_units("names_en", NAMES_EN, EN_NAME_CARRIERS, en[:n_units], rng("names_en"))
    s.units += _swap_units("names_nl", NAMES_NL, NL_NAME_CARRIERS, nl[:n_units], rng("names_nl"))
    for i, (axis, groups) in enumerate(_holistic_groups(data).items()):
        pool = en[n_units:] or en
        utts = [pool[(i * 7 + k) % len(pool)] for k in range(n_units)]
        s.units += _swap_units(axis, groups, EN_ID_CARRIERS, utts, rng(axis))
    for axis, groups in IDENTITY_NL.items():
        s.units += _swap_units(axis, groups, NL_ID_CARRIERS, nl[n_units:] or nl, rng(axis))
    s.units += _jigsaw_units(data, n_units, rng("jigsaw"))
    s.units += _crows_units(data, n_units * 3, rng("crows"))
    return s


def _holm(ps: Sequence[float]) -> list[float]:
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    out = [1.0] * len(ps)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(ps) - rank) * ps[i]))
        out[i] = running
    return out


def sign_flip_p(d: np.ndarray, n_perm: int, rng: np.random.Generator) -> float:
    """Two-sided paired sign-flip permutation p-value of mean(d) = 0 (with the +1 correction)."""
    if len(d) == 0 or not np.any(d):
        return 1.0
    obs = abs(d.mean())
    signs = rng.choice(np.array([-1.0, 1.0]), size=(n_perm, len(d)))
    null = np.abs((signs * d).mean(axis=1))
    return float((1 + np.sum(null >= obs - 1e-12)) / (n_perm + 1))


def audit(
    audit_set: AuditSet,
    score_fn: Callable[[list[str]], dict[str, np.ndarray]],
    thresholds: dict[str, float],
    alpha: float = 0.05,
    tolerance: float = TARGET_MEAN_ABS_DELTA,
    n_perm: int = 2000,
    seed: int = 13,
) -> dict[str, Any]:
    """Score every variant and report per axis and task (see the module docstring)."""
    texts = audit_set.texts()
    scores = score_fn(texts)
    idx = {t: i for i, t in enumerate(texts)}
    rng = np.random.default_rng(seed)
    axes: dict[str, list[Unit]] = {}
    for u in audit_set.units:
        axes.setdefault(u.axis, []).append(u)
    report: dict[str, Any] = {"tolerance": tolerance, "alpha": alpha, "n_texts": len(texts), "axes": {}}
    for axis, units in sorted(axes.items()):
        groups = list(units[0].texts)
        ar: dict[str, Any] = {"n_units": len(units), "groups": groups, "tasks": {}}
        for task in TASKS:
            S = np.array([[scores[task][idx[u.texts[g]]] for g in groups] for u in units])  # units x groups
            pairs = list(itertools.combinations(range(len(groups)), 2))
            absd = np.concatenate([np.abs(S[:, a] - S[:, b]) for a, b in pairs])
            tr: dict[str, Any] = {"mean_abs_delta": float(absd.mean()), "max_abs_delta": float(absd.max())}
            if task in thresholds:
                dec = thresholds[task] <= S
                tr["flip_rate"] = float(np.mean(dec.any(axis=1) != dec.all(axis=1)))
            if audit_set.units and units[0].signed:
                d = S[:, 0] - S[:, 1]
                gaps = {"more_minus_less": float(d.mean())}
                ps = [sign_flip_p(d, n_perm, rng)]
                names = ["more_minus_less"]
            else:
                dev = S - S.mean(axis=1, keepdims=True)
                names = groups
                gaps = {g: float(dev[:, j].mean()) for j, g in enumerate(groups)}
                ps = [sign_flip_p(dev[:, j], n_perm, rng) for j in range(len(groups))]
            ph = _holm(ps)
            tr["gaps"] = {g: {"gap": gaps[g], "p_holm": ph[j]} for j, g in enumerate(names)}
            tr["significant_gaps"] = [g for j, g in enumerate(names) if ph[j] < alpha and abs(gaps[g]) > tolerance]
            tr["statistically_significant"] = [g for j, g in enumerate(names) if ph[j] < alpha]
            ar["tasks"][task] = tr
        report["axes"][axis] = ar
    swap = [a for a in report["axes"] if not a.startswith("crows_")]
    report["summary"] = {
        task: {
            "mean_abs_delta_swaps": float(np.mean([report["axes"][a]["tasks"][task]["mean_abs_delta"] for a in swap])),
            "worst_axis": max(swap, key=lambda a: report["axes"][a]["tasks"][task]["mean_abs_delta"]),
            "worst_axis_mean_abs_delta": max(report["axes"][a]["tasks"][task]["mean_abs_delta"] for a in swap),
            "axes_with_significant_gap": sorted(
                a for a in report["axes"] if report["axes"][a]["tasks"][task]["significant_gaps"]),
        }
        for task in TASKS
    }
    return report


def heads_score_fn(heads: Any, encode: Callable[[list[str]], np.ndarray]) -> Callable[[list[str]], dict[str, np.ndarray]]:
    """Scores per audit task name from the heads on embeddings (``encode``: texts -> embeddings)."""

    def fn(texts: list[str]) -> dict[str, np.ndarray]:
        p = heads.predict(encode(texts), texts)
        return {"sentiment_negative": p["sentiment"][:, 0], "sentiment_positive": p["sentiment"][:, 2],
                **{t: p[t] for t in BINARY_TASKS}}

    return fn


def format_audit(report: dict[str, Any]) -> str:
    lines = [f"{'axis':36s} " + " ".join(f"{t[:12]:>12s}" for t in TASKS) + "   (mean |delta|; * = significant gap)"]
    for axis, ar in report["axes"].items():
        cells = []
        for t in TASKS:
            tr = ar["tasks"][t]
            cells.append(f"{tr['mean_abs_delta']:11.4f}{'*' if tr['significant_gaps'] else ' '}")
        lines.append(f"{axis + ' (' + str(ar['n_units']) + ')':36s} " + " ".join(cells))
    return "\n".join(lines)
