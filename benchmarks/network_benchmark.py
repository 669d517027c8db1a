"""Network mode benchmark: the hub's overhead on top of its slowest member, and its throughput.

    python -m benchmarks.network_benchmark [--members 30] [--requests 300] [--throughput-members 5]
                                           [--seconds 10] [--clients 8] [--hub-workers 2]

1. Overhead: a hub (`beacon network serve`) over `--members` stub members (tests/network/stub_member.py,
   `fixed` mode: a fixed valid count answer, so members cost little) on loopback. `--requests` queries
   are sent one after another; for each, the overhead is the hub's latency seen by the client minus the
   slowest member's latency, as the hub's `info.members[].milliseconds` reports it. Prints p50/p90/p99.
2. Throughput: a hub over `--throughput-members` stubs, `--clients` client threads for `--seconds`.
   Prints the hub's requests/s, the outgoing member requests/s, and the CPU seconds used by the hub
   (gunicorn master and workers), the members (the stub process) and the load generator.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.auth.oidc_provider import free_port
from tests.network.stub_member import free_ports

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
QUERY = "/api/individuals?requestedGranularity=count&includeResultsetResponses=ALL"


def _environment(**variables: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BEACON_", "PROMETHEUS_"))}
    return env | variables


def _wait(url: str, process: subprocess.Popen, seconds: float = 120, answering: int = 0) -> None:
    """Until `url` answers 200 (and, for a hub's readiness, `answering` members answer)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200 and response.json().get("membersAnswering", 0) >= answering:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


@contextmanager
def stub_members(count: int) -> Iterator[tuple[subprocess.Popen, list[int]]]:
    """One stub process serving `count` fixed members."""
    ports = free_ports(count)
    command = [sys.executable, "-m", "tests.network.stub_member", *(f"fixed:{port}" for port in ports)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        _wait(f"http://127.0.0.1:{ports[-1]}/api/info", process)
        yield process, ports
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def hub(ports: list[int], workers: int, directory: Path) -> Iterator[tuple[subprocess.Popen, int]]:
    """`beacon network serve` over the stubs on `ports`; yields the process and the hub's port."""
    members = directory / f"members-{len(ports)}.yaml"
    members.write_text(json.dumps([{"url": f"http://127.0.0.1:{port}/api", "name": f"m{port}"} for port in ports]))
    port = free_port()
    command = [str(BIN / "beacon"), "network", "serve", "--members", str(members), "--port", str(port),
               "--workers", str(workers)]  # fmt: skip
    env = _environment(BEACON_BASE_URL=f"http://127.0.0.1:{port}/api")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(f"http://127.0.0.1:{port}/health/ready", process, answering=len(ports))
        yield process, port
    finally:
        process.terminate()
        process.wait(20)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its (waited-for or living) children."""
    total = 0.0
    for task in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{task}/stat").read_text().rsplit(") ", 1)[1].split()
        except OSError:
            continue
        total += sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return total


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def overhead(members: int, requests: int, workers: int, directory: Path) -> None:
    """Part 1: hub latency minus the slowest member's, per request."""
    with stub_members(members) as (_, ports), hub(ports, workers, directory) as (_, port):
        overheads, latencies = [], []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for _ in range(20):  # warm the pools of every worker
                client.get(QUERY)
            for _ in range(requests):
                started = time.perf_counter()
                document = client.get(QUERY).json()
                elapsed = (time.perf_counter() - started) * 1000
                slowest = max(member["milliseconds"] for member in document["info"]["members"])
                assert all(member["outcome"] == "answered" for member in document["info"]["members"])
                latencies.append(elapsed)
                overheads.append(elapsed - slowest)
    print(f"overhead with {members} members, {requests} sequential requests, hub workers {workers}:")
    for name, values in (("hub latency", latencies), ("hub overhead over slowest member", overheads)):
        p50, p90, p99 = (percentile(values, f) for f in (0.5, 0.9, 0.99))
        mean = statistics.mean(values)
        print(f"  {name:34} p50 {p50:6.1f} ms  p90 {p90:6.1f} ms  p99 {p99:6.1f} ms  mean {mean:6.1f} ms")


def throughput(members: int, seconds: float, clients: int, workers: int, directory: Path) -> None:
    """Part 2: requests/s with `clients` threads, and where the CPU went."""
    with stub_members(members) as (stubs, ports), hub(ports, workers, directory) as (hub_process, port):
        done: list[int] = []
        stop = threading.Event()

        def load() -> None:
            count = 0
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                while not stop.is_set():
                    assert client.get(QUERY).status_code == 200
                    count += 1
            done.append(count)

        hub_before, stubs_before, own_before = cpu_seconds(hub_process.pid), cpu_seconds(stubs.pid), _own_cpu()
        threads = [threading.Thread(target=load) for _ in range(clients)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        hub_cpu = cpu_seconds(hub_process.pid) - hub_before
        stub_cpu = cpu_seconds(stubs.pid) - stubs_before
        own_cpu = _own_cpu() - own_before
    rate = sum(done) / elapsed
    print(f"throughput with {members} members, {clients} client threads, {elapsed:.1f} s, hub workers {workers}:")
    print(f"  hub: {rate:.1f} requests/s; outgoing member requests: {rate * members:.1f}/s")
    total = hub_cpu + stub_cpu + own_cpu
    for name, value in (("hub", hub_cpu), ("members (stubs)", stub_cpu), ("load generator", own_cpu)):
        print(f"  CPU {name:16} {value:6.1f} s  ({100 * value / total:4.1f} % of the CPU used; "
              f"{value / elapsed:4.2f} cores)")  # fmt: skip


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def main() -> None:
    """Run both parts with the command line's sizes."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=30)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--throughput-members", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--hub-workers", type=int, default=2)
    arguments = parser.parse_args()
    print(f"cpus: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as directory:
        overhead(arguments.members, arguments.requests, arguments.hub_workers, Path(directory))
        throughput(arguments.throughput_members, arguments.seconds, arguments.clients, arguments.hub_workers,
                   Path(directory))  # fmt: skip


if __name__ == "__main__":
    main()
