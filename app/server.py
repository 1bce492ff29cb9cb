"""uvicorn's httptools protocol with a bounded request head.

httptools (unlike h11) puts no limit on the request line or the headers: uvicorn would
buffer a header section of any size in memory before the app saw the request. This
protocol counts the bytes of the request target and of the headers as the parser hands
them over and, past the limits, answers 414 or 431 and closes the connection.
``python -m app serve`` runs uvicorn with it.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_TARGET_BYTES = 8 * 1024  # the request line's path and query
MAX_HEADER_BYTES = 16 * 1024  # all header names and values, with 4 bytes per line

_REFUSALS = {
    414: b"URI Too Long",
    431: b"Request Header Fields Too Large",
}


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

    def data_received(self, data: bytes) -> None:
        self._began_in_chunk = False
        super().data_received(data)
        if self._in_head and not self._began_in_chunk and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > MAX_TARGET_BYTES + MAX_HEADER_BYTES:
                self._refusal = 431
                self.send_400_response("")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._target_bytes = self._header_bytes = self._head_bytes = 0
        self._in_head = self._began_in_chunk = True

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

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

    def send_400_response(self, msg: str) -> None:
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
