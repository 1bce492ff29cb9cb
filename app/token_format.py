"""The secret-token format, as plain functions: no I/O, no settings.

A token is ``<prefix>`` + 32 base62 characters from the OS CSPRNG (190 bits) + 6 base62
characters encoding the CRC32 of the random part::

    ssg_3kTq0p9ZyV1cXwB7aR2mN5sD8fG4hJ6L0b1Qz9
    ^^^^ ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ ^^^^^^
    prefix        random (32)             checksum (6)

The prefix makes leaked secrets recognisable to secret scanners; the checksum lets the
service reject typos and garbage without touching the database. Only ``digest(token)``
(SHA-256 of the whole string) is ever stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib

BASE62_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_LENGTH = 32
CHECKSUM_LENGTH = 6

ACCESS_TOKEN_PREFIX = "ssg_"
SESSION_TOKEN_PREFIX = "ssa_"
CLIENT_SECRET_PREFIX = "ssc_"

# All prefixes have the same length, so every token has the same length.
TOKEN_LENGTH = len(ACCESS_TOKEN_PREFIX) + RANDOM_LENGTH + CHECKSUM_LENGTH

_BODY_PATTERN = re.compile(f"[0-9A-Za-z]{{{RANDOM_LENGTH + CHECKSUM_LENGTH}}}")
# In any letter case: a secret typed into a field that case-folds it (a username) is
# still a secret, and CRC32 is linear enough to recover the lost case.
_SECRET_IN_TEXT = re.compile(
    "({})[0-9A-Za-z]{{8,}}".format(
        "|".join(
            re.escape(p) for p in (ACCESS_TOKEN_PREFIX, SESSION_TOKEN_PREFIX, CLIENT_SECRET_PREFIX)
        )
    ),
    re.IGNORECASE,
)


def _base62(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        chars.append(BASE62_ALPHABET[remainder])
    return "".join(reversed(chars))


def checksum(random_part: str) -> str:
    """Six base62 characters of CRC32 over ``random_part`` (62**6 > 2**32, so lossless)."""
    return _base62(zlib.crc32(random_part.encode("ascii")), CHECKSUM_LENGTH)


def generate(prefix: str = ACCESS_TOKEN_PREFIX) -> str:
    """A new secret with ``prefix``; every random character comes from ``secrets``."""
    random_part = "".join(secrets.choice(BASE62_ALPHABET) for _ in range(RANDOM_LENGTH))
    return prefix + random_part + checksum(random_part)


def is_well_formed(token: str, prefix: str = ACCESS_TOKEN_PREFIX) -> bool:
    """True when ``token`` has the prefix, length, alphabet and checksum of a real secret.

    Cheap checks come first so that garbage (including huge strings) costs almost nothing.
    """
    if len(token) != TOKEN_LENGTH or not token.startswith(prefix):
        return False
    body = token[len(prefix) :]
    if _BODY_PATTERN.fullmatch(body) is None:
        return False
    random_part, check = body[:RANDOM_LENGTH], body[RANDOM_LENGTH:]
    return hmac.compare_digest(checksum(random_part), check)


def digest(token: str) -> bytes:
    """SHA-256 of the whole token: the only form in which a secret is stored."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def hint(token: str) -> str:
    """A recognisable, non-secret abbreviation, e.g. ``ssg_Ab12…9xYz``."""
    prefix_end = token.index("_") + 1
    return f"{token[: prefix_end + 4]}…{token[-4:]}"


def contains_secret(text: str) -> bool:
    """Whether ``text`` holds something shaped like one of our secrets, in any case."""
    return _SECRET_IN_TEXT.search(text) is not None


def redact(text: str) -> str:
    """``text`` with anything shaped like one of our secrets cut down to its prefix.

    For log lines that quote what a client sent (a path, a header): a client may put a
    secret where it does not belong.
    """
    return _SECRET_IN_TEXT.sub(r"\1[redacted]", text)
