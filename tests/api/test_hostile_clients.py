"""Hostile clients against the real production server (`beacon serve`, two workers, real sockets).

Slow and idle clients must not starve the node: while 200 of them hold connections (more than ten
times the workers' threads), normal requests are answered, and the slow ones end with a 408 envelope.
What the server refuses before the app sees a request (request lines past gunicorn's limit, bytes that
are not HTTP, huge heads and bodies) is the Beacon error envelope in JSON, never gunicorn's HTML.
"""

from __future__ import annotations

import json
import os
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from beacon.demo import DEMO_ACCESS_POLICY

pytestmark = pytest.mark.xdist_group("real-gunicorn")

CLIENT_TIMEOUT = 5.0
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(demo_store_file: Path) -> Iterator[int]:
    """`beacon serve --workers 2` over the demo store; yields its port."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BEACON_", "PROMETHEUS_"))}
    env.update(
        BEACON_STORE_URI=f"sqlite:///{demo_store_file}",
        BEACON_ACCESS_FILE=str(DEMO_ACCESS_POLICY),
        BEACON_CLIENT_TIMEOUT=str(CLIENT_TIMEOUT),
    )
    command = [str(Path(sys.executable).with_name("beacon")), "serve", "--port", str(port), "--workers", "2"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail(f"beacon serve did not start: {process.communicate()[1][-2000:]!r}")
    yield port
    process.terminate()
    process.communicate(timeout=15)


@dataclass
class Answer:
    """One HTTP response read off a raw socket."""

    status: int
    headers: dict[str, str]
    body: bytes

    def envelope(self) -> dict:
        """The Beacon error envelope the body must be."""
        assert self.headers.get("content-type", "").startswith("application/json"), self.headers
        document = json.loads(self.body)
        assert document["error"]["errorCode"] == self.status and document["error"]["errorMessage"]
        assert document["meta"]["beaconId"]
        return document


def read_answer(sock: socket.socket) -> Answer:
    """Read one response (skipping 1xx) from a blocking socket."""
    data = b""
    while True:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed before a whole answer: {data!r}"
            data += chunk
        head, _, data = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        if status >= 200:
            break
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(data) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed in the middle of the body"
        data += chunk
    return Answer(status, headers, data[:length])


def exchange(port: int, request: bytes) -> Answer:
    """Send raw bytes on a new connection and read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        return read_answer(sock)


@dataclass
class SlowClients:
    """Connections that trickle a request one byte at a time (or idle), driven by one thread."""

    port: int
    requests: list[bytes]
    answers: list[bytes | None] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.sockets = [socket.create_connection(("127.0.0.1", self.port)) for _ in self.requests]
        self.answers = [None] * len(self.sockets)
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        selector = selectors.DefaultSelector()
        left = dict(enumerate(self.requests))
        for index, sock in enumerate(self.sockets):
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, index)
        while not self.stop.is_set() and any(answer is None for answer in self.answers):
            for index, data in left.items():
                if data and self.answers[index] is None:
                    self.sockets[index].send(data[:1])
                    left[index] = data[1:]
            for key, _ in selector.select(0.2):
                self.answers[key.data] = self._read_all(key.fileobj)
                selector.unregister(key.fileobj)

    @staticmethod
    def _read_all(sock: socket.socket) -> bytes:
        sock.setblocking(True)
        sock.settimeout(5)
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except OSError:
            pass
        return data

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        for sock in self.sockets:
            sock.close()


def slow_requests(headers: int, bodies: int, idle: int) -> list[bytes]:
    """Requests to trickle: long headers, a body after its headers, or nothing at all."""
    long_head = b"POST /api/individuals HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 1000 + b"\r\n\r\n"
    body = b"POST /api/individuals HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 900\r\n\r\n"
    return [long_head] * headers + [body + b" " * 900] * bodies + [b""] * idle


