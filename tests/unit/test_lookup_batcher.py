from __future__ import annotations

import asyncio

import pytest

from app.introspection.batching import MAX_BATCH, LookupBatcher


class Recorder:
    def __init__(self, *, fail: bool = False, delay: float = 0.0) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail
        self.delay = delay

    async def fetch_many(self, keys: list[str]) -> dict[str, str]:
        self.calls.append(keys)
        await asyncio.sleep(self.delay)
        if self.fail:
            raise ConnectionError("database gone")
        return {k: k.upper() for k in keys if k != "missing"}


async def test_lookups_in_one_loop_iteration_share_one_query() -> None:
    recorder = Recorder()
    batcher = LookupBatcher(recorder.fetch_many)
    results = await asyncio.gather(*(batcher.get(k) for k in ["a", "b", "a", "missing"]))
    assert results == ["A", "B", "A", None]
    assert recorder.calls == [["a", "b", "missing"]]


async def test_a_full_batch_is_sent_without_waiting() -> None:
    recorder = Recorder()
    batcher = LookupBatcher(recorder.fetch_many)
    keys = [f"k{i}" for i in range(MAX_BATCH + 5)]
    await asyncio.gather(*(batcher.get(k) for k in keys))
    assert [len(c) for c in recorder.calls] == [MAX_BATCH, 5]


async def test_failure_reaches_every_waiter() -> None:
    batcher = LookupBatcher(Recorder(fail=True).fetch_many)
    results = await asyncio.gather(batcher.get("a"), batcher.get("b"), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)


async def test_cancelled_waiter_does_not_disturb_the_others() -> None:
    batcher = LookupBatcher(Recorder(delay=0.05).fetch_many)
    impatient = asyncio.ensure_future(batcher.get("a"))
    patient = asyncio.ensure_future(batcher.get("a"))
    await asyncio.sleep(0.01)
    impatient.cancel()
    assert await patient == "A"
    with pytest.raises(asyncio.CancelledError):
        await impatient
