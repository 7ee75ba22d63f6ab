"""The worker's batcher: size and time bounds, back-pressure, and no item lost or repeated when
items arrive just as a batch's time bound expires."""

from __future__ import annotations

import asyncio
import random

import pytest

from streams.batching import Batcher


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_a_full_batch_is_returned_without_waiting() -> None:
    async def main() -> tuple[list[int], float]:
        b: Batcher[int] = Batcher(max_size=3, max_wait=5.0)
        for i in range(5):
            await b.put(i)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        batch = await b.take()
        return batch, loop.time() - t0

    batch, waited = run(main())
    assert batch == [0, 1, 2]
    assert waited < 1.0


def test_a_partial_batch_is_returned_after_the_time_bound() -> None:
    async def main() -> tuple[list[int], float]:
        b: Batcher[int] = Batcher(max_size=10, max_wait=0.2)
        await b.put(1)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        batch = await b.take()
        return batch, loop.time() - t0

    batch, waited = run(main())
    assert batch == [1]
    assert 0.15 <= waited < 2.0


def test_batch_size_follows_the_backlog() -> None:
    """With ``small_size``: a full batch at once while a backlog of ``max_size`` or more waits
    (throughput); a backlog of ``small_size`` or more but under ``max_size`` in one batch after the
    time bound rather than in small pieces; a lone item after the time bound."""

    async def main() -> tuple[list[list[int]], list[float]]:
        b: Batcher[int] = Batcher(max_size=8, max_wait=0.2, small_size=2)
        for i in range(11):
            await b.put(i)
        loop = asyncio.get_running_loop()
        batches, waits = [], []
        for _ in range(2):
            t0 = loop.time()
            batches.append(await b.take())
            waits.append(loop.time() - t0)
        await b.put(11)
        t0 = loop.time()
        batches.append(await b.take())
        waits.append(loop.time() - t0)
        return batches, waits

    batches, waits = run(main())
    assert batches == [[0, 1, 2, 3, 4, 5, 6, 7], [8, 9, 10], [11]]
    assert waits[0] < 0.1 and 0.15 <= waits[1] < 2.0 and 0.15 <= waits[2] < 2.0


def test_a_small_batch_holds_at_most_small_size() -> None:
    """Below ``small_size`` a batch takes at most ``small_size`` items, even when more arrive while it waits."""

    async def main() -> list[int]:
        b: Batcher[int] = Batcher(max_size=8, max_wait=0.5, small_size=3)
        await b.put(0)

        async def later() -> None:
            await asyncio.sleep(0.05)
            for i in range(1, 6):  # several arrive at once, as from one fetch (put does not yield here)
                await b.put(i)

        task = asyncio.create_task(later())
        batch = await b.take()
        await task
        return batch

    assert run(main()) == [0, 1, 2]


def test_small_size_must_fit_in_max_size() -> None:
    with pytest.raises(ValueError):
        Batcher(max_size=4, max_wait=0.1, small_size=5)


def test_take_waits_for_the_first_item() -> None:
    async def main() -> list[int]:
        b: Batcher[int] = Batcher(max_size=4, max_wait=0.05)
        taker = asyncio.ensure_future(b.take())
        await asyncio.sleep(0.1)
        assert not taker.done()
        await b.put(7)
        return await taker

    assert run(main()) == [7]


def test_put_blocks_at_the_limit_until_a_batch_is_taken() -> None:
    async def main() -> tuple[bool, bool, int]:
        b: Batcher[int] = Batcher(max_size=2, max_wait=0.0, limit=2)
        await b.put(1)
        await b.put(2)
        blocked = asyncio.ensure_future(b.put(3))
        await asyncio.sleep(0.05)
        was_blocked = not blocked.done()
        await b.take()
        await asyncio.wait_for(blocked, 1.0)
        return was_blocked, blocked.done(), len(b)

    assert run(main()) == (True, True, 1)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_item_is_taken_exactly_once_in_order_under_jittered_arrivals(seed: int) -> None:
    """Arrivals land on and around the time bound, the case where a cancelled queue.get() loses
    an item; every item must come out once, in order, in batches within the bounds."""
    rng = random.Random(seed)
    n = 3000

    async def main() -> list[list[int]]:
        b: Batcher[int] = Batcher(max_size=16, max_wait=0.002, limit=40)
        batches: list[list[int]] = []

        async def producer() -> None:
            for i in range(n):
                await b.put(i)
                if rng.random() < 0.3:
                    await asyncio.sleep(rng.choice([0, 0.001, 0.002, 0.003]))

        async def consumer() -> None:
            taken = 0
            while taken < n:
                batch = await b.take()
                batches.append(batch)
                taken += len(batch)
                if rng.random() < 0.2:
                    await asyncio.sleep(0.001)

        await asyncio.wait_for(asyncio.gather(producer(), consumer()), 60)
        return batches

    batches = run(main())
    flat = [i for batch in batches for i in batch]
    assert flat == list(range(n))
    assert all(1 <= len(batch) <= 16 for batch in batches)


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError):
        Batcher(max_size=0, max_wait=1.0)
    with pytest.raises(ValueError):
        Batcher(max_size=1, max_wait=-1.0)
