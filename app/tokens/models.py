from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UUIDPrimaryKey, utc_now


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


class ExpirationPolicy(enum.StrEnum):
    NEVER = "never"
    DAYS_7 = "7d"
    DAYS_30 = "30d"
    DAYS_60 = "60d"
    DAYS_90 = "90d"
    DAYS_180 = "180d"
    YEAR_1 = "1y"
    CUSTOM = "custom"


class RevocationReason(enum.StrEnum):
    REVOKED = "revoked"
    REGENERATED = "regenerated"
    INTEGRATION_DELETED = "integration_deleted"
    LEAKED = "leaked"


class TokenStatus(enum.StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


class AccessToken(UUIDPrimaryKey, Base):
    __tablename__ = "access_tokens"

    integration_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("integrations.id"))
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))
    # SHA-256 of the whole secret; the unique index is what introspection looks up.
    token_digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    hint: Mapped[str] = mapped_column(String(32))
    expiration_policy: Mapped[ExpirationPolicy] = mapped_column(_enum(ExpirationPolicy))
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revocation_reason: Mapped[RevocationReason | None] = mapped_column(
        _enum(RevocationReason), default=None
    )
    replaced_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("access_tokens.id"), default=None
    )

    __table_args__ = (
        # An integration's tokens newest first, the id as tie-break (keyset pagination),
        # all of them and split by revocation (the status filters).
        Index("ix_access_tokens_integration_created", "integration_id", "created_at", "id"),
        Index(
            "ix_access_tokens_unrevoked",
            "integration_id",
            "created_at",
            "id",
            postgresql_where=text("revoked_at IS NULL"),
            sqlite_where=text("revoked_at IS NULL"),
        ),
        Index(
            "ix_access_tokens_revoked",
            "integration_id",
            "created_at",
            "id",
            postgresql_where=text("revoked_at IS NOT NULL"),
            sqlite_where=text("revoked_at IS NOT NULL"),
        ),
        # Counting an integration's expired tokens (index-only) without touching the rest.
        Index(
            "ix_access_tokens_unrevoked_expiry",
            "integration_id",
            "expires_at",
            postgresql_where=text("revoked_at IS NULL"),
            sqlite_where=text("revoked_at IS NULL"),
        ),
        # The expiry scan: unrevoked tokens by expiry, paged by (expires_at, id).
        Index(
            "ix_access_tokens_expiry_scan",
            "expires_at",
            "id",
            postgresql_where=text("revoked_at IS NULL AND expires_at IS NOT NULL"),
            sqlite_where=text("revoked_at IS NULL AND expires_at IS NOT NULL"),
        ),
        # ``q`` (name contains) within one integration: on PostgreSQL one GIN index over
        # the integration (btree_gin) and the name's trigrams (pg_trgm), so only that
        # integration's matches are read; on SQLite a plain (integration_id, name_key).
        Index(
            "ix_access_tokens_integration_name_trgm",
            "integration_id",
            "name_key",
            postgresql_using="gin",
            postgresql_ops={"name_key": "gin_trgm_ops"},
        ),
    )

    def status_at(self, now: datetime) -> TokenStatus:
        if self.revoked_at is not None:
            return TokenStatus.REVOKED
        if self.expires_at is not None and self.expires_at <= now:
            return TokenStatus.EXPIRED
        return TokenStatus.ACTIVE
