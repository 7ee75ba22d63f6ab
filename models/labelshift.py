"""Class shares of unlabelled text, for the adapted sentiment decision (docs/experiments/rule_45.md).

The sentiment probabilities are calibrated on our validation split and carry its class shares (the prior,
``pi_s``). When a body of text differs from that split only in its class shares (label shift), its posterior is
p(c | x) * pi_t(c) / pi_s(c), renormalised, and its shares ``pi_t`` can be estimated without a single label by
the EM of Saerens, Latinne & Decaestecker ("Adjusting the outputs of a classifier to new a priori probabilities",
Neural Computation 14, 2002): start at pi_s, reweight every row's posterior by pi_t / pi_s, average the reweighted
posteriors into the next pi_t, repeat until it stops moving. ``Heads.sentiment_target`` holds the result; the
decision is then the argmax of p(c | x) / (pi_s / pi_t) (``models.heads.sentiment_decisions``).

The estimate is only as good as the calibration on the new text: where the text also differs in kind (not only in
shares), the model's errors move it too, and the EM sharpens them. Measured (rule 45, not kept): on RSiCS's requests
it drove the positive share to 0, which removes the class from the decision, and gold dev sentiment macro-F1 fell
from 0.620 to 0.394; on the gold set's own texts it put negative at 0.132 against a true 0.204. Check an estimate
against labelled turns before deciding with it. ``scripts/sentiment_decision.py adapted`` runs it on a file of a
deployment's own turns.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

RSICS_FILE = Path("rsics_customer_service") / "rsics_tagged_selections.csv"
#: RSiCS's requests to live customer-service virtual agents (its forum posts are not addressed to a service)
RSICS_AGENT_SOURCES = ("telecom_support_IVA", "airline_travel_IVA", "train_travel_IVA")


def em_prior(probs: np.ndarray, source_prior: np.ndarray, tol: float = 1e-6,
             max_iter: int = 1000) -> tuple[np.ndarray, int]:
    """The class shares of the rows of ``probs`` (n, k; calibrated under ``source_prior``), by the EM above, and
    the number of iterations it took. Stops when no share moves by more than ``tol``; ``ValueError`` on empty or
    malformed input."""
    p = np.asarray(probs, dtype=np.float64)
    s = np.asarray(source_prior, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] != s.shape[0]:
        raise ValueError(f"em_prior: need (n >= 1, {s.shape[0]}) probabilities, got shape {p.shape}")
    if not np.all(s > 0) or not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("em_prior: the source prior must be > 0 and the probabilities finite and >= 0")
    s = s / s.sum()
    pi = s.copy()
    for it in range(1, max_iter + 1):
        q = p * (pi / s)
        q /= np.maximum(q.sum(axis=1, keepdims=True), 1e-300)
        new = q.mean(axis=0)
        moved = float(np.max(np.abs(new - pi)))
        pi = new
        if moved <= tol:
            return pi, it
    return pi, max_iter


def rsics_texts(data_dir: Path) -> list[str]:
    """The distinct texts of RSiCS's requests to customer-service virtual agents (``RSICS_AGENT_SOURCES``), in
    file order; ``FileNotFoundError`` naming the file when absent."""
    path = Path(data_dir) / RSICS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"RSiCS: {path} not found (shared/data/rsics_customer_service)")
    seen: dict[str, None] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            if r["source"] in RSICS_AGENT_SOURCES and r["text"].strip():
                seen.setdefault(r["text"], None)
    return list(seen)
