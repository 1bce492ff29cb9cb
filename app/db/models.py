"""Imports every model so that ``Base.metadata`` is complete (Alembic, tests)."""

from app.audit.models import AuditEvent
from app.auth.models import AdminSession, AdminUser
from app.db.base import Base
from app.integrations.models import Integration
from app.introspection_clients.models import IntrospectionClient
from app.notifications.models import OutboxMessage
from app.tokens.models import AccessToken

__all__ = [
    "AccessToken",
    "AdminSession",
    "AdminUser",
    "AuditEvent",
    "Base",
    "Integration",
    "IntrospectionClient",
    "OutboxMessage",
]
