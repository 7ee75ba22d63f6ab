"""ONNX Runtime int8 backend of the frozen encoder (``IMON_ENCODER_BACKEND=onnx-int8``).

Build (``imon train --onnx``): the configured encoder's transformer is exported to ONNX with
``torch.onnx.export`` (TorchScript exporter; output ``last_hidden_state``, dynamic batch and sequence
axes), then its weights are quantized to int8 with ONNX Runtime's dynamic quantization (per output
channel; activations are quantized on the fly). Files land in ``models/build/onnx/`` (git-ignored):

- ``encoder.fp32.onnx``: the exported float model (kept for checks and re-quantization);
- ``encoder.int8.onnx``: the model the backend runs;
- ``manifest.json``: the source encoder's folder, name and fingerprint, versions and settings.

Run (:class:`OnnxEncoder`): the same tokenizer (loaded from the source encoder folder), the same mean
pooling and L2 normalisation, the same :class:`models.encoder.TokenStates` for evidence; only the
transformer runs in ONNX Runtime (CPU). Its ``fingerprint`` is the *source* encoder's: the int8 model is
that encoder quantized, so heads trained on it are accepted (the measured cost is in models/MODEL_CARD.md);
``backend`` says which runtime produced the vectors and ``cache_key`` keeps its embeddings apart from the
float ones in the embedding cache.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from models.adapter import adapted_fingerprint, merge_adapter
from models.encoder import (
    MAX_LENGTH,
    Encoder,
    EncoderNotFoundError,
    encoder_fingerprint,
    resolve_adapter,
    resolve_encoder_dir,
)

log = logging.getLogger(__name__)

BACKEND = "onnx-int8"
FP32_FILE = "encoder.fp32.onnx"
INT8_FILE = "encoder.int8.onnx"
MANIFEST_FILE = "manifest.json"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17
BUILD_HINT = "build it with `imon train --onnx` (writes models/build/onnx/; IMON_ONNX_DIR / --onnx-dir choose another folder)"


class OnnxEncoderMissingError(EncoderNotFoundError):
    """The int8 ONNX encoder has not been built (or was built from another encoder)."""


def default_onnx_dir() -> Path:
    return Path(__file__).resolve().parent / "build" / "onnx"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


HEADS_FILE = "heads.npz"


def onnx_heads_path(onnx_dir: Path | str | None) -> Path:
    """Heads refitted on the int8 encoder's embeddings (``IMON_ENCODER_BACKEND=onnx-int8 imon train``)."""
    return Path(onnx_dir) / HEADS_FILE if onnx_dir else default_onnx_dir() / HEADS_FILE


def check_onnx_dir(onnx_dir: Path | str | None) -> tuple[Path, dict[str, Any]]:
    """The folder and its manifest; :class:`OnnxEncoderMissingError` (saying how to build it) when absent."""
    d = Path(onnx_dir) if onnx_dir else default_onnx_dir()
    missing = [f for f in (INT8_FILE, MANIFEST_FILE) if not (d / f).is_file()]
    if missing:
        raise OnnxEncoderMissingError(
            f"ONNX int8 encoder not found in {d} (missing {', '.join(missing)}); {BUILD_HINT}"
        )
    return d, json.loads((d / MANIFEST_FILE).read_text())


def _last_hidden_module(model: Any) -> Any:
    """``model(...).last_hidden_state`` as a module with positional inputs (what the exporter traces)."""
    import torch

    class LastHidden(torch.nn.Module):
        def __init__(self, m: Any) -> None:
            super().__init__()
            self.m = m

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    return LastHidden(model).eval()


