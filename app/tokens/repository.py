from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    LargeBinary,
    Select,
    Uuid,
    and_,
    any_,
    bindparam,
    func,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from app.db.repository import KeysetPage, Repository, RepositoryIDMixin, escape_like
from app.integrations.models import Integration
from app.tokens.models import AccessToken, RevocationReason, TokenStatus

# Ids per IN (...) list: well under every driver's bound-parameter limit.
_IN_CHUNK = 500


# The token list's order: newest first, the id as tie-break (an index's columns).
LIST_KEYS = (AccessToken.created_at, AccessToken.id)


class TokenSummary(NamedTuple):
    """Enough of a token to name it in an answer, a mail or the audit trail."""

    id: uuid.UUID
    integration_id: uuid.UUID
    name: str
    hint: str
    created_at: datetime
    expires_at: datetime | None


_SUMMARY_COLUMNS = (
    AccessToken.id,
    AccessToken.integration_id,
    AccessToken.name,
    AccessToken.hint,
    AccessToken.created_at,
    AccessToken.expires_at,
)


def status_condition(status: TokenStatus, now: datetime) -> ColumnElement[bool]:
    not_revoked = AccessToken.revoked_at.is_(None)
    if status == TokenStatus.REVOKED:
        return AccessToken.revoked_at.is_not(None)
    if status == TokenStatus.EXPIRED:
        return and_(not_revoked, AccessToken.expires_at <= now)
    return and_(not_revoked, or_(AccessToken.expires_at.is_(None), AccessToken.expires_at > now))


