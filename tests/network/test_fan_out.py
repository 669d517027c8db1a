"""The hub's calls to members, against real stub processes: keep-alive reuse, a member's own time limit,
and the members file."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from beacon.network.fanout import ANSWERED, ERROR, TIMEOUT, Call, FanOut
from beacon.network.members import Member, load_members
from beacon.network.pool import ConnectionPool
from tests.network.conftest import ROOT
from tests.network.stub_member import free_ports, stub_id


def start_stubs(*pairs: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "tests.network.stub_member", *pairs], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(10)


@pytest.fixture
def ports() -> list[int]:
    return free_ports(2)


@pytest.fixture
def stubs(ports: list[int]) -> Iterator[subprocess.Popen]:
    process = start_stubs(f"fixed:{ports[0]}", f"slow:{ports[1]}")
    yield process
    stop(process)


def test_a_connection_the_member_closed_while_idle_is_replaced(ports):
    pool = ConnectionPool()
    url = f"http://127.0.0.1:{ports[0]}/api/individuals"
    first = start_stubs(f"fixed:{ports[0]}")
    try:
        assert pool.request("GET", url, None, {}, 5).status == 200  # its connection now waits in the pool
    finally:
        stop(first)  # the member restarts: the pooled connection is dead
    second = start_stubs(f"fixed:{ports[0]}")
    try:
        answer = pool.request("GET", url, None, {}, 5)
        assert answer.status == 200 and stub_id(ports[0]).encode() in answer.body
    finally:
        stop(second)
        pool.close()


def test_each_member_gets_its_own_time_limit_and_a_closed_port_is_an_error(stubs, ports):
    down = free_ports(1)[0]
    fan_out = FanOut(pool_size=4)
    members = [Member(f"http://127.0.0.1:{ports[0]}/api", "fixed"),
               Member(f"http://127.0.0.1:{ports[1]}/api", "slow", timeout=0.5),
               Member(f"http://127.0.0.1:{down}/api", "down")]  # fmt: skip
    try:
        replies = fan_out.ask_all([Call(member, member.url + "/individuals") for member in members], budget=10)
    finally:
        fan_out.close()
    assert [reply.outcome for reply in replies] == [ANSWERED, TIMEOUT, ERROR]
    assert replies[0].document["meta"]["beaconId"] == stub_id(ports[0])
    assert replies[1].message == "no answer within 0.5 s"
    assert "Connection" in replies[2].message or "refused" in replies[2].message


def test_a_members_file_with_names_and_timeouts(tmp_path: Path):
    members = tmp_path / "members.yaml"
    members.write_text("- url: https://a.example/api/\n- url: http://b.example:8080/beacon/api\n"
                       "  name: Node B\n  timeout: 2\n")  # fmt: skip
    assert load_members(members) == (
        Member("https://a.example/api", "a.example"),
        Member("http://b.example:8080/beacon/api", "Node B", 2.0),
    )
