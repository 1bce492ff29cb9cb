"""``/docs``: Swagger UI served from files the service ships, so it works without internet.

FastAPI's default page loads Swagger UI from a CDN and is blank offline (an air-gapped
warehouse network, a laptop on a train). This is FastAPI's documented self-hosting recipe
(``docs_url=None`` and our own ``get_swagger_ui_html`` route) with the assets of the
``swagger-ui-py`` package, which bundles the Swagger UI 5 distribution (OpenAPI 3.1).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
# name -> media type; only what the page loads (the package ships the editor too).
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}


def assets_directory() -> Path:
    """The package's static files, found without importing it (its __init__ pulls jinja2)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is missing: pip install -e .")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def install_docs(app: FastAPI, *, openapi_url: str) -> None:
    directory = assets_directory()
    title = f"{app.title} - API docs"
    redirect = f"{DOCS_PATH}/oauth2-redirect"

    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
            oauth2_redirect_url=redirect,
        )

    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    app.add_api_route(DOCS_PATH, docs, methods=["GET"], include_in_schema=False)
    app.add_api_route(redirect, oauth2_redirect, methods=["GET"], include_in_schema=False)
    for name, media_type in ASSETS.items():
        app.add_api_route(
            f"{ASSETS_PATH}/{name}",
            _file(directory / name, media_type),
            methods=["GET"],
            include_in_schema=False,
        )


def _file(path: Path, media_type: str) -> Callable[[], Awaitable[FileResponse]]:
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: reinstall swagger-ui-py")

    async def serve() -> FileResponse:
        return FileResponse(path, media_type=media_type)

    return serve
