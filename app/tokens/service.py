"""Access tokens: issue, revoke (one or many) and regenerate.

The plaintext secret exists only in the ``IssuedToken`` returned to the endpoint, which
shows it once; everything stored or audited is the digest and the hint.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app import token_format
from app.audit.service import AuditAction, audit_service
from app.db.base import utc_now
from app.errors import Conflict, InvalidInput, NotFound
from app.integrations.service import integration_service
from app.introspection.invalidation import announce, token_key
from app.notifications.service import notification_service
from app.tokens.models import AccessToken, ExpirationPolicy, RevocationReason, TokenStatus
from app.tokens.repository import TokenRepository
from app.tokens.schemas import Expiration, MassRevoke, MassRevokeResult, TokenIssue

POLICY_LIFETIMES: dict[ExpirationPolicy, timedelta] = {
    ExpirationPolicy.DAYS_7: timedelta(days=7),
    ExpirationPolicy.DAYS_30: timedelta(days=30),
    ExpirationPolicy.DAYS_60: timedelta(days=60),
    ExpirationPolicy.DAYS_90: timedelta(days=90),
    ExpirationPolicy.DAYS_180: timedelta(days=180),
    ExpirationPolicy.YEAR_1: timedelta(days=365),
}


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


class TokenService:
    async def get(
        self, session: AsyncSession, integration_id: uuid.UUID, token_id: uuid.UUID
    ) -> AccessToken:
        await integration_service.get_live(session, integration_id)
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
    ) -> tuple[Sequence[AccessToken], int]:
        await integration_service.get_live(session, integration_id)
        return await TokenRepository(session).list_under(
            integration_id, status=status, q=q, now=utc_now(), limit=limit, offset=offset
        )

    async def issue(
        self, session: AsyncSession, integration_id: uuid.UUID, data: TokenIssue, *, actor: str
    ) -> IssuedToken:
        # Locked so that a concurrent delete cannot revoke "all" tokens and miss this one.
        integration = await integration_service.get_live(session, integration_id, for_update=True)
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
        await audit_service.record(
            session,
            actor=actor,
            action=AuditAction.TOKEN_ISSUED,
            integration_id=integration_id,
            token_id=issued.token.id,
            details=self._audit_details(issued.token),
        )
        await notification_service.token_issued(session, integration, issued.token, actor=actor)
        return issued

    async def revoke(
        self, session: AsyncSession, integration_id: uuid.UUID, token_id: uuid.UUID, *, actor: str
    ) -> AccessToken:
        integration = await integration_service.get_live(session, integration_id)
        token = await self._get_under(session, integration_id, token_id, for_update=True)
        now = utc_now()
        if token.status_at(now) != TokenStatus.ACTIVE:
            return token  # revoking an inactive token changes nothing and is not an error
        await TokenRepository(session).update(
            token, {"revoked_at": now, "revocation_reason": RevocationReason.REVOKED}
        )
        await announce(session, [token_key(token.token_digest)])
        await audit_service.record(
            session,
            actor=actor,
            action=AuditAction.TOKEN_REVOKED,
            integration_id=integration_id,
            token_id=token.id,
            details={"name": token.name, "hint": token.hint, "reason": "revoked"},
        )
        await notification_service.token_revoked(session, integration, token, actor=actor)
        return token

    async def mass_revoke(
        self, session: AsyncSession, integration_id: uuid.UUID, data: MassRevoke, *, actor: str
    ) -> MassRevokeResult:
        integration = await integration_service.get_live(session, integration_id, for_update=True)
        requested = list(dict.fromkeys(data.token_ids)) if data.token_ids is not None else None
        repository = TokenRepository(session)
        tokens = {t.id: t for t in await repository.lock_under(integration_id, requested)}
        now = utc_now()
        order = (
            requested
            if requested is not None
            else sorted(tokens, key=lambda i: tokens[i].created_at)
        )
        result = MassRevokeResult(revoked=[], already_inactive=[], not_found=[])
        for token_id in order:
            token = tokens.get(token_id)
            if token is None:
                result.not_found.append(token_id)
            elif token.status_at(now) == TokenStatus.ACTIVE:
                result.revoked.append(token_id)
            else:
                result.already_inactive.append(token_id)
        await repository.revoke_ids(result.revoked, reason=RevocationReason.REVOKED, now=now)
        await announce(session, [token_key(tokens[i].token_digest) for i in result.revoked])
        for token_id in result.revoked:
            token = tokens[token_id]
            await audit_service.record(
                session,
                actor=actor,
                action=AuditAction.TOKEN_REVOKED,
                integration_id=integration_id,
                token_id=token_id,
                details={"name": token.name, "hint": token.hint, "reason": "revoked", "mass": True},
            )
        # One summary mail for the whole action, not one per token.
        await notification_service.tokens_revoked(
            session, integration, [tokens[i] for i in result.revoked], actor=actor
        )
        return result

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
        integration = await integration_service.get_live(session, integration_id, for_update=True)
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
            session, integration, old, issued.token, actor=actor
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
    def _audit_details(token: AccessToken) -> dict[str, object]:
        return {
            "name": token.name,
            "hint": token.hint,
            "expiration_policy": token.expiration_policy.value,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        }


token_service = TokenService()
