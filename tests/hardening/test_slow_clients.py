"""Slow or silent clients cannot hold connections: every phase has a deadline.

Real sockets against a real ``python -m app serve``, with deadlines shortened through the
environment: 1 s for a request head (``HTTP_HEAD_TIMEOUT_SECONDS``), 1 s for a body
(``HTTP_BODY_TIMEOUT_SECONDS``), 3 s for an idle keep-alive connection
(``HTTP_KEEP_ALIVE_SECONDS``), and a small ``HTTP_MAX_CONNECTIONS`` for the cap.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from devkit.server import RunningServer, uvicorn_server
from tests.hardening.helpers import server_env

pytestmark = pytest.mark.process

HEAD_SECONDS = 1.0
BODY_SECONDS = 1.0
KEEP_ALIVE_SECONDS = 3.0
# How long past a deadline the server may take to act (a loaded CI machine).
SLACK = 3.0
HEALTH = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"


def _env(database_url: str, **extra: str) -> dict[str, str]:
    return server_env(
        database_url,
        HTTP_HEAD_TIMEOUT_SECONDS=str(HEAD_SECONDS),
        HTTP_BODY_TIMEOUT_SECONDS=str(BODY_SECONDS),
        HTTP_KEEP_ALIVE_SECONDS=str(KEEP_ALIVE_SECONDS),
        **extra,
    )


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[RunningServer]:
    with uvicorn_server(_env(database_url)) as running:
        yield running


def _connect(server: RunningServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def _until_closed(sock: socket.socket, within: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and when it closed (seconds from now).

    Fails if the server keeps the connection open for longer than ``within``.
    """
    started = time.monotonic()
    received = b""
    sock.settimeout(within)
    while True:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            raise AssertionError(
                f"the server kept the connection open for {within} s; it sent {received!r}"
            ) from None
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return received, time.monotonic() - started
        received += chunk
        sock.settimeout(max(0.01, within - (time.monotonic() - started)))


def _one_response(sock: socket.socket) -> bytes:
    """One complete response with a Content-Length, read from a connection that stays open."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        assert chunk, f"closed after {received!r}"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, f"closed after {received!r}"
        body += chunk
    return head


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def _header(response: bytes, name: bytes) -> bytes | None:
    for line in response.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return None


# --- the request head ------------------------------------------------------------------


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(
    server: RunningServer,
) -> None:
    with _connect(server) as sock:
        received, after = _until_closed(sock, within=HEAD_SECONDS + SLACK)
    assert received == b""
    assert after >= HEAD_SECONDS * 0.8


def test_half_a_request_head_is_answered_408_and_closed(server: RunningServer) -> None:
    with _connect(server) as sock:
        sock.sendall(b"POST /oauth2/introspect HTTP/1.1\r\nHost: t\r\nContent-Le")
        received, _ = _until_closed(sock, within=HEAD_SECONDS + SLACK)
    assert _status(received) == 408
    assert _header(received, b"connection") == b"close"


def _trickle_until_answered(sock: socket.socket, started: float, seconds: float) -> bytes:
    """Send a byte every 0.1 s until the server answers (or closes), at most ``seconds``."""
    answer = b""
    while time.monotonic() - started < seconds:
        try:
            sock.sendall(b"a")
        except (BrokenPipeError, ConnectionResetError):
            break
        sock.settimeout(0.1)
        try:
            answer += sock.recv(4096)
        except TimeoutError:
            continue
        if answer:
            break
    return answer


def test_a_head_that_keeps_trickling_in_is_cut_off_at_its_deadline(
    server: RunningServer,
) -> None:
    """Progress does not extend the deadline: one byte every 0.1 s is still refused."""
    started = time.monotonic()
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nX-Slow: ")
        answer = _trickle_until_answered(sock, started, HEAD_SECONDS + SLACK)
    assert answer, "the server kept reading a head that never ends"
    assert _status(answer) == 408


# --- the request body ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/oauth2/introspect", "application/x-www-form-urlencoded"),
        ("/api/v1/auth/token", "application/x-www-form-urlencoded"),
        ("/api/v1/integrations", "application/json"),
    ],
)
def test_a_body_that_never_arrives_is_answered_408_once_and_closed(
    server: RunningServer, path: str, content_type: str
) -> None:
    with _connect(server) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\n"
            "Content-Length: 100\r\n\r\n".encode()
        )
        received, after = _until_closed(sock, within=BODY_SECONDS + SLACK)
    assert _status(received) == 408
    assert received.count(b"HTTP/1.1 ") == 1, f"the app answered too: {received!r}"
    assert after >= BODY_SECONDS * 0.8


def test_a_body_that_trickles_in_is_cut_off_at_its_deadline(server: RunningServer) -> None:
    with _connect(server) as sock:
        sock.sendall(
            b"POST /api/v1/auth/token HTTP/1.1\r\nHost: t\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
        )
        started = time.monotonic()
        answer = _trickle_until_answered(sock, started, BODY_SECONDS + SLACK)
    assert answer, "the server kept reading a body that never ends"
    assert _status(answer) == 408


def test_the_app_stops_waiting_for_a_body_that_timed_out(server: RunningServer) -> None:
    """The handler's receive() returns (a disconnect): the request ends and is counted."""
    path = "/api/v1/auth/token"
    with _connect(server) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: t\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 50\r\n\r\n"
            "username=".encode()
        )
        received, _ = _until_closed(sock, within=BODY_SECONDS + SLACK)
    assert _status(received) == 408
    deadline = time.monotonic() + SLACK
    while True:
        with _connect(server) as sock:
            sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            metrics, _ = _until_closed(sock, within=10)
        finished = [
            line
            for line in metrics.decode().splitlines()
            if line.startswith("gi_http_requests_total{") and f'route="{path}"' in line
        ]
        if finished or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert finished, "the handler is still waiting for the body"
    assert "Exception in ASGI application" not in server.log_path.read_text(errors="replace")


