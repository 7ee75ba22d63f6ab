"""A time- and size-bounded batcher between the Faust agent and the scorer.

The agent ``put``s events as they arrive; the scoring loop ``take``s up to ``max_size`` of them,
waiting at most ``max_wait`` seconds after the first. Items live in one list, so no item is ever
held by a coroutine that a timeout might cancel (``asyncio.wait_for(queue.get(), t)`` on Python
3.11 can drop an item that arrives as the timeout fires; here timeouts only ever wait on a flag).
``put`` blocks while ``limit`` items are waiting, which is the back-pressure that stops Faust
from fetching far ahead of the model.

With ``small_size`` the batch size follows the backlog: while fewer than ``small_size`` items wait,
a batch holds at most ``small_size`` (short batches, short waits: latency); once ``small_size`` or
more wait, it holds everything waiting up to ``max_size`` (after at most ``max_wait`` for more; the
model is most efficient per item on large batches, so a backlog that builds up is drained in one pass
instead of in small ones). A fixed cap cannot do both: with large batches a half-loaded worker waits
for batches to fill and drifts into long cycles, with small ones a backlog drains more slowly. Until
2026-12-04 the switch to ``max_size`` came only once ``max_size`` items waited; on the 2-core AMD
machine that drained backlogs of 17-63 items in slow 16-item, one-thread batches and the half-loaded
worker's queue kept growing (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Generic, TypeVar

T = TypeVar("T")


class Batcher(Generic[T]):
    def __init__(self, max_size: int, max_wait: float, limit: int | None = None, small_size: int | None = None) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        if max_wait < 0:
            raise ValueError("max_wait must not be negative")
        if small_size is not None and not 1 <= small_size <= max_size:
            raise ValueError("small_size must be between 1 and max_size")
        self.max_size = max_size
        self.small_size = small_size or max_size
        self.max_wait = max_wait
        self.limit = limit if limit is not None else 4 * max_size
        self._items: list[T] = []
        self._arrived = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()

    def __len__(self) -> int:
        return len(self._items)

    async def put(self, item: T) -> None:
        while len(self._items) >= self.limit:
            self._room.clear()
            await self._room.wait()
        self._items.append(item)
        self._arrived.set()

    async def take(self) -> list[T]:
        """The next batch: at least one item, at most ``max_size``."""
        while not self._items:
            self._arrived.clear()
            await self._arrived.wait()
        size = self.max_size if len(self._items) >= self.small_size else self.small_size
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        while len(self._items) < size:
            left = deadline - loop.time()
            if left <= 0:
                break
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except TimeoutError:
                break
        batch = self._items[:size]
        del self._items[:size]
        self._room.set()
        return batch


class HandledOffsets:
    """The input offsets one worker has handled, per partition, as merged inclusive ranges.

    After a restart Faust's recovery seeks the input partitions to their committed offsets while
    records fetched before the seek are already queued; the worker handles those (dropping them
    can lose a record, docs/RELIABILITY.md bug 11) and the seek then delivers the same offsets
    again. Valid events would be recognised as duplicates by their conversation state, but a bad
    record has none and would be dead-lettered and counted a second time. Offsets recorded here
    are recognised before any of that. Handled offsets are mostly contiguous, so a partition
    usually needs one range however long the worker runs.
    """

    def __init__(self) -> None:
        self._ranges: dict[object, list[list[int]]] = {}

    def seen(self, tp: object, offset: int) -> bool:
        # The newest ranges are the likely hits.
        return any(lo <= offset <= hi for lo, hi in reversed(self._ranges.get(tp, [])))

    def add(self, tp: object, offset: int) -> None:
        ranges = self._ranges.setdefault(tp, [])
        if ranges and ranges[-1][1] + 1 == offset:  # the usual case: the next offset
            ranges[-1][1] = offset
            return
        if self.seen(tp, offset):
            return
        ranges.append([offset, offset])
        ranges.sort()
        merged = [ranges[0]]
        for lo, hi in ranges[1:]:
            if lo <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        self._ranges[tp] = merged

    def forget(self, tps: Iterable[object] | None = None) -> None:
        """Forget the given partitions, or every partition."""
        if tps is None:
            self._ranges.clear()
        else:
            for tp in tps:
                self._ranges.pop(tp, None)

    def ranges(self, tp: object) -> list[tuple[int, int]]:
        return [(lo, hi) for lo, hi in self._ranges.get(tp, ())]
