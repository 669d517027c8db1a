"""The production gunicorn worker: gunicorn's threaded worker, handing threads only whole requests.

gunicorn's `gthread` worker gives a connection to a thread as soon as it has a byte to read, and the
thread then blocks until the client has sent its whole request: 25 clients sending their headers a
byte at a time hold every thread of a node, and normal requests wait. This worker does what a
buffering proxy does. Its event loop reads each request (headers and body) from every connection as
bytes arrive, and only a request it holds whole is handed to a thread. So a slow or idle client costs
a buffer, not a thread, and the threads only ever work. Further:

- a client has BEACON_CLIENT_TIMEOUT seconds to send its request (408 after that, or a silent close
  when it sent nothing), and no thread waits longer than that on one read or write of a socket;
- a body declared larger than BEACON_MAX_BODY_BYTES is refused unread (413), headers past
  `MAX_HEAD_BYTES` too (431);
- `worker_connections` (beacon.gunicorn_conf) caps the connections each worker holds;
- what gunicorn itself refuses (a request line past 8190 bytes, bytes that are not HTTP) is answered
  with the Beacon error envelope in JSON, like every error of the app.

TLS and HTTP/2 connections are served as gunicorn's `gthread` serves them (the beacon runs behind a
TLS-terminating proxy; see docs/deployment.md).
"""

from __future__ import annotations

import contextlib
import errno
import http
import json
import re
import selectors
import socket
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

from gunicorn.http import errors as http_errors
from gunicorn.workers.gthread import TConn, ThreadWorker

from beacon.errors import error_envelope
from beacon.query.received import received_summary
from beacon.query.requests import Limits

MAX_HEAD_BYTES = 65536
"""Request line and headers together; longer heads get a 431 (gunicorn's limit per line is 8190)."""
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_EXPECT_CONTINUE = re.compile(rb"(?im)^expect:[ \t]*100-continue[ \t]*\r?\n")
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_LINGER_SECONDS = 2.0
# Parse errors that are the app's or the configuration's fault, not the client's (gunicorn: 500).
_NOT_THE_CLIENTS = (
    http_errors.InvalidResponseHeader,
    http_errors.InvalidResponseHeaderName,
    http_errors.ConfigurationProblem,
)


@dataclass(frozen=True)
class Arrival:
    """How far a request has arrived: `state` is wait, continue (send 100 and wait), ready or refuse."""

    state: str
    status: int = 0
    message: str = ""


WAIT, CONTINUE, READY = Arrival("wait"), Arrival("continue"), Arrival("ready")


def arrival(data: bytes, max_body_bytes: int) -> Arrival:
    """Whether `data` holds a whole request (line, headers and body), for a body of at most `max_body_bytes`.

    Anything gunicorn's parser must judge (no length, two lengths, a length that is not a number)
    is `READY`: the parser answers it.
    """
    end = _HEAD_END.search(data)
    if end is None:
        if len(data) > MAX_HEAD_BYTES:
            return Arrival("refuse", 431, f"the request line and headers exceed {MAX_HEAD_BYTES} bytes")
        return WAIT
    fields = _fields(data[: end.start()])
    body = len(data) - end.end()
    if "transfer-encoding" in fields:
        if body > max_body_bytes:
            return _too_large(f"more than {max_body_bytes}", max_body_bytes)
        return READY if data.endswith(b"0\r\n\r\n") else WAIT
    lengths = fields.get("content-length", [])
    if len(lengths) != 1 or not lengths[0].isdigit():
        return READY
    length = int(lengths[0])
    if length > max_body_bytes:
        return _too_large(str(length), max_body_bytes)
    if body >= length:
        return READY
    return CONTINUE if "100-continue" in fields.get("expect", []) else WAIT


def _fields(head: bytes) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for line in head.split(b"\n")[1:]:
        name, colon, value = line.partition(b":")
        if colon:
            key = name.strip().decode("latin-1").lower()
            fields.setdefault(key, []).append(value.strip().decode("latin-1").lower())
    return fields


def _too_large(length: str, max_body_bytes: int) -> Arrival:
    message = f"the request body is {length} bytes; this beacon accepts at most {max_body_bytes}"
    return Arrival("refuse", 413, message)


