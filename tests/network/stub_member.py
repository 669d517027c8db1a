"""Small member beacons for the network tests and benchmark: real processes with real sockets.

`python -m tests.network.stub_member MODE:PORT [MODE:PORT...]` serves, on each port of 127.0.0.1, a member
whose metadata (/info, /map, /configuration, /entry_types, /filtering_terms) is valid, except in
`invalid-map` mode, and whose entry endpoints answer:

- `fixed`: a fixed valid count answer (one dataset, one result) at once (the benchmark's members);
- `slow`: the same after sleeping SLOW_SECONDS (far past any budget);
- `invalid-json`: 200 with a body that is not JSON;
- `invalid-map`: the fixed answer, but its /map has no endpointSets (a hub must never ask it).
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from beacon.errors import API_VERSION
from beacon.query import framework
from beacon.query.entry_types import EntryTypeRegistry
from beacon.query.framework import BeaconIdentity

MODES = ("fixed", "slow", "invalid-json", "invalid-map")
SLOW_SECONDS = 30.0
STUB_DATASET = "stub-dataset"


def free_ports(count: int) -> list[int]:
    """`count` different TCP ports of 127.0.0.1 that nothing listens on right now."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def stub_id(port: int) -> str:
    """The beaconId of the stub on a port."""
    return f"org.example.stub-{port}"


def metadata_documents(port: int, mode: str) -> dict[str, Any]:
    """The stub's metadata documents by endpoint name."""
    identity = BeaconIdentity.from_info(
        {"id": stub_id(port), "name": f"Stub member {port}"}, "dev", f"http://127.0.0.1:{port}/api"
    )
    registry = EntryTypeRegistry()
    beacon_map = framework.build_map(identity, registry)
    if mode == "invalid-map":
        beacon_map["response"] = {"$schema": framework.SCHEMA_2020_12}  # endpointSets is required
    return {
        "info": framework.build_info(identity),
        "map": beacon_map,
        "configuration": framework.build_configuration(identity, registry, ["PUBLIC"]),
        "entry_types": framework.build_entry_types(identity, registry),
        "filtering_terms": framework.build_filtering_terms(identity, [], registry),
    }


def fixed_answer(port: int) -> dict[str, Any]:
    """A valid count answer: one dataset with one result."""
    summary = {
        "apiVersion": API_VERSION,
        "requestedSchemas": [],
        "pagination": {"skip": 0, "limit": 10},
        "requestedGranularity": "count",
    }
    return {
        "meta": {
            "beaconId": stub_id(port),
            "apiVersion": API_VERSION,
            "returnedGranularity": "count",
            "receivedRequestSummary": summary,
            "returnedSchemas": [],
        },
        "responseSummary": {"exists": True, "numTotalResults": 1},
        "response": {"resultSets": [{"id": STUB_DATASET, "setType": "dataset", "exists": True, "resultsCount": 1}]},
    }


def handler_for(port: int, mode: str) -> type[BaseHTTPRequestHandler]:
    """The request handler of one stub (bodies prepared once)."""
    documents = metadata_documents(port, mode).items()
    metadata = {f"/api/{name}": json.dumps(document).encode() for name, document in documents}
    answer = b"this is not JSON {" if mode == "invalid-json" else json.dumps(fixed_answer(port)).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real members

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._answer()

        def _answer(self) -> None:
            path = self.path.split("?", 1)[0]
            if path in metadata:
                return self._send(metadata[path])
            if mode == "slow":
                time.sleep(SLOW_SECONDS)
            self._send(answer)

        def _send(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            """Silent: the benchmark sends many requests."""

    return Handler


def main(arguments: list[str]) -> None:
    """Serve each MODE:PORT until killed."""
    pairs = [argument.partition(":")[::2] for argument in arguments]
    if not pairs or any(mode not in MODES or not port.isdigit() for mode, port in pairs):
        raise SystemExit(f"usage: stub_member MODE:PORT [MODE:PORT...], MODE one of {', '.join(MODES)}")
    for mode, port in pairs:
        server = ThreadingHTTPServer(("127.0.0.1", int(port)), handler_for(int(port), mode))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1:])
