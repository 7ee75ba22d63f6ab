"""A time- and size-bounded batcher between the Faust agent and the scorer.

The agent ``put``s events as they arrive; the scoring loop ``take``s up to ``max_size`` of them,
waiting at most ``max_wait`` seconds after the first. Items live in one list, so no item is ever
held by a coroutine that a timeout might cancel (``asyncio.wait_for(queue.get(), t)`` on Python
3.11 can drop an item that arrives as the timeout fires; here timeouts only ever wait on a flag).
``put`` blocks while ``limit`` items are waiting, which is the back-pressure that stops Faust
from fetching far ahead of the model.

With ``small_size`` the batch size follows the backlog: while fewer than ``max_size`` items wait,
a batch holds at most ``small_size`` (short batches, short waits: latency); once ``max_size`` or
more wait, it holds ``max_size`` (large batches: the model's best throughput on a backlog). A cap
alone cannot do both: with large batches a half-loaded worker drifts into long cycles (each long
batch lets many events queue for the next), with small ones a backlog drains more slowly.
"""

from __future__ import annotations

import asyncio
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
        size = self.max_size if len(self._items) >= self.max_size else self.small_size
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
