"""How the MongoDB store connects: client options from the store URI, and the database's durability.

Every read goes to the primary with read concern `majority`, and every write waits for
`w: majority, j: true`. Anything weaker breaks the store's protocol (`mongo_state`): with
`readPreference=secondary...` the state document and the records could be read from different members
(a pointer to a version a lagging member does not have yet), and with `w: 1` a pointer switch could be
rolled back after a failover while the version it replaced is deleted. So a store URI that asks for a
weaker read preference, read concern or write concern is refused with a message saying why, and the
database object is opened with the strong settings whatever client it comes from.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from pymongo import MongoClient, ReadPreference, WriteConcern
from pymongo.database import Database
from pymongo.read_concern import ReadConcern

SERVER_SELECTION_TIMEOUT_MS = 2000
MAX_SERVER_SELECTION_TIMEOUT_MS = 4000  # the whole request has a 5 s network budget
DURABLE_WRITES = WriteConcern("majority", j=True)
MAJORITY_READS = ReadConcern("majority")
_REFUSED = {
    "readpreference": ({"primary"}, "reads must go to the primary (readPreference=primary)"),
    "w": ({"majority"}, "writes must be acknowledged by a majority (w=majority)"),
    "journal": ({"true"}, "writes must be journaled (journal=true)"),
    "j": ({"true"}, "writes must be journaled (j=true)"),
    "readconcernlevel": ({"majority", "linearizable"}, "reads must see majority-committed data"),
}


def client_options(query: str) -> dict[str, Any]:
    """Options for MongoClient from the URI's query: durable, primary, bounded; ValueError for weaker ones."""
    pairs = parse_qsl(query)
    given = {key.lower(): value for key, value in pairs}
    for key, value in pairs:
        allowed, why = _REFUSED.get(key.lower(), (None, ""))
        if allowed is not None and value.lower() not in allowed:
            raise ValueError(
                f"{key}={value} in the store URI is refused: {why}, or readers could see a pointer "
                "to data a member does not have (remove the option)"
            )
    options: dict[str, Any] = {"w": "majority", "journal": True, "readPreference": "primary"}
    if "appname" not in given:
        options["appname"] = "beacon"
    selection = given.get("serverselectiontimeoutms")
    if selection is None:
        options["serverSelectionTimeoutMS"] = SERVER_SELECTION_TIMEOUT_MS
    elif not selection.isdigit() or int(selection) > MAX_SERVER_SELECTION_TIMEOUT_MS:
        raise ValueError(
            f"serverSelectionTimeoutMS={selection} in the store URI: use at most {MAX_SERVER_SELECTION_TIMEOUT_MS} "
            "(the beacon answers within a 5 s network budget)"
        )
    if "connecttimeoutms" not in given:
        options["connectTimeoutMS"] = SERVER_SELECTION_TIMEOUT_MS
    return options


def durable_database(client: MongoClient, name: str) -> Database:
    """The named database with primary reads, majority read concern and `w: majority, j: true` writes."""
    return client.get_database(
        name,
        read_preference=ReadPreference.PRIMARY,
        read_concern=MAJORITY_READS,
        write_concern=DURABLE_WRITES,
    )
