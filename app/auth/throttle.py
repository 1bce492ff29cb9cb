"""Throttling of failed admin logins, by username and by client address.

In memory, per process (see the README's "Security model" for why). An attempt is
counted as a failure *before* its password is checked, and forgiven when it succeeds,
so that many concurrent guesses cannot all slip through before the first one fails.

Refusals of throttled logins are not each written to the audit trail (a flood would write
without limit): the first refusal from an address in a window is, and the rest are counted
and written as one summary per address and window (``RefusalTally``).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from app.config import Settings
from app.throttle import FailureThrottle

WINDOW_SECONDS = 15 * 60
MAX_TALLIED_ADDRESSES = 100_000


@dataclass(slots=True)
class _Window:
    started_at: float
    unrecorded: int = 0


@dataclass(frozen=True, slots=True)
class RefusalSummary:
    address: str
    refusals: int  # refusals in the window that were not recorded one by one
    window_seconds: int


class RefusalTally:
    """Per address: record the first throttled refusal of a window, count the rest."""

    def __init__(
        self, *, window_seconds: float = WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.window_seconds = window_seconds
        self.clock = clock
        self._windows: OrderedDict[str, _Window] = OrderedDict()  # oldest window first
        self._pending: list[RefusalSummary] = []  # windows closed, summaries not yet taken

    def refused(self, address: str) -> bool:
        """Count a refusal; True when it is the first of its window (record it in full)."""
        window = self._windows.get(address)
        if window is not None and self.clock() - window.started_at < self.window_seconds:
            window.unrecorded += 1
            return False
        if window is not None:
            self._pending.append(self._summary(address, window))
            del self._windows[address]
        while len(self._windows) >= MAX_TALLIED_ADDRESSES:
            oldest, dropped = self._windows.popitem(last=False)
            self._pending.append(self._summary(oldest, dropped))
        self._windows[address] = _Window(started_at=self.clock())
        return True

    def closed_summaries(self) -> list[RefusalSummary]:
        """The summaries of windows that have ended (each returned once), with a count."""
        now = self.clock()
        while self._windows:
            address, window = next(iter(self._windows.items()))
            if now - window.started_at < self.window_seconds:
                break
            del self._windows[address]
            self._pending.append(self._summary(address, window))
        summaries = [summary for summary in self._pending if summary.refusals]
        self._pending = []
        return summaries

    def _summary(self, address: str, window: _Window) -> RefusalSummary:
        return RefusalSummary(address, window.unrecorded, int(self.window_seconds))

    def clear(self) -> None:
        self._windows.clear()
        self._pending = []


class LoginThrottle:
    def __init__(self, *, per_username: int, per_address: int) -> None:
        self.by_username = FailureThrottle(max_failures=per_username, window_seconds=WINDOW_SECONDS)
        self.by_address = FailureThrottle(max_failures=per_address, window_seconds=WINDOW_SECONDS)
        self.refusals = RefusalTally()

    def retry_after(self, username: str, address: str) -> int:
        """Seconds until this username and this address may both try again (0: now)."""
        return max(self.by_username.retry_after(username), self.by_address.retry_after(address))

    def attempt(self, username: str, address: str) -> None:
        """Count an attempt as failed until ``succeeded`` or ``abandoned`` says otherwise."""
        self.by_username.record_failure(username)
        self.by_address.record_failure(address)

    def succeeded(self, username: str, address: str) -> None:
        self.by_username.reset(username)
        self.by_address.forgive(address)

    def abandoned(self, username: str, address: str) -> None:
        """The attempt was never decided (e.g. the database failed): it does not count."""
        self.by_username.forgive(username)
        self.by_address.forgive(address)

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginThrottle:
        return cls(
            per_username=settings.login_failures_per_username,
            per_address=settings.login_failures_per_address,
        )

    def clear(self) -> None:
        self.by_username.clear()
        self.by_address.clear()
        self.refusals.clear()
