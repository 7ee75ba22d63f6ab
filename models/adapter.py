"""LoRA adapters for the sentence encoder: trained by ``imon train --finetune`` (``models.finetune``),
shipped in git (``models/artifacts/adapter.npz``, a few hundred KB) and merged into the encoder's own
weights when it loads, so scoring runs the plain encoder at no extra cost (and exports to ONNX unchanged).

Each adapted linear layer ``W`` (d_out x d_in) gets ``W + (alpha / r) * B @ A`` with ``A`` (r x d_in) and
``B`` (d_out x r), stored in float16. The adapter records the fingerprint of the base encoder it was
trained on and refuses any other; the adapted encoder's fingerprint folds in the adapter's content hash, so heads
trained on one adapter are never used with another (``models.scorer``).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: Linear layers adapted in every transformer block (BERT naming; all of MiniLM's linear layers).
TARGETS = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)
ADAPTER_FILE = "adapter.npz"
META_SUFFIX = ".json"


class AdapterError(ValueError):
    """An adapter that cannot be applied to this encoder (missing, corrupt or trained on another one)."""


def default_adapter_path() -> Path:
    return Path(__file__).resolve().parent / "artifacts" / ADAPTER_FILE


def target_names(model: Any) -> list[str]:
    """Fully qualified names of the linear layers to adapt, in a fixed order."""
    names = []
    for i in range(int(model.config.num_hidden_layers)):
        for t in TARGETS:
            names.append(f"encoder.layer.{i}.{t}")
    have = {n for n, _ in model.named_modules()}
    missing = [n for n in names if n not in have]
    if missing:
        raise AdapterError(f"encoder has no layer {missing[0]}: LoRA adapters support BERT-style encoders only")
    return names


def attach_lora(model: Any, r: int, alpha: float, seed: int, init: Adapter | None = None) -> dict[str, Any]:
    """Freeze ``model`` and wrap every target layer with a trainable LoRA branch (``B`` starts at zero, so
    the wrapped model computes exactly what the base did; with ``init``, the branches start as that
    adapter's factors, so it computes what the base with ``init`` merged does). Returns {layer name: wrapper}."""
    import torch

    if init is not None and (init.r != r or init.alpha != alpha):
        raise AdapterError(f"cannot start a rank-{r} adapter (alpha {alpha}) from a rank-{init.r} one "
                           f"(alpha {init.alpha})")

    class LoRALinear(torch.nn.Module):
        def __init__(self, base: torch.nn.Linear, gen: torch.Generator) -> None:
            super().__init__()
            self.base = base
            # Kaiming-uniform A (as nn.Linear's default init), zero B: the standard LoRA start.
            # Drawn on the CPU (the same start on every device), then put beside the base weights.
            bound = 1.0 / math.sqrt(base.in_features)
            dev = base.weight.device
            self.A = torch.nn.Parameter(((torch.rand(r, base.in_features, generator=gen) * 2 - 1) * bound).to(dev))
            self.B = torch.nn.Parameter(torch.zeros(base.out_features, r, device=dev))
            self.scale = alpha / r

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.base(x) + (x @ self.A.t() @ self.B.t()) * self.scale

    for p in model.parameters():
        p.requires_grad_(False)
    gen = torch.Generator().manual_seed(seed)
    wrapped = {}
    for name in target_names(model):
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        w = LoRALinear(getattr(parent, child), gen)
        if init is not None:
            if name not in init.factors:
                raise AdapterError(f"adapter to start from has no layer {name}")
            a, b = init.factors[name]
            with torch.no_grad():
                w.A.copy_(torch.from_numpy(a.astype(np.float32)))
                w.B.copy_(torch.from_numpy(b.astype(np.float32)))
        setattr(parent, child, w)
        wrapped[name] = w
    return wrapped


@dataclass
class Adapter:
    """LoRA factors per layer name and what they were trained on (``meta``)."""

    r: int
    alpha: float
    factors: dict[str, tuple[np.ndarray, np.ndarray]]  # name -> (A, B), float16
    meta: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""

    def content_hash(self) -> str:
        """sha256 of rank, alpha, layer names and factor bytes (not of the npz file: zip entries carry
        timestamps, and the same training must give the same identity)."""
        h = hashlib.sha256(f"lora r={self.r} alpha={self.alpha}".encode())
        for name, (a, b) in self.factors.items():
            h.update(name.encode())
            h.update(np.ascontiguousarray(a, dtype=np.float16).tobytes())
            h.update(np.ascontiguousarray(b, dtype=np.float16).tobytes())
        return h.hexdigest()

    @property
    def n_params(self) -> int:
        return sum(a.size + b.size for a, b in self.factors.values())

    def delta(self, name: str) -> np.ndarray:
        a, b = self.factors[name]
        return (self.alpha / self.r) * (b.astype(np.float32) @ a.astype(np.float32))


def from_wrapped(wrapped: dict[str, Any], r: int, alpha: float, meta: dict[str, Any]) -> Adapter:
    factors = {
        n: (w.A.detach().cpu().numpy().astype(np.float16), w.B.detach().cpu().numpy().astype(np.float16))
        for n, w in wrapped.items()
    }
    return Adapter(r=r, alpha=alpha, factors=factors, meta=meta)


def unwrap(model: Any, wrapped: dict[str, Any]) -> None:
    """Put the base linear layers back (the LoRA branches are dropped; merge a saved adapter instead)."""
    for name, w in wrapped.items():
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name), child, w.base)


