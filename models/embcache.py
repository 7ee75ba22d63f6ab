"""On-disk cache of sentence embeddings under ``models/build/`` (git-ignored), keyed by encoder
fingerprint and text, so re-running ``imon train`` / ``imon evaluate`` only encodes new texts."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.encoder import Encoder

log = logging.getLogger(__name__)


def default_build_dir() -> Path:
    return Path(__file__).resolve().parent / "build"


def _key(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8")).digest()


class EmbeddingCache:
    """Append-only shards ``<build>/emb/<fingerprint>/shard-*.npz`` of (sha1 keys, float16 vectors).

    float16 halves the disk and memory cost; the rounding (~1e-3) is far below what the linear heads
    can resolve, and it is applied identically on every run, so training stays reproducible.
    """

    def __init__(self, encoder: Encoder, build_dir: Path | None = None) -> None:
        self.encoder = encoder
        # cache_key, not fingerprint: the int8 backend shares the source encoder's fingerprint, not its vectors
        self.dir = (build_dir or default_build_dir()) / "emb" / getattr(encoder, "cache_key", encoder.fingerprint)
        self._index: dict[bytes, np.ndarray] | None = None

    def _load(self) -> dict[bytes, np.ndarray]:
        if self._index is None:
            self._index = {}
            for shard in sorted(self.dir.glob("shard-*.npz")):
                z = np.load(shard)
                for k, v in zip(z["keys"], z["vecs"], strict=True):
                    self._index[bytes(k)] = v
        return self._index

    def encode(self, texts: Sequence[str], progress: bool = True, batch_size: int = 64) -> np.ndarray:
        index = self._load()
        keys = [_key(t) for t in texts]
        missing = {}
        for k, t in zip(keys, texts, strict=True):
            if k not in index:
                missing[k] = t
        if missing:
            log.info("encoding %d new texts (%d cached)", len(missing), len(texts) - len(missing))
        todo = list(missing)
        # Save every few thousand texts so an interrupted run keeps what it computed.
        for s in range(0, len(todo), 4096):
            mk = todo[s : s + 4096]
            vecs = self.encoder.encode([missing[k] for k in mk], batch_size=batch_size, progress=progress)
            vecs16 = vecs.astype(np.float16)
            self.dir.mkdir(parents=True, exist_ok=True)
            n = len(list(self.dir.glob("shard-*.npz")))
            karr = np.frombuffer(b"".join(mk), dtype=np.uint8).reshape(-1, 20)
            tmp = self.dir / f"shard-{n:05d}.tmp.npz"
            np.savez(tmp, keys=karr, vecs=vecs16)
            tmp.rename(self.dir / f"shard-{n:05d}.npz")
            for k, v in zip(mk, vecs16, strict=True):
                index[k] = v
        return np.stack([index[k] for k in keys]).astype(np.float32) if keys else np.zeros((0, self.encoder.dim), np.float32)
