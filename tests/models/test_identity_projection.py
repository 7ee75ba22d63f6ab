"""models.cda.identity_directions (rules 46, 47): the directions counterfactual copies differ in."""

from __future__ import annotations

import numpy as np
import pytest

from models.cda import identity_directions


def test_directions_are_what_the_copies_of_one_utterance_differ_in() -> None:
    rng = np.random.default_rng(0)
    d, groups = 16, 200
    swap = np.zeros(d)
    swap[3] = 1.0  # the only thing a name or term changes
    base = rng.normal(size=(groups, d)) * 5  # what the utterances themselves differ in: not an identity direction
    emb = np.concatenate([base[g] + swap * rng.normal() + rng.normal(size=d) * 0.01
                          for g in range(groups) for _ in range(3)]).reshape(-1, d)
    U, share = identity_directions(emb, [str(g) for g in range(groups) for _ in range(3)], 1)
    assert abs(U[0, 3]) == pytest.approx(1.0, abs=1e-3) and share > 0.99
    P = np.eye(d) - U.T @ U
    assert np.allclose(P @ swap, 0, atol=1e-3)  # projected out
    assert np.allclose(P @ P, P) and np.allclose(U @ U.T, np.eye(1))


def test_too_few_residuals_is_an_error() -> None:
    with pytest.raises(ValueError, match="fewer than k"):
        identity_directions(np.ones((2, 4)), ["a", "a"], 3)
