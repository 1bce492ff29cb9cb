"""The periodic expiry scan: warn 7 days and 1 day before a token expires, and once it has.

Each warning has a ``dedupe_key`` (``expiry:<token id>:7d|1d|expired``) that is unique in
the outbox, and is inserted with ON CONFLICT DO NOTHING: however often the scan runs, in
however many replicas, and across restarts, each warning is queued once.

Rules, so that nobody gets a pointless or a stale mail:

* only unrevoked tokens of integrations that are not deleted;
* only the band a token is in now: a token 20 hours from expiry gets the 1-day warning,
  not a late 7-day one as well;
* a band a token was born in is skipped (a token issued for 7 days gets no "expires in 7
  days" warning; its issue notice already said when it expires);
* "has expired" only for tokens that expired within the last ``EXPIRED_LOOKBACK``, so a
  first deployment does not mail about tokens that expired long ago.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.base import utc_now
from app.db.session import begin_write
from app.notifications import templates
from app.notifications.facts import IntegrationFacts, TokenFacts
from app.notifications.repository import SCAN_LOCK_KEY, OutboxRepository
from app.notifications.sender import wake_sender_after_commit
from app.notifications.service import NoticeKind, outbox_row
from app.tokens.repository import TokenRepository

logger = logging.getLogger("app.notifications")

WARN_7_DAYS = timedelta(days=7)
WARN_1_DAY = timedelta(days=1)
EXPIRED_LOOKBACK = timedelta(days=7)
PAGE_SIZE = 1000


def dedupe_key(token_id: uuid.UUID, band: str) -> str:
    return f"expiry:{token_id}:{band}"


def band_for(token: TokenFacts, now: datetime) -> tuple[NoticeKind, str] | None:
    """The warning a token is due for at ``now`` (kind, dedupe suffix), if any."""
    if token.expires_at is None:
        return None
    remaining = token.expires_at - now
    lifetime = token.expires_at - token.created_at
    if remaining <= timedelta(0):
        return NoticeKind.TOKEN_EXPIRED, "expired"
    if remaining <= WARN_1_DAY:
        return (NoticeKind.TOKEN_EXPIRES_IN_1_DAY, "1d") if lifetime > WARN_1_DAY else None
    if remaining <= WARN_7_DAYS:
        return (NoticeKind.TOKEN_EXPIRES_IN_7_DAYS, "7d") if lifetime > WARN_7_DAYS else None
    return None


def _mail(
    kind: NoticeKind, integration: IntegrationFacts, token: TokenFacts, now: datetime
) -> templates.Mail:
    if kind == NoticeKind.TOKEN_EXPIRED:
        return templates.token_expired(integration, token, at=now)
    days = 1 if kind == NoticeKind.TOKEN_EXPIRES_IN_1_DAY else 7
    return templates.token_expiring(integration, token, days=days, at=now)


async def scan_expiring_tokens(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    now: datetime | None = None,
    page_size: int = PAGE_SIZE,
) -> int:
    """Queue every warning that is due and not queued yet; returns how many were queued."""
    now = now or utc_now()
    queued = 0
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        async with sessionmaker() as session:
            await begin_write(session)
            repository = OutboxRepository(session)
            if not await repository.try_lock(SCAN_LOCK_KEY):
                return queued  # another replica is scanning right now
            await repository.plan_for_current_sizes()
            page = await TokenRepository(session).expiring_between(
                expires_after=now - EXPIRED_LOOKBACK,
                expires_until=now + WARN_7_DAYS,
                after=after,
                limit=page_size,
            )
            due: dict[str, tuple[NoticeKind, IntegrationFacts, TokenFacts]] = {}
            for token_row, integration_row in page:
                token = TokenFacts.of(token_row)
                band = band_for(token, now)
                if band is not None:
                    integration = IntegrationFacts.of(integration_row)
                    due[dedupe_key(token.id, band[1])] = (band[0], integration, token)
            known = await repository.existing_dedupe_keys(due)
            rows = [
                outbox_row(integration, _mail(kind, integration, token, now), kind, now=now,
                           dedupe_key=key)
                for key, (kind, integration, token) in due.items()
                if key not in known
            ]
            inserted = await repository.insert_unless_duplicate(rows)
            if inserted:
                queued += inserted
                wake_sender_after_commit(session)
            await session.commit()
        if len(page) < page_size:
            break
        last = page[-1][0]
        assert last.expires_at is not None
        after = (last.expires_at, last.id)
    if queued:
        logger.info("expiry scan queued %d warning(s)", queued)
    return queued


async def run_expiry_scans(
    sessionmaker: async_sessionmaker[AsyncSession], *, interval: float
) -> None:
    """Scan now, then every ``interval`` seconds; a failed scan is logged and retried."""
    while True:
        try:
            await scan_expiring_tokens(sessionmaker)
        except Exception as exc:  # logged, and the loop goes on
            logger.warning("expiry scan failed (%s)", type(exc).__name__)
        await asyncio.sleep(interval)
