"""Encoder compute dtype (IMON_ENCODER_DTYPE) and the small-batch thread policy of the scorer.

bfloat16 must give the same unit vectors as float32 up to rounding (the heads were fitted on float32),
keep the fingerprint (same weights) but not the embedding-cache key (other vectors), and ``auto`` must pick
it only where the CPU multiplies bfloat16 in hardware. The scorer runs short batches with the small-batch
thread count and returns to the loaded one for larger batches.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models import encoder as E
from models.base import Utterance
from models.heads import Heads, default_heads_path
from models.scorer import TransformerScorer
from streams.config import Settings
from tests.models.sample_texts import TEXTS

pytestmark = pytest.mark.slow


def test_cpu_flags_decide_fast_bf16(tmp_path: Path) -> None:
    amx = tmp_path / "amx"
    amx.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16 amx_bf16 amx_tile\n\n")
    zen4 = tmp_path / "zen4"  # AVX-512 BF16 without AMX (AMD Zen 4): measured faster too (README)
    zen4.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n")
    plain = tmp_path / "plain"  # AVX-512 without bf16 instructions: emulated, slower
    plain.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_vnni\nbugs\t\t: avx512_bf16\n")
    assert E.cpu_has_fast_bf16(amx)
    assert E.cpu_has_fast_bf16(zen4)
    assert not E.cpu_has_fast_bf16(plain)  # the flag only counts on the flags line
    assert not E.cpu_has_fast_bf16(tmp_path / "missing")


@pytest.mark.parametrize(("fast", "setting", "device", "want"), [
    (True, "auto", "cpu", "bfloat16"),
    (False, "auto", "cpu", "float32"),
    (True, "auto", "cuda", "float32"),  # not measured on GPUs: stay float32
    (False, "bfloat16", "cpu", "bfloat16"),  # asked for explicitly: honoured
    (True, "float32", "cpu", "float32"),
    (True, " BFloat16 ", "cpu", "bfloat16"),
])
def test_resolve_dtype(monkeypatch: pytest.MonkeyPatch, fast: bool, setting: str, device: str, want: str) -> None:
    monkeypatch.setattr(E, "cpu_has_fast_bf16", lambda: fast)
    assert E.resolve_dtype(setting, device) == want


def test_unknown_dtype_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown encoder dtype 'float16'"):
        E.resolve_dtype("float16")
    with pytest.raises(ValueError, match="encoder_dtype"):
        Settings(encoder_dtype="half")  # type: ignore[arg-type]


def test_bfloat16_encoder_matches_float32_up_to_rounding() -> None:
    threads = torch.get_num_threads()
    try:
        f32 = E.load_encoder(None, threads=2, dtype="float32")
        bf16 = E.load_encoder(None, threads=2, dtype="bfloat16")
        a, b = f32.encode(TEXTS), bf16.encode(TEXTS)
    finally:
        torch.set_num_threads(threads)
    assert (f32.dtype, bf16.dtype) == ("float32", "bfloat16")
    assert b.dtype == np.float32 and np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    cos = (a * b).sum(1)
    assert cos.min() > 0.999, cos  # measured 0.99990 at worst on 1,200 simulated utterances
    assert not np.array_equal(a, b)  # really computed in bfloat16
    assert bf16.fingerprint == f32.fingerprint  # same weights: the heads accept it
    assert bf16.cache_key == f"{f32.cache_key}-bf16-pad16"  # other vectors: never mixed in the embedding cache
    # bfloat16 passes are padded to a multiple of 16 tokens (oneDNN's per-shape cache stays small), and the
    # padding changes nothing: the same text alone or beside a longer one gives the same vector
    short, long_ = "thanks", TEXTS[0] + " " + TEXTS[1]
    lens = {len(t): bf16.tokenize([t])["input_ids"].shape[1] for t in (short, long_)}
    assert all(n % E.BF16_PAD_MULTIPLE == 0 for n in lens.values()), lens
    assert f32.tokenize([short])["input_ids"].shape[1] == 3  # [CLS] thanks [SEP]: float32 is not padded
    alone, beside = bf16.encode([short]), bf16.encode([short, long_], batch_size=2)[:1]
    assert float((alone * beside).sum()) > 0.9999
    vecs, toks = bf16.encode_with_tokens([short, long_])
    assert toks[0].hidden.shape[0] == 3 and toks[0].word_ids == [None, 0, None]  # evidence sees real tokens only


def test_short_batches_run_with_the_small_batch_threads() -> None:
    threads = torch.get_num_threads()
    try:
        enc = E.load_encoder(None, threads=2, dtype="float32")
        scorer = TransformerScorer(enc, Heads.load(default_heads_path()), small_batch=(4, 1))
        assert scorer.large_batch_threads == 2
        scorer.score([Utterance(text=t) for t in TEXTS[:3]])
        assert torch.get_num_threads() == 1
        scorer.score([Utterance(text=t) for t in TEXTS[:6]])
        assert torch.get_num_threads() == 2
        off = TransformerScorer(enc, Heads.load(default_heads_path()))  # (0, 0): threads never touched
        torch.set_num_threads(2)
        off.score([Utterance(text=TEXTS[0])])
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
