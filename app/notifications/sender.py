"""Delivering the outbox: one sender at a time, SMTP through aiosmtplib, at least once.

Each message is delivered in its own short transaction:

* PostgreSQL: ``pg_try_advisory_xact_lock`` (one active sender across every worker and
  replica; the others skip the round), then the oldest due message ``FOR UPDATE SKIP
  LOCKED``, then SMTP, then ``sent_at`` in the same transaction, then COMMIT.
* SQLite (one process): the due message is read in a short read transaction, sent, and
  marked in a write transaction of its own; the database's single write lock is never held
  while waiting for an SMTP server.

A failure bumps ``attempts`` and pushes ``next_attempt_at`` back exponentially (30 s,
1 min, 2 min, … at most an hour); nothing is ever dropped. A crash after the SMTP server
accepted a message but before the commit leaves it pending, so it is sent again:
delivery is *at least once*. Both copies carry the same ``Message-ID`` (derived from the
outbox id), so mail clients and archives can tell them apart from two different notices.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Protocol

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db.base import utc_now
from app.db.session import after_commit, begin_write
from app.notifications.models import OutboxMessage
from app.notifications.repository import SENDER_LOCK_KEY, OutboxRepository

logger = logging.getLogger("app.notifications")

RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)
ROUND_LIMIT = 100
QUIT_TIMEOUT_SECONDS = 5.0

# The session.info key under which a sessionmaker hands its sessions the event that wakes
# this process's sender (absent where no sender runs).
SENDER_WAKEUP = "notification_sender_wakeup"


def wake_sender_after_commit(session: AsyncSession) -> None:
    """Ask this process's sender to look at the outbox right after the commit."""
    wakeup: asyncio.Event | None = session.info.get(SENDER_WAKEUP)
    if wakeup is not None:
        after_commit(session, wakeup.set)


