"""The operators' console: the built single-page app (``console/dist``) at ``/console/``.

Mounted by the management component only. Client-side routes fall back to ``index.html``;
a missing build answers 404 with what to run, never a traceback. Every console response
carries a CSP that allows no inline script and may not be framed.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, PlainTextResponse, RedirectResponse, Response

PREFIX = "/console"
DEFAULT_DIST = Path(__file__).resolve().parents[1] / "console" / "dist"
NOT_BUILT = "the console is not built: run make console\n"

# default-src 'self' covers scripts (no inline, no eval), styles, fetch and fonts. Images may
# also be data: URLs (the stylesheet's checkbox and select icons); nothing may frame the page.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def dist_dir() -> Path:
    return Path(os.environ.get("CONSOLE_DIST", DEFAULT_DIST))


def _secure(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def _file(path: Path, *, immutable: bool) -> Response:
    response = FileResponse(path)
    # Hashed asset names never change content; index.html must be revalidated after a deploy.
    response.headers["Cache-Control"] = (
        "public, max-age=31536000, immutable" if immutable else "no-cache"
    )
    return _secure(response)


def _serve(path: str) -> Response:
    root = dist_dir().resolve()
    index = root / "index.html"
    if not index.is_file():
        return _secure(PlainTextResponse(NOT_BUILT, status_code=404))
    if path:
        candidate = (root / path).resolve()
        if candidate.is_relative_to(root) and candidate.is_file():
            return _file(candidate, immutable=path.startswith("assets/"))
        if path.startswith("assets/") or "." in path.rsplit("/", 1)[-1]:
            # a missing file, not a client-side route: index.html would hide the mistake
            return _secure(PlainTextResponse("not found\n", status_code=404))
    return _file(index, immutable=False)


router = APIRouter(include_in_schema=False)


@router.get("/", response_class=RedirectResponse)
async def root() -> RedirectResponse:
    """The management component's front door is the console."""
    return RedirectResponse(f"{PREFIX}/", status_code=307)


@router.get(PREFIX, response_class=RedirectResponse)
async def console_without_slash() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/", status_code=307)


@router.api_route(PREFIX + "/{path:path}", methods=["GET", "HEAD"])  # HEAD: link checkers
async def console(path: str) -> Response:
    """The console's files; any other path under it is a client-side route."""
    return _serve(path)


def mount(app: FastAPI) -> None:
    app.include_router(router)
