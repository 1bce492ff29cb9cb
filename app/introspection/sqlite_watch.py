"""Hearing about changes other processes make to the same SQLite file.

On SQLite nothing like LISTEN/NOTIFY exists, and one file can be shared by several
processes: a management ``serve`` and an introspection ``serve``, a CLI command run while
``serve`` runs. ``PRAGMA data_version`` on one dedicated connection changes whenever any
*other* connection commits to the file, so a process polls it every ``POLL_SECONDS`` and,
when it changed, forgets the tokens its cache holds (it cannot tell which changed; SQLite
is the small deployment, so a refill is cheap). The process's own changes also invalidate
precisely, at commit, as on PostgreSQL.

Verified gateway credentials are not forgotten wholesale: every commit would otherwise do
it (an audit record, a ``last_used_at`` flush), and a gateway behind the same address as
someone failing to authenticate would be locked out with them. The introspection clients
table is a handful of rows, so the watcher keeps a snapshot of it and, for a client whose
row changed, appeared or went, forgets the callers that the row no longer vouches for: all
of them once it is revoked or gone, none while it is live with the secret they matched.

Fail closed, like the PostgreSQL listener: the cache is trusted only while the watcher
reads the version; until it starts, and whenever a read fails, every request asks the
database.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import aiosqlite

from app import metrics
from app.introspection.cache import IntrospectionCache
from app.introspection_clients.models import IntrospectionClient

logger = logging.getLogger(__name__)

# A revocation in another process is seen within this (plus one lookup): the contract
# allows 100 ms.
POLL_SECONDS = 0.04
RETRY_SECONDS = 0.5

# client id -> what verifying its secret depends on
ClientsSnapshot = dict[str, tuple[bytes, str | None]]


class SqliteChangeWatcher:
    def __init__(self, database_path: str, cache: IntrospectionCache) -> None:
        self._path = database_path
        self._cache = cache
        self.connected = asyncio.Event()
        self.poll_seconds = POLL_SECONDS
        self._polls = 0

    async def settled(self) -> None:
        """Return once a whole poll has run after this call: any commit made before the
        call has been seen (and the cache emptied for it) by then."""
        target = self._polls + 2
        while self._polls < target:
            await asyncio.sleep(self.poll_seconds / 2)

    async def run_forever(self) -> None:
        while True:
            try:
                await self._watch()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure means: not watching
                reason = type(exc).__name__
                logger.warning("SQLite change watcher lost (%s); bypassing the cache", reason)
            finally:
                self._cache.distrust()
                self.connected.clear()
            await asyncio.sleep(RETRY_SECONDS)

    async def _watch(self) -> None:
        async with aiosqlite.connect(self._path) as connection:
            version = await _data_version(connection)
            clients = await _clients_snapshot(connection)
            self._cache.trust_afresh()  # only now can we hear every change
            self.connected.set()
            while True:
                await asyncio.sleep(self.poll_seconds)
                current = await _data_version(connection)
                if current != version:
                    # Read after the version: a commit in between changes it again.
                    version = current
                    now = await _clients_snapshot(connection)
                    forget_changes(self._cache, clients, now)
                    clients = now
                self._polls += 1


def forget_changes(
    cache: IntrospectionCache, before: ClientsSnapshot, now: ClientsSnapshot
) -> None:
    """Another connection committed: forget every token answer, and the verified callers of
    each introspection client whose row is not what it was and is no longer theirs."""
    metrics.count("invalidation", "sqlite")
    cache.clear_tokens()
    # New rows too: a client created and revoked between two polls may have been verified.
    for client_id in before.keys() | now.keys():
        row = now.get(client_id)
        if row == before.get(client_id):
            continue
        if row is not None and row[1] is None:
            # Live (a new client is usually verified before the next poll): callers verified
            # against its present secret are still right.
            cache.keep_callers_of_live_secret(client_id, row[0])
        else:
            cache.invalidate_client(client_id)


async def _data_version(connection: aiosqlite.Connection) -> int:
    async with connection.execute("PRAGMA data_version") as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def _clients_snapshot(connection: aiosqlite.Connection) -> ClientsSnapshot:
    query = f"SELECT id, secret_digest, revoked_at FROM {IntrospectionClient.__tablename__}"
    async with connection.execute(query) as cursor:
        rows = await cursor.fetchall()
    return {str(uuid.UUID(str(row[0]))): (bytes(row[1]), row[2]) for row in rows}
