"""The notification background tasks of a management process: the sender and the scan."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.notifications.expiry import run_expiry_scans
from app.notifications.sender import OutboxSender, mailer_for

logger = logging.getLogger("app.notifications")


def start_notification_tasks(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    sender_wakeup: asyncio.Event,
) -> list[asyncio.Task[None]]:
    """Start the expiry scan and, when mail can be delivered, the outbox sender.

    ``sender_wakeup`` is the event the sessions of ``sessionmaker`` set after a commit
    that queued mail (see ``wake_sender_after_commit``).
    """
    tasks = [
        asyncio.create_task(
            run_expiry_scans(sessionmaker, interval=settings.notification_scan_seconds),
            name="notification-expiry-scan",
        )
    ]
    mailer = mailer_for(settings)
    if mailer is None:
        log = logger.warning if settings.environment == "production" else logger.info
        log("SMTP_HOST is not set: notification emails are queued in the outbox, not sent")
        return tasks
    sender = OutboxSender(
        sessionmaker, mailer, mail_from=settings.mail_from, wakeup=sender_wakeup
    )
    tasks.append(
        asyncio.create_task(
            sender.run_forever(settings.notification_poll_seconds), name="notification-sender"
        )
    )
    return tasks
