from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select

from app.auth.models import AdminSession, AdminUser, Role
from app.db.repository import Repository, RepositoryIDMixin


class AdminUserRepository(RepositoryIDMixin[AdminUser], Repository[AdminUser]):
    model = AdminUser

    async def get_by_username(self, username: str) -> AdminUser | None:
        return await self.get_one_or_none(
            self.get_base_statement().where(AdminUser.username == username)
        )

    async def any_with_role(self, role: Role) -> bool:
        statement = self.get_base_statement().where(AdminUser.role == role).limit(1)
        return await self.get_one_or_none(statement) is not None


class AdminSessionRepository(Repository[AdminSession]):
    model = AdminSession

    async def find_with_user(
        self, token_digest: bytes
    ) -> tuple[uuid.UUID, datetime, uuid.UUID, str, Role] | None:
        """(session id, expires at, user id, username, role) of the session with this digest."""
        statement = (
            select(
                AdminSession.id,
                AdminSession.expires_at,
                AdminUser.id,
                AdminUser.username,
                AdminUser.role,
            )
            .join(AdminUser, AdminUser.id == AdminSession.user_id)
            .where(AdminSession.token_digest == token_digest)
        )
        row = (await self.session.execute(statement)).first()
        return None if row is None else row._tuple()

    async def delete_by_id(self, session_id: uuid.UUID) -> None:
        await self.session.execute(delete(AdminSession).where(AdminSession.id == session_id))

    async def delete_of_user(self, user_id: uuid.UUID) -> int:
        """End every session of the user; how many there were."""
        result = await self.session.execute(
            delete(AdminSession)
            .where(AdminSession.user_id == user_id)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
