"""The members' metadata: /info, /map, /configuration, /entry_types and /filtering_terms of each member,
fetched together (without the caller's token: metadata is public), validated against the Beacon v2.2
schemas, and refreshed periodically by a background thread.

A document that fails its schema is dropped and its problems are listed (the hub's /info shows them).
A member without a valid /map has no routes, so it is never queried. Routing follows each member's own
map: its URLs, its entry type ids.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urljoin

import jsonschema

from beacon.network.fanout import ANSWERED, Call, FanOut, Reply
from beacon.network.members import Member
from beacon.schemas import SchemaValidator, default_validator

log = logging.getLogger(__name__)

DOCUMENTS = ("info", "map", "configuration", "entry_types", "filtering_terms")
"""The metadata endpoints fetched from every member, by the schema name that checks them."""
METADATA_HEADERS = {"Accept": "application/json", "Cache-Control": "no-cache"}
_MAX_ERRORS = 10
RETRY_SECONDS = 30.0
"""Refresh interval while some member does not answer (the configured one when all do)."""
_PLACEHOLDER = re.compile(r"\{[^}]*\}")


@dataclass(frozen=True)
class MemberMetadata:
    """One member's valid metadata documents and the problems found in the others."""

    member: Member
    documents: Mapping[str, Any] = field(default_factory=dict)
    problems: tuple[Mapping[str, Any], ...] = ()
    answered: bool = False
    """Whether the member answered its /info with a JSON document (readiness counts these)."""

    @property
    def beacon_id(self) -> str | None:
        """The member's `meta.beaconId` from its /info (None when /info was not valid)."""
        info = self.documents.get("info")
        return info["meta"]["beaconId"] if info else None

    @property
    def endpoint_sets(self) -> Mapping[str, Mapping[str, Any]]:
        """The member's endpoint sets by entry type id (none unless its /map is valid)."""
        document = self.documents.get("map")
        if not document:
            return {}
        sets = document["response"]["endpointSets"].values()
        return {endpoint_set["entryType"]: endpoint_set for endpoint_set in sets}

    def route(self, entry_type: str, entry_id: str | None = None, child: str | None = None) -> str | None:
        """The member's URL for an entry type (and a record, and a related entry type), None if it has none."""
        endpoint_set = self.endpoint_sets.get(entry_type)
        if endpoint_set is None:
            return None
        if entry_id is None:
            template = endpoint_set.get("rootUrl")
        elif child is None:
            template = endpoint_set.get("singleEntryUrl")
        elif child == "filtering_terms":
            template = endpoint_set.get("filteringTermsUrl")
        else:
            related = (endpoint_set.get("endpoints") or {}).values()
            template = next((e.get("url") for e in related if e.get("returnedEntryType") == child), None)
        if not isinstance(template, str):
            return None
        filled = _PLACEHOLDER.sub(quote(entry_id, safe="") if entry_id is not None else "", template, count=1)
        return urljoin(self.member.url + "/", filled)


def fetch_metadata(fan_out: FanOut, members: Sequence[Member], budget: float) -> tuple[MemberMetadata, ...]:
    """Every member's metadata, fetched in parallel within `budget`, each document validated."""
    calls = [
        Call(member, member.endpoint(name) + "?limit=0", headers=METADATA_HEADERS)
        for member in members
        for name in DOCUMENTS
    ]
    replies = fan_out.ask_all(calls, budget)
    validator = default_validator()
    by_member = [replies[index : index + len(DOCUMENTS)] for index in range(0, len(replies), len(DOCUMENTS))]
    return tuple(_checked(member, batch, validator) for member, batch in zip(members, by_member, strict=True))


def _checked(member: Member, replies: Sequence[Reply], validator: SchemaValidator) -> MemberMetadata:
    documents: dict[str, Any] = {}
    problems = []
    for name, reply in zip(DOCUMENTS, replies, strict=True):
        errors = _document_errors(validator, name, reply)
        if errors:
            problems.append({"endpoint": f"/{name}", "url": member.endpoint(name), "errors": errors})
        else:
            documents[name] = reply.document
    info_answered = replies[0].outcome == ANSWERED and replies[0].status == 200
    return MemberMetadata(member, documents, tuple(problems), answered=info_answered)


def _document_errors(validator: SchemaValidator, name: str, reply: Reply) -> list[dict[str, str]]:
    if reply.outcome != ANSWERED:
        return [{"path": "(root)", "message": f"{reply.outcome}: {reply.message}"}]
    if reply.status != 200:
        return [{"path": "(root)", "message": f"HTTP status {reply.status}"}]
    errors = sorted(validator.framework_errors(name, reply.document), key=lambda e: list(map(str, e.absolute_path)))
    return [_described(error) for error in errors[:_MAX_ERRORS]]


def _described(error: jsonschema.ValidationError) -> dict[str, str]:
    path = ".".join(str(part) for part in error.absolute_path) or "(root)"
    message = error.message if len(error.message) <= 300 else error.message[:297] + "..."
    return {"path": path, "message": message}


class MemberBoard:
    """The latest metadata of every member, replaced as a whole by each refresh (readers never lock)."""

    def __init__(self, members: Sequence[Member], fan_out: FanOut, budget: float, interval: float) -> None:
        self.members = tuple(members)
        self._fan_out = fan_out
        self._budget = budget
        self._interval = interval
        self._current: tuple[MemberMetadata, ...] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def current(self) -> tuple[MemberMetadata, ...]:
        """The members' metadata (every member without documents until the first fetch has ended)."""
        return self._current if self._current is not None else tuple(MemberMetadata(m) for m in self.members)

    @property
    def fetched(self) -> bool:
        """Whether a first fetch has ended."""
        return self._current is not None

    def refresh(self) -> None:
        """Fetch every member's metadata now."""
        started = time.monotonic()
        self._current = fetch_metadata(self._fan_out, self.members, self._budget)
        problems = sum(len(metadata.problems) for metadata in self._current)
        log.info("members' metadata fetched in %.2f s: %d problem(s)", time.monotonic() - started, problems)

    def start(self) -> None:
        """Fetch now and then every `interval` seconds, in a background thread."""
        self._thread = threading.Thread(target=self._run, name="members-metadata", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop refreshing."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception:  # a refresh that fails must not end the refreshing
                log.exception("fetching the members' metadata failed")
            # A member that did not answer is tried again sooner: it may only have been restarting.
            everyone = all(metadata.answered for metadata in self.current)
            self._stop.wait(self._interval if everyone else min(self._interval, RETRY_SECONDS))
