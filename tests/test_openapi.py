"""The committed openapi.yaml is what the app serves; regenerate with `make openapi`."""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml

from app.openapi import openapi_document

ROOT = Path(__file__).resolve().parents[1]


def test_committed_openapi_matches_the_app() -> None:
    committed = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    assert committed == openapi_document(), "openapi.yaml is stale: run `make openapi`"


async def test_served_openapi_matches_the_committed_file(client: httpx.AsyncClient) -> None:
    served = (await client.get("/openapi.json")).json()
    assert served == yaml.safe_load((ROOT / "openapi.yaml").read_text())
