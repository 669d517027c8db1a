"""Network mode: a hub that answers the Beacon v2 API by asking its member beacons (see docs/network.md).

`create_network_app(settings, members)` wires the hub's Flask app; `beacon.network.serve` runs it
under gunicorn (`beacon network serve --members MEMBERS.yaml`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from beacon.network.fanout import FanOut
from beacon.network.members import Member, MembersError, load_members
from beacon.network.metadata import MemberBoard
from beacon.query.framework import BeaconIdentity
from beacon.query.limits import RequestLimits
from beacon.settings import Settings

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["Member", "MembersError", "NetworkContext", "create_network_app", "load_members"]


@dataclass(frozen=True)
class NetworkContext:
    """The hub's collaborators; stored in `app.extensions["beacon"]` like a beacon's (the error pages read it)."""

    settings: Settings
    identity: BeaconIdentity
    board: MemberBoard
    fan_out: FanOut

    @property
    def request_limits(self) -> RequestLimits:
        """Bounds on bodies, URLs, JSON nesting and filters from the settings."""
        return RequestLimits.from_settings(self.settings)


def create_network_app(
    settings: Settings | None = None, members: Sequence[Member] | None = None, *, refresh: bool = True
) -> Flask:
    """The hub's Flask app; members default to BEACON_NETWORK_MEMBERS' file; `refresh` starts the metadata thread."""
    from flask import Flask
    from flask_cors import CORS

    from beacon import logs
    from beacon.api import context, errors, limits
    from beacon.network import api, operations
    from beacon.network.documents import hub_identity

    settings = settings or Settings.from_env()
    if members is None:
        if settings.network_members is None:
            raise MembersError("BEACON_NETWORK_MEMBERS: the members file is not set")
        members = load_members(settings.network_members)
    app = Flask(__name__)
    app.json.sort_keys = False
    app.url_map.merge_slashes = False
    member_metrics = operations.init_app(app)
    # Enough threads for every member of every request a worker's threads may be answering at once: a call
    # queued behind slow members' calls would start late and be reported as a timeout.
    fan_out = FanOut(pool_size=min(512, max(32, 16 * len(members))), observe=member_metrics.observe)
    budget = settings.network_budget
    board = MemberBoard(members, fan_out, budget, settings.network_refresh)
    identity = hub_identity(settings.info, settings.environment, settings.base_url)
    app.extensions[context.EXTENSION_KEY] = NetworkContext(settings, identity, board, fan_out)
    logs.init_app(app)
    errors.init_app(app)
    limits.init_app(app, settings.max_body_bytes)
    CORS(app, resources={r"/api/*": {"origins": "*"}}, methods=["GET", "POST", "OPTIONS"],
         allow_headers=["Authorization", "Content-Type"], send_wildcard=True)  # fmt: skip
    app.register_blueprint(api.bp, url_prefix="/api")
    if refresh:
        board.start()
    return app