def retry_delay(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s, 1 min, 2 min, … ≤ 1 h."""
    exponent = min(max(attempts - 1, 0), 20)
    delay: timedelta = RETRY_BASE * (1 << exponent)
    return min(delay, RETRY_MAX)


@dataclass(frozen=True)
class PendingMail:
    id: uuid.UUID
    recipient: str
    subject: str
    body: str
    created_at: datetime
    attempts: int

    @classmethod
    def of(cls, message: OutboxMessage) -> PendingMail:
        return cls(
            id=message.id,
            recipient=message.recipient,
            subject=message.subject,
            body=message.body,
            created_at=message.created_at,
            attempts=message.attempts,
        )


def build_email(mail: PendingMail, *, mail_from: str) -> EmailMessage:
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.created_at)
    # Stable across re-deliveries: a duplicate (at-least-once) is recognisable as one.
    message["Message-ID"] = f"<{mail.id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    message.set_content(mail.body, cte="quoted-printable")
    return message


class MailConnection(Protocol):
    async def send(self, message: EmailMessage) -> None: ...

    async def close(self) -> None: ...


class Mailer(Protocol):
    async def connect(self) -> MailConnection: ...


class _SmtpConnection:
    def __init__(self, client: aiosmtplib.SMTP) -> None:
        self._client = client

    async def send(self, message: EmailMessage) -> None:
        await self._client.send_message(message)

    async def close(self) -> None:
        try:
            await self._client.quit(timeout=QUIT_TIMEOUT_SECONDS)
        except Exception:  # the server went away or hangs: just drop the connection
            self._client.close()


class SmtpMailer:
    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host
        self._settings = settings

    async def connect(self) -> MailConnection:
        s = self._settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            use_tls=s.smtp_tls == "tls",
            start_tls=s.smtp_tls == "starttls",
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            timeout=s.smtp_timeout_seconds,
        )
        await client.connect()
        return _SmtpConnection(client)


class _LogConnection:
    async def send(self, message: EmailMessage) -> None:
        logger.info(
            "notification email (no SMTP configured, development only)\nTo: %s\nSubject: %s\n\n%s",
            message["To"],
            message["Subject"],
            message.get_content(),
        )

    async def close(self) -> None:
        return None


class LogMailer:
    """Development without SMTP: every mail goes to the log. Mails never hold a secret."""

    async def connect(self) -> MailConnection:
        return _LogConnection()


def mailer_for(settings: Settings) -> Mailer | None:
    """SMTP when configured; the log in development; otherwise nothing (mails stay queued)."""
    if settings.smtp_host:  # an empty SMTP_HOST= means "not configured" too
        return SmtpMailer(settings)
    if settings.environment == "development":
        return LogMailer()
    return None


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    more: bool = False  # stopped at the round limit: more may be due


class _LazyConnection:
    """Connects on the first message of a round, so an empty round costs no SMTP session."""

    def __init__(self, mailer: Mailer) -> None:
        self._mailer = mailer
        self._connection: MailConnection | None = None

    async def send(self, message: EmailMessage) -> None:
        if self._connection is None:
            self._connection = await self._mailer.connect()
        await self._connection.send(message)

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()


class OutboxSender:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        mailer: Mailer,
        *,
        mail_from: str,
        wakeup: asyncio.Event | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._wakeup = wakeup or asyncio.Event()
        self._mailer = mailer
        self._mail_from = mail_from

    async def send_pending(
        self, *, now: datetime | None = None, limit: int = ROUND_LIMIT
    ) -> SendReport:
        """Deliver due messages until none is left, one fails, or ``limit`` were tried."""
        now = now or utc_now()
        report = SendReport()
        connection = _LazyConnection(self._mailer)
        try:
            for _ in range(limit):
                outcome = await self._deliver_next(connection, now)
                if outcome is None:
                    return report
                if not outcome:
                    report.failed += 1
                    return report  # the server is unwell: the rest waits for the next round
                report.sent += 1
            report.more = True
            return report
        finally:
            await connection.close()

    async def run_forever(self, interval: float) -> None:
        """Send a round, then wait for a wake-up (a commit that queued mail) or ``interval``."""
        while True:
            self._wakeup.clear()
            more = False
            try:
                more = (await self.send_pending()).more
            except Exception as exc:  # logged, and the loop goes on
                logger.warning("notification sender round failed (%s)", type(exc).__name__)
            if not more:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=interval)

    async def _deliver_next(self, connection: _LazyConnection, now: datetime) -> bool | None:
        """None: nothing due (or another sender is active); else whether it was delivered."""
        async with self._sessionmaker() as session:
            repository = OutboxRepository(session)
            if session.get_bind().dialect.name == "postgresql":
                if not await repository.try_lock(SENDER_LOCK_KEY):
                    return None
                message = await repository.next_due(now, lock=True)
                if message is None:
                    return None
                pending = PendingMail.of(message)
                error = await self._attempt(connection, pending)
                await self._record(repository, pending, error, now)
                await session.commit()
                return error is None
            message = await repository.next_due(now, lock=False)
            if message is None:
                return None
            pending = PendingMail.of(message)
        # SQLite: no transaction is open while the SMTP server is busy.
        error = await self._attempt(connection, pending)
        async with self._sessionmaker() as session:
            await begin_write(session)
            await self._record(OutboxRepository(session), pending, error, now)
            await session.commit()
        return error is None

    async def _attempt(self, connection: _LazyConnection, mail: PendingMail) -> str | None:
        """Send one mail; the exception's class name on failure (never its message)."""
        try:
            await connection.send(build_email(mail, mail_from=self._mail_from))
        except Exception as exc:
            await connection.close()
            return type(exc).__name__
        return None

    @staticmethod
    async def _record(
        repository: OutboxRepository, mail: PendingMail, error: str | None, now: datetime
    ) -> None:
        if error is None:
            await repository.mark_sent(mail.id, now=now)
            return
        attempts = mail.attempts + 1
        next_attempt_at = now + retry_delay(attempts)
        await repository.mark_failed(mail.id, error=error, next_attempt_at=next_attempt_at)
        logger.warning(
            "notification %s not delivered (%s, attempt %d); next attempt at %s",
            mail.id,
            error,
            attempts,
            next_attempt_at.isoformat(),
        )
