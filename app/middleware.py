"""Pure ASGI middleware (no BaseHTTPMiddleware: it buffers and slows every request)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import BadRequest, PayloadTooLarge
from app.problems import PROBLEM_MEDIA_TYPE, problem_bytes


async def send_problem(
    send: Send, status: int, title: str, detail: str, *, close: bool = False
) -> None:
    """A problem+json response from raw ASGI code (no FastAPI below to render it)."""
    body = problem_bytes(status, title, detail)
    headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyTooLarge(HTTPException):
    """Raised from ``receive``; an HTTPException so that FastAPI's body parsing re-raises it."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"The request body exceeds {max_bytes} bytes.")


class BodySizeLimit:
    """Refuses request bodies over ``max_bytes`` with 413, by header or while streaming."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.max_bytes:
                    await self._refuse(send)
                    return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not response_started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        detail = f"The request body exceeds {self.max_bytes} bytes."
        await send_problem(send, 413, PayloadTooLarge.title, detail, close=True)


class SingleCredentialHeaders:
    """Refuses (400) a request that repeats ``Authorization`` or ``X-Gateway-Authorization``.

    Proxies and frameworks disagree on which copy of a repeated header counts, so a
    gateway and the service could act on different credentials. The introspection fast
    paths apply the same rule themselves.
    """

    _NAMES = (b"authorization", b"x-gateway-authorization")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._repeats_credentials(scope["headers"]):
            detail = "Send each credentials header at most once."
            await send_problem(send, 400, BadRequest.title, detail)
            return
        await self.app(scope, receive, send)

    def _repeats_credentials(self, headers: list[tuple[bytes, bytes]]) -> bool:
        seen: set[bytes] = set()
        for name, _ in headers:
            if name in self._NAMES:
                if name in seen:
                    return True
                seen.add(name)
        return False
