"""management at scale: keyset indexes, partial indexes, trigram search, token counters

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 12:00:00.000000

Every management read at 1M tokens and 1M audit events reads one index in order (issue 13).
On PostgreSQL ``pg_trgm`` (and ``btree_gin``) back ``q`` (name contains); on SQLite those
two indexes are plain.
``token_count`` / ``revoked_token_count`` are backfilled here and kept by the token service.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = {
    "postgresql_where": sa.text("deleted_at IS NULL"),
    "sqlite_where": sa.text("deleted_at IS NULL"),
}
_UNREVOKED = {
    "postgresql_where": sa.text("revoked_at IS NULL"),
    "sqlite_where": sa.text("revoked_at IS NULL"),
}
_REVOKED = {
    "postgresql_where": sa.text("revoked_at IS NOT NULL"),
    "sqlite_where": sa.text("revoked_at IS NOT NULL"),
}
_EXPIRING = {
    "postgresql_where": sa.text("revoked_at IS NULL AND expires_at IS NOT NULL"),
    "sqlite_where": sa.text("revoked_at IS NULL AND expires_at IS NOT NULL"),
}


def _trigram(name: str) -> dict[str, object]:
    return {"postgresql_using": "gin", "postgresql_ops": {name: "gin_trgm_ops"}}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")

    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token_count", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "revoked_token_count", sa.Integer(), server_default=sa.text("0"), nullable=False
            )
        )
        batch_op.drop_index("ix_integrations_created_at")
        batch_op.create_index("ix_integrations_live_created", ["created_at", "id"], **_LIVE)
        batch_op.create_index(
            "ix_integrations_live_active", ["active", "created_at", "id"], **_LIVE
        )
        batch_op.create_index("ix_integrations_live_name", ["name_key", "id"], **_LIVE)
        batch_op.create_index("ix_integrations_name_trgm", ["name_key"], **_trigram("name_key"))
    op.execute(
        "UPDATE integrations SET"
        " token_count = (SELECT count(*) FROM access_tokens t"
        " WHERE t.integration_id = integrations.id),"
        " revoked_token_count = (SELECT count(*) FROM access_tokens t"
        " WHERE t.integration_id = integrations.id AND t.revoked_at IS NOT NULL)"
    )

    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_access_tokens_integration_created")
        batch_op.create_index(
            "ix_access_tokens_integration_created", ["integration_id", "created_at", "id"]
        )
        batch_op.create_index(
            "ix_access_tokens_unrevoked", ["integration_id", "created_at", "id"], **_UNREVOKED
        )
        batch_op.create_index(
            "ix_access_tokens_revoked", ["integration_id", "created_at", "id"], **_REVOKED
        )
        batch_op.create_index(
            "ix_access_tokens_unrevoked_expiry", ["integration_id", "expires_at"], **_UNREVOKED
        )
        batch_op.create_index("ix_access_tokens_expiry_scan", ["expires_at", "id"], **_EXPIRING)
        batch_op.create_index(
            "ix_access_tokens_integration_name_trgm",
            ["integration_id", "name_key"],
            **_trigram("name_key"),
        )

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        for name, columns in (
            ("ix_audit_events_at", ["at", "id"]),
            ("ix_audit_events_integration_at", ["integration_id", "at", "id"]),
            ("ix_audit_events_token_at", ["token_id", "at", "id"]),
        ):
            batch_op.drop_index(name)
            batch_op.create_index(name, columns)
        batch_op.create_index("ix_audit_events_action_at", ["action", "at", "id"])


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_action_at")
        for name, columns in (
            ("ix_audit_events_at", ["at"]),
            ("ix_audit_events_integration_at", ["integration_id", "at"]),
            ("ix_audit_events_token_at", ["token_id", "at"]),
        ):
            batch_op.drop_index(name)
            batch_op.create_index(name, columns)

    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_access_tokens_integration_name_trgm", **_trigram("name_key"))
        batch_op.drop_index("ix_access_tokens_expiry_scan", **_EXPIRING)
        batch_op.drop_index("ix_access_tokens_unrevoked_expiry", **_UNREVOKED)
        batch_op.drop_index("ix_access_tokens_revoked", **_REVOKED)
        batch_op.drop_index("ix_access_tokens_unrevoked", **_UNREVOKED)
        batch_op.drop_index("ix_access_tokens_integration_created")
        batch_op.create_index(
            "ix_access_tokens_integration_created", ["integration_id", "created_at"]
        )

    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.drop_index("ix_integrations_name_trgm", **_trigram("name_key"))
        batch_op.drop_index("ix_integrations_live_name", **_LIVE)
        batch_op.drop_index("ix_integrations_live_active", **_LIVE)
        batch_op.drop_index("ix_integrations_live_created", **_LIVE)
        batch_op.create_index("ix_integrations_created_at", ["created_at"])
        batch_op.drop_column("revoked_token_count")
        batch_op.drop_column("token_count")
    # pg_trgm and btree_gin stay: other objects may use them, and they are harmless.
