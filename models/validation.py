"""The validation split a set of heads was calibrated and thresholded on, embedded with the configured encoder:
what the scripts that look into calibration and thresholds start from (scripts/language_thresholds.py,
scripts/calibration_by_source.py)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from models.datasets import Example
    from models.heads import Heads


def script_inputs(
    description: str, argv: list[str] | None
) -> tuple[argparse.Namespace, Heads, list[Example], np.ndarray]:
    """Parse ``--heads`` / ``--seed`` from ``argv``; return them, those heads, their validation split and its
    embeddings (:func:`heads_validation`)."""
    from pathlib import Path

    from models.heads import Heads, default_heads_path

    p = argparse.ArgumentParser(description=description)
    p.add_argument("--heads", type=Path, default=default_heads_path(), help="heads .npz (default: the shipped ones)")
    p.add_argument("--seed", type=int, default=13, help="the seed the heads were trained with (default 13)")
    a = p.parse_args(argv)
    heads = Heads.load(a.heads)
    return (a, heads, *heads_validation(heads, a.seed))


def heads_validation(heads: Heads, seed: int) -> tuple[list[Example], np.ndarray]:
    """The heads' validation split (with the written batches they were trained with) and its embeddings."""
    from models import datasets as D
    from models.embcache import EmbeddingCache
    from models.encoder import load_encoder
    from streams.config import load_settings

    batches = {int(n): tuple(t) for n, t in heads.meta.get("training_data", {}).get("written_batches", {}).items()}
    va = D.load_split(D.default_data_dir(), "val", heads.meta.get("limit"), seed,
                      {**D.WRITTEN_BATCHES_DEFAULT, **batches})
    s = load_settings()
    enc = load_encoder(s.encoder_dir, device=s.device, threads=2, backend=s.encoder_backend, onnx_dir=s.onnx_dir,
                       adapter=s.encoder_adapter)
    return va, EmbeddingCache(enc, None).encode([e.text for e in va])
