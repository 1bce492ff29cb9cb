"""Small HTTP helpers shared by the endpoint modules."""

from __future__ import annotations

from fastapi import Response

NO_STORE_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def forbid_caching(response: Response) -> None:
    """For every response that carries a secret."""
    response.headers.update(NO_STORE_HEADERS)