class TokenRepository(RepositoryIDMixin[AccessToken], Repository[AccessToken]):
    """All SQL on ``access_tokens`` (the hot path's lookups excepted: ``introspection.store``).

    Lists of ids reach PostgreSQL as one array parameter (``= ANY($1)``): one prepared
    statement whatever the count, and a primary-key (or digest) probe per id in its
    generic plan too. SQLite gets ``IN (...)`` in chunks.
    """

    model = AccessToken

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def _in(
        self, column: Any, values: Sequence[Any], item_type: Any
    ) -> Iterator[ColumnElement[bool]]:
        """Conditions that together select ``column IN values`` (one on PostgreSQL)."""
        if self._postgres:
            yield column == any_(bindparam(None, list(values), type_=ARRAY(item_type)))
            return
        for start in range(0, len(values), _IN_CHUNK):
            yield column.in_(values[start : start + _IN_CHUNK])

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
        after: tuple[Any, ...] | None = None,
        total: int | None = None,
    ) -> KeysetPage[AccessToken]:
        """Newest first; each status filter reads its partial index in order."""
        statement = select(AccessToken).where(AccessToken.integration_id == integration_id)
        if status is not None:
            statement = statement.where(status_condition(status, now))
        if q:
            statement = statement.where(
                AccessToken.name_key.like(f"%{escape_like(q.casefold())}%", escape="\\")
            )
        return await self.keyset_page(
            statement,
            keys=LIST_KEYS,
            descending=True,
            limit=limit,
            offset=offset,
            after=after,
            total=total,
        )

    async def lock_ids(self, token_ids: Sequence[uuid.UUID]) -> list[AccessToken]:
        """The tokens with these ids (any integration), locked, looked up by primary key."""
        ordered = sorted(set(token_ids))
        tokens: list[AccessToken] = []
        for condition in self._in(AccessToken.id, ordered, Uuid()):
            result = await self.session.execute(
                select(AccessToken).where(condition).order_by(AccessToken.id).with_for_update()
            )
            tokens.extend(result.scalars())
        return tokens

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
        self, token_ids: Sequence[uuid.UUID], *, reason: RevocationReason, now: datetime
    ) -> None:
        for condition in self._in(AccessToken.id, list(token_ids), Uuid()):
            await self.session.execute(
                update(AccessToken)
                .where(condition)
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
    ) -> int:
        """One set-based UPDATE of every active (or unrevoked) token; returns how many.

        The rows stay in the database: nothing is loaded into Python, however many.
        """
        condition = (
            AccessToken.revoked_at.is_(None)
            if include_expired
            else status_condition(TokenStatus.ACTIVE, now)
        )
        result = await self.session.execute(
            update(AccessToken)
            .where(AccessToken.integration_id == integration_id, condition)
            .values(revoked_at=now, revocation_reason=reason)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount  # type: ignore[attr-defined,no-any-return]

    async def first_with_status(
        self, integration_id: uuid.UUID, status: TokenStatus, *, now: datetime, limit: int
    ) -> Sequence[TokenSummary]:
        """The oldest ``limit`` tokens in ``status`` (enough to name them, not whole rows)."""
        statement = (
            select(*_SUMMARY_COLUMNS)
            .where(AccessToken.integration_id == integration_id, status_condition(status, now))
            .order_by(*(key.asc() for key in LIST_KEYS))
            .limit(limit)
        )
        return [TokenSummary(*row) for row in await self.session.execute(statement)]

    def revoked_together(
        self, integration_id: uuid.UUID, *, now: datetime, reason: RevocationReason
    ) -> Select[Any]:
        """The tokens one ``revoke_all`` at ``now`` revoked: id, integration_id, name, hint.

        For writing their audit events set-based (``INSERT … SELECT``).
        """
        return select(
            AccessToken.id.label("token_id"),
            AccessToken.integration_id,
            AccessToken.name,
            AccessToken.hint,
        ).where(
            AccessToken.integration_id == integration_id,
            AccessToken.revoked_at == now,
            AccessToken.revocation_reason == reason,
        )

    async def expired_counts(
        self, integration_ids: Sequence[uuid.UUID], *, now: datetime
    ) -> dict[uuid.UUID, int]:
        """Unrevoked but expired tokens per integration (index-only, on a partial index).

        Active and revoked come from the integration's counters; only this one depends on
        the clock.
        """
        counts = dict.fromkeys(integration_ids, 0)
        for condition in self._in(AccessToken.integration_id, list(integration_ids), Uuid()):
            statement = (
                select(AccessToken.integration_id, func.count())
                .where(
                    condition,
                    AccessToken.revoked_at.is_(None),
                    AccessToken.expires_at <= now,
                )
                .group_by(AccessToken.integration_id)
            )
            for integration_id, count in await self.session.execute(statement):
                counts[integration_id] = count
        return counts

    async def integrations_of_digests(self, digests: Sequence[bytes]) -> list[uuid.UUID]:
        """Which integrations own tokens with these digests (no locks), in id order."""
        found: set[uuid.UUID] = set()
        for condition in self._in(AccessToken.token_digest, list(digests), LargeBinary()):
            result = await self.session.execute(
                select(AccessToken.integration_id).where(condition).distinct()
            )
            found.update(result.scalars())
        return sorted(found)

    async def lock_by_digests(self, digests: Iterable[bytes]) -> list[AccessToken]:
        """The tokens with these digests, locked for the transaction.

        Bulk ``IN`` lookups on the unique digest index, in digest order, so that two
        overlapping reports lock rows in the same order and cannot deadlock.
        """
        ordered = sorted(set(digests))
        tokens: list[AccessToken] = []
        for condition in self._in(AccessToken.token_digest, ordered, LargeBinary()):
            result = await self.session.execute(
                select(AccessToken)
                .where(condition)
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
            # A row comparison, not "a > x OR (a = x AND b > y)": only the row comparison is
            # an index condition on (expires_at, id), so each page starts where the last
            # ended instead of re-reading the window from its start (a quadratic scan).
            last_expiry, last_id = after
            statement = statement.where(
                tuple_(AccessToken.expires_at, AccessToken.id)
                > tuple_(
                    literal(last_expiry, AccessToken.expires_at.type),
                    literal(last_id, AccessToken.id.type),
                )
            )
        result = await self.session.execute(statement)
        return [(token, integration) for token, integration in result.tuples()]
