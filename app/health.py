from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app import schema
from app.http import AppStateDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: 200 while the process runs."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"description": "The database does not answer, or its schema is behind"}},
)
async def readyz(state: AppStateDep) -> JSONResponse:
    """Readiness: 200 when the database answers at the expected schema, else 503."""
    try:
        async with state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            current = await schema.is_current(connection)
    except Exception:  # any failure to reach the database means "not ready"
        return JSONResponse({"status": "unavailable"}, status_code=503)
    if not current:
        return JSONResponse(
            {"status": "unavailable", "reason": "schema behind: run python -m app migrate"},
            status_code=503,
        )
    return JSONResponse({"status": "ok"})
