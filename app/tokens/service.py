"""Access tokens: issue, revoke (one, many, all, or those reported leaked) and regenerate.

The plaintext secret exists only in the ``IssuedToken`` returned to the endpoint, which
shows it once; everything stored or audited is the digest and the hint.
"""

from __future__ import annotations

import enum
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from app import token_format
from app.audit.service import AuditAction, audit_service
from app.db.base import utc_now
from app.db.repository import KeysetPage
from app.errors import Conflict, InvalidInput, NotFound
from app.integrations.models import Integration
from app.integrations.repository import IntegrationRepository
from app.introspection.invalidation import announce, integration_key, token_key
from app.notifications.facts import IntegrationFacts, TokenFacts
from app.notifications.service import notification_service
from app.tokens.models import AccessToken, ExpirationPolicy, RevocationReason, TokenStatus
from app.tokens.repository import TokenRepository, TokenSummary
from app.tokens.schemas import (
    MAX_LISTED_IDS,
    Expiration,
    LeakResult,
    MassRevoke,
    MassRevokeResult,
    TokenIssue,
)

POLICY_LIFETIMES: dict[ExpirationPolicy, timedelta] = {
    ExpirationPolicy.DAYS_7: timedelta(days=7),
    ExpirationPolicy.DAYS_30: timedelta(days=30),
    ExpirationPolicy.DAYS_60: timedelta(days=60),
    ExpirationPolicy.DAYS_90: timedelta(days=90),
    ExpirationPolicy.DAYS_180: timedelta(days=180),
    ExpirationPolicy.YEAR_1: timedelta(days=365),
}


class SelfRevocation(enum.Enum):
    REVOKED = "revoked"
    ALREADY_INACTIVE = "already_inactive"
    UNKNOWN = "unknown"  # malformed, or not one of ours


class TokenCounts(NamedTuple):
    active: int
    expired: int
    revoked: int


@dataclass(frozen=True)
class IssuedToken:
    token: AccessToken
    secret: str


def expiry_for(
    policy: ExpirationPolicy, custom_expires_at: datetime | None, *, now: datetime
) -> datetime | None:
    if policy == ExpirationPolicy.NEVER:
        return None
    if policy == ExpirationPolicy.CUSTOM:
        assert custom_expires_at is not None  # guaranteed by the Expiration schema
        if custom_expires_at <= now:
            raise InvalidInput("expires_at must be in the future.", loc=["body", "expires_at"])
        return custom_expires_at
    return now + POLICY_LIFETIMES[policy]


def _same_policy_from_now(old: AccessToken, *, now: datetime) -> datetime | None:
    if old.expiration_policy == ExpirationPolicy.CUSTOM and old.expires_at is not None:
        try:
            return now + (old.expires_at - old.created_at)
        except OverflowError:  # a "practically never" date near year 9999: keep it
            return old.expires_at
    return expiry_for(old.expiration_policy, None, now=now)


async def _live_integration(
    session: AsyncSession, integration_id: uuid.UUID, *, for_update: bool = False
) -> Integration:
    """The parent of the tokens asked for; 404 when it does not exist or is deleted."""
    return await IntegrationRepository(session).get_by_id_or_raise(
        integration_id, for_update=for_update, not_found=f"No integration with id {integration_id}."
    )


