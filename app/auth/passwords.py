"""Admin password hashing: Argon2id through libpass's CryptContext.

Hashing is deliberately slow, so callers run it off the event loop.
"""

from __future__ import annotations

from passlib.context import CryptContext
from starlette.concurrency import run_in_threadpool

password_context = CryptContext(
    schemes=["argon2"],
    argon2__type="ID",
    argon2__memory_cost=19 * 1024,
    argon2__time_cost=2,
    argon2__parallelism=1,
)

# Verified against when the username is unknown, so both paths cost the same time.
_DUMMY_HASH = password_context.hash("not-a-real-password")

MIN_PASSWORD_LENGTH = 12


async def hash_password(password: str) -> str:
    return await run_in_threadpool(password_context.hash, password)


async def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """(matches, new_hash): ``new_hash`` is set when the stored hash's parameters are stale."""
    if password_hash is None:
        await run_in_threadpool(password_context.verify, password, _DUMMY_HASH)
        return False, None
    return await run_in_threadpool(password_context.verify_and_update, password, password_hash)
