"""CI bias audit: counterfactual name / identity-term swaps on the shipped heads (real encoder, < 60 s).

Two kinds of check:
- regression guards that FAIL the build when the shipped model gets *less* fair than the version measured
  in ``models/MODEL_CARD.md`` (limits = measured value on this fixed sample + a small margin);
- the DESIGN target (mean |delta| <= 0.01, no axis with a significant gap), marked ``xfail(strict=True)``
  because the current model does not meet it (measured numbers in the model card): when a model meets it,
  the xpass fails the build so the marker must be removed and the target then guards every build.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from models import bias
from models.datasets import default_data_dir
from models.encoder import load_encoder
from models.heads import Heads, default_heads_path

N_UNITS = 24  # carriers per axis: ~2,200 texts, fixed and seeded (~13 s here)
SWAP_AXES_PREFIXES = ("names_", "holistic_", "identity_nl_", "jigsaw_")

# Regression limits: measured on this sample for the heads 0.1.0+aac90a29 (sentiment_negative 0.051,
# sentiment_positive 0.008, escalation 0.036, human_requested 0.006, unfair_treatment 0.044; worst axis 0.133,
# Jigsaw, unfair_treatment) plus ~0.015 margin (0.012 for human_requested) for numeric noise across machines.
# The shipped 0.1.0+a39e2b9a (written batch 4 for unfair_treatment, docs/experiments/rule_19.md) measures the
# same five means to the third digit, worst axis 0.141 (unfair_treatment).
# The model before aac90a29 (0.1.0+6dc3ebc9) measures 0.047 / 0.009 / 0.036 / 0.007 / 0.049, worst 0.140.
# History: until 2026-12-04 the sample had 12 carriers per axis and one RNG for every source, so regenerating the
# synthetic split (which supplies the Dutch carriers) also redrew the Jigsaw units, and the same model moved by
# up to 0.07 on the worst axis (0.106 -> 0.180). Now each source has its own RNG (models.bias.build_audit) and
# twice the carriers: on 12 carriers with the new RNGs 0.1.0+aac90a29 measured 0.057 / 0.010 / 0.045 / 0.009 /
# 0.034 (a 12-carrier sample is this noisy), on 24 the values above, on the card's 40 0.048 / 0.009 / 0.040 /
# 0.005 / 0.041.
# Since rule 37 (6 Dec 2026) the default is multilingual-e5-small with its adapter and heads 0.1.0+2a42825d:
# 0.034 / 0.007 / 0.031 / 0.006 / 0.035, worst axis 0.126 (Jigsaw, unfair_treatment), lower on every task; the
# limits are those figures plus the same margins as before (0.015; 0.012 for human_requested; 0.014 on the worst).
# Since rule 41 (6 Dec 2026) the default is 0.1.0+80de98f0, its adapter fine-tuned with counterfactual pairing
# (`--finetune-clp 2`): 0.036 / 0.010 / 0.028 / 0.007 / 0.027, worst axis 0.102 (Jigsaw, unfair_treatment; rule 40's
# candidate without the pairing measured 0.141 there). The limits were not moved (docs/experiments/rule_41.md).
MAX_MEAN_ABS_DELTA = {"sentiment_negative": 0.049, "sentiment_positive": 0.022, "escalation": 0.046,
                      "human_requested": 0.018, "unfair_treatment": 0.050}
MAX_WORST_AXIS = 0.14


@pytest.fixture(scope="module")
def report() -> dict:
    t0 = time.perf_counter()
    heads = Heads.load(default_heads_path())
    enc = load_encoder(None, threads=2)
    s = bias.build_audit(default_data_dir(), n_units=N_UNITS, seed=13)
    r = bias.audit(s, bias.heads_score_fn(heads, lambda t: enc.encode(t, batch_size=64)), heads.thresholds,
                   n_perm=1000)
    r["seconds"] = time.perf_counter() - t0
    print(bias.format_audit(r))
    return r


def test_sign_flip_and_holm() -> None:
    rng = np.random.default_rng(0)
    assert bias.sign_flip_p(np.zeros(20), 500, rng) == 1.0
    assert bias.sign_flip_p(np.full(30, 0.2) + rng.normal(0, 0.01, 30), 2000, rng) < 0.01
    assert bias.sign_flip_p(rng.normal(0, 1, 30), 2000, rng) > 0.01
    assert bias._holm([0.01, 0.04, 0.5]) == pytest.approx([0.03, 0.08, 0.5])


def test_audit_set_is_fixed_and_covers_axes() -> None:
    a = bias.build_audit(default_data_dir(), n_units=N_UNITS, seed=13)
    b = bias.build_audit(default_data_dir(), n_units=N_UNITS, seed=13)
    assert a.texts() == b.texts()
    axes = {u.axis for u in a.units}
    for must in ("names_en", "names_nl", "holistic_race_ethnicity", "holistic_religion", "identity_nl_origin",
                 "jigsaw_identity"):
        assert must in axes
    assert any(x.startswith("crows_") for x in axes)
    for u in a.units:  # every swap unit differs only in the slot: all variants distinct
        assert len(set(u.texts.values())) == len(u.texts), u


@pytest.mark.slow
def test_bias_audit_regression_guard(report: dict) -> None:
    assert report["seconds"] < 60, report["seconds"]
    for task, limit in MAX_MEAN_ABS_DELTA.items():
        m = report["summary"][task]["mean_abs_delta_swaps"]
        assert m <= limit, (task, m, limit)
        assert report["summary"][task]["worst_axis_mean_abs_delta"] <= MAX_WORST_AXIS, (task, report["summary"][task])


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="known: current heads miss the DESIGN fairness target (MODEL_CARD.md)")
def test_bias_audit_design_target(report: dict) -> None:
    for task in ("sentiment_negative", "sentiment_positive"):
        assert report["summary"][task]["mean_abs_delta_swaps"] <= bias.TARGET_MEAN_ABS_DELTA
    swap = [a for a in report["axes"] if a.startswith(SWAP_AXES_PREFIXES)]
    bad = {a: t for a in swap for t, tr in report["axes"][a]["tasks"].items() if tr["significant_gaps"]}
    assert not bad, bad
