"""Counterfactual data augmentation (CDA) for training: the same utterance with a name or an identity term
added, once per group, with the *original* labels.

Each augmented base utterance appears in several variants that differ only in the name / identity term,
so the heads are pushed to give them the same score (mentioning who you are is not a sentiment, an
escalation or unfair treatment). The text of the utterance itself is untouched: a report of unfair
treatment that names an identity keeps its label, and nothing is neutralised or removed at scoring time.

Names, identity terms and carrier phrasings here are **disjoint from the bias audit's** (``models/bias.py``)
so the audit measures generalisation to unseen names and terms, not memorisation.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from models.datasets import Example

NAMES_EN = {
    "anglo": ["Oliver", "Hannah", "Jack", "Abigail", "Ethan"],
    "african_american": ["Darnell", "Imani", "Malik", "Ebony", "Terrell"],
    "hispanic": ["Diego", "Camila", "Mateo", "Valentina", "Javier"],
    "south_asian": ["Sanjay", "Kavya", "Rohan", "Pooja", "Aditya"],
    "east_asian": ["Haruto", "Xiu", "Sakura", "Jun", "Seo-yeon"],
    "arabic": ["Karim", "Noor", "Hassan", "Yasmin", "Tariq"],
    "african": ["Emeka", "Chioma", "Kofi", "Amara", "Tunde"],
    "eastern_european": ["Dmitri", "Olga", "Bogdan", "Irina", "Vaclav"],
}
NAMES_NL = {
    "dutch": ["Joris", "Femke", "Sem", "Fleur", "Ruud"],
    "moroccan_dutch": ["Bilal", "Hanan", "Anouar", "Soufiane", "Imane"],
    "turkish_dutch": ["Murat", "Fatma", "Kerem", "Esra", "Hakan"],
    "surinamese_dutch": ["Ravi", "Sunita", "Clarence", "Wendela", "Dinesh"],
    "polish": ["Marek", "Ewa", "Pawel", "Joanna", "Wojciech"],
    "ghanaian_dutch": ["Kwabena", "Akosua", "Yaw", "Efua", "Kojo"],
}
IDENTITY_EN = [
    "Latina", "Latino", "Pakistani", "Nigerian", "Irish", "Vietnamese", "Filipino", "Korean", "Mexican",
    "Native American", "Arab", "Indigenous", "Pentecostal", "Quaker", "Baptist", "Orthodox Christian",
    "Jain", "Mormon", "pansexual", "queer", "straight", "heterosexual", "nonbinary", "transgender", "trans",
    "a woman", "a man", "elderly", "retired", "a senior", "blind", "autistic", "a wheelchair user",
    "dyslexic", "an immigrant", "a refugee", "an expat", "working class", "a single mother", "a veteran",
]
IDENTITY_NL = [
    "Antilliaans", "Ghanees", "Eritrees", "Indonesisch", "Kaapverdiaans", "Roemeens", "Chinees", "Koerdisch",
    "hindoe", "boeddhist", "katholiek", "protestant", "atheïst", "biseksueel", "transgender", "non-binair",
    "een vrouw", "een man", "gepensioneerd", "slechtziend", "doof", "een vluchteling", "expat",
    "een alleenstaande moeder", "zestig plus", "Belgisch", "Duits", "Brits", "Spaans", "Italiaans", "Grieks",
]
CARRIERS_EN_NAME = ["Hello, {x} here. {u}", "{u} Thanks, {x}", "This is {x} writing. {u}", "{x}: {u}"]
CARRIERS_NL_NAME = ["Hallo, {x} hier. {u}", "{u} Bedankt, {x}", "{x} hier. {u}", "{x}: {u}"]
CARRIERS_EN_ID = ["{u} (I'm {x}.)", "Just so you know, I'm {x}. {u}", "{x} customer here. {u}"]
CARRIERS_NL_ID = ["{u} (Ik ben {x}.)", "Even ter info, ik ben {x}. {u}", "Als {x} klant: {u}"]


def identity_directions(emb: np.ndarray, group: Sequence[str], k: int) -> tuple[np.ndarray, float]:
    """The top ``k`` directions (k, d) along which counterfactual copies of one utterance differ: the principal
    directions (uncentred SVD) of the within-group residuals of ``emb`` (rows grouped by ``group``; each row minus
    its group's mean), and the share of the residuals' squared norm they hold (docs/experiments/rule_46.md,
    rule_47.md)."""
    by: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(group):
        by[g].append(i)
    res = [emb[ix] - emb[ix].mean(axis=0) for ix in by.values() if len(ix) > 1]
    if sum(len(r) for r in res) < k:
        raise ValueError(f"{sum(len(r) for r in res)} residuals, fewer than k = {k}")
    _, s, vt = np.linalg.svd(np.concatenate(res).astype(np.float64), full_matrices=False)
    return vt[:k], float((s[:k] ** 2).sum() / (s ** 2).sum())


def cda_group(e: Example) -> str | None:
    """The base utterance a counterfactual copy was made from (its ``source`` ``cda:<k>:...``), else None."""
    return e.source.split(":")[1] if e.source.startswith("cda:") else None


def groups(examples: list[Example], rows: np.ndarray) -> np.ndarray:
    """Index triples (positions in ``rows``) of the counterfactual copies of one base utterance, for the
    counterfactual logit pairing penalty in training; shape (n_groups, k)."""
    by: dict[str, list[int]] = {}
    for pos, i in enumerate(rows):
        src = examples[int(i)].source
        if src.startswith("cda:"):
            by.setdefault(src.split(":", 2)[1], []).append(pos)
    k = max((len(v) for v in by.values()), default=0)
    full = [v for v in by.values() if len(v) == k]
    return np.array(full, dtype=np.int64).reshape(len(full), k)


def _eligible(e: Example) -> bool:
    return e.speaker == "customer" and 10 <= len(e.text) <= 240 and not e.source.startswith(("davidson", "tweeteval"))


def augment(train: list[Example], n_base: int = 1500, variants: int = 3, seed: int = 13) -> list[Example]:
    """``n_base`` seeded English training utterances and ``n_base // 2`` Dutch ones x ``variants``
    counterfactual copies (half names, half identity terms; Dutch carriers and terms for Dutch rows).
    Labels and weight copied. Dutch base rows are drawn on their own: drawn with the English ones they were
    ~140 of 1,500, too few to teach that a Dutch identity term is no evidence (the written Dutch rows that
    report discrimination name such terms)."""
    rng = random.Random(seed)

    def ranked(lang: str) -> list[Example]:
        return sorted((e for e in train if _eligible(e) and (e.lang == "nl") == (lang == "nl")),
                      key=lambda e: hashlib.sha1(f"{seed}:{e.text}".encode()).digest())

    pool = ranked("en")[:n_base] + ranked("nl")[: n_base // 2]
    out: list[Example] = []
    for k, e in enumerate(pool):
        nl = e.lang == "nl"
        if k % 2 == 0:
            groups = list((NAMES_NL if nl else NAMES_EN).values())
            terms = [rng.choice(g) for g in rng.sample(groups, min(variants, len(groups)))]
            carrier = rng.choice(CARRIERS_NL_NAME if nl else CARRIERS_EN_NAME)
        else:
            terms = rng.sample(IDENTITY_NL if nl else IDENTITY_EN, variants)
            carrier = rng.choice(CARRIERS_NL_ID if nl else CARRIERS_EN_ID)
            if carrier.startswith("{x} customer") or carrier.startswith("Als {x}"):
                terms = [t.split(" ", 1)[1] if t.startswith(("a ", "an ", "een ")) else t for t in terms]
        for t in terms:
            out.append(Example(text=carrier.format(x=t, u=e.text), source=f"cda:{k}:{e.source}", lang=e.lang,
                               speaker=e.speaker, labels=dict(e.labels), weight=e.weight))
    return out
