"""The hot path: is this token valid, and what may it reach?

Every Global API request passes through here, so it loads no ORM objects: one indexed
lookup by digest joined with the integration's state, read as a plain row. Malformed
tokens are refused by the pure token format before any I/O.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app import token_format
from app.integrations.models import Integration
from app.introspection.last_used import LastUsedRecorder
from app.tokens.models import AccessToken

MAX_TOKEN_LENGTH = 512
INACTIVE: dict[str, Any] = {"active": False}

_LOOKUP_BY_DIGEST = (
    select(
        AccessToken.id,
        AccessToken.created_at,
        AccessToken.expires_at,
        AccessToken.revoked_at,
        Integration.id,
        Integration.name,
        Integration.active,
        Integration.deleted_at.is_not(None),
    )
    .join(Integration, Integration.id == AccessToken.integration_id)
    .where(AccessToken.token_digest == bindparam("digest"))
)


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """What introspection needs to know about a token, as stored."""

    token_id: uuid.UUID
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    integration_id: uuid.UUID
    integration_name: str
    integration_active: bool
    integration_deleted: bool

    def is_active(self, now: datetime) -> bool:
        return (
            self.revoked_at is None
            and (self.expires_at is None or self.expires_at > now)
            and self.integration_active
            and not self.integration_deleted
        )


async def find_token(connection: AsyncConnection, token_digest: bytes) -> TokenRecord | None:
    row = (await connection.execute(_LOOKUP_BY_DIGEST, {"digest": token_digest})).first()
    return None if row is None else TokenRecord(*row)


def active_claims(record: TokenRecord, *, issuer: str) -> dict[str, Any]:
    integration_id = str(record.integration_id)
    claims: dict[str, Any] = {
        "active": True,
        "token_type": "Bearer",
        "scope": "global",
        "merchant_scope": "all",
        "client_id": integration_id,
        "sub": integration_id,
        "jti": str(record.token_id),
        "iat": int(record.created_at.timestamp()),
    }
    if record.expires_at is not None:
        claims["exp"] = int(record.expires_at.timestamp())
    claims.update(
        iss=issuer, integration_id=integration_id, integration_name=record.integration_name
    )
    return claims


class Introspector:
    """Answers RFC 7662 questions; the one object a cache will later sit inside."""

    def __init__(self, *, issuer: str, last_used: LastUsedRecorder) -> None:
        self.issuer = issuer
        self.last_used = last_used

    async def introspect(
        self, connection: AsyncConnection, token: str, *, now: datetime
    ) -> dict[str, Any]:
        if len(token) > MAX_TOKEN_LENGTH or not token_format.is_well_formed(token):
            return INACTIVE
        record = await find_token(connection, token_format.digest(token))
        if record is None or not record.is_active(now):
            return INACTIVE
        self.last_used.record(record.token_id, now)
        return active_claims(record, issuer=self.issuer)
