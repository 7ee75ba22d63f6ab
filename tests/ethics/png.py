"""A small PNG reader for screenshot checks (zlib + numpy; Pillow is not a dependency).

Handles what Chromium writes: 8-bit RGB or RGBA, not interlaced, any of the five row filters.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_png(path: str | Path) -> np.ndarray:
    """Pixels as an (height, width, channels) uint8 array."""
    data = Path(path).read_bytes()
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a PNG file")
    pos, idat, header = 8, [], None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError("PNG without IHDR")
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}, interlace {interlace}")
    bpp = 3 if colour == 2 else 4
    stride = width * bpp
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:]
        if kind == 0:
            cur = line.copy()
        elif kind == 1:  # Sub: a running sum per channel
            cur = (
                (np.cumsum(line.reshape(width, bpp).astype(np.int64), axis=0) % 256).astype(np.uint8).ravel()
            )
        elif kind == 2:  # Up
            cur = line + prev  # uint8 wraps modulo 256, as PNG requires
        elif kind in (3, 4):  # Average / Paeth depend on the pixel to the left: one pixel at a time
            cur = _sequential(kind, line, prev, bpp)
        else:
            raise ValueError(f"bad PNG filter {kind} in row {y}")
        out[y] = cur
        prev = cur
    return out.reshape(height, width, bpp)


def _sequential(kind: int, line: np.ndarray, prev: np.ndarray, bpp: int) -> np.ndarray:
    # Plain Python ints: far faster than numpy for this one-pixel-at-a-time loop.
    f = line.tobytes()
    b = prev.tobytes()
    cur = bytearray(len(f))
    for x in range(len(f)):
        a = cur[x - bpp] if x >= bpp else 0
        up = b[x]
        if kind == 3:
            cur[x] = (f[x] + ((a + up) >> 1)) & 255
        else:
            c = b[x - bpp] if x >= bpp else 0
            p = a + up - c
            pa, pb, pc = abs(p - a), abs(p - up), abs(p - c)
            cur[x] = (f[x] + (a if pa <= pb and pa <= pc else up if pb <= pc else c)) & 255
    return np.frombuffer(bytes(cur), dtype=np.uint8)
