"""A real SMTP server (aiosmtpd) on a loopback port, and helpers to read the outbox."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from fastapi import FastAPI
from sqlalchemy import select

from app.config import Settings
from app.notifications.models import OutboxMessage
from app.notifications.sender import OutboxSender, SmtpMailer
from tests.fixtures.api import state

MAIL_FROM = "Global Integrations <integrations@example.test>"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Inbox:
    """aiosmtpd handler: keeps every message it accepts (from the server's own thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self._messages.append(message)
            self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
            self.recipients.clear()


@contextmanager
def smtp_server(port: int, inbox: Inbox) -> Iterator[Controller]:
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


def smtp_settings(settings: Settings, port: int, **extra: Any) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_tls": "none",
            "smtp_timeout_seconds": 5.0,
            "mail_from": MAIL_FROM,
            **extra,
        }
    )


def make_sender(app: FastAPI, settings: Settings) -> OutboxSender:
    return OutboxSender(state(app).sessionmaker, SmtpMailer(settings), mail_from=settings.mail_from)


def body_of(message: EmailMessage) -> str:
    return str(message.get_content())


def text_of(message: EmailMessage) -> str:
    """Every header and the decoded body: what to search for facts and for secrets."""
    headers = "\n".join(f"{name}: {value}" for name, value in message.items())
    return headers + "\n\n" + body_of(message) + "\n" + message.as_string()


def assert_no_secret(messages: Sequence[EmailMessage], secrets: Sequence[str]) -> None:
    for message in messages:
        text = text_of(message)
        for secret in secrets:
            body = secret.split("_", 1)[1]
            for form in (secret, body, body[:20], body[-20:]):
                assert form not in text, f"a secret reached a mail: {secret[:8]}…"


async def outbox(app: FastAPI) -> list[OutboxMessage]:
    async with state(app).sessionmaker() as session:
        result = await session.execute(
            select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.id)
        )
        return list(result.scalars().all())


async def pending(app: FastAPI) -> list[OutboxMessage]:
    return [m for m in await outbox(app) if m.sent_at is None]
