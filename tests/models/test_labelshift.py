"""models.labelshift: class shares of unlabelled text by EM (docs/experiments/rule_45.md)."""

from __future__ import annotations

import numpy as np
import pytest

from models import datasets as D
from models.labelshift import RSICS_AGENT_SOURCES, em_prior, rsics_texts


def _posteriors(shares: np.ndarray, prior: np.ndarray, n: int, sep: float, seed: int) -> np.ndarray:
    """Exact posteriors under ``prior`` for rows drawn with ``shares`` from three unit Gaussians ``sep`` apart."""
    rng = np.random.default_rng(seed)
    y = rng.choice(3, n, p=shares)
    mu = np.eye(3) * sep
    x = mu[y] + rng.normal(size=(n, 3))
    lik = np.exp(-0.5 * ((x[:, None, :] - mu[None]) ** 2).sum(-1))
    post = lik * prior
    return post / post.sum(axis=1, keepdims=True)


def test_em_recovers_shares_that_differ_from_the_calibration_prior() -> None:
    prior, true = np.array([0.3, 0.5, 0.2]), np.array([0.2, 0.75, 0.05])
    post = _posteriors(true, prior, 20000, 2.0, 0)
    est, iters = em_prior(post, prior)
    np.testing.assert_allclose(est, true, atol=0.015)
    assert 1 < iters < 1000 and est.sum() == pytest.approx(1.0)
    # the mean posterior alone stays between the prior and the truth: the EM is what moves it there
    assert abs(post.mean(axis=0)[1] - true[1]) > 0.05


def test_em_leaves_the_prior_where_the_text_has_its_shares() -> None:
    prior = np.array([0.3, 0.5, 0.2])
    est, _ = em_prior(_posteriors(prior, prior, 20000, 2.0, 1), prior)
    np.testing.assert_allclose(est, prior, atol=0.015)


def test_em_refuses_input_it_cannot_use() -> None:
    prior = np.array([0.3, 0.5, 0.2])
    for probs, prior_, match in ((np.zeros((0, 3)), prior, "shape"), (np.ones((2, 2)) / 2, prior, "shape"),
                                 (np.full((2, 3), np.nan), prior, "finite"),
                                 (np.ones((2, 3)) / 3, np.array([0.5, 0.5, 0.0]), "> 0")):
        with pytest.raises(ValueError, match=match):
            em_prior(probs, prior_)


def test_rsics_texts_are_the_virtual_agent_requests_once_each() -> None:
    texts = rsics_texts(D.default_data_dir())
    assert len(texts) == len(set(texts)) == 5335  # the three virtual agents' distinct requests, no forum posts
    assert len(RSICS_AGENT_SOURCES) == 3


def test_rsics_texts_name_the_missing_file(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="rsics_tagged_selections.csv"):
        rsics_texts(tmp_path)
