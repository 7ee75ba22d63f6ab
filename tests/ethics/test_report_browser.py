"""The HTML report as a compliance reader sees it: rendered by headless Chromium, not blank.

Chromium is installed from Debian (``apt-get install -y chromium``) when missing. If that fails the
test FAILS with the reason: a report nobody checked in a browser is not a tested report.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from streams.report import build_report, render_html
from tests.ethics.png import read_png
from tests.ethics.report_data import scored_lines, write_jsonl

CHROMIUM = Path("/usr/bin/chromium")
WIDTH, HEIGHT = 1200, 2000
HEADER_BLUE = (0x1F, 0x3A, 0x5F)  # header background in the report's CSS
ALARM_RED = (0xC0, 0x39, 0x2B)  # flagged bars, badges and the alarm card


def ensure_chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    if shutil.which("apt-get") is None:
        pytest.fail("chromium is missing and apt-get is not available to install it", pytrace=False)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "--no-install-recommends", "chromium"]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    if res.returncode != 0:  # a stale package index: refresh once and retry
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, text=True, timeout=600)
        res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    if res.returncode != 0 or not CHROMIUM.exists():
        pytest.fail(
            f"could not install chromium with `{' '.join(cmd)}` (exit {res.returncode}):\n{res.stderr[-2000:]}",
            pytrace=False,
        )
    return CHROMIUM


def screenshot(html_path: Path, png: Path, profile: Path) -> None:
    cmd = [
        str(ensure_chromium()),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        f"--screenshot={png}",
        f"--window-size={WIDTH},{HEIGHT}",
        html_path.resolve().as_uri(),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and png.exists(), f"chromium failed ({res.returncode}):\n{res.stderr[-3000:]}"


def near(img: np.ndarray, colour: tuple[int, int, int], tol: int = 12) -> np.ndarray:
    return np.all(np.abs(img[..., :3].astype(int) - np.array(colour)) <= tol, axis=-1)


def test_the_report_renders_in_headless_chromium_and_is_not_blank(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "scored.jsonl", scored_lines())
    page = tmp_path / "report.html"
    page.write_text(render_html(build_report([src])), encoding="utf-8")
    png = tmp_path / "report.png"
    screenshot(page, png, tmp_path / "profile")

    img = read_png(png)
    assert img.shape[:2] == (HEIGHT, WIDTH)
    rgb = img[..., :3]
    non_white = np.mean(np.any(rgb < 245, axis=-1))
    colours = len(np.unique(rgb.reshape(-1, 3), axis=0))
    assert 0.05 < non_white < 0.8, f"{non_white:.1%} of the page is not white: blank or broken layout"
    assert colours > 50, f"only {colours} colours: text and charts did not render"
    # The dark header spans the top of the page, and flagged disparities draw red marks below it.
    assert near(img[10:60, 10:1190], HEADER_BLUE).mean() > 0.6, "the report header is not rendered"
    assert near(img[200:], ALARM_RED).sum() > 200, "no red disparity marks rendered"
    # Charts are drawn: the bars' blue appears in several separate bands of the page.
    blue_rows = np.flatnonzero(near(img, (0x2B, 0x6C, 0xB0)).any(axis=1))
    assert len(blue_rows) > 100 and (blue_rows.max() - blue_rows.min()) > HEIGHT / 4


def _encode_png(img: np.ndarray, filters: list[int]) -> bytes:
    """A PNG with the given filter per row (the spec's filters written out, to test the reader)."""
    import struct
    import zlib

    h, w, bpp = img.shape
    raw = b""
    prev = np.zeros(w * bpp, dtype=np.int32)
    for y in range(h):
        cur = img[y].astype(np.int32).ravel()
        left = np.concatenate([np.zeros(bpp, dtype=np.int32), cur[:-bpp]])
        upleft = np.concatenate([np.zeros(bpp, dtype=np.int32), prev[:-bpp]])
        f = filters[y % len(filters)]
        if f == 0:
            pred = np.zeros_like(cur)
        elif f == 1:
            pred = left
        elif f == 2:
            pred = prev
        elif f == 3:
            pred = (left + prev) // 2
        else:
            p = left + prev - upleft
            pa, pb, pc = np.abs(p - left), np.abs(p - prev), np.abs(p - upleft)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
        raw += bytes([f]) + ((cur - pred) % 256).astype(np.uint8).tobytes()
        prev = cur

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2 if bpp == 3 else 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("bpp", [3, 4])
def test_the_png_reader_undoes_every_row_filter(tmp_path: Path, bpp: int) -> None:
    img = np.random.default_rng(bpp).integers(0, 256, size=(10, 7, bpp), dtype=np.uint8)
    path = tmp_path / "t.png"
    path.write_bytes(_encode_png(img, [0, 1, 2, 3, 4]))
    assert np.array_equal(read_png(path), img)


def test_a_chromium_that_cannot_be_installed_fails_the_test_never_skips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tests.ethics.test_report_browser as mod

    calls: list[list[str]] = []

    def fake_run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 100, "", "E: Unable to locate package chromium")

    monkeypatch.setattr(mod, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setattr(mod.subprocess, "run", fake_run)
    with pytest.raises(
        pytest.fail.Exception, match=r"(?s)could not install chromium.*Unable to locate package"
    ):
        mod.ensure_chromium()
    assert [c[0] for c in calls] == ["apt-get", "apt-get", "apt-get"]  # install, update, install again
