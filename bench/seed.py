"""Bulk-seed integrations and tokens straight into PostgreSQL (COPY), not through HTTP."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg

from app import token_format

_SPACE = 62**token_format.RANDOM_LENGTH
TOKEN_COLUMNS = [
    "id",
    "integration_id",
    "name",
    "name_key",
    "token_digest",
    "hint",
    "expiration_policy",
    "expires_at",
    "created_at",
]


def fast_secret() -> str:
    """A valid secret from 24 urandom bytes: ``token_format.generate`` is too slow for 1M."""
    number = int.from_bytes(os.urandom(24)) % _SPACE
    chars = []
    for _ in range(token_format.RANDOM_LENGTH):
        number, remainder = divmod(number, 62)
        chars.append(token_format.BASE62_ALPHABET[remainder])
    random_part = "".join(chars)
    return token_format.ACCESS_TOKEN_PREFIX + random_part + token_format.checksum(random_part)


async def seed_integrations(connection: asyncpg.Connection, count: int) -> list[uuid.UUID]:
    now = datetime.now(UTC)
    ids = [uuid.uuid4() for _ in range(count)]
    records = [
        (id_, f"bench-{i}", f"bench-{i}", "", "ops@example.com", True, now, now)
        for i, id_ in enumerate(ids)
    ]
    await connection.copy_records_to_table(
        "integrations",
        records=records,
        columns=[
            "id",
            "name",
            "name_key",
            "description",
            "notification_email",
            "active",
            "created_at",
            "updated_at",
        ],
    )
    return ids


def _token_records(
    integration_ids: list[uuid.UUID], count: int, keep: int, kept: list[str]
) -> Iterator[tuple[object, ...]]:
    now = datetime.now(UTC)
    expires = now + timedelta(days=90)
    for i in range(count):
        secret = fast_secret()
        if i < keep:
            kept.append(secret)
        yield (
            uuid.uuid4(),
            integration_ids[i % len(integration_ids)],
            f"t{i}",
            f"t{i}",
            token_format.digest(secret),
            token_format.hint(secret),
            "90d",
            expires,
            now,
        )


async def seed_tokens(
    connection: asyncpg.Connection, integration_ids: list[uuid.UUID], count: int, *, keep: int
) -> list[str]:
    """Insert ``count`` active tokens; return the secrets of the first ``keep`` of them."""
    kept: list[str] = []
    batch: list[tuple[object, ...]] = []
    for record in _token_records(integration_ids, count, keep, kept):
        batch.append(record)
        if len(batch) == 50_000:
            await connection.copy_records_to_table(
                "access_tokens", records=batch, columns=TOKEN_COLUMNS
            )
            batch = []
    if batch:
        await connection.copy_records_to_table(
            "access_tokens", records=batch, columns=TOKEN_COLUMNS
        )
    # Settle the database (statistics, dirty pages) so autovacuum or a checkpoint does not
    # land in the middle of a measurement.
    await connection.execute("VACUUM ANALYZE access_tokens")
    await connection.execute("CHECKPOINT")
    return kept
