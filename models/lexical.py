"""The lexical channel: hashed character n-grams and one linear model per task, fused with the heads.

The encoder (all-MiniLM-L6-v2) was trained on English; a Dutch request for a person ("kan ik een
medewerker spreken") is, to it, mostly word pieces without meaning. Character n-grams (2-5, within
word boundaries, lower-cased) see the words themselves, in any language the training data has, and
morphology ("discrimin-", "medewerk-") carries over to word forms never seen whole. So every task also
gets a logistic regression on hashed, sublinear TF-IDF n-gram vectors, and the heads fuse its decision
value with theirs (``models.heads``: Platt scaling on two inputs for the binary tasks, a multinomial
stack for sentiment), the fusion weights fitted on the *validation* split, whose synthetic templates
are disjoint from the training ones, so the channel is trusted only as far as it carries over to
phrasings it has not seen.

Stateless hashing (no vocabulary to ship) and pure numpy/scipy at inference; about 2.1 MB in the heads
file. Inference costs ~0.1 ms per utterance. Evidence needs the channel's logits for the text with each
candidate window cut out: ``logits_without`` gets them without hashing every shortened string again
(n-grams never cross whitespace, so a text's counts are the sum of its whitespace tokens' counts).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Rows of ``W``: the three sentiment classes, then the binary tasks (``models.base`` order).
N_OUT = 6
DEFAULT_BITS = 17
NGRAM_RANGE = (2, 5)


def _vectorizer(bits: int) -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(analyzer="char_wb", ngram_range=NGRAM_RANGE, n_features=2**bits,
                             alternate_sign=False, norm=None, lowercase=True, dtype=np.float32)


def _counts(texts: Sequence[str], bits: int) -> Any:
    return _vectorizer(bits).transform(list(texts)).tocsr()


def _tfidf(counts: Any, idf: np.ndarray) -> Any:
    """Sublinear TF (1 + log tf) x IDF, rows L2-normalised (sklearn's TfidfTransformer defaults)."""
    from sklearn.preprocessing import normalize

    X = counts.astype(np.float32, copy=True)
    X.eliminate_zeros()
    X.data = (1.0 + np.log(X.data)) * idf[X.indices]
    return normalize(X, norm="l2", copy=False)


@dataclass
class Lexical:
    bits: int
    idf: np.ndarray  # (2**bits,) float32; 0 for buckets never seen in training
    W: np.ndarray  # (N_OUT, 2**bits) float32
    b: np.ndarray  # (N_OUT,)
    _Wt: np.ndarray = field(init=False, repr=False)  # contiguous W.T: scipy copies a transposed view per call

    def __post_init__(self) -> None:
        self._Wt = np.ascontiguousarray(self.W.T, dtype=np.float32)

    def _apply(self, counts: Any) -> np.ndarray:
        return np.asarray(_tfidf(counts, self.idf) @ self._Wt, dtype=np.float32) + self.b

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 6) decision values: sentiment logits (3), then one per binary task."""
        if not len(texts):
            return np.zeros((0, N_OUT), np.float32)
        return self._apply(_counts(texts, self.bits))

    def logits_without(self, items: Sequence[tuple[str, Sequence[tuple[int, int]]]]) -> list[np.ndarray]:
        """For each (text, spans): a (1 + len(spans), 6) array, the logits of the text, then of the text
        with each character span [start, end) cut out (as ``text[:start] + " " + text[end:]``). Every
        distinct whitespace token (or the piece of one a span cuts through) is hashed once for the
        whole batch, and one sparse product sums them per shortened text."""
        from scipy.sparse import csr_matrix

        piece_ids: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        starts = [0]
        for text, spans in items:
            tokens = [(m.start(), m.end(), piece_ids.setdefault(m.group(), len(piece_ids)))
                      for m in re.finditer(r"\S+", text)]
            base = starts[-1]
            rows += [base] * len(tokens)
            cols += [k for _, _, k in tokens]
            for r, (s0, s1) in enumerate(spans, start=base + 1):
                for a, b, k in tokens:
                    if b <= s0 or a >= s1:
                        rows.append(r)
                        cols.append(k)
                        continue
                    for piece in (text[a:s0] if a < s0 else "", text[s1:b] if b > s1 else ""):
                        if piece:
                            rows.append(r)
                            cols.append(piece_ids.setdefault(piece, len(piece_ids)))
            starts.append(base + 1 + len(spans))
        if not items:
            return []
        counts = _counts(list(piece_ids), self.bits)
        incidence = csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(starts[-1], counts.shape[0]))
        z = self._apply((incidence @ counts).tocsr())
        return [z[a:b] for a, b in zip(starts[:-1], starts[1:], strict=True)]

    # --- persistence (inside the heads' npz) -------------------------------------------------

    def arrays(self) -> dict[str, np.ndarray]:
        """Sparse on disk: only the buckets seen in training (float16 weights; the rounding,
        ~1e-3 relative, is applied before the fusion is fitted, so the saved model is the one measured)."""
        used = np.flatnonzero(self.idf).astype(np.int32)
        return {"lex_used": used, "lex_idf": self.idf[used].astype(np.float16),
                "lex_W": self.W[:, used].astype(np.float16), "lex_b": self.b.astype(np.float32)}

    @classmethod
    def from_arrays(cls, z: Any, bits: int) -> Lexical:
        n = 2**bits
        used = z["lex_used"].astype(np.int64)
        idf = np.zeros(n, np.float32)
        idf[used] = z["lex_idf"].astype(np.float32)
        W = np.zeros((N_OUT, n), np.float32)
        W[:, used] = z["lex_W"].astype(np.float32)
        return cls(bits=bits, idf=idf, W=W, b=z["lex_b"].astype(np.float32))

    def rounded(self) -> Lexical:
        """The model as it will be loaded back (float16 storage)."""
        return Lexical(bits=self.bits, idf=self.idf.astype(np.float16).astype(np.float32),
                       W=self.W.astype(np.float16).astype(np.float32), b=self.b.astype(np.float32))


def fit_lexical(
    texts: Sequence[str],
    labels: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    seed: int,
    bits: int = DEFAULT_BITS,
    C: float = 1.0,
) -> Lexical:
    """``labels``: per task (``sentiment`` then the binary tasks) the (row index, label, sample weight)
    arrays of the rows labelled for it. One L2 logistic regression per task (multinomial for sentiment)."""
    from sklearn.linear_model import LogisticRegression

    from models.base import BINARY_TASKS

    counts = _counts(texts, bits)
    n_docs = counts.shape[0]
    df = np.bincount(counts.indices, minlength=2**bits)
    idf = np.where(df > 0, np.log((1.0 + n_docs) / (1.0 + df)) + 1.0, 0.0).astype(np.float32)
    X = _tfidf(counts, idf)
    W = np.zeros((N_OUT, 2**bits), np.float32)
    b = np.zeros(N_OUT, np.float32)
    for row, task in [(0, "sentiment"), *((3 + i, t) for i, t in enumerate(BINARY_TASKS))]:
        idx, y, w = labels[task]
        clf = LogisticRegression(C=C, max_iter=3000, tol=1e-6, random_state=seed)
        clf.fit(X[idx], y, sample_weight=w)
        if task == "sentiment":
            W[0:3], b[0:3] = clf.coef_, clf.intercept_
        else:
            W[row], b[row] = clf.coef_[0], clf.intercept_[0]
    return Lexical(bits=bits, idf=idf, W=W, b=b).rounded()


def lexical_index(task: str) -> int:
    """Column of ``Lexical.logits`` for a binary task."""
    from models.base import BINARY_TASKS

    return 3 + list(BINARY_TASKS).index(task)