class TokenService:
    async def get(
        self, session: AsyncSession, integration_id: uuid.UUID, token_id: uuid.UUID
    ) -> AccessToken:
        await _live_integration(session, integration_id)
        return await self._get_under(session, integration_id, token_id)

    async def list_tokens(
        self,
        session: AsyncSession,
        integration_id: uuid.UUID,
        *,
        status: TokenStatus | None,
        q: str | None,
        limit: int,
        offset: int,
        after: tuple[Any, ...] | None = None,
    ) -> KeysetPage[AccessToken]:
        """A page of the integration's tokens, newest first.

        ``total`` comes from the integration's counters (exact, without counting its tokens)
        unless ``q`` is given; then it is a capped count.
        """
        integration = await _live_integration(session, integration_id)
        now = utc_now()
        total: int | None = None
        if not q:
            counts = (await self.counts_by_status(session, [integration], now=now))[0]
            total = (
                integration.token_count
                if status is None
                else getattr(counts, status.value)
            )
        return await TokenRepository(session).list_under(
            integration_id,
            status=status,
            q=q,
            now=now,
            limit=limit,
            offset=offset,
            after=after,
            total=total,
        )

    async def issue(
        self, session: AsyncSession, integration_id: uuid.UUID, data: TokenIssue, *, actor: str
    ) -> IssuedToken:
        # Locked so that a concurrent delete cannot revoke "all" tokens and miss this one.
        integration = await _live_integration(session, integration_id, for_update=True)
        now = utc_now()
        expires_at = expiry_for(data.expiration_policy, data.expires_at, now=now)
        issued = await self._create(
            session,
            integration_id,
            name=data.name,
            policy=data.expiration_policy,
            expires_at=expires_at,
            now=now,
        )
        await IntegrationRepository(session).count_tokens(integration_id, issued=1)
        await audit_service.record(
            session,
            actor=actor,
            action=AuditAction.TOKEN_ISSUED,
            integration_id=integration_id,
            token_id=issued.token.id,
            details=self._audit_details(issued.token),
        )
        await notification_service.token_issued(
            session, IntegrationFacts.of(integration), TokenFacts.of(issued.token), actor=actor
        )
        return issued

    async def revoke(
        self, session: AsyncSession, integration_id: uuid.UUID, token_id: uuid.UUID, *, actor: str
    ) -> AccessToken:
        # The integration first, then the token: every revoke locks in that order (its
        # counters change too), so two of them cannot deadlock.
        integration = await _live_integration(session, integration_id, for_update=True)
        token = await self._get_under(session, integration_id, token_id, for_update=True)
        now = utc_now()
        if token.status_at(now) != TokenStatus.ACTIVE:
            return token  # revoking an inactive token changes nothing and is not an error
        await TokenRepository(session).update(
            token, {"revoked_at": now, "revocation_reason": RevocationReason.REVOKED}
        )
        await IntegrationRepository(session).count_tokens(integration_id, revoked=1)
        await announce(session, [token_key(token.token_digest)])
        await self._audit_revoked(session, [token], reason="revoked", actor=actor)
        await notification_service.token_revoked(
            session, IntegrationFacts.of(integration), TokenFacts.of(token), actor=actor
        )
        return token

    async def mass_revoke(
        self, session: AsyncSession, integration_id: uuid.UUID, data: MassRevoke, *, actor: str
    ) -> MassRevokeResult:
        integration = await _live_integration(session, integration_id, for_update=True)
        if data.token_ids is None:
            return await self._revoke_all(session, integration, actor=actor)
        requested = list(dict.fromkeys(data.token_ids))
        repository = TokenRepository(session)
        # By primary key only: a token of another integration is simply "not found" here.
        tokens = {
            t.id: t
            for t in await repository.lock_ids(requested)
            if t.integration_id == integration_id
        }
        now = utc_now()
        result = MassRevokeResult(revoked=[], already_inactive=[], not_found=[])
        for token_id in requested:
            token = tokens.get(token_id)
            if token is None:
                result.not_found.append(token_id)
            elif token.status_at(now) == TokenStatus.ACTIVE:
                result.revoked.append(token_id)
            else:
                result.already_inactive.append(token_id)
        result.revoked_count = len(result.revoked)
        result.already_inactive_count = len(result.already_inactive)
        await repository.revoke_ids(result.revoked, reason=RevocationReason.REVOKED, now=now)
        await IntegrationRepository(session).count_tokens(
            integration_id, revoked=len(result.revoked)
        )
        revoked = [tokens[i] for i in result.revoked]
        await announce(session, [token_key(t.token_digest) for t in revoked])
        await self._audit_revoked(session, revoked, reason="revoked", actor=actor, mass=True)
        # One summary mail for the whole action, not one per token.
        await notification_service.tokens_revoked(
            session,
            IntegrationFacts.of(integration),
            [TokenFacts.of(t) for t in revoked],
            actor=actor,
        )
        return result

    async def revoke_own(self, session: AsyncSession, secret: str) -> SelfRevocation:
        """RFC 7009 shape: a token revokes itself (the caller proved it holds ``secret``).

        Audited and notified like any revoke, with the token's own integration as the actor.
        """
        if not token_format.is_well_formed(secret):
            return SelfRevocation.UNKNOWN
        token = await TokenRepository(session).get_by_digest(token_format.digest(secret))
        if token is None:
            return SelfRevocation.UNKNOWN
        if token.status_at(utc_now()) != TokenStatus.ACTIVE:
            return SelfRevocation.ALREADY_INACTIVE
        # revoke() locks the integration, then the token, as every revoke does (no
        # deadlock), updates its counters, and re-checks the status under the lock.
        await self.revoke(
            session, token.integration_id, token.id, actor=f"integration:{token.integration_id}"
        )
        return SelfRevocation.REVOKED

    async def _revoke_all(
        self, session: AsyncSession, integration: Integration, *, actor: str
    ) -> MassRevokeResult:
        """Revoke every active token of a locked integration, however many, set-based.

        One UPDATE, one INSERT … SELECT of a ``token.revoked`` event per token, one
        invalidation of the integration's key, one mail naming the first 50: the work in
        Python is bounded, so the event loop keeps serving while the database writes. The
        answer names the first 1000 of each list (oldest first) with the full counts.
        """
        repository = TokenRepository(session)
        now = utc_now()
        listed = await repository.first_with_status(
            integration.id, TokenStatus.ACTIVE, now=now, limit=MAX_LISTED_IDS
        )
        inactive = sorted(
            [
                *await repository.first_with_status(
                    integration.id, TokenStatus.REVOKED, now=now, limit=MAX_LISTED_IDS
                ),
                *await repository.first_with_status(
                    integration.id, TokenStatus.EXPIRED, now=now, limit=MAX_LISTED_IDS
                ),
            ],
            key=lambda t: (t.created_at, t.id),
        )[:MAX_LISTED_IDS]
        revoked_count = await repository.revoke_all(
            integration.id, reason=RevocationReason.REVOKED, now=now, include_expired=False
        )
        already_inactive_count = integration.token_count - revoked_count
        await IntegrationRepository(session).count_tokens(integration.id, revoked=revoked_count)
        # One key drops every token of the integration from every cache (not one per token).
        await announce(session, [integration_key(integration.id)])
        await audit_service.record_each(
            session,
            repository.revoked_together(
                integration.id, now=now, reason=RevocationReason.REVOKED
            ),
            actor=actor,
            action=AuditAction.TOKEN_REVOKED,
            detail_columns=["name", "hint"],
            static_details={"reason": "revoked", "mass": True},
        )
        await notification_service.tokens_revoked(
            session,
            IntegrationFacts.of(integration),
            [_facts(t) for t in listed[:50]],
            actor=actor,
            count=revoked_count,
        )
        return MassRevokeResult(
            revoked=[t.id for t in listed],
            already_inactive=[t.id for t in inactive],
            not_found=[],
            revoked_count=revoked_count,
            already_inactive_count=already_inactive_count,
            truncated=revoked_count > len(listed) or already_inactive_count > len(inactive),
        )

    async def revoke_leaked(
        self, session: AsyncSession, secrets: Sequence[str], *, actor: str
    ) -> LeakResult:
        """Revoke every reported secret that is one of our active tokens; answer counts only.

        Each affected integration gets one notice; the answer never says whose a secret was.
        """
        distinct = list(dict.fromkeys(secrets))  # a secret reported twice counts once
        # Malformed or wrong-checksum strings cannot be ours: no database lookup for them.
        digests = [token_format.digest(s) for s in distinct if token_format.is_well_formed(s)]
        repository = TokenRepository(session)
        # Integrations before tokens, like every revoke (their counters change), in id order.
        await IntegrationRepository(session).lock_including_deleted(
            await repository.integrations_of_digests(digests)
        )
        tokens = await repository.lock_by_digests(digests)
        now = utc_now()
        leaked = [t for t in tokens if t.status_at(now) == TokenStatus.ACTIVE]
        result = LeakResult(
            revoked=len(leaked),
            already_inactive=len(tokens) - len(leaked),
            unknown=len(distinct) - len(tokens),
        )
        await repository.revoke_ids([t.id for t in leaked], reason=RevocationReason.LEAKED, now=now)
        for integration_id, n in Counter(t.integration_id for t in leaked).items():
            await IntegrationRepository(session).count_tokens(integration_id, revoked=n)
        await announce(session, [token_key(t.token_digest) for t in leaked])
        await self._audit_revoked(session, leaked, reason="leaked", actor=actor)
        await audit_service.record(
            session,
            actor=actor,
            action=AuditAction.LEAKED_TOKENS_REPORTED,
            details=result.model_dump(),
        )
        await self._notify_leaked(session, leaked, actor=actor)
        return result

    async def revoke_all_of_deleted_integration(
        self, session: AsyncSession, integration_id: uuid.UUID, *, now: datetime
    ) -> int:
        """Revoke every unrevoked token (expired ones too) of an integration being deleted.

        The caller announces the integration's invalidation and audits the deletion.
        """
        revoked = await TokenRepository(session).revoke_all(
            integration_id,
            reason=RevocationReason.INTEGRATION_DELETED,
            now=now,
            include_expired=True,
        )
        await IntegrationRepository(session).count_tokens(integration_id, revoked=revoked)
        return revoked

    async def counts_by_status(
        self,
        session: AsyncSession,
        integrations: Sequence[Integration],
        *,
        now: datetime | None = None,
    ) -> list[TokenCounts]:
        """Active, expired and revoked tokens of each integration, in the same order.

        From the counters kept with every issue and revoke, plus one index-only count of
        unrevoked tokens that have expired since (the only part that moves with the clock).
        """
        expired = await TokenRepository(session).expired_counts(
            [i.id for i in integrations], now=now or utc_now()
        )
        return [
            TokenCounts(
                active=i.token_count - i.revoked_token_count - expired[i.id],
                expired=expired[i.id],
                revoked=i.revoked_token_count,
            )
            for i in integrations
        ]

    async def regenerate(
        self,
        session: AsyncSession,
        integration_id: uuid.UUID,
        token_id: uuid.UUID,
        data: Expiration | None,
        *,
        actor: str,
    ) -> IssuedToken:
        # Locked for the same reason as in issue(): a concurrent delete must not miss the new token.
        integration = await _live_integration(session, integration_id, for_update=True)
        old = await self._get_under(session, integration_id, token_id)
        if old.revoked_at is not None:
            raise Conflict("A revoked token cannot be regenerated; issue a new one.")
        now = utc_now()
        if data is None:
            policy, expires_at = old.expiration_policy, _same_policy_from_now(old, now=now)
        else:
            policy, expires_at = (
                data.expiration_policy,
                expiry_for(data.expiration_policy, data.expires_at, now=now),
            )
        issued = await self._create(
            session, integration_id, name=old.name, policy=policy, expires_at=expires_at, now=now
        )
        # The conditional update is the arbiter: of concurrent regenerates exactly one
        # finds the old token still unrevoked; the others roll back with a 409.
        won = await TokenRepository(session).revoke_if_not_revoked(
            old.id, reason=RevocationReason.REGENERATED, now=now, replaced_by=issued.token.id
        )
        if not won:
            raise Conflict("The token was revoked or regenerated concurrently.")
        await IntegrationRepository(session).count_tokens(integration_id, issued=1, revoked=1)
        await announce(session, [token_key(old.token_digest)])
        await audit_service.record(
            session,
            actor=actor,
            action=AuditAction.TOKEN_REGENERATED,
            integration_id=integration_id,
            token_id=old.id,
            details={**self._audit_details(issued.token), "replaced_by": str(issued.token.id)},
        )
        await notification_service.token_regenerated(
            session,
            IntegrationFacts.of(integration),
            TokenFacts.of(old),
            TokenFacts.of(issued.token),
            actor=actor,
        )
        return issued

    async def _get_under(
        self,
        session: AsyncSession,
        integration_id: uuid.UUID,
        token_id: uuid.UUID,
        *,
        for_update: bool = False,
    ) -> AccessToken:
        token = await TokenRepository(session).get_under(
            integration_id, token_id, for_update=for_update
        )
        if token is None:
            raise NotFound(f"No token with id {token_id} in this integration.")
        return token

    async def _create(
        self,
        session: AsyncSession,
        integration_id: uuid.UUID,
        *,
        name: str,
        policy: ExpirationPolicy,
        expires_at: datetime | None,
        now: datetime,
    ) -> IssuedToken:
        secret = token_format.generate()
        token = await TokenRepository(session).create(
            AccessToken(
                id=uuid.uuid4(),
                integration_id=integration_id,
                name=name,
                name_key=name.casefold(),
                token_digest=token_format.digest(secret),
                hint=token_format.hint(secret),
                expiration_policy=policy,
                expires_at=expires_at,
                created_at=now,
            )
        )
        return IssuedToken(token=token, secret=secret)

    @staticmethod
    async def _audit_revoked(
        session: AsyncSession,
        tokens: Sequence[AccessToken],
        *,
        reason: str,
        actor: str,
        mass: bool = False,
    ) -> None:
        """One ``token.revoked`` event per token, written in bulk."""
        events: list[tuple[uuid.UUID | None, uuid.UUID | None, dict[str, Any]]] = []
        for token in tokens:
            details: dict[str, Any] = {"name": token.name, "hint": token.hint, "reason": reason}
            if mass:
                details["mass"] = True
            events.append((token.integration_id, token.id, details))
        await audit_service.record_many(
            session, actor=actor, action=AuditAction.TOKEN_REVOKED, events=events
        )

    @staticmethod
    async def _notify_leaked(
        session: AsyncSession, leaked: Sequence[AccessToken], *, actor: str
    ) -> None:
        by_integration: defaultdict[uuid.UUID, list[AccessToken]] = defaultdict(list)
        for token in leaked:
            by_integration[token.integration_id].append(token)
        integrations = await IntegrationRepository(session).get_many_including_deleted(
            list(by_integration)
        )
        for integration_id, tokens in by_integration.items():
            # One notice per integration, listing its leaked tokens.
            await notification_service.tokens_revoked(
                session,
                IntegrationFacts.of(integrations[integration_id]),
                [TokenFacts.of(t) for t in tokens],
                actor=actor,
                leaked=True,
            )

    @staticmethod
    def _audit_details(token: AccessToken) -> dict[str, object]:
        return {
            "name": token.name,
            "hint": token.hint,
            "expiration_policy": token.expiration_policy.value,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        }


def _facts(token: TokenSummary) -> TokenFacts:
    return TokenFacts(token.id, token.name, token.hint, token.created_at, token.expires_at)


token_service = TokenService()
