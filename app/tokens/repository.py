from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, and_, case, func, or_, select, update

from app.db.repository import Repository, RepositoryIDMixin, escape_like
from app.integrations.models import Integration
from app.tokens.models import AccessToken, RevocationReason, TokenStatus

# Ids per IN (...) list: well under every driver's bound-parameter limit.
_IN_CHUNK = 500


def status_condition(status: TokenStatus, now: datetime) -> ColumnElement[bool]:
    not_revoked = AccessToken.revoked_at.is_(None)
    if status == TokenStatus.REVOKED:
        return AccessToken.revoked_at.is_not(None)
    if status == TokenStatus.EXPIRED:
        return and_(not_revoked, AccessToken.expires_at <= now)
    return and_(not_revoked, or_(AccessToken.expires_at.is_(None), AccessToken.expires_at > now))


class TokenCountsRow(NamedTuple):
    active: int
    expired: int
    revoked: int


class TokenRepository(RepositoryIDMixin[AccessToken], Repository[AccessToken]):
    """All SQL on ``access_tokens`` (the hot path's lookups excepted: ``introspection.store``)."""

    model = AccessToken

    async def get_under(
        self, integration_id: uuid.UUID, token_id: uuid.UUID, *, for_update: bool = False
    ) -> AccessToken | None:
        statement = select(AccessToken).where(
            AccessToken.id == token_id, AccessToken.integration_id == integration_id
        )
        if for_update:
            statement = statement.with_for_update()
        return await self.get_one_or_none(statement)

    async def get_by_digest(
        self, token_digest: bytes, *, for_update: bool = False
    ) -> AccessToken | None:
        statement = select(AccessToken).where(AccessToken.token_digest == token_digest)
        if for_update:
            statement = statement.with_for_update()
        return await self.get_one_or_none(statement)

    async def list_under(
        self,
        integration_id: uuid.UUID,
        *,
        status: TokenStatus | None,
        q: str | None,
        now: datetime,
        limit: int,
        offset: int,
    ) -> tuple[Sequence[AccessToken], int]:
        statement = select(AccessToken).where(AccessToken.integration_id == integration_id)
        if status is not None:
            statement = statement.where(status_condition(status, now))
        if q:
            statement = statement.where(
                AccessToken.name_key.like(f"%{escape_like(q.casefold())}%", escape="\\")
            )
        statement = statement.order_by(AccessToken.created_at.desc(), AccessToken.id.desc())
        return await self.paginate(statement, limit=limit, offset=offset)

    async def lock_under(
        self, integration_id: uuid.UUID, token_ids: Sequence[uuid.UUID] | None
    ) -> Sequence[AccessToken]:
        """The integration's tokens (all, or those of ``token_ids``), locked for the transaction."""
        statement = select(AccessToken).where(AccessToken.integration_id == integration_id)
        if token_ids is not None:
            statement = statement.where(AccessToken.id.in_(token_ids))
        result = await self.session.execute(statement.with_for_update())
        return result.scalars().all()

    async def revoke_if_not_revoked(
        self,
        token_id: uuid.UUID,
        *,
        reason: RevocationReason,
        now: datetime,
        replaced_by: uuid.UUID | None = None,
    ) -> bool:
        """Revoke unless someone already did; False means another transaction won the race."""
        result = await self.session.execute(
            update(AccessToken)
            .where(AccessToken.id == token_id, AccessToken.revoked_at.is_(None))
            .values(revoked_at=now, revocation_reason=reason, replaced_by=replaced_by)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]

    async def revoke_ids(
        self, token_ids: Iterable[uuid.UUID], *, reason: RevocationReason, now: datetime
    ) -> None:
        ids = list(token_ids)
        for start in range(0, len(ids), _IN_CHUNK):
            await self.session.execute(
                update(AccessToken)
                .where(AccessToken.id.in_(ids[start : start + _IN_CHUNK]))
                .values(revoked_at=now, revocation_reason=reason)
                .execution_options(synchronize_session=False)
            )

    async def revoke_all(
        self,
        integration_id: uuid.UUID,
        *,
        reason: RevocationReason,
        now: datetime,
        include_expired: bool,
    ) -> list[uuid.UUID]:
        condition = (
            AccessToken.revoked_at.is_(None)
            if include_expired
            else status_condition(TokenStatus.ACTIVE, now)
        )
        result = await self.session.execute(
            update(AccessToken)
            .where(AccessToken.integration_id == integration_id, condition)
            .values(revoked_at=now, revocation_reason=reason)
            .returning(AccessToken.id)
            .execution_options(synchronize_session=False)
        )
        return list(result.scalars().all())

    async def counts_by_status(
        self, integration_ids: Sequence[uuid.UUID], *, now: datetime
    ) -> dict[uuid.UUID, TokenCountsRow]:
        """Active, expired and revoked tokens of each integration (zeros for none)."""
        if not integration_ids:
            return {}
        revoked = AccessToken.revoked_at.is_not(None)
        expired = AccessToken.revoked_at.is_(None) & (AccessToken.expires_at <= now)
        statement = (
            select(
                AccessToken.integration_id,
                func.count(),
                func.sum(case((revoked, 1), else_=0)),
                func.sum(case((expired, 1), else_=0)),
            )
            .where(AccessToken.integration_id.in_(integration_ids))
            .group_by(AccessToken.integration_id)
        )
        counts = {id_: TokenCountsRow(0, 0, 0) for id_ in integration_ids}
        for integration_id, total, n_revoked, n_expired in await self.session.execute(statement):
            counts[integration_id] = TokenCountsRow(
                active=total - n_revoked - n_expired, expired=n_expired, revoked=n_revoked
            )
        return counts

    async def lock_by_digests(self, digests: Iterable[bytes]) -> list[AccessToken]:
        """The tokens with these digests, locked for the transaction.

        Bulk ``IN`` lookups on the unique digest index, in digest order, so that two
        overlapping reports lock rows in the same order and cannot deadlock.
        """
        ordered = sorted(set(digests))
        tokens: list[AccessToken] = []
        for start in range(0, len(ordered), _IN_CHUNK):
            result = await self.session.execute(
                select(AccessToken)
                .where(AccessToken.token_digest.in_(ordered[start : start + _IN_CHUNK]))
                .order_by(AccessToken.token_digest)
                .with_for_update()
            )
            tokens.extend(result.scalars())
        return tokens

    async def expiring_between(
        self,
        *,
        expires_after: datetime,
        expires_until: datetime,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> Sequence[tuple[AccessToken, Integration]]:
        """Unrevoked tokens of live integrations expiring within the window, with them.

        Ordered by (expires_at, id) and starting after the keyset ``after``, one page at a time.
        """
        statement = (
            select(AccessToken, Integration)
            .join(Integration, Integration.id == AccessToken.integration_id)
            .where(
                AccessToken.revoked_at.is_(None),
                AccessToken.expires_at > expires_after,
                AccessToken.expires_at <= expires_until,
                Integration.deleted_at.is_(None),
            )
            .order_by(AccessToken.expires_at, AccessToken.id)
            .limit(limit)
        )
        if after is not None:
            last_expiry, last_id = after
            statement = statement.where(
                (AccessToken.expires_at > last_expiry)
                | ((AccessToken.expires_at == last_expiry) & (AccessToken.id > last_id))
            )
        result = await self.session.execute(statement)
        return [(token, integration) for token, integration in result.tuples()]