def test_a_slow_body_within_its_deadline_is_served(server: RunningServer) -> None:
    body = b"token=ssg_x"
    with _connect(server) as sock:
        sock.sendall(
            b"POST /oauth2/introspect HTTP/1.1\r\nHost: t\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        time.sleep(BODY_SECONDS / 2)
        sock.sendall(body)
        response = _one_response(sock)
    assert _status(response) == 401  # served: no client credentials


# --- keep-alive ------------------------------------------------------------------------


def test_an_idle_keep_alive_connection_outlives_the_head_deadline(
    server: RunningServer,
) -> None:
    """A gateway's pooled connection stays usable between requests, up to the keep-alive."""
    with _connect(server) as sock:
        sock.sendall(HEALTH)
        assert _status(_one_response(sock)) == 200
        time.sleep(HEAD_SECONDS * 2)  # idle: longer than a head may take, shorter than keep-alive
        sock.sendall(HEALTH)
        assert _status(_one_response(sock)) == 200
        received, after = _until_closed(sock, within=KEEP_ALIVE_SECONDS + SLACK)
    assert received == b""
    assert after >= KEEP_ALIVE_SECONDS * 0.8


# --- the connection cap ----------------------------------------------------------------


def test_connections_past_the_cap_get_503_while_the_pool_keeps_being_served(
    database_url: str,
) -> None:
    cap = 3
    with uvicorn_server(_env(database_url, HTTP_MAX_CONNECTIONS=str(cap))) as server:
        pool = [_connect(server) for _ in range(cap)]
        try:
            for sock in pool:
                sock.sendall(HEALTH)
                assert _status(_one_response(sock)) == 200
            with _connect(server) as extra:
                extra.sendall(HEALTH)
                refused, _ = _until_closed(extra, within=10)
            assert _status(refused) == 503
            assert _header(refused, b"retry-after") == b"1"
            assert _header(refused, b"connection") == b"close"
            for sock in pool:  # the pool still works
                sock.sendall(HEALTH)
                assert _status(_one_response(sock)) == 200
            pool.pop().close()
            time.sleep(0.2)  # the server notices the close
            with _connect(server) as extra:
                extra.sendall(HEALTH)
                assert _status(_one_response(extra)) == 200
        finally:
            for sock in pool:
                sock.close()
