"""Migrations run both ways on the backend under test and agree with the models."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from app.db.models import Base
from app.db.session import create_engine
from tests.fixtures.database import downgrade, throwaway_database, upgrade


@pytest.fixture
async def empty_database_url(tmp_path: Path) -> AsyncIterator[str]:
    async for url in throwaway_database(tmp_path):
        yield url


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


async def test_upgrade_then_downgrade_then_upgrade_again(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    try:
        await upgrade(empty_database_url)
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == set(Base.metadata.tables)
        await downgrade(empty_database_url)
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == set()
        await upgrade(empty_database_url)
    finally:
        await engine.dispose()


async def test_models_match_migrations(empty_database_url: str) -> None:
    await upgrade(empty_database_url)
    engine = create_engine(empty_database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_diff) == []
    finally:
        await engine.dispose()