def export_onnx(
    encoder_dir: Path | str | None,
    out_dir: Path | str | None = None,
    max_length: int = MAX_LENGTH,
    keep_fp32: bool = True,
    say: Any = print,
    adapter: str | Path | None = "auto",
) -> Path:
    """Export + quantize the encoder into ``out_dir`` (default ``models/build/onnx``); returns the folder."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import onnxruntime
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel, AutoTokenizer

    src = resolve_encoder_dir(encoder_dir)
    lora = resolve_adapter(adapter, src, max_length)
    base_fp = encoder_fingerprint(src, max_length)
    out = Path(out_dir) if out_dir else default_onnx_dir()
    out.mkdir(parents=True, exist_ok=True)
    say(f"[onnx] 1/3 loading encoder {src}")
    tok = AutoTokenizer.from_pretrained(str(src), local_files_only=True)
    model = AutoModel.from_pretrained(str(src), local_files_only=True).eval()
    if lora is not None:
        say(f"[onnx]     merging LoRA adapter (r={lora.r}, sha256 {lora.sha256[:12]})")
        merge_adapter(model, lora, base_fp)
    sample = tok(["a sample utterance for tracing", "and a second, longer one to get some padding in"],
                 padding=True, return_tensors="pt")
    if "token_type_ids" not in inspect.signature(model.forward).parameters:
        raise ValueError(f"encoder {src} takes no token_type_ids; only BERT-style encoders are supported")
    if "token_type_ids" not in sample:  # a BERT whose tokenizer leaves them out (multilingual-e5-small): all 0
        sample["token_type_ids"] = torch.zeros_like(sample["input_ids"])
    args = tuple(sample[k] for k in INPUT_NAMES)
    fp32 = out / FP32_FILE
    t0 = time.perf_counter()
    say(f"[onnx] 2/3 exporting to {fp32} (opset {OPSET}, dynamic batch and sequence axes)")
    axes = {k: {0: "batch", 1: "sequence"} for k in (*INPUT_NAMES, "last_hidden_state")}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation / tracer warnings
        torch.onnx.export(
            _last_hidden_module(model), args, str(fp32), dynamo=False, input_names=list(INPUT_NAMES),
            output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=OPSET,
            do_constant_folding=True,
        )
    say(f"[onnx]     exported in {time.perf_counter() - t0:.1f} s ({fp32.stat().st_size / 1e6:.1f} MB)")
    int8 = out / INT8_FILE
    t0 = time.perf_counter()
    say(f"[onnx] 3/3 dynamic int8 quantization (weights per channel, QInt8) -> {int8}")
    root = logging.getLogger()
    was_disabled, root.disabled = root.disabled, True  # silence its generic "run pre-processing" hint
    try:
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.disabled = was_disabled
    say(f"[onnx]     quantized in {time.perf_counter() - t0:.1f} s ({int8.stat().st_size / 1e6:.1f} MB)")
    manifest = {
        "backend": BACKEND,
        "source": {"path": str(src), "name": src.parent.name if src.name == "model" else src.name,
                   "fingerprint": adapted_fingerprint(base_fp, lora), "base_fingerprint": base_fp,
                   "adapter_sha256": lora.sha256 if lora is not None else None, "max_length": max_length},
        "output": "last_hidden_state",
        "inputs": list(INPUT_NAMES),
        "opset": OPSET,
        "exporter": "torch.onnx.export (TorchScript, dynamo=False)",
        "quantization": {"method": "onnxruntime.quantization.quantize_dynamic", "weight_type": "QInt8",
                         "per_channel": True, "reduce_range": False},
        "versions": {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__},
        "int8_sha256": _sha256(int8),
    }
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    if not keep_fp32:
        fp32.unlink()
    say(f"[onnx] wrote {out}; use it with IMON_ENCODER_BACKEND=onnx-int8"
        + ("" if out == default_onnx_dir() else f" IMON_ONNX_DIR={out}"))
    return out


class OnnxEncoder(Encoder):
    """:class:`models.encoder.Encoder` with the transformer run by ONNX Runtime (int8, CPU)."""

    backend = BACKEND

    def __init__(self, path: Path, onnx_dir: Path | str | None = None, max_length: int = MAX_LENGTH,
                 threads: int = 0, adapter: Any = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        d, manifest = check_onnx_dir(onnx_dir)
        self.base_fingerprint = encoder_fingerprint(path, max_length)
        self.adapter = adapter  # merged into the exported weights; the manifest's fingerprint says which
        fp = adapted_fingerprint(self.base_fingerprint, adapter)
        if manifest.get("source", {}).get("fingerprint") != fp:
            raise OnnxEncoderMissingError(
                f"ONNX encoder in {d} was built from encoder {manifest.get('source', {}).get('fingerprint')}, "
                f"but {path} is {fp}; rebuild it: `imon train --onnx`"
            )
        import onnxruntime as ort
        from transformers import AutoTokenizer

        so = ort.SessionOptions()
        if threads > 0:
            so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(d / INT8_FILE), so, providers=["CPUExecutionProvider"])
        self.onnx_dir = d
        self.manifest = manifest
        self.path = path
        self.device = "cpu"  # type: ignore[assignment]  # ONNX Runtime CPU provider only
        self.max_length = max_length
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.dim = int(self.session.get_outputs()[0].shape[-1])
        self.name = path.parent.name if path.name == "model" else path.name
        self.fingerprint = fp
        self.cache_key = f"{fp}-{BACKEND}"
        self._inputs = [i.name for i in self.session.get_inputs()]
        self._threads = threads

    def threads(self) -> int:
        return int(self._threads)

    def use_threads(self, n: int) -> None:
        """No-op: an ONNX Runtime session keeps the intra-op threads it was created with."""

    def tokenize(self, texts: Any, offsets: bool = False) -> Any:
        return self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length,
            return_tensors="np", return_offsets_mapping=offsets,
        )

    def forward(self, enc: Any, states: bool = False) -> Any:
        # token type 0 for tokenizers that give none (what the torch model assumes when it gets none)
        feeds = {k: np.asarray(enc[k], dtype=np.int64) if k in enc else np.zeros_like(enc["input_ids"], dtype=np.int64)
                 for k in self._inputs}
        out = self.session.run(["last_hidden_state"], feeds)[0].astype(np.float32, copy=False)
        mask = feeds["attention_mask"]
        m = mask[..., None].astype(np.float32)
        pooled = (out * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        if not states:
            return pooled
        return pooled, out, mask


def _cos_stats(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    c = (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    return {"n": int(len(c)), "mean": float(c.mean()), "min": float(c.min()), "p01": float(np.quantile(c, 0.01))}


def evaluate_backends(
    torch_enc: Encoder,
    onnx_enc: OnnxEncoder,
    heads: Any,
    data_dir: Path,
    build_dir: Path | None = None,
    limit: int | None = None,
    seed: int = 0,
    stream_n: int = 2000,
    batch_size: int = 16,
    rounds: int = 3,
    progress: bool = True,
    onnx_heads: Any = None,
) -> dict[str, Any]:
    """torch fp32 vs ONNX Runtime int8 with the SAME heads, in one process: per-task held-out metrics
    (synthetic test split, TweetEval sentiment val; as ``imon evaluate`` scores them), decision agreement,
    fp32-int8 embedding cosine, and ``score`` throughput on the same redacted simulated stream (batches of
    ``batch_size``, interleaved rounds). ``onnx_heads``: heads refitted on int8 embeddings for the int8 side
    (default: the same heads as fp32)."""
    from models import datasets as D
    from models.base import BINARY_TASKS
    from models.cascade import stream_utterances, throughput
    from models.embcache import EmbeddingCache
    from models.evaluate import _eval_set
    from models.heads import decide
    from models.scorer import TransformerScorer

    caches = {"torch_fp32": EmbeddingCache(torch_enc, build_dir), "onnx_int8": EmbeddingCache(onnx_enc, build_dir)}
    by_side = {"torch_fp32": heads, "onnx_int8": onnx_heads if onnx_heads is not None else heads}
    sets = {"synth_test": D.synthetic("test", limit, seed), "tweeteval_sentiment_val": D.tweeteval_sentiment(data_dir)}
    if limit is not None:
        sets["tweeteval_sentiment_val"] = sets["tweeteval_sentiment_val"][: max(limit, 60)]
    quality: dict[str, Any] = {}
    cosine: dict[str, Any] = {}
    for name, exs in sets.items():
        texts = [e.text for e in exs]
        X = {k: c.encode(texts, progress=progress) for k, c in caches.items()}
        rep = {k: _eval_set(by_side[k], x, exs) for k, x in X.items()}
        speakers = [e.speaker for e in exs]
        labs = {k: decide(by_side[k].predict(x, texts), by_side[k].thresholds, speakers, by_side[k].sentiment_divisor)
                for k, x in X.items()}
        tasks: dict[str, Any] = {}
        for t in rep["torch_fp32"]:
            a, b = rep["torch_fp32"][t], rep["onnx_int8"][t]
            tasks[t] = {"n": a["n"], "torch_fp32_macro_f1": a["macro_f1"], "onnx_int8_macro_f1": b["macro_f1"],
                        "delta": b["macro_f1"] - a["macro_f1"]}
        agree = {t: float(np.mean([x[t] == y[t] for x, y in zip(labs["torch_fp32"], labs["onnx_int8"], strict=True)]))
                 for t in ("sentiment", *BINARY_TASKS)}
        quality[name] = {"n": len(exs), "tasks": tasks, "decision_agreement": agree, "reports": rep}
        cosine[name] = _cos_stats(X["torch_fp32"], X["onnx_int8"])  # cache vectors are float16: ~1e-6 off
    utts = stream_utterances(stream_n, seed)
    texts = [u.text for u in utts]
    cosine["stream"] = _cos_stats(torch_enc.encode(texts, batch_size=batch_size),
                                  onnx_enc.encode(texts, batch_size=batch_size))
    scorers = {k: TransformerScorer(e, by_side[k]) for k, e in (("torch_fp32", torch_enc), ("onnx_int8", onnx_enc))}
    for sc in scorers.values():
        sc.warmup()
    speed = throughput(scorers, utts, batch_size, rounds, progress)  # type: ignore[arg-type]
    speed["ratio_median"] = speed["onnx_int8"]["utt_per_s_median"] / speed["torch_fp32"]["utt_per_s_median"]
    speed["ratio_best"] = speed["onnx_int8"]["utt_per_s_best"] / speed["torch_fp32"]["utt_per_s_best"]
    files = {f: round((onnx_enc.onnx_dir / f).stat().st_size / 1e6, 1)
             for f in (FP32_FILE, INT8_FILE) if (onnx_enc.onnx_dir / f).is_file()}
    return {
        "heads_version": heads.meta.get("version"),
        "onnx_heads_version": by_side["onnx_int8"].meta.get("version"),
        "onnx_heads_refitted": onnx_heads is not None,
        "encoder": {"name": torch_enc.name, "fingerprint": torch_enc.fingerprint, "onnx_dir": str(onnx_enc.onnx_dir),
                    "onnx_manifest": onnx_enc.manifest, "file_mb": files},
        "quality": quality,
        "cosine_fp32_vs_int8": cosine,
        "stream": {"utterances": len(utts), "seed": seed, "batch_size": batch_size,
                   "distinct_texts": len(set(texts))},
        "speed": speed,
    }


def format_backends(rep: dict[str, Any]) -> str:
    lines = [f"{'set':26s} {'task':18s} {'n':>6s} {'fp32':>7s} {'int8':>7s} {'delta':>7s} {'agree':>6s}"]
    for name, q in rep["quality"].items():
        for t, r in q["tasks"].items():
            lines.append(f"{name:26s} {t:18s} {r['n']:6d} {r['torch_fp32_macro_f1']:7.3f} {r['onnx_int8_macro_f1']:7.3f} "
                         f"{r['delta']:+7.3f} {q['decision_agreement'][t]:6.3f}")
    for name, c in rep["cosine_fp32_vs_int8"].items():
        lines.append(f"cosine fp32 vs int8 on {name} (n={c['n']}): mean {c['mean']:.4f}, min {c['min']:.4f}, "
                     f"p01 {c['p01']:.4f}")
    sp = rep["speed"]
    lines.append(
        f"stream ({rep['stream']['utterances']} utterances, batch {rep['stream']['batch_size']}): torch fp32 "
        f"{sp['torch_fp32']['utt_per_s_median']:.1f} utt/s, onnx int8 {sp['onnx_int8']['utt_per_s_median']:.1f} utt/s "
        f"(median of rounds) -> x{sp['ratio_median']:.2f} (best rounds x{sp['ratio_best']:.2f})"
    )
    return "\n".join(lines)