def save_adapter(adapter: Adapter, path: Path) -> tuple[Path, Path]:
    """Write ``path`` (npz: A and B per layer) and ``path.json`` (meta, with the factors' content hash)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {"names": np.array(list(adapter.factors))}
    for i, (a, b) in enumerate(adapter.factors.values()):
        arrays[f"A{i:03d}"], arrays[f"B{i:03d}"] = a, b
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)
    adapter.sha256 = adapter.content_hash()
    meta = {**adapter.meta, "type": "lora", "r": adapter.r, "alpha": adapter.alpha, "targets": list(TARGETS),
            "params": adapter.n_params, "content_sha256": adapter.sha256}
    adapter.meta = meta
    mpath = path.with_suffix(META_SUFFIX)
    mpath.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    return path, mpath


def load_adapter(path: Path | str) -> Adapter:
    """Read an adapter written by :func:`save_adapter`; checks its content hash against the metadata."""
    path = Path(path)
    mpath = path.with_suffix(META_SUFFIX)
    if not path.is_file() or not mpath.is_file():
        raise AdapterError(f"no adapter at {path} (needs {path.name} and {mpath.name}); build one with "
                           "`imon train --finetune`, or set IMON_ENCODER_ADAPTER=none")
    meta = json.loads(mpath.read_text())
    try:
        with np.load(path) as z:
            names = [str(n) for n in z["names"]]
            factors = {n: (z[f"A{i:03d}"], z[f"B{i:03d}"]) for i, n in enumerate(names)}
    except (OSError, KeyError, ValueError) as e:
        raise AdapterError(f"adapter {path} cannot be read ({e}): rebuild it with `imon train --finetune`") from e
    adapter = Adapter(r=int(meta["r"]), alpha=float(meta["alpha"]), factors=factors, meta=meta)
    adapter.sha256 = adapter.content_hash()
    if meta.get("content_sha256") != adapter.sha256:
        raise AdapterError(f"adapter {path} does not match its metadata {mpath.name} (sha256 differs): "
                           "rebuild it with `imon train --finetune`")
    return adapter


def merge_adapter(model: Any, adapter: Adapter, base_fingerprint: str) -> None:
    """Add the adapter's low-rank updates to ``model``'s weights in place (float32 arithmetic)."""
    import torch

    want = adapter.meta.get("base_fingerprint")
    if want and want != base_fingerprint:
        raise AdapterError(
            f"adapter was trained on encoder {want}, this encoder is {base_fingerprint}: retrain it "
            "(`imon train --finetune`) or run without it (IMON_ENCODER_ADAPTER=none, then `imon train`)"
        )
    have = dict(model.named_modules())
    with torch.no_grad():
        for name in adapter.factors:
            layer = have.get(name)
            if layer is None or not hasattr(layer, "weight"):
                raise AdapterError(f"adapter layer {name} is not in this encoder")
            d = torch.from_numpy(adapter.delta(name))
            if tuple(d.shape) != tuple(layer.weight.shape):
                raise AdapterError(f"adapter layer {name} has shape {tuple(d.shape)}, "
                                   f"the encoder's is {tuple(layer.weight.shape)}")
            layer.weight += d.to(device=layer.weight.device, dtype=layer.weight.dtype)


def adapted_fingerprint(base_fingerprint: str, adapter: Adapter | None) -> str:
    """The encoder fingerprint after merging ``adapter`` (the base one without)."""
    if adapter is None:
        return base_fingerprint
    return hashlib.sha256(f"{base_fingerprint}+lora:{adapter.sha256}".encode()).hexdigest()[:16]
