"""The framework ceiling: a bare Starlette app that does the least an introspection route can.

It reads and parses the same form body and answers a constant JSON object. Served with the
same uvicorn settings as the service, its req/s is the yardstick for ``make bench``.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_BODY = b'{"active":false}'


async def introspect(request: Request) -> Response:
    parse_qs((await request.body()).decode())
    return Response(_BODY, media_type="application/json")


app = Starlette(routes=[Route("/oauth2/introspect", introspect, methods=["POST"])])
