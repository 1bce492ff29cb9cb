"""Throttling of failed admin logins, by username and by client address.

In memory, per process (see the README's "Security model" for why). An attempt is
counted as a failure *before* its password is checked, and forgiven when it succeeds,
so that many concurrent guesses cannot all slip through before the first one fails.
"""

from __future__ import annotations

from app.config import Settings
from app.throttle import FailureThrottle

WINDOW_SECONDS = 15 * 60


class LoginThrottle:
    def __init__(self, *, per_username: int, per_address: int) -> None:
        self.by_username = FailureThrottle(max_failures=per_username, window_seconds=WINDOW_SECONDS)
        self.by_address = FailureThrottle(max_failures=per_address, window_seconds=WINDOW_SECONDS)

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
