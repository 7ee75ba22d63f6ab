"""HandledOffsets: the per-partition record of input offsets a worker has handled."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from streams.batching import HandledOffsets


def test_contiguous_offsets_make_one_range() -> None:
    h = HandledOffsets()
    for o in range(100, 5000):
        h.add("p0", o)
    assert h.ranges("p0") == [(100, 4999)]
    assert h.seen("p0", 100) and h.seen("p0", 4999)
    assert not h.seen("p0", 99) and not h.seen("p0", 5000) and not h.seen("p1", 200)


def test_gaps_are_kept_and_filled() -> None:
    h = HandledOffsets()
    for o in (5, 6, 9, 10, 2):
        h.add("p", o)
    assert h.ranges("p") == [(2, 2), (5, 6), (9, 10)]
    assert not h.seen("p", 7) and not h.seen("p", 3)
    for o in (7, 8, 3, 4):
        h.add("p", o)
    assert h.ranges("p") == [(2, 10)]


def test_forget() -> None:
    h = HandledOffsets()
    h.add("a", 1)
    h.add("b", 1)
    h.forget(["a"])
    assert not h.seen("a", 1) and h.seen("b", 1)
    h.forget()
    assert not h.seen("b", 1)


@given(st.lists(st.integers(min_value=0, max_value=300), max_size=200), st.integers(0, 2**31))
def test_matches_a_set(offsets: list[int], seed: int) -> None:
    h = HandledOffsets()
    random.Random(seed).shuffle(offsets)
    for o in offsets:
        h.add("p", o)
    assert {o for o in range(-1, 302) if h.seen("p", o)} == set(offsets)
    ranges = h.ranges("p")
    assert all(a[1] + 1 < b[0] for a, b in zip(ranges, ranges[1:], strict=False)), "ranges are merged"
