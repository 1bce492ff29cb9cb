from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.http import AppStateDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: 200 while the process runs."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "The database does not answer"}})
async def readyz(state: AppStateDep) -> JSONResponse:
    """Readiness: 200 when the database answers, else 503."""
    try:
        async with state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database means "not ready"
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})
