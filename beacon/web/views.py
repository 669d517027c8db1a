"""The lookup page at `/`: one search box, yes / no / cannot tell per dataset, frequencies as table and chart."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, current_app, render_template, request

from beacon.api.context import beacon_context
from beacon.web import auth
from beacon.web.answer import CANNOT_TELL, DatasetAnswer, dataset_answers
from beacon.web.api_call import ApiAnswer, call_api
from beacon.web.chart import frequency_chart
from beacon.web.search_input import EXAMPLES, GENE_PARAMETER, InputError, Lookup, parse_search

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static/web")
PAGE_SIZE = 10
_NODE_KEY = "beacon_web_node"
_PREFERRED_ASSEMBLIES = ("GRCh38", "GRCh37")


@dataclass
class Search:
    """One search as the page shows it."""

    text: str
    lookup: Lookup | None = None
    error: str = ""
    answers: list[DatasetAnswer] = field(default_factory=list)
    api_url: str = ""
    page: int = 1
    has_next: bool = False
    notes: list[str] = field(default_factory=list)


@bp.route("/")
def index() -> Any:
    """The page: the search form, and the answer when the URL carries a search (`/?q=…&assembly=…`)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    assemblies = _assemblies()
    assembly = request.args.get("assembly", "")
    if assembly not in assemblies:
        assembly = next((name for name in _PREFERRED_ASSEMBLIES if name in assemblies), "") or (assemblies or [""])[0]
    text = request.args.get("q", "").strip()
    search = _search(app, text, assembly, _page_number(request.args.get("page"))) if text else None
    page = render_template(
        "index.html",
        node=_node(app),
        user=auth.current_user(),
        login_enabled=auth.login_enabled(),
        login_error=auth.login_error_message(request.args.get("login_error", "")),
        assemblies=assemblies,
        assembly=assembly,
        search=search,
        examples=EXAMPLES,
        chart=frequency_chart,
        CANNOT_TELL=CANNOT_TELL,
    )
    return page, 400 if search is not None and search.error else 200


def _assemblies() -> list[str]:
    try:
        return sorted(beacon_context().store.variant_assemblies())
    except Exception:  # the store is unavailable: the API answers that itself when asked
        return []


def _page_number(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and 0 < int(raw) < 100_000 else 1


def _node(app: Flask) -> dict[str, Any]:
    # /info is fixed for the life of the process (it comes from the settings): ask it once per app.
    if _NODE_KEY not in app.extensions:
        app.extensions[_NODE_KEY] = _node_from_info(app)
    return app.extensions[_NODE_KEY]


def _node_from_info(app: Flask) -> dict[str, Any]:
    info = call_api(app, "/info", {}).document.get("response", {})
    organisation = info.get("organization") or {}
    return {
        "name": info.get("name", "Beacon"),
        "description": info.get("description", ""),
        "organisation": organisation.get("name", ""),
        "logo": organisation.get("logoUrl", ""),
        "contact": organisation.get("contactUrl", ""),
        "welcome": organisation.get("welcomeUrl") or info.get("welcomeUrl", ""),
    }


def _search(app: Flask, text: str, assembly: str, page: int) -> Search:
    search = Search(text=text, page=page)
    try:
        search.lookup = parse_search(text, assembly if len(_assemblies()) > 1 else None)
    except InputError as error:
        search.error = str(error)
        return search
    parameters = {
        **search.lookup.parameters,
        "requestedGranularity": "record",
        "includeResultsetResponses": "ALL",
        "skip": str((page - 1) * PAGE_SIZE),
        "limit": str(PAGE_SIZE),
    }
    answer = _ask(app, parameters, search)
    search.api_url = answer.url
    if answer.ok:
        names = _dataset_names(app)
        search.answers = dataset_answers(answer.document, names)
        search.has_next = any((a.count or 0) > page * PAGE_SIZE for a in search.answers)
    elif _lacks_gene_annotations(search.lookup):
        search.answers = [
            DatasetAnswer("*", "Every dataset of this node", CANNOT_TELL, "boolean", reason=answer.error_message)
        ]
    else:
        search.error = answer.error_message or f"the API answered {answer.status}"
    return search


def _ask(app: Flask, parameters: dict[str, str], search: Search) -> ApiAnswer:
    token = auth.current_token()
    answer = call_api(app, "/g_variants", parameters, token)
    if answer.status == 401 and token:
        # The token expired or was revoked since the login: answer as anonymous and say so.
        auth.end_session()
        search.notes.append("Your login has expired: this is the answer for anonymous users. Please log in again.")
        answer = call_api(app, "/g_variants", parameters)
    return answer


def _dataset_names(app: Flask) -> dict[str, str]:
    listing = call_api(
        app, "/datasets", {"requestedGranularity": "record", "limit": "1000"}, auth.current_token()
    ).document
    names = {}
    for result_set in listing.get("response", {}).get("resultSets", []):
        for record in result_set.get("results", []):
            names[str(record.get("id"))] = str(record.get("name") or record.get("id"))
    for record in listing.get("response", {}).get("collections", []):
        names[str(record.get("id"))] = str(record.get("name") or record.get("id"))
    return names


def _lacks_gene_annotations(lookup: Lookup) -> bool:
    try:
        annotations = beacon_context().store.variant_annotations()
    except Exception:
        return False
    return GENE_PARAMETER in lookup.parameters and GENE_PARAMETER not in annotations
