"""Throttling of repeated authentication failures, in memory, per process.

A ``FailureThrottle`` counts failures per key (a username, a client address) over a
sliding window. Once a key has ``max_failures`` failures within ``window_seconds`` it is
locked until the oldest of them leaves the window; ``retry_after`` says for how long.
Only failures are recorded: a success costs one dict lookup at most. Memory is bounded
twice: each key keeps at most ``max_failures`` timestamps, and at most ``max_keys`` keys
are kept. Keys are kept in the order of their latest failure, so making room only ever
looks at the front: expired keys go first, then the least recently failing (O(1)
amortised per new key, however many keys an attacker makes).

Why in memory: see the README's "Security model". In short, the state is a cache of
recent failures, not a record; the audit trail is the record.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable


class FailureThrottle:
    def __init__(
        self,
        *,
        max_failures: int,
        window_seconds: float,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_failures < 1 or window_seconds <= 0 or max_keys < 1:
            raise ValueError("max_failures, window_seconds and max_keys must be positive")
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self.max_keys = max_keys
        self.clock = clock
        # key -> its failure times; ordered by the latest failure, oldest first
        self._failures: OrderedDict[Hashable, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._failures)

    def retry_after(self, key: Hashable) -> int:
        """Whole seconds until ``key`` may try again; 0 when it is not locked."""
        failures = self._failures.get(key)
        if failures is None or len(failures) < self.max_failures:
            return 0
        remaining = failures[0] + self.window_seconds - self.clock()
        if remaining <= 0:
            return 0
        return max(1, math.ceil(remaining))

    def record_failure(self, key: Hashable) -> None:
        now = self.clock()
        failures = self._failures.get(key)
        if failures is None:
            self._make_room(now)
            failures = self._failures[key] = deque(maxlen=self.max_failures)
        else:
            self._failures.move_to_end(key)
        failures.append(now)

    def forgive(self, key: Hashable) -> None:
        """Take back the latest failure of ``key`` (it was counted before it was decided)."""
        failures = self._failures.get(key)
        if failures:
            failures.pop()
            if not failures:
                del self._failures[key]

    def reset(self, key: Hashable) -> None:
        self._failures.pop(key, None)

    def clear(self) -> None:
        self._failures.clear()

    def _make_room(self, now: float) -> None:
        horizon = now - self.window_seconds
        while self._failures:
            oldest_key, failures = next(iter(self._failures.items()))
            if failures[-1] > horizon and len(self._failures) < self.max_keys:
                return
            del self._failures[oldest_key]
