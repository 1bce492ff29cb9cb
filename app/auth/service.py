"""Admin users and their sessions (opaque random bearer tokens, stored as digests)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import token_format
from app.audit.service import AuditAction, audit_service
from app.auth.models import AdminSession, AdminUser, Role
from app.auth.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from app.db.base import utc_now
from app.errors import Conflict, InvalidInput, NotFound


@dataclass(frozen=True)
class IssuedSession:
    secret: str
    expires_at: datetime


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
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidInput(
                f"Password must be at least {MIN_PASSWORD_LENGTH} characters.", loc=["password"]
            )
        existing = await session.execute(select(AdminUser.id).where(AdminUser.username == username))
        if existing.first() is not None:
            raise Conflict(f"An admin user named {username!r} already exists.")
        user = AdminUser(username=username, role=role, password_hash=await hash_password(password))
        session.add(user)
        await session.flush()
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
        user = (
            await session.execute(select(AdminUser).where(AdminUser.username == username))
        ).scalar_one_or_none()
        if user is None:
            raise NotFound(f"There is no admin user named {username!r}.")
        user.password_hash = await hash_password(password)
        sessions = select(func.count()).where(AdminSession.user_id == user.id)
        ended = (await session.execute(sessions)).scalar_one()
        await session.execute(delete(AdminSession).where(AdminSession.user_id == user.id))
        await audit_service.record(
            session,
            actor=actor,
            action=AuditAction.AUTH_PASSWORD_RESET,
            details={"username": username, "sessions_ended": ended},
        )
        await session.flush()
        return int(ended)

    async def has_admin_role_user(self, session: AsyncSession) -> bool:
        statement = select(AdminUser.id).where(AdminUser.role == Role.ADMIN).limit(1)
        return (await session.execute(statement)).first() is not None

    async def login(
        self, session: AsyncSession, *, username: str, password: str, ttl: timedelta
    ) -> IssuedSession | None:
        """A new session for valid credentials; ``None`` (and an audit event) otherwise."""
        username = normalise_username(username)
        user = (
            await session.execute(select(AdminUser).where(AdminUser.username == username))
        ).scalar_one_or_none()
        matches, new_hash = await verify_password(password, user.password_hash if user else None)
        if user is None or not matches:
            await audit_service.record(
                session,
                actor=f"anonymous:{username[:150]}",
                action=AuditAction.AUTH_LOGIN_FAILED,
                details={"username": username[:150]},
            )
            return None
        if new_hash is not None:
            user.password_hash = new_hash
        secret = token_format.generate(token_format.SESSION_TOKEN_PREFIX)
        expires_at = utc_now() + ttl
        session.add(
            AdminSession(
                user_id=user.id, token_digest=token_format.digest(secret), expires_at=expires_at
            )
        )
        await audit_service.record(
            session, actor=f"admin:{user.username}", action=AuditAction.AUTH_LOGIN
        )
        await session.flush()
        return IssuedSession(secret=secret, expires_at=expires_at)

    async def record_throttled_login(self, session: AsyncSession, *, username: str) -> None:
        """A login refused unchecked because of too many failures (audited as a failure)."""
        username = normalise_username(username)[:150]
        await audit_service.record(
            session,
            actor=f"anonymous:{username}",
            action=AuditAction.AUTH_LOGIN_FAILED,
            details={"username": username, "throttled": True},
        )

    async def resolve(self, session: AsyncSession, secret: str) -> Principal | None:
        if not token_format.is_well_formed(secret, token_format.SESSION_TOKEN_PREFIX):
            return None
        row = (
            await session.execute(
                select(
                    AdminSession.id,
                    AdminSession.expires_at,
                    AdminUser.id,
                    AdminUser.username,
                    AdminUser.role,
                )
                .join(AdminUser, AdminUser.id == AdminSession.user_id)
                .where(AdminSession.token_digest == token_format.digest(secret))
            )
        ).first()
        if row is None:
            return None
        session_id, expires_at, user_id, username, role = row
        if expires_at <= utc_now():
            return None
        return Principal(user_id=user_id, username=username, role=role, session_id=session_id)

    async def logout(self, session: AsyncSession, principal: Principal) -> None:
        await session.execute(delete(AdminSession).where(AdminSession.id == principal.session_id))
        await audit_service.record(session, actor=principal.actor, action=AuditAction.AUTH_LOGOUT)


auth_service = AuthService()
