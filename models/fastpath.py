"""The fast path: static token embeddings distilled from the frozen encoder, plus heads for the same tasks.

``imon train --fast-path`` builds ``models/build/fastpath/`` (git-ignored, rebuilt, never committed):

1. **distillation** (written here; ``model2vec``'s own ``distill`` extra pins ``transformers<5.4`` and
   cannot be installed beside ours): every vocabulary token of the encoder's tokenizer is run through
   the encoder alone (``[CLS] token [SEP]``, the encoder's mean pooling), the vectors are centred and
   projected on their top principal components (PCA, ``--fast-dims``), then scaled by a SIF frequency
   weight ``a / (a + p(token))`` with ``p`` counted on the *training* texts (frequent, uninformative
   word pieces count less in the mean);
2. the vectors and the encoder's ``tokenizer.json`` are saved as a ``model2vec`` ``StaticModel`` folder
   (``static/``): a sentence embedding is the L2-normalised mean of its tokens' vectors, no network;
3. heads for the four tasks fitted with :func:`models.train.train_heads` on the static embeddings of the
   same training data (same head type, calibration and threshold rule as the transformer heads);
4. the cascade's uncertainty bands chosen on the *validation* split (:func:`models.cascade.choose_bands`)
   and recorded in ``heads.json`` → ``cascade``.

Seeded and deterministic on one machine (one torch thread, exact SVD, seeded heads).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import random
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from models import datasets as D
from models.base import BINARY_TASKS, SENTIMENT_CLASSES
from models.heads import Heads

if TYPE_CHECKING:
    from models.encoder import Encoder

log = logging.getLogger(__name__)

FAST_MODEL_NAME = "imon-fastpath-heads"
STATIC_SUBDIR = "static"
HEADS_FILE = "heads.npz"
#: Default PCA dimensions of the static vectors and SIF coefficient.
DEFAULT_DIMS = 256
DEFAULT_SIF = 1e-3


class FastPathMissingError(FileNotFoundError):
    """The fast-path files (static embeddings + heads) are not built."""


def default_fastpath_dir() -> Path:
    return Path(__file__).resolve().parent / "build" / "fastpath"


def fastpath_files(fast_dir: Path) -> tuple[Path, Path]:
    """(static model folder, heads file) of a fast-path folder."""
    return fast_dir / STATIC_SUBDIR, fast_dir / HEADS_FILE


def check_fastpath_dir(fast_dir: Path | str | None) -> Path:
    """The fast-path folder (``fast_dir`` or the default), or :class:`FastPathMissingError` with the fix."""
    d = Path(fast_dir) if fast_dir else default_fastpath_dir()
    static, heads = fastpath_files(d)
    missing = [p for p in (static / "model.safetensors", static / "tokenizer.json", heads, heads.with_suffix(".json"))
               if not p.is_file()]
    if missing:
        raise FastPathMissingError(
            f"fast path not built: missing {', '.join(str(p) for p in missing)}; "
            f"run `imon train --fast-path{'' if fast_dir is None else f' --fast-path-dir {d}'}` "
            "(or set IMON_FAST_PATH=false)"
        )
    return d


# --- distillation ---------------------------------------------------------------------------------


def token_counts(tokenizer: Any, texts: Sequence[str]) -> np.ndarray:
    """How often each vocabulary id occurs in ``texts`` (no special tokens), shape (vocab,)."""
    counts = np.zeros(len(tokenizer), dtype=np.int64)
    for s in range(0, len(texts), 4096):
        enc = tokenizer(list(texts[s : s + 4096]), add_special_tokens=False, truncation=True, max_length=512)
        for ids in enc["input_ids"]:
            np.add.at(counts, np.asarray(ids, dtype=np.int64), 1)
    return counts


def token_vectors(enc: Encoder, ids: Sequence[int], batch_size: int = 512, progress: bool = True) -> np.ndarray:
    """Each token id run alone through the encoder (``[CLS] id [SEP]``), mean-pooled like the encoder's
    sentence embedding: float32 (len(ids), dim)."""
    import torch
    from tqdm import tqdm

    tok = enc.tokenizer
    cls_id, sep_id = int(tok.cls_token_id), int(tok.sep_token_id)
    out = np.zeros((len(ids), enc.dim), dtype=np.float32)
    starts = range(0, len(ids), batch_size)
    for s in tqdm(starts, desc="distil tokens", unit="batch", disable=not progress):
        chunk = np.asarray(ids[s : s + batch_size], dtype=np.int64)
        inp = torch.from_numpy(np.stack([np.full_like(chunk, cls_id), chunk, np.full_like(chunk, sep_id)], axis=1))
        batch = {"input_ids": inp, "attention_mask": torch.ones_like(inp), "token_type_ids": torch.zeros_like(inp)}
        out[s : s + len(chunk)] = enc.forward(batch)  # pooled, L2-normalised, (n, dim)
    return out


def distill(
    enc: Encoder,
    counts: np.ndarray,
    dims: int = DEFAULT_DIMS,
    sif: float = DEFAULT_SIF,
    max_vocab: int | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Static vectors (vocab, dims) for every id of ``enc``'s tokenizer.

    ``max_vocab`` (quick/test builds) distils only the ``max_vocab`` most frequent ids of ``counts``; the
    others get zero vectors (ignored in the mean). Returns (vectors, metadata).
    """
    vocab = len(enc.tokenizer)
    specials = set(enc.tokenizer.all_special_ids)
    ids = [i for i in range(vocab) if i not in specials]
    if max_vocab is not None:
        order = np.argsort(-counts, kind="stable")
        keep = set(order[:max_vocab].tolist())
        ids = [i for i in ids if i in keep]
    V = token_vectors(enc, ids, progress=progress)
    mean = V.mean(axis=0)
    _, _, vt = np.linalg.svd((V - mean).astype(np.float64), full_matrices=False)
    dims = min(dims, vt.shape[0])
    sign = np.sign(vt[:dims, np.argmax(np.abs(vt[:dims]), axis=1)].diagonal())  # fixed sign per component
    comps = (vt[:dims] * sign[:, None]).astype(np.float32)
    P = (V - mean) @ comps.T
    p = (counts.astype(np.float64) + 1.0) / (counts.sum() + vocab)
    w = (sif / (sif + p)).astype(np.float32)
    out = np.zeros((vocab, dims), dtype=np.float32)
    out[ids] = P * w[ids, None]
    meta = {"method": "per-token encoder pass ([CLS] t [SEP], mean pool) + PCA + SIF weights",
            "dims": int(dims), "sif": sif, "distilled_tokens": len(ids), "vocab": vocab,
            "frequency_tokens": int(counts.sum()), "max_vocab": max_vocab}
    return out, meta


