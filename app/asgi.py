"""Pieces shared by the pure ASGI middleware."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import Message, Send


class StatusRecordingSend:
    """Wraps ``send``: notes the response's status (500 until one starts), adds headers."""

    __slots__ = ("_extra_headers", "_send", "status")

    def __init__(self, send: Send, extra_headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
        self._send = send
        self._extra_headers = list(extra_headers)
        self.status = 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            if self._extra_headers:
                message["headers"] = [*message.get("headers", []), *self._extra_headers]
        await self._send(message)
