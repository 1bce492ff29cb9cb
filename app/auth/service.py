"""Admin users and their sessions (opaque random bearer tokens, stored as digests)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import token_format
from app.audit.service import AuditAction, audit_service
from app.auth.models import AdminSession, AdminUser, Role
from app.auth.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from app.auth.repository import AdminSessionRepository, AdminUserRepository
from app.auth.throttle import LoginThrottle
from app.db.base import utc_now
from app.db.session import begin_write
from app.errors import Conflict, InvalidInput, NotFound

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssuedSession:
    secret: str
    expires_at: datetime


@dataclass(frozen=True)
class LoginOutcome:
    """A new session, or why not: ``retry_after`` > 0 when refused unchecked (throttled)."""

    issued: IssuedSession | None = None
    retry_after: int = 0


@dataclass(frozen=True)
class Principal:
    """The authenticated admin behind a request."""

    user_id: uuid.UUID
    username: str
    role: Role
    session_id: uuid.UUID

    @property
    def actor(self) -> str:
        return f"admin:{self.username}"


def normalise_username(username: str) -> str:
    return username.strip().casefold()


def generate_password() -> str:
    return secrets.token_urlsafe(18)


class AuthService:
    async def create_admin(
        self, session: AsyncSession, *, username: str, role: Role, password: str, actor: str
    ) -> AdminUser:
        username = normalise_username(username)
        if not username or len(username) > 150:
            raise InvalidInput("Username must be 1 to 150 characters.", loc=["username"])
        if token_format.contains_secret(username):
            raise InvalidInput("A username must not look like a secret.", loc=["username"])
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidInput(
                f"Password must be at least {MIN_PASSWORD_LENGTH} characters.", loc=["password"]
            )
        users = AdminUserRepository(session)
        if await users.get_by_username(username) is not None:
            raise Conflict(f"An admin user named {username!r} already exists.")
        user = await users.create(
            AdminUser(username=username, role=role, password_hash=await hash_password(password))
        )
        await audit_service.record(
            session,
            actor=actor,
            action=AuditAction.ADMIN_CREATED,
            details={"username": username, "role": role.value},
        )
        return user

    async def reset_password(
        self, session: AsyncSession, *, username: str, password: str, actor: str
    ) -> int:
        """Set a new password and end every session of the user; the number ended."""
        username = normalise_username(username)
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidInput(
                f"Password must be at least {MIN_PASSWORD_LENGTH} characters.", loc=["password"]
            )
        user = await AdminUserRepository(session).get_by_username(username)
        if user is None:
            raise NotFound(f"There is no admin user named {username!r}.")
        user.password_hash = await hash_password(password)
        ended = await AdminSessionRepository(session).delete_of_user(user.id)
        await audit_service.record(
            session,
            actor=actor,
            action=AuditAction.AUTH_PASSWORD_RESET,
            details={"username": username, "sessions_ended": ended},
        )
        await session.flush()
        return int(ended)

    async def has_admin_role_user(self, session: AsyncSession) -> bool:
        return await AdminUserRepository(session).any_with_role(Role.ADMIN)

    async def login(
        self,
        session: AsyncSession,
        throttle: LoginThrottle,
        *,
        username: str,
        password: str,
        address: str,
        ttl: timedelta,
    ) -> LoginOutcome:
        """Check the credentials unless this username or address is throttled.

        Every refusal is audited; the caller commits that record with the refusal.
        """
        username = normalise_username(username)
        users = AdminUserRepository(session)
        retry_after = throttle.retry_after(username, address)
        if retry_after:
            if throttle.refusals.refused(address):
                user = await users.get_by_username(username)
                await self._audit_failed_login(session, user, address=address, throttled=True)
            return LoginOutcome(retry_after=retry_after)
        throttle.attempt(username, address)
        try:
            user = await users.get_by_username(username)
            issued = await self._open_session(session, user, password, ttl)
        except BaseException:
            throttle.abandoned(username, address)
            raise
        if issued is None:
            await self._audit_failed_login(session, user, address=address, throttled=False)
            return LoginOutcome()
        throttle.succeeded(username, address)
        return LoginOutcome(issued=issued)

    async def record_throttled_refusals(
        self, session: AsyncSession, throttle: LoginThrottle
    ) -> int:
        """One ``auth.login_throttled`` event per address whose refusal window has closed."""
        summaries = throttle.refusals.closed_summaries()
        for summary in summaries:
            await audit_service.record(
                session,
                actor="anonymous",
                action=AuditAction.AUTH_LOGIN_THROTTLED,
                details={
                    "address": summary.address,
                    "refusals": summary.refusals,
                    "window_seconds": summary.window_seconds,
                },
            )
        return len(summaries)

    async def _open_session(
        self, session: AsyncSession, user: AdminUser | None, password: str, ttl: timedelta
    ) -> IssuedSession | None:
        """A new session for valid credentials; ``None`` otherwise."""
        matches, new_hash = await verify_password(password, user.password_hash if user else None)
        if user is None or not matches:
            return None
        if new_hash is not None:
            user.password_hash = new_hash
        secret = token_format.generate(token_format.SESSION_TOKEN_PREFIX)
        expires_at = utc_now() + ttl
        await AdminSessionRepository(session).create(
            AdminSession(
                user_id=user.id, token_digest=token_format.digest(secret), expires_at=expires_at
            )
        )
        await audit_service.record(
            session, actor=f"admin:{user.username}", action=AuditAction.AUTH_LOGIN
        )
        return IssuedSession(secret=secret, expires_at=expires_at)

    @staticmethod
    async def _audit_failed_login(
        session: AsyncSession, user: AdminUser | None, *, address: str, throttled: bool
    ) -> None:
        """Names the user only when one exists: what was typed as a username may be a
        password or a secret pasted into the wrong field, and is never stored."""
        details: dict[str, object] = {"address": address}
        if user is None:
            details["username_known"] = False
        else:
            details["username"] = user.username
        if throttled:
            details["throttled"] = True
        await audit_service.record(
            session,
            actor=f"anonymous:{user.username}" if user else "anonymous",
            action=AuditAction.AUTH_LOGIN_FAILED,
            details=details,
        )

    async def resolve(self, session: AsyncSession, secret: str) -> Principal | None:
        if not token_format.is_well_formed(secret, token_format.SESSION_TOKEN_PREFIX):
            return None
        row = await AdminSessionRepository(session).find_with_user(token_format.digest(secret))
        if row is None:
            return None
        session_id, expires_at, user_id, username, role = row
        if expires_at <= utc_now():
            return None
        return Principal(user_id=user_id, username=username, role=role, session_id=session_id)

    async def logout(self, session: AsyncSession, principal: Principal) -> None:
        await AdminSessionRepository(session).delete_by_id(principal.session_id)
        await audit_service.record(session, actor=principal.actor, action=AuditAction.AUTH_LOGOUT)


auth_service = AuthService()


async def record_throttled_refusals_forever(
    sessionmaker: async_sessionmaker[AsyncSession],
    throttle: LoginThrottle,
    *,
    interval: float = 60.0,
) -> None:
    """Write the summaries of closed refusal windows, once a minute (a lifespan task)."""
    while True:
        await asyncio.sleep(interval)
        try:
            async with sessionmaker() as session:
                await begin_write(session)
                if await auth_service.record_throttled_refusals(session, throttle):
                    await session.commit()
        except Exception as exc:  # logged, and the loop goes on
            logger.warning("recording throttled logins failed (%s)", type(exc).__name__)