def test_normal_requests_are_answered_while_200_slow_clients_hold_connections(server):
    slow = SlowClients(server, slow_requests(headers=120, bodies=40, idle=40))
    try:
        time.sleep(0.5)  # every slow client has sent something by now, and holds its connection
        with httpx.Client(base_url=f"http://127.0.0.1:{server}", timeout=5) as client:
            statuses = [client.get(path).status_code for path in ("/api/info", "/api/individuals") * 10]
            posted = client.post("/api/individuals", json={"query": {"requestedGranularity": "count"}})
        held = sum(answer is None for answer in slow.answers)
        assert statuses == [200] * 20 and posted.status_code == 200
        assert held == 200  # the slow clients were still connected, none of them answered yet
        slow.thread.join(timeout=CLIENT_TIMEOUT + 15)
    finally:
        slow.close()
    trickled, idle = slow.answers[:160], slow.answers[160:]
    for raw in trickled:  # each slow request ends with a 408 envelope once its time is up
        assert raw is not None and raw.startswith(b"HTTP/1.1 408 ")
        document = json.loads(raw.partition(b"\r\n\r\n")[2])
        message = f"the request did not arrive within {CLIENT_TIMEOUT:g} s"
        assert document["error"] == {"errorCode": 408, "errorMessage": message}
    assert idle == [b""] * 40  # connections that never sent anything are closed silently


def test_a_request_line_past_gunicorns_limit_is_a_414_envelope(server):
    answer = exchange(server, b"GET /api/individuals?filters=" + b"A" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    assert answer.status == 414
    assert "request line is too long" in answer.envelope()["error"]["errorMessage"]


def test_a_url_past_the_beacons_limit_is_the_apps_414_envelope(server):
    target = b"/api/individuals?filters=" + b"A" * 8050
    answer = exchange(server, b"GET " + target + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert answer.status == 414
    assert f"the request URL is {len(target)} bytes long" in answer.envelope()["error"]["errorMessage"]


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /api/info HTTP/1.1\r\nHost: t\r\nX-Bad: \x00\x01\r\n\r\n",
        b"GET /api/info HTTP/1.1\r\nHost: t\r\nBad Name: x\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
        b"GET /api/info HTTP/9.9\r\nHost: t\r\n\r\n",
    ],
    ids=["control bytes in a value", "space in a header name", "TLS hello", "unknown HTTP version"],
)
def test_bytes_that_are_not_http_get_a_400_envelope(server, request_bytes):
    answer = exchange(server, request_bytes)
    assert answer.status == 400
    assert answer.envelope()["error"]["errorMessage"].startswith("malformed HTTP request")


def test_headers_past_64_kib_are_a_431_envelope(server):
    head = b"GET /api/info HTTP/1.1\r\nHost: t\r\n" + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 4000) for i in range(20))
    answer = exchange(server, head)
    assert answer.status == 431
    assert "exceed 65536 bytes" in answer.envelope()["error"]["errorMessage"]


def test_a_body_declared_too_large_is_refused_unread_with_a_413_envelope(server):
    head = b"POST /api/individuals HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
    answer = exchange(server, head + b"Content-Length: 10485760\r\n\r\n{")  # 10 MB announced, 1 byte sent
    assert answer.status == 413
    expected = "the request body is 10485760 bytes; this beacon accepts at most 1048576"
    assert answer.envelope()["error"]["errorMessage"] == expected


def test_expect_100_continue_and_pipelined_requests_are_served(server):
    body = json.dumps({"query": {"requestedGranularity": "count"}}).encode()
    head = b"POST /api/individuals HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body))
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"  # once: the worker answers the expectation
        sock.sendall(body)
        first = read_answer(sock)
        sock.sendall(b"GET /api/info HTTP/1.1\r\nHost: t\r\n\r\nGET /api/map HTTP/1.1\r\nHost: t\r\n\r\n")
        second, third = read_answer(sock), read_answer(sock)
    assert first.status == 200 and json.loads(first.body)["responseSummary"]["numTotalResults"] == 2504
    assert (second.status, third.status) == (200, 200)
    assert "beaconId" in json.loads(second.body)["meta"] and "endpointSets" in json.loads(third.body)["response"]
