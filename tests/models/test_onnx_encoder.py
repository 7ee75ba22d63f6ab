"""The ONNX Runtime int8 encoder backend (models/onnx_encoder.py, ``imon train --onnx``).

The real local encoder is exported and quantized once into a tmp folder (~10 s); the int8 backend is then
compared with the torch one on a few texts. No timing assertions.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from models.base import Utterance
from models.encoder import Encoder, load_encoder
from models.onnx_encoder import (
    INT8_FILE,
    MANIFEST_FILE,
    OnnxEncoder,
    OnnxEncoderMissingError,
    check_onnx_dir,
    export_onnx,
)
from models.scorer import load_scorer
from streams.cli import build_parser
from streams.config import Settings
from tests.models.sample_texts import LONG_EMAIL
from tests.models.sample_texts import TEXTS as SAMPLE_TEXTS

pytestmark = pytest.mark.slow

# the shared samples without the last three (the cosine bounds below were measured on these)
TEXTS = [*SAMPLE_TEXTS[:7], ""]


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    msgs: list[str] = []
    d = export_onnx(None, tmp_path_factory.mktemp("onnx"), say=msgs.append)
    assert any("exporting" in m for m in msgs) and any("quantization" in m for m in msgs), msgs
    return d


@pytest.fixture(scope="module")
def torch_enc() -> Encoder:
    return load_encoder(None, threads=2)


@pytest.fixture(scope="module")
def int8_enc(onnx_dir: Path) -> Encoder:
    return load_encoder(None, threads=2, backend="onnx-int8", onnx_dir=onnx_dir)


def test_export_writes_int8_model_and_manifest(onnx_dir: Path, torch_enc: Encoder) -> None:
    d, manifest = check_onnx_dir(onnx_dir)
    assert (d / INT8_FILE).stat().st_size < 0.4 * (d / "encoder.fp32.onnx").stat().st_size  # int8 weights
    assert manifest["backend"] == "onnx-int8"
    assert manifest["source"]["fingerprint"] == torch_enc.fingerprint
    assert manifest["output"] == "last_hidden_state"


def test_int8_backend_is_the_same_encoder(torch_enc: Encoder, int8_enc: Encoder) -> None:
    assert isinstance(int8_enc, OnnxEncoder)
    assert int8_enc.backend == "onnx-int8" and torch_enc.backend == "torch"
    # same source encoder -> same fingerprint (the heads accept it); different vectors -> own cache key
    assert int8_enc.fingerprint == torch_enc.fingerprint
    assert int8_enc.cache_key != torch_enc.cache_key
    assert (int8_enc.dim, int8_enc.name, int8_enc.path) == (torch_enc.dim, torch_enc.name, torch_enc.path)


def test_int8_embeddings_close_to_fp32(torch_enc: Encoder, int8_enc: Encoder) -> None:
    a, b = torch_enc.encode(TEXTS), int8_enc.encode(TEXTS)
    assert a.shape == b.shape == (len(TEXTS), torch_enc.dim) and b.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    cos = (a * b).sum(1)
    # measured: mean 0.990, min 0.971 over 2,000 held-out texts (models/MODEL_CARD.md)
    assert cos.min() > 0.95, cos
    assert int8_enc.encode([]).shape == (0, torch_enc.dim)


def test_token_states_match_torch(torch_enc: Encoder, int8_enc: Encoder) -> None:
    pa, ta = torch_enc.encode_with_tokens(TEXTS, batch_size=3)
    pb, tb = int8_enc.encode_with_tokens(TEXTS, batch_size=3)
    np.testing.assert_allclose(pb, int8_enc.encode(TEXTS, batch_size=3), atol=1e-5)
    for x, y in zip(ta, tb, strict=True):
        assert x is not None and y is not None
        assert x.hidden.shape == y.hidden.shape and y.hidden.dtype == np.float32
        assert x.word_ids == y.word_ids
        np.testing.assert_array_equal(np.asarray(x.offsets), np.asarray(y.offsets))


def test_scorer_on_int8_backend(onnx_dir: Path) -> None:
    s = load_scorer(Settings(torch_threads=2, encoder_backend="onnx-int8", onnx_dir=onnx_dir))
    assert s.encoder.endswith("+onnx-int8")  # imon_model_info{encoder} says which runtime scores
    r = s.score([Utterance(text="I want to speak to a real person right now"), Utterance(text="thanks, that fixed it!")])
    assert r[0].labels["human_requested"] and r[0].evidence["human_requested"]
    assert r[1].labels["sentiment"] == "positive"
    # a long text is read in windows on this backend too: the request past the first window (126 word pieces) is found
    (long,) = s.score([Utterance(text=LONG_EMAIL)])
    assert len(s.windows([LONG_EMAIL])[0]) > 1  # type: ignore[attr-defined]
    assert long.labels["human_requested"], long


def test_heads_refitted_on_int8_embeddings_are_used_by_the_int8_scorer(onnx_dir: Path, tmp_path: Path) -> None:
    """`IMON_ENCODER_BACKEND=onnx-int8 imon train` fits the heads on the int8 encoder's own embeddings and
    writes them into the ONNX folder (never over the shipped fp32 heads); the int8 scorer then uses them."""
    import argparse

    from models import train
    from models.heads import default_heads_path
    from models.onnx_encoder import onnx_heads_path

    own = tmp_path / "onnx"
    shutil.copytree(onnx_dir, own, ignore=shutil.ignore_patterns("*.fp32.onnx", "heads.*", "reference_scores.json"))
    shipped = default_heads_path().read_bytes()
    p = argparse.ArgumentParser()
    train.add_arguments(p)
    args = p.parse_args(["--limit", "6", "--seed", "7", "--build-dir", str(tmp_path / "build"), "--no-eval"])
    settings = Settings(torch_threads=2, encoder_backend="onnx-int8", onnx_dir=own)
    assert train.run(args, settings) == 0
    assert default_heads_path().read_bytes() == shipped
    meta = json.loads(onnx_heads_path(own).with_suffix(".json").read_text())
    assert meta["encoder"]["backend"] == "onnx-int8" and meta["limit"] == 6
    assert list((tmp_path / "build" / "emb").iterdir())[0].name.endswith("-onnx-int8")  # int8 vectors, own cache
    assert load_scorer(settings).version == meta["version"]


def test_missing_files_say_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(OnnxEncoderMissingError, match="imon train --onnx"):
        load_encoder(None, backend="onnx-int8", onnx_dir=tmp_path)
    with pytest.raises(OnnxEncoderMissingError, match="imon train --onnx"):
        load_scorer(Settings(encoder_backend="onnx-int8", onnx_dir=tmp_path))


def test_built_from_another_encoder_is_refused(onnx_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "onnx"
    shutil.copytree(onnx_dir, other, ignore=shutil.ignore_patterns("*.fp32.onnx"))
    m = json.loads((other / MANIFEST_FILE).read_text())
    m["source"]["fingerprint"] = "0000000000000000"
    (other / MANIFEST_FILE).write_text(json.dumps(m))
    with pytest.raises(OnnxEncoderMissingError, match="rebuild"):
        load_encoder(None, backend="onnx-int8", onnx_dir=other)


def test_cli_flags() -> None:
    p = build_parser()
    a = p.parse_args(["train", "--onnx", "--onnx-dir", "/tmp/x"])
    assert a.onnx and a.onnx_dir == Path("/tmp/x")
    a = p.parse_args(["evaluate", "--onnx"])
    assert a.onnx
    assert Settings(encoder_backend="onnx-int8").encoder_backend == "onnx-int8"
    with pytest.raises(ValueError):
        Settings(encoder_backend="tensorrt")  # type: ignore[arg-type]
