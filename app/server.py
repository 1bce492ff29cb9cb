"""uvicorn's httptools protocol with bounded request heads, deadlines and a connection cap.

httptools (unlike h11) puts no limit on the request line or the headers: uvicorn would
buffer a header section of any size in memory before the app saw the request. This
protocol counts the bytes of the request target and of the headers as the parser hands
them over and, past the limits, answers 414 or 431 and closes the connection.

uvicorn also waits for a client forever: a connection that sends nothing, half a request
head, or a ``Content-Length`` and then no body holds its socket (and, for the body, an app
task blocked in ``receive()``) until the client goes away. This protocol gives each phase
of a connection a deadline (see ``ConnectionLimits``) and caps the connections a process
holds. ``python -m app serve`` runs uvicorn with it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from uvicorn._types import ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from app.config import get_settings

MAX_TARGET_BYTES = 8 * 1024  # the request line's path and query
MAX_HEADER_BYTES = 16 * 1024  # all header names and values, with 4 bytes per line

_REFUSALS = {
    408: b"Request Timeout",
    414: b"URI Too Long",
    431: b"Request Header Fields Too Large",
}


@dataclass(frozen=True)
class ConnectionLimits:
    """How long a client may take, and how many connections one process holds.

    - ``head_seconds``: from the connection's start (first request) or the request's first
      byte (later requests) until its header section is complete. A head begun and not
      finished gets 408; a new connection that sent nothing is closed without an answer.
    - ``body_seconds``: from the end of the head until the whole body has arrived (a
      deadline, not an idle timeout, so a trickle of one byte a second does not reset it).
      Past it: 408 if the app has not answered yet, and the app's ``receive()`` returns
      ``http.disconnect``; the connection is closed either way.
    - ``keep_alive_seconds``: how long an idle connection stays open between requests.
      Longer than the head deadline on purpose: a gateway keeps a pool of connections
      and expects them to stay usable for as long as its own idle timeout.
    - ``max_connections``: connections past this many, per process, are answered 503
      (``Retry-After: 1``, ``Connection: close``) to their first request, without the app;
      connections already open, such as a gateway's pool, keep being served.
    """

    head_seconds: float
    body_seconds: float
    keep_alive_seconds: float
    max_connections: int


@lru_cache
def connection_limits() -> ConnectionLimits:
    settings = get_settings()
    return ConnectionLimits(
        head_seconds=settings.http_head_timeout_seconds,
        body_seconds=settings.http_body_timeout_seconds,
        keep_alive_seconds=settings.http_keep_alive_seconds,
        max_connections=settings.http_max_connections,
    )


_BUSY_BODY = b"Service Unavailable: too many connections\n"


async def _over_capacity(
    scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", b"%d" % len(_BUSY_BODY)),
                (b"retry-after", b"1"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _BUSY_BODY, "more_body": False})


class HeadTooLarge(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    _target_bytes = 0
    _header_bytes = 0
    _refusal: int | None = None
    # Bytes of a request head that is still incomplete: httptools keeps a header value to
    # itself until it ends, so one endless header is caught here, chunk by chunk.
    _in_head = True
    _head_bytes = 0
    _began_in_chunk = False
    # Deadlines: one timer at a time, for the head or for the body.
    _head_started = False  # a byte of the current head has arrived
    _in_body = False
    _upgraded = False
    _deadline: asyncio.TimerHandle | None = None

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = connection_limits()
        self.timeout_keep_alive = self.limits.keep_alive_seconds  # type: ignore[assignment]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self.app = _over_capacity
        self._arm(self.limits.head_seconds, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._began_in_chunk = False
        super().data_received(data)
        if self._upgraded or self.transport.is_closing():
            return
        if self._in_head and not self._began_in_chunk:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_TARGET_BYTES + MAX_HEADER_BYTES:
                self._refusal = 431
                self.send_400_response("")
                return
        # Armed only when a head or a body is still incomplete after a chunk: a request
        # that arrives whole (the gateway's case) costs no timer.
        if self._deadline is None:
            if self._in_head and self._head_started:
                self._arm(self.limits.head_seconds, self._head_timed_out)
            elif self._in_body:
                self._arm(self.limits.body_seconds, self._body_timed_out)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._target_bytes = self._header_bytes = self._head_bytes = 0
        self._in_head = self._began_in_chunk = self._head_started = True

    def on_headers_complete(self) -> None:
        self._in_head = self._head_started = False
        self._in_body = True
        self._disarm()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_body = False
        self._disarm()
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._upgraded = True
        self._disarm()
        super().handle_websocket_upgrade()

    def on_url(self, url: bytes) -> None:
        self._target_bytes += len(url)
        if self._target_bytes > MAX_TARGET_BYTES:
            self._refuse(414)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4
        if self._header_bytes > MAX_HEADER_BYTES:
            self._refuse(431)
        super().on_header(name, value)

    def _refuse(self, status: int) -> None:
        # Raised inside the parser's callback: httptools turns it into a parser error,
        # which uvicorn answers with send_400_response (overridden below).
        self._refusal = status
        raise HeadTooLarge(status)

    # --- deadlines --------------------------------------------------------------------

    def _arm(self, seconds: float, callback: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _head_timed_out(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if not self._head_started:
            # Nothing of a request arrived: there is no request to answer.
            self.transport.close()
            return
        self._refusal = 408
        self.send_400_response("")

    def _body_timed_out(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is None or cycle.response_started:
            self.transport.close()  # the app has answered (or is answering): just stop
            return
        # The app is most likely waiting in receive(): from now on it reads a disconnect
        # and whatever it sends is dropped, so the 408 below is the only answer.
        cycle.disconnected = True
        cycle.message_event.set()
        self._refusal = 408
        self.send_400_response("")

    def send_400_response(self, msg: str) -> None:
        self._disarm()
        if self._refusal is None:
            super().send_400_response(msg)
            return
        reason = _REFUSALS[self._refusal]
        body = reason + b"\n"
        self.transport.write(
            b"HTTP/1.1 %d %s\r\n" % (self._refusal, reason)
            + b"content-type: text/plain; charset=utf-8\r\n"
            + b"content-length: %d\r\n" % len(body)
            + b"connection: close\r\n\r\n"
            + body
        )
        self.transport.close()
