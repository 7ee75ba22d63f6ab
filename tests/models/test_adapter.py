"""LoRA adapters for the encoder (models/adapter.py) and their training (models/finetune.py).

On the real local encoder: a wrapped model starts out computing exactly what the base does; the saved
(float16) factors merged into the weights reproduce the wrapped model's embeddings; files are checked
against their hash and the base encoder; a tiny fine-tune is seeded (same rows + seed -> same adapter).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from models import adapter as A
from models import datasets as D
from models.encoder import Encoder, default_encoder_dir, load_encoder, resolve_adapter
from models.finetune import distil_student, finetune_adapter, sample_rows

pytestmark = pytest.mark.slow

TEXTS = ["I want to speak to a manager right now", "thanks, that fixed it", "my order never arrived",
         "ik wil een mens spreken", ""]


@pytest.fixture(scope="module")
def base() -> Encoder:
    return Encoder(default_encoder_dir(), threads=2)


def _random_adapter(enc: Encoder, seed: int = 3) -> tuple[A.Adapter, dict]:
    """Wrap ``enc.model`` and give every B a random value (a trained adapter's stand-in)."""
    wrapped = A.attach_lora(enc.model, 4, 8.0, seed)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for w in wrapped.values():
            w.B.copy_(torch.randn(w.B.shape, generator=g) * 0.02)
    return A.from_wrapped(wrapped, 4, 8.0, {"base_fingerprint": enc.fingerprint}), wrapped


def test_fresh_lora_changes_nothing_and_merge_matches_the_wrapped_model(tmp_path: Path) -> None:
    enc = Encoder(default_encoder_dir(), threads=2)
    before = enc.encode(TEXTS)
    wrapped = A.attach_lora(enc.model, 4, 8.0, seed=1)
    assert np.allclose(enc.encode(TEXTS), before, atol=1e-6)  # B = 0: identical at the start
    assert all(not p.requires_grad for n, p in enc.model.named_parameters() if not n.endswith((".A", ".B")))
    adapter, wrapped = _random_adapter(Encoder(default_encoder_dir(), threads=2))
    # the wrapped forward, with the factors rounded to float16 as they are saved
    wrapped_enc = Encoder(default_encoder_dir(), threads=2)
    A.attach_lora(wrapped_enc.model, 4, 8.0, seed=1, init=adapter)
    want = wrapped_enc.encode(TEXTS)
    npz, meta = A.save_adapter(adapter, tmp_path / "adapter.npz")
    merged = Encoder(default_encoder_dir(), threads=2, adapter=A.load_adapter(npz))
    got = merged.encode(TEXTS)
    assert np.abs(got - want).max() < 1e-4
    assert np.abs(got - before).max() > 1e-3  # the adapter does change the embeddings
    assert merged.fingerprint != merged.base_fingerprint == enc.base_fingerprint
    # rank 4 on every block's q, k, v, attention-out (h x h), intermediate (h -> i) and output (i -> h)
    cfg = enc.model.config
    h, i = cfg.hidden_size, cfg.intermediate_size
    assert adapter.n_params == cfg.num_hidden_layers * 4 * (4 * (h + h) + 2 * (h + i))
    m = json.loads(meta.read_text())
    assert m["content_sha256"] == A.load_adapter(npz).sha256 and m["r"] == 4 and m["type"] == "lora"


def test_adapter_files_are_checked(tmp_path: Path, base: Encoder) -> None:
    adapter, _ = _random_adapter(Encoder(default_encoder_dir(), threads=2))
    npz, meta = A.save_adapter(adapter, tmp_path / "a.npz")
    with pytest.raises(A.AdapterError, match="no adapter"):
        A.load_adapter(tmp_path / "missing.npz")
    bad = json.loads(meta.read_text())
    bad["content_sha256"] = "0" * 64
    meta.write_text(json.dumps(bad))
    with pytest.raises(A.AdapterError, match="sha256 differs"):
        A.load_adapter(npz)
    # trained on another encoder: refused when named explicitly, with the way out in the message
    adapter.meta["base_fingerprint"] = "ffffffffffffffff"
    npz, _ = A.save_adapter(adapter, tmp_path / "other.npz")
    with pytest.raises(A.AdapterError, match="trained on encoder ffffffffffffffff"):
        resolve_adapter(str(npz), default_encoder_dir())
    with pytest.raises(A.AdapterError, match="IMON_ENCODER_ADAPTER=none"):
        A.merge_adapter(Encoder(default_encoder_dir()).model, A.load_adapter(npz), base.fingerprint)
    assert resolve_adapter("none", default_encoder_dir()) is None
    assert resolve_adapter("NONE", default_encoder_dir()) is None


def test_shipped_adapter_matches_the_shipped_heads() -> None:
    """What `auto` loads is what the shipped heads were fitted on (else the scorer refuses to start)."""
    heads_meta = json.loads((Path(A.default_adapter_path()).parent / "heads.json").read_text())
    enc_meta = heads_meta["encoder"]
    if A.default_adapter_path().is_file():
        shipped = A.load_adapter(A.default_adapter_path())
        assert enc_meta["adapter"]["sha256"] == shipped.sha256
        assert enc_meta["fingerprint"] == A.adapted_fingerprint(enc_meta["base_fingerprint"], shipped)
        assert A.default_adapter_path().stat().st_size < 2_000_000  # small enough for git
    else:
        assert not enc_meta.get("adapter")
    assert load_encoder(None, threads=2).fingerprint == enc_meta["fingerprint"]


def test_weighted_row_sample_is_seeded_and_follows_weights() -> None:
    exs = [D.Example(text=f"t{i}", source="a", weight=1.0 if i < 50 else 0.01) for i in range(100)]
    a, b = sample_rows(exs, 40, 7), sample_rows(exs, 40, 7)
    assert (a == b).all() and len(set(a.tolist())) == 40
    assert (a < 50).sum() > 35  # heavy rows dominate
    assert len(sample_rows(exs, 500, 7)) == 100  # never more rows than there are


def test_tiny_finetune_is_seeded_and_learns(tmp_path: Path) -> None:
    exs = [
        D.Example(text=t, source="synth:test", labels={"sentiment": s, "escalation": e, "human_requested": h,
                                                       "unfair_treatment": u})
        for t, s, e, h, u in [
            ("get me a real person now", 0, 1, 1, 0), ("thank you so much", 2, 0, 0, 0),
            ("you people treat me like dirt because of my accent", 0, 1, 0, 1), ("what time do you open", 1, 0, 0, 0),
        ] * 16
    ]
    sigs = []
    for _ in range(2):
        enc = Encoder(default_encoder_dir(), threads=2)
        ad = finetune_adapter(enc, exs, rows=64, epochs=2, r=2, alpha=4.0, lr=2e-3, batch=16, seed=5, progress=False)
        npz, _ = A.save_adapter(ad, tmp_path / "ft.npz")
        sigs.append(A.load_adapter(npz).sha256)
        assert ad.meta["training"]["steps"] == 8 and ad.meta["base_fingerprint"] == enc.fingerprint
        assert ad.meta["training"]["labelled_per_task"]["unfair_treatment"] == 64
        # the encoder is handed back unwrapped and frozen
        assert not any(p.requires_grad for p in enc.model.parameters())
        assert not any(n.endswith(".A") for n, _ in enc.model.named_parameters())
    assert sigs[0] == sigs[1]
    with pytest.raises(ValueError, match="base encoder"):
        finetune_adapter(Encoder(default_encoder_dir(), adapter=A.load_adapter(tmp_path / "ft.npz")), exs, rows=8)


def test_onnx_export_carries_the_adapter(tmp_path: Path) -> None:
    """`imon train --onnx` exports the adapted encoder; the int8 backend takes the adapted fingerprint."""
    from models.onnx_encoder import OnnxEncoder, OnnxEncoderMissingError, check_onnx_dir, export_onnx

    adapter, _ = _random_adapter(Encoder(default_encoder_dir(), threads=2))
    npz, _ = A.save_adapter(adapter, tmp_path / "adapter.npz")
    d = export_onnx(None, tmp_path / "onnx", adapter=str(npz), keep_fp32=False, say=lambda _m: None)
    torch_enc = load_encoder(None, threads=2, adapter=str(npz))
    _, manifest = check_onnx_dir(d)
    assert manifest["source"]["fingerprint"] == torch_enc.fingerprint != torch_enc.base_fingerprint
    assert manifest["source"]["adapter_sha256"] == adapter.sha256
    int8 = load_encoder(None, threads=2, backend="onnx-int8", onnx_dir=d, adapter=str(npz))
    assert int8.fingerprint == torch_enc.fingerprint
    texts = TEXTS[:4]
    cos = (int8.encode(texts) * torch_enc.encode(texts)).sum(1)
    assert cos.min() > 0.95, cos  # int8 rounding only: the merged weights were exported
    with pytest.raises(OnnxEncoderMissingError, match="built from encoder"):
        OnnxEncoder(default_encoder_dir(), onnx_dir=d, adapter=None)  # base encoder: refused


def test_finetune_with_counterfactual_pairing_reduces_the_swap_gap() -> None:
    """--finetune-clp: copies of one utterance that differ only in a name must embed alike; the penalty
    pulls the copies' embeddings together (against the same fine-tune without it)."""
    base = [("my order is late again", 0), ("thanks for sorting it out", 2), ("where is my parcel", 1)]
    names = ["Emma", "Mohammed", "Wei"]
    exs = [D.Example(text=f"Hi, this is {n}. {t}", source=f"cda:{k}:name", labels={"sentiment": s})
           for k, (t, s) in enumerate(base) for n in names] * 4
    with pytest.raises(ValueError, match="counterfactual copies"):
        finetune_adapter(Encoder(default_encoder_dir(), threads=2), [D.Example(text="x", source="synth",
                         labels={"sentiment": 1})] * 8, rows=8, batch=4, clp=1.0, progress=False)

    def spread(ad: A.Adapter) -> float:
        e = Encoder(default_encoder_dir(), threads=2, adapter=ad).encode([x.text for x in exs[:9]]).reshape(3, 3, -1)
        return float(((e - e.mean(1, keepdims=True)) ** 2).sum(-1).mean())

    kw = {"rows": 36, "epochs": 3, "r": 2, "alpha": 4.0, "lr": 3e-3, "batch": 12, "seed": 5, "progress": False}
    plain = finetune_adapter(Encoder(default_encoder_dir(), threads=2), exs, **kw)
    paired = finetune_adapter(Encoder(default_encoder_dir(), threads=2), exs, clp=10.0, clp_groups=3, **kw)
    assert paired.meta["training"]["clp"]["groups"] == 3 and plain.meta["training"]["clp"] is None
    assert spread(paired) < spread(plain)


def test_finetune_alignment_pulls_translations_towards_their_sources() -> None:
    """--finetune-align: a Dutch translation's embedding moves towards its English source's (against the same
    fine-tune without the term); the pairs shipped for it are the English training rows' translations."""
    pairs = D.translation_pairs()
    assert len(pairs) == 1200 and all(en.strip() and nl.strip() and en != nl for en, nl in pairs)
    train_en = {e.text for e in D.written("train") if e.lang == "en"}
    assert all(en in train_en for en, _ in pairs)  # sources are training rows, never validation or gold text
    few = pairs[:6]
    exs = [D.Example(text=en, source="written:en", labels={"sentiment": 1}) for en, _ in few] * 4

    def gap(ad: A.Adapter) -> float:
        enc = Encoder(default_encoder_dir(), threads=2, adapter=ad)
        return float(((enc.encode([nl for _, nl in few]) - enc.encode([en for en, _ in few])) ** 2).sum(-1).mean())

    kw = {"rows": 24, "epochs": 3, "r": 2, "alpha": 4.0, "lr": 3e-3, "batch": 8, "seed": 5, "progress": False}
    plain = finetune_adapter(Encoder(default_encoder_dir(), threads=2), exs, **kw)
    aligned = finetune_adapter(Encoder(default_encoder_dir(), threads=2), exs, align=5.0, align_pairs=6,
                               pairs=few, **kw)
    assert aligned.meta["training"]["align"]["pairs"] == 6 and plain.meta["training"]["align"] is None
    assert gap(aligned) < gap(plain)
    with pytest.raises(ValueError, match="translation pairs"):
        finetune_adapter(Encoder(default_encoder_dir(), threads=2), exs, rows=8, batch=4, align=1.0, pairs=[],
                         progress=False)


def test_distilled_student_moves_dutch_to_the_teachers_english_and_holds_english(base: Encoder) -> None:
    """--distil-nl: the student starts as the teacher (attach_lora from its factors computes what the teacher
    merged in does), then puts Dutch translations nearer the teacher's embedding of their English sources
    than the teacher puts them, while its English stays nearer the teacher's English than that."""
    teacher, wrapped = _random_adapter(base)
    A.unwrap(base.model, wrapped)
    teacher.sha256 = teacher.content_hash()
    few = D.translation_pairs()[:6]
    en, nl = [a for a, _ in few], [b for _, b in few]
    merged = Encoder(default_encoder_dir(), threads=2, adapter=teacher)
    t_en, t_nl = merged.encode(en), merged.encode(nl)
    start = A.attach_lora(base.model, teacher.r, teacher.alpha, seed=0, init=teacher)
    try:
        assert np.abs(base.encode(en) - t_en).max() < 1e-4
    finally:
        A.unwrap(base.model, start)
    exs = [D.Example(text=t, source="written:en", labels={"sentiment": 1}) for t in TEXTS[:3]]
    student = distil_student(base, teacher, exs, epochs=6, pairs_per_step=3, rows_per_step=2, lr=3e-3, seed=5,
                             progress=False, pairs=few)
    assert student.meta["training"]["pairs"] == 6 and student.meta["training"]["steps"] == 12
    assert student.meta["training"]["distilled_from"]["content_sha256"] == teacher.sha256
    s = Encoder(default_encoder_dir(), threads=2, adapter=student)
    before = float(((t_nl - t_en) ** 2).sum(-1).mean())
    after = float(((s.encode(nl) - t_en) ** 2).sum(-1).mean())
    drift = float(((s.encode(en) - t_en) ** 2).sum(-1).mean())
    assert after < 0.8 * before and drift < after
    with pytest.raises(ValueError, match="translation pairs"):
        distil_student(base, teacher, exs, pairs=[], progress=False)
    with pytest.raises(ValueError, match="base encoder"):
        distil_student(merged, teacher, exs, pairs=few, progress=False)
    with pytest.raises(A.AdapterError, match="rank"):
        A.attach_lora(base.model, 8, 16.0, seed=0, init=teacher)
    from models.train import main as train_main

    with pytest.raises(SystemExit, match="--distil-nl must be >= 0"):
        train_main(["--distil-nl", "-1"])


def test_scorer_refuses_the_shipped_heads_without_their_adapter() -> None:
    """Heads fitted on the adapted encoder never score with the bare one: a clear error names the setting."""
    from models.scorer import HeadsEncoderMismatchError, load_scorer
    from streams.config import Settings

    assert A.default_adapter_path().is_file()  # shipped since 0.1.0+a1c443e9
    with pytest.raises(HeadsEncoderMismatchError, match="IMON_ENCODER_ADAPTER=none"):
        load_scorer(Settings(encoder_adapter="none", torch_threads=2))
    assert load_scorer(Settings(torch_threads=2)).version == json.loads(
        (A.default_adapter_path().parent / "heads.json").read_text())["version"]
