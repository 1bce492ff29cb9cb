"""What a notice needs to know about an integration and a token: plain facts, no ORM rows.

Other domains hand these to the notification service (``IntegrationFacts.of(row)``), so
notifications depend on no other domain's models. They hold no secret: a token is known
by its name and hint.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class _IntegrationLike(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def name(self) -> str: ...
    @property
    def notification_email(self) -> str: ...
    @property
    def active(self) -> bool: ...


class _TokenLike(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def name(self) -> str: ...
    @property
    def hint(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def expires_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class IntegrationFacts:
    id: uuid.UUID
    name: str
    notification_email: str
    active: bool

    @classmethod
    def of(cls, integration: _IntegrationLike) -> IntegrationFacts:
        return cls(
            integration.id, integration.name, integration.notification_email, integration.active
        )


@dataclass(frozen=True, slots=True)
class TokenFacts:
    id: uuid.UUID
    name: str
    hint: str
    created_at: datetime
    expires_at: datetime | None

    @classmethod
    def of(cls, token: _TokenLike) -> TokenFacts:
        return cls(token.id, token.name, token.hint, token.created_at, token.expires_at)