def error_response(status: int, message: str, beacon_id: str) -> bytes:
    """A whole HTTP/1.1 response carrying the Beacon error envelope; the connection closes after it.

    The request was not read, so the envelope's `receivedRequestSummary` holds the defaults.
    """
    received = received_summary((), None, default_limit=Limits().default_limit)
    body = json.dumps(error_envelope(status, message, beacon_id=beacon_id, received=received)).encode()
    head = (
        f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nAccess-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


def client_error(exc: BaseException) -> tuple[int, str] | None:
    """The status and message for a request gunicorn's parser refused; None when the fault is not the client's."""
    if not isinstance(exc, http_errors.ParseException) or isinstance(exc, _NOT_THE_CLIENTS):
        return None
    if isinstance(exc, http_errors.LimitRequestLine):
        return 414, "the request line is too long (gunicorn accepts at most 8190 bytes); send long queries by POST"
    if isinstance(exc, http_errors.LimitRequestHeaders):
        return 431, f"the request headers are too large: {exc}"
    if isinstance(exc, http_errors.UnsupportedTransferCoding):
        return 501, f"unsupported transfer coding: {exc}"
    if isinstance(exc, http_errors.ExpectationFailed):
        return 417, f"unsupported expectation: {exc}"
    return 400, f"malformed HTTP request ({type(exc).__name__}): {exc}"


class TimedSocket:
    """A client socket whose blocking mode has a timeout, so that no thread waits on one client for long."""

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self._sock = sock
        self._timeout = timeout

    def setblocking(self, flag: bool) -> None:
        """Blocking means waiting at most the timeout; non-blocking as usual."""
        self._sock.settimeout(self._timeout if flag else 0.0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


@dataclass
class _Incoming:
    data: bytes
    deadline: float
    continued: bool = False


class BeaconWorker(ThreadWorker):
    """gunicorn's `gthread` worker that hands threads whole requests only (see the module docstring)."""

    def init_process(self) -> None:
        """Read the limits from the settings, then run the worker."""
        from beacon.query.framework import BeaconIdentity
        from beacon.settings import Settings

        settings = Settings.from_env()
        self.client_timeout = settings.client_timeout
        self.max_body_bytes = settings.max_body_bytes
        self.beacon_id = BeaconIdentity.from_info(settings.info, settings.environment, settings.base_url).id
        self.incoming: dict[TConn, _Incoming] = {}
        self.lingering: dict[TConn, float] = {}  # refused connections, read until the client closes
        self.buffering = not self.cfg.is_ssl and self.cfg.http2_cleartext not in ("prior-knowledge", "both")
        super().init_process()

    def accept(self, listener: socket.socket) -> None:
        """Accept a connection and start receiving its request in the event loop."""
        if not self.buffering:
            super().accept(listener)
            return
        try:
            client, address = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, TimedSocket(client, self.client_timeout), address, listener.getsockname())
        self.enqueue_req(conn)

    def enqueue_req(self, conn: TConn) -> None:
        """Every connection with a request to serve comes here: new, kept alive, or with pipelined bytes."""
        if not self.buffering:
            super().enqueue_req(conn)
            return
        held = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        incoming = _Incoming(held, time.monotonic() + self.client_timeout)
        if not self._advance(conn, incoming):
            conn.sock.setblocking(False)
            self.incoming[conn] = incoming
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))

    def _on_readable(self, conn: TConn, _sock: Any) -> None:
        incoming = self.incoming[conn]
        try:
            chunk = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._forget(conn)
            self._close(conn)
            return
        incoming.data += chunk
        self._advance(conn, incoming)

    def _advance(self, conn: TConn, incoming: _Incoming) -> bool:
        """Hand a whole request to a thread, or refuse it; False while more bytes are awaited."""
        state = arrival(incoming.data, self.max_body_bytes)
        if state is WAIT:
            return False
        if state is CONTINUE:
            if not incoming.continued:
                incoming.continued = self._send(conn, _CONTINUE)
            return False
        self._forget(conn)
        if state is READY:
            self._dispatch(conn, incoming)
        else:
            self._refuse(conn, state.status, state.message)
        return True

    def _dispatch(self, conn: TConn, incoming: _Incoming) -> None:
        data = incoming.data
        if incoming.continued:  # the 100 went out; gunicorn must not send another
            data = _EXPECT_CONTINUE.sub(b"", data, count=1)
        conn.sock.setblocking(True)
        conn.init()
        conn.parser.unreader.unread(data)
        conn.data_ready = True
        super().enqueue_req(conn)

    def _forget(self, conn: TConn) -> None:
        self.incoming.pop(conn, None)
        with contextlib.suppress(KeyError, ValueError, OSError):  # not registered: it arrived whole
            self.poller.unregister(conn.sock)

    def _send(self, conn: TConn, payload: bytes) -> bool:
        try:
            conn.sock.setblocking(False)
            return conn.sock.send(payload) == len(payload)
        except OSError:
            return False

    def _refuse(self, conn: TConn, status: int, message: str) -> None:
        self.log.warning("Refused a request from ip=%s: %s %s", (conn.client or ("",))[0], status, message)
        self._send(conn, error_response(status, message, self.beacon_id))
        # Closing with unread bytes would reset the connection before the client reads the answer:
        # read and drop what it still sends, for a moment, as gunicorn's own graceful close does.
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_lingering, conn))
        except (OSError, ValueError, KeyError):
            self._close(conn)
            return
        self.lingering[conn] = time.monotonic() + _LINGER_SECONDS

    def _on_lingering(self, conn: TConn, _sock: Any) -> None:
        try:
            if conn.sock.recv(65536):
                return
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        self._end_lingering(conn)

    def _end_lingering(self, conn: TConn) -> None:
        self.lingering.pop(conn, None)
        self._forget(conn)
        self._close(conn)

    def _close(self, conn: TConn) -> None:
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self) -> None:
        """Also end the connections whose request did not arrive in time (408 if they sent anything)."""
        super().murder_pending()
        now = time.monotonic()
        for conn in [conn for conn, deadline in self.lingering.items() if deadline <= now]:
            self._end_lingering(conn)
        for conn, incoming in list(self.incoming.items()):
            if incoming.deadline <= now:
                self._forget(conn)
                if incoming.data.strip():
                    message = f"the request did not arrive within {self.client_timeout:g} s"
                    self._refuse(conn, 408, message)
                else:
                    self._close(conn)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """Requests gunicorn's parser refused get the Beacon error envelope; the rest as gunicorn answers them."""
        refused = client_error(exc)
        if refused is None:
            super().handle_error(req, client, addr, exc)
            return
        status, message = refused
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        try:
            client.sendall(error_response(status, message, self.beacon_id))
        except OSError:
            self.log.debug("Failed to send error message.")
