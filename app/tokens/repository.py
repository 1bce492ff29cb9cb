from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select, update

from app.db.repository import Repository, escape_like
from app.tokens.models import AccessToken, RevocationReason, TokenStatus

_UPDATE_CHUNK = 500


def status_condition(status: TokenStatus, now: datetime) -> ColumnElement[bool]:
    not_revoked = AccessToken.revoked_at.is_(None)
    if status == TokenStatus.REVOKED:
        return AccessToken.revoked_at.is_not(None)
    if status == TokenStatus.EXPIRED:
        return and_(not_revoked, AccessToken.expires_at <= now)
    return and_(not_revoked, or_(AccessToken.expires_at.is_(None), AccessToken.expires_at > now))


class TokenRepository(Repository[AccessToken]):
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
        for start in range(0, len(ids), _UPDATE_CHUNK):
            await self.session.execute(
                update(AccessToken)
                .where(AccessToken.id.in_(ids[start : start + _UPDATE_CHUNK]))
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