def _ids(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids as the static model sees them: no special tokens, no [UNK], truncated."""
    unk = tokenizer.unk_token_id
    out: list[list[int]] = []
    for s in range(0, len(texts), 4096):
        enc = tokenizer(list(texts[s : s + 4096]), add_special_tokens=False, truncation=True, max_length=max_length)
        out += [[i for i in ids if i != unk] for ids in enc["input_ids"]]
    return out


def refine(
    vectors: np.ndarray,
    ids_tr: list[list[int]],
    T_tr: np.ndarray,
    ids_va: list[list[int]],
    T_va: np.ndarray,
    seed: int,
    epochs: int = 8,
    lr: float = 2e-3,
    progress: bool = True,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Sentence-level distillation: fit the static vectors ``E`` and a linear map ``W`` so that
    ``W @ mean(E[ids])`` points where the encoder's sentence embedding ``T`` points (cosine loss) on the
    *training* texts; the epoch with the best validation cosine is kept. ``W`` is folded into the vectors
    (``E @ W.T``, exact because the mean is linear), so the static model stays "mean of token vectors".
    Returns (vectors (vocab, T.shape[1]), metadata)."""
    import torch
    from tqdm import tqdm

    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    keep_tr = [i for i, x in enumerate(ids_tr) if x]
    keep_va = [i for i, x in enumerate(ids_va) if x]

    def flat(rows: list[list[int]], idx: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        lens = [len(rows[i]) for i in idx]
        return (torch.tensor([t for i in idx for t in rows[i]], dtype=torch.long),
                torch.tensor(np.concatenate([[0], np.cumsum(lens)[:-1]]), dtype=torch.long))

    emb = torch.nn.EmbeddingBag.from_pretrained(torch.from_numpy(vectors.copy()), freeze=False, mode="mean")
    proj = torch.nn.Linear(vectors.shape[1], T_tr.shape[1], bias=False)
    opt = torch.optim.Adam([*emb.parameters(), *proj.parameters()], lr=lr)
    Ttr = torch.from_numpy(np.ascontiguousarray(T_tr[keep_tr], dtype=np.float32))
    Tva = torch.from_numpy(np.ascontiguousarray(T_va[keep_va], dtype=np.float32))
    va_flat = flat(ids_va, keep_va)

    def val_cos() -> float:
        with torch.no_grad():
            return float(torch.nn.functional.cosine_similarity(proj(emb(*va_flat)), Tva).mean())

    best, best_epoch, history = val_cos(), 0, []
    best_state = (emb.weight.detach().clone(), proj.weight.detach().clone())
    for ep in tqdm(range(1, epochs + 1), desc="refine static vectors", unit="epoch", disable=not progress):
        perm = torch.randperm(len(keep_tr), generator=g).tolist()
        for s in range(0, len(perm), 256):
            b = perm[s : s + 256]
            x = proj(emb(*flat(ids_tr, [keep_tr[i] for i in b])))
            loss = (1 - torch.nn.functional.cosine_similarity(x, Ttr[b])).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        c = val_cos()
        history.append(round(c, 4))
        if c > best:
            best, best_epoch = c, ep
            best_state = (emb.weight.detach().clone(), proj.weight.detach().clone())
    E, W = best_state
    out = (E @ W.T).numpy().astype(np.float32)
    return out, {"method": "sentence-level cosine distillation to the encoder's embeddings of the training texts",
                 "epochs": epochs, "best_epoch": best_epoch, "val_cosine_by_epoch": history,
                 "val_cosine_best": round(best, 4), "dims": int(out.shape[1])}


# --- the runtime fast path ------------------------------------------------------------------------


class StaticEncoder:
    """A ``model2vec`` ``StaticModel``: tokenise, average the tokens' static vectors, L2-normalise."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.dim = int(model.dim)

    @classmethod
    def load(cls, static_dir: Path) -> StaticEncoder:
        from model2vec import StaticModel

        return cls(StaticModel.from_pretrained(str(static_dir), normalize=True, force_download=False))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        x = self.model.encode(list(texts), use_multiprocessing=False, batch_size=1024)
        return np.asarray(x, dtype=np.float32).reshape(len(texts), self.dim)


class FastPath:
    """Static encoder + its heads (probabilities and thresholds in the same shape as the transformer's)."""

    def __init__(self, static: StaticEncoder, heads: Heads, path: Path | None = None) -> None:
        self.static = static
        self.heads = heads
        self.path = path

    @classmethod
    def load(cls, fast_dir: Path | str | None = None) -> FastPath:
        d = check_fastpath_dir(fast_dir)
        static_dir, heads_path = fastpath_files(d)
        heads = Heads.load(heads_path)
        static = StaticEncoder.load(static_dir)
        if static.dim != heads.dim:
            raise ValueError(f"fast-path static dim {static.dim} != heads dim {heads.dim} in {d}")
        return cls(static, heads, d)

    def predict(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        return self.heads.predict(self.static.encode(texts), texts)


# --- build (``imon train --fast-path``) -----------------------------------------------------------


def _digest(heads: Heads, vectors: np.ndarray) -> str:
    buf = io.BytesIO()
    arrays = [vectors, heads.sentiment.W, heads.sentiment.b]
    for h in heads.binary.values():
        arrays += [h.w, np.array([h.b]), np.array([h.platt_b])]
    if heads.lexical is not None and heads.sentiment.fuse_W is not None:
        arrays += [*heads.lexical.arrays().values(), heads.sentiment.fuse_W]
    np.savez(buf, *arrays)
    return hashlib.sha256(buf.getvalue() + repr(sorted(heads.thresholds.items())).encode()).hexdigest()[:8]


def build(args: argparse.Namespace, settings: Any) -> int:
    """Distil, train the fast heads, choose the cascade bands on validation, write ``args.fast_path_dir``."""
    import torch
    from model2vec import StaticModel
    from tokenizers import Tokenizer

    from models.embcache import EmbeddingCache
    from models.train import MODEL_VERSION, _summary, lexical_options, train_heads

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    progress = not getattr(args, "no_progress", False)
    out_dir = Path(args.fast_path_dir or settings.fast_path_dir or default_fastpath_dir())
    enc, tf_heads = _encoder_and_transformer_heads(args, settings)

    data_dir = args.data_dir or D.default_data_dir()
    tr = D.load_split(data_dir, "train", args.limit, args.seed)
    va = D.load_split(data_dir, "val", args.limit, args.seed)
    log.info("fast path: train %d examples, validation %d", len(tr), len(va))

    counts = token_counts(enc.tokenizer, [e.text for e in tr])
    vectors, dmeta = distill(enc, counts, dims=args.fast_dims, sif=args.fast_sif,
                             max_vocab=args.fast_max_vocab, progress=progress)
    cache = EmbeddingCache(enc, args.build_dir)
    if args.fast_refine_epochs > 0:  # transformer embeddings of the train/val texts (cached)
        T_tr = cache.encode([e.text for e in tr], progress=progress)
        T_va = cache.encode([e.text for e in va], progress=progress)
        vectors, dmeta["refine"] = refine(
            vectors, _ids(enc.tokenizer, [e.text for e in tr], enc.max_length), T_tr,
            _ids(enc.tokenizer, [e.text for e in va], enc.max_length), T_va, seed=args.seed,
            epochs=args.fast_refine_epochs, progress=progress)
    tokenizer = Tokenizer.from_file(str(enc.path / "tokenizer.json"))
    static_model = StaticModel(vectors=vectors, tokenizer=tokenizer, normalize=True,
                               base_model_name=enc.name, max_length=enc.max_length)
    static = StaticEncoder(static_model)
    X_tr, X_va = static.encode([e.text for e in tr]), static.encode([e.text for e in va])

    heads = train_heads(X_tr, tr, X_va, va, seed=args.seed, C=args.C, hidden=args.hidden, progress=progress,
                        **lexical_options(args))
    bands, band_report = _choose_bands(heads, X_va, va, tf_heads, cache, args, progress)
    heads.meta.update(
        {
            "name": FAST_MODEL_NAME,
            "version": f"{MODEL_VERSION}+{_digest(heads, vectors)}",
            "encoder": {"name": f"static:{enc.name}", "dim": int(vectors.shape[1]), "pooling": "mean",
                        "normalize": "l2", "distilled_from": enc.name, "fingerprint": None},
            "distilled_from_fingerprint": enc.fingerprint,
            "distillation": dmeta,
            "classes": {"sentiment": list(SENTIMENT_CLASSES), "binary": list(BINARY_TASKS)},
            "head": ({"type": "mlp", "hidden": args.hidden} if args.hidden
                     else {"type": "logistic_regression", "C": args.C}),
            "seed": args.seed,
            "limit": args.limit,
            "training_data": {"train": _summary(tr), "validation": _summary(va)},
            "cascade": _cascade_meta(tf_heads, bands, band_report, args),
        }
    )
    static_dir, heads_path = fastpath_files(out_dir)
    static_model.save_pretrained(static_dir)
    heads.save(heads_path)
    print(json.dumps({"bands": bands, "validation": band_report}, indent=1))
    print(f"wrote fast path {out_dir} (version {heads.meta['version']}, routed on validation "
          f"{band_report['routed_fraction']:.3f})")
    return 0


def _encoder_and_transformer_heads(args: argparse.Namespace, settings: Any) -> tuple[Any, Heads]:
    """The configured encoder (1 thread unless told, at most 2: a shared box) and the transformer heads the
    cascade routes to, checked to be fitted on that encoder."""
    from models.encoder import load_encoder
    from models.heads import default_heads_path

    enc = load_encoder(settings.encoder_dir, device=settings.device, threads=min(settings.torch_threads or 1, 2),
                       adapter=settings.encoder_adapter)
    tf_path = Path(args.transformer_heads or settings.heads_path or default_heads_path())
    tf_heads = Heads.load(tf_path)
    if tf_heads.meta.get("encoder", {}).get("fingerprint") not in (None, enc.fingerprint):
        raise RuntimeError(f"transformer heads {tf_path} were trained on another encoder than {enc.path}")
    return enc, tf_heads


def _cover(args: argparse.Namespace) -> dict[str, float]:
    from models.cascade import DEFAULT_COVER

    given = getattr(args, "cascade_cover", None)
    return dict(DEFAULT_COVER) if given is None else {t: c for t, c in given if c > 0}


def _choose_bands(heads: Heads, X_va: np.ndarray, va: list[D.Example], tf_heads: Heads, cache: Any,
                  args: argparse.Namespace, progress: bool) -> tuple[dict[str, float], dict[str, Any]]:
    """The cascade bands on validation ``va`` (``X_va``: its fast-path vectors; the transformer's from the
    embedding cache)."""
    from models.cascade import choose_bands

    va_texts = [e.text for e in va]
    tf_va = tf_heads.predict(cache.encode(va_texts, progress=progress), va_texts)
    return choose_bands(heads.predict(X_va, va_texts), heads.thresholds, tf_va, tf_heads.thresholds, va,
                        max_loss=args.cascade_max_loss, fast_divisor=heads.sentiment_divisor,
                        tf_divisor=tf_heads.sentiment_divisor, cover=_cover(args))


def _cascade_meta(tf_heads: Heads, bands: dict[str, float], report: dict[str, Any],
                  args: argparse.Namespace) -> dict[str, Any]:
    cover = _cover(args)
    return {"transformer_heads_version": tf_heads.meta.get("version"), "bands": bands,
            "chosen_on": "validation split (models.datasets.load_split 'val')",
            "target": f"macro-F1 loss <= {args.cascade_max_loss} per task vs transformer-only"
                      + "".join(f"; {t} routes >= {c:g} of the transformer's positives" for t, c in cover.items()),
            "cover": cover, "validation": report}


def rebands(args: argparse.Namespace, settings: Any) -> int:
    """Choose the cascade bands again for an existing fast path (``imon train --fast-path --bands-only``):
    after new transformer heads or another ``--cascade-cover`` / ``--cascade-max-loss``, without distilling
    again (its static vectors and heads stay as they are; only ``heads.json`` → ``cascade`` changes)."""
    from models.embcache import EmbeddingCache

    progress = not getattr(args, "no_progress", False)
    fast = FastPath.load(args.fast_path_dir or settings.fast_path_dir)
    assert fast.path is not None
    enc, tf_heads = _encoder_and_transformer_heads(args, settings)
    if fast.heads.meta.get("distilled_from_fingerprint") not in (None, enc.fingerprint):
        raise RuntimeError(f"fast path {fast.path} was distilled from another encoder than {enc.path}; "
                           "build it again with `imon train --fast-path`")
    va = D.load_split(args.data_dir or D.default_data_dir(), "val", args.limit, args.seed)
    cache = EmbeddingCache(enc, args.build_dir)
    before = fast.heads.meta.get("cascade", {}).get("bands")
    bands, report = _choose_bands(fast.heads, fast.static.encode([e.text for e in va]), va, tf_heads, cache, args,
                                  progress)
    fast.heads.meta["cascade"] = _cascade_meta(tf_heads, bands, report, args)
    fast.heads.save(fastpath_files(fast.path)[1])
    print(json.dumps({"bands": bands, "before": before, "validation": report}, indent=1))
    print(f"re-banded fast path {fast.path} (version {fast.heads.meta.get('version')}, routed on validation "
          f"{report['routed_fraction']:.3f})")
    return 0
