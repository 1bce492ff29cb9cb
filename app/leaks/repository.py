from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import select

from app.db.repository import Repository
from app.integrations.models import Integration
from app.tokens.models import AccessToken

_IN_CHUNK = 500


class LeakRepository(Repository[AccessToken]):
    model = AccessToken

    async def lock_by_digests(self, digests: Iterable[bytes]) -> list[AccessToken]:
        """The tokens with these digests, locked for the transaction.

        Bulk ``IN`` lookups on the unique digest index, in digest order, so that two
        overlapping reports lock rows in the same order and cannot deadlock.
        """
        ordered = sorted(set(digests))
        tokens: list[AccessToken] = []
        for start in range(0, len(ordered), _IN_CHUNK):
            result = await self.session.execute(
                select(AccessToken)
                .where(AccessToken.token_digest.in_(ordered[start : start + _IN_CHUNK]))
                .order_by(AccessToken.token_digest)
                .with_for_update()
            )
            tokens.extend(result.scalars())
        return tokens

    async def integrations(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Integration]:
        found: dict[uuid.UUID, Integration] = {}
        for start in range(0, len(ids), _IN_CHUNK):
            result = await self.session.execute(
                select(Integration).where(Integration.id.in_(ids[start : start + _IN_CHUNK]))
            )
            found.update((i.id, i) for i in result.scalars())
        return found
