"""Slow and idle clients against the production server: do normal requests still get answers?

Starts the production gunicorn command (`gunicorn --config python:beacon.gunicorn_conf
'beacon.serve:production_app()'`, as the Docker image runs it) on loopback over the demo data, measures
normal requests alone, then opens `--slow` connections that each trickle a request (one header byte,
or one body byte, every `--trickle` seconds) or send nothing at all, and measures the same normal
requests again while those connections are held. Prints, per phase: requests answered, failures
(no answer within 5 s), and latency p50 / p95 / max in ms; then how the slow connections ended.
Target: with 200 slow clients, every normal request is answered within 1 s.

Each phase lasts `--hold` seconds (longer than BEACON_CLIENT_TIMEOUT, so the server's 408s show).
`--worker-class gthread` runs gunicorn's own threaded worker instead of the beacon's, for comparison.
Client and server share the machine's cores; run nothing else meanwhile.
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

NORMAL_PATHS = ("/api/info", "/api/individuals?requestedGranularity=count", "/health/ready")
KINDS = ("headers", "body", "idle")


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_demo_store(workdir: Path) -> Path:
    """The demo data in an SQLite file (cached in workdir between runs)."""
    path = workdir / "demo.sqlite"
    if not path.exists():
        beacon = Path(sys.executable).with_name("beacon")
        env = {**os.environ, "BEACON_STORE_URI": f"sqlite:///{path}"}
        subprocess.run([str(beacon), "load", "demo"], env=env, check=True, stdout=subprocess.DEVNULL)
    return path


def start_server(store: Path, port: int, worker_class: str | None) -> subprocess.Popen:
    """The production gunicorn command on 127.0.0.1:port; waits until it answers."""
    from beacon.demo import DEMO_ACCESS_POLICY

    env = {**os.environ, "BEACON_STORE_URI": f"sqlite:///{store}", "BEACON_ACCESS_FILE": str(DEMO_ACCESS_POLICY)}
    env["BEACON_BASE_URL"] = f"http://127.0.0.1:{port}/api"
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "--config", "python:beacon.gunicorn_conf", "--bind", f"127.0.0.1:{port}"]
    command += ["--log-level", "error", "--access-logfile", "/dev/null"]
    command += ["--worker-class", worker_class] if worker_class else []
    command += [f"--env=PROMETHEUS_MULTIPROC_DIR={tempfile.mkdtemp(prefix='beacon-bench-metrics-')}"]
    server = subprocess.Popen([*command, "beacon.serve:production_app()"], env=env, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=1).read()
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("gunicorn did not start")


class SlowClients:
    """`count` connections that each trickle a request (or idle), driven by one thread."""

    def __init__(self, port: int, count: int, kind: str, trickle: float) -> None:
        self.port, self.count, self.kind, self.trickle = port, count, kind, trickle
        self.closed_by_server = 0
        self.statuses: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.opened = 0

    def _request(self) -> bytes:
        head = "POST /api/individuals HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        if self.kind == "body":
            return (head + "Content-Length: 4096\r\n\r\n").encode() + b" " * 4096
        return (head + "Content-Length: 2\r\n" + "X-Slow: " + "a" * 4000 + "\r\n\r\n{}").encode()

    def __enter__(self) -> SlowClients:
        self._thread.start()
        deadline = time.monotonic() + 30
        while self.opened < self.count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        pending: dict[socket.socket, bytes] = {}
        for _ in range(self.count):
            sock = socket.create_connection(("127.0.0.1", self.port))
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
            # The body clients send their headers at once and then trickle the body.
            data = self._request()
            if self.kind == "body":
                split = data.index(b"\r\n\r\n") + 4
                sock.sendall(data[:split])
                data = data[split:]
            pending[sock] = b"" if self.kind == "idle" else data
            self.opened += 1
        while pending and not self._stop.is_set():
            for sock, data in list(pending.items()):
                if data:
                    try:
                        sock.send(data[:1])
                        pending[sock] = data[1:]
                    except OSError:
                        pass
            self._read_answers(selector, pending, self.trickle)
        for sock in pending:
            selector.unregister(sock)
            sock.close()

    def _read_answers(self, selector: selectors.BaseSelector, pending: dict, timeout: float) -> None:
        for key, _ in selector.select(timeout):
            sock = key.fileobj
            try:
                answer = sock.recv(65536)
            except OSError:
                answer = b""
            status = answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/") else "closed"
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.closed_by_server += 1
            selector.unregister(sock)
            sock.close()
            pending.pop(sock, None)


def normal_requests(port: int, seconds: float) -> tuple[list[float], int]:
    """Latencies (ms) of normal requests sent one after another for `seconds`, and how many got no answer within 5 s."""
    latencies, failures, index = [], 0, 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        path = NORMAL_PATHS[index % len(NORMAL_PATHS)]
        index += 1
        time.sleep(0.02)
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
                answer.read()
            latencies.append((time.perf_counter() - started) * 1000)
        except OSError:
            failures += 1
    return latencies, failures


def report(phase: str, latencies: list[float], failures: int) -> None:
    """One line of figures."""
    if not latencies:
        print(f"{phase:<34} answered 0, failed {failures}")
        return
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    print(
        f"{phase:<34} answered {len(latencies):>3}, failed {failures:>3}; latency ms p50 "
        f"{statistics.median(ordered):7.1f}  p95 {p95:7.1f}  max {ordered[-1]:7.1f}"
    )


def main() -> None:
    """Run the phases and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slow", type=int, default=200, help="slow connections held open (default 200)")
    parser.add_argument("--trickle", type=float, default=0.5, help="seconds between a slow client's bytes")
    parser.add_argument("--hold", type=float, default=8.0, help="seconds each phase lasts (default 8)")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"slow client kinds ({', '.join(KINDS)})")
    parser.add_argument("--worker-class", help="gunicorn worker class instead of the configured one")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "beacon-slow-bench")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    store = build_demo_store(args.workdir)
    port = free_port()
    server = start_server(store, port, args.worker_class)
    try:
        print(f"worker class: {args.worker_class or 'configured (beacon.gunicorn_conf)'}; {args.slow} slow clients")
        report("no slow clients", *normal_requests(port, args.hold))
        for kind in args.kinds.split(","):
            with SlowClients(port, args.slow, kind, args.trickle) as clients:
                started = time.monotonic()
                report(f"{clients.opened} slow clients ({kind})", *normal_requests(port, args.hold))
                elapsed = time.monotonic() - started
            print(f"  after {elapsed:.1f} s the server had closed {clients.closed_by_server}: {clients.statuses}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
