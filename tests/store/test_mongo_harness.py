"""The real-server harness (`make test-mongo`) is wired as README says, checked without Docker.

It cannot run on the CI machines (no MongoDB server can be installed there); what can be checked here
is that the compose file starts MongoDB 7 as a replica set with the failpoints enabled, that the
members it announces are the ones the tests connect to, and that the target sets the URI and cleans up.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_the_compose_file_starts_a_mongodb_7_replica_set_with_test_commands():
    compose = yaml.safe_load((ROOT / "docker" / "compose.test-mongo.yml").read_text())
    members = compose["services"]
    assert len(members) == 3
    ports = []
    for member in members.values():
        command = member["command"]
        assert member["image"] == "mongo:7.0" and member["network_mode"] == "host"
        assert command[command.index("--replSet") + 1] == "rs0" and "enableTestCommands=1" in command
        ports.append(command[command.index("--port") + 1])
    initiate = " ".join(members["mongo1"]["healthcheck"]["test"])
    assert sorted(re.findall(r'host: "localhost:(\d+)"', initiate)) == sorted(ports)  # announced = listened on
    assert initiate.count("priority: 0") == 2  # the secondaries never take over from the primary


def test_make_test_mongo_sets_the_uri_runs_the_store_tests_and_removes_the_servers():
    makefile = (ROOT / "Makefile").read_text()
    target = makefile[makefile.index("test-mongo: ") :].split("\n\n", 1)[0]
    assert "up -d --wait" in target and "down -v" in target and "exit $$status" in target
    assert "BEACON_TEST_MONGO_URI='$(TEST_MONGO_URI)'" in target and "tests/store" in target
    assert "TEST_MONGO_URI ?= mongodb://localhost:27117/?replicaSet=rs0" in makefile
