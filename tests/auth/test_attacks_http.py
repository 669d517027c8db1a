"""The attack battery over HTTP: every credential gets a 401 or exactly the anonymous answer.

A beacon of three datasets, each shown differently to anonymous callers: OPEN (PUBLIC: records),
REGISTERED (boolean) and HIDDEN (CONTROLLED, invisible to anonymous callers; named, the 404 of an unknown
id). Each case of tests/auth/attacks.py is sent on data endpoints and metadata endpoints. REFUSED cases must be 401s on
every data endpoint; IGNORED cases must get the anonymous answer document for document, except for one
`info.warnings` note. Metadata endpoints never read the header: their bytes equal the anonymous ones.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from joserfc.jwk import ECKey, RSAKey

from beacon import create_app
from beacon.auth import TokenVerifier, Verdict
from beacon.schemas import default_validator
from beacon.settings import Settings
from beacon.store.sqlite import SqliteStore
from loaders.metadata import load_metadata
from tests.auth.attacks import DATASET_A, IGNORED, REFUSED, Env, bearer
from tests.auth.oidc_provider import BONA_FIDE_VISAS, OpenIdProvider, grant_visa

pytestmark = pytest.mark.oidc

OPEN, REGISTERED, HIDDEN = "open_ds", "registered_ds", "hidden_ds"
INDIVIDUALS = {OPEN: ("O1", "O2", "O3"), REGISTERED: ("R1", "R2"), HIDDEN: ("H1", "H2", "H3", "H4")}
POLICY = f"""\
default_level: CONTROLLED
datasets:
  {OPEN}: {{level: PUBLIC}}
  {REGISTERED}: {{level: REGISTERED}}
  {HIDDEN}: {{level: CONTROLLED, visas: ["{DATASET_A}"], granularity: {{anonymous: none}}}}
"""
RECORDS = {"requestedGranularity": "record", "includeResultsetResponses": "ALL", "limit": 10}
POST_BODY = {"meta": {"apiVersion": "v2.0"}, "query": {"requestedGranularity": "record", "filters": []}}

DATA_REQUESTS: tuple[tuple[str, str, dict[str, Any] | None], ...] = (
    ("GET", f"/api/individuals?{'&'.join(f'{k}={v}' for k, v in RECORDS.items())}", None),
    ("POST", "/api/individuals", POST_BODY),
    ("GET", "/api/datasets?requestedGranularity=record", None),
    ("GET", f"/api/datasets/{HIDDEN}/individuals?requestedGranularity=record", None),
    ("GET", "/api/individuals/H1?requestedGranularity=record", None),
    ("GET", f"/api/datasets/{HIDDEN}/filtering_terms", None),
)
METADATA_PATHS = ("/api", "/api/", "/api/info", "/api/service-info", "/api/map", "/api/configuration",
                  "/api/entry_types", "/api/filtering_terms")  # fmt: skip


@dataclass
class SwitchableVerifier:
    """Hands each request to the real TokenVerifier of the current test (one app serves every case)."""

    target: TokenVerifier | None = None

    def identify(self, authorization_header: str | None) -> Verdict:
        """The current verifier's verdict."""
        assert self.target is not None
        return self.target.identify(authorization_header)


@pytest.fixture(scope="module")
def env(op: OpenIdProvider, rogue_op: OpenIdProvider) -> Env:
    """The attacker's toolbox."""
    return Env(op, rogue_op, RSAKey.generate_key(2048), ECKey.generate_key("P-256"))


@pytest.fixture(scope="module")
def beacon(tmp_path_factory: pytest.TempPathFactory) -> tuple[FlaskClient, SwitchableVerifier]:
    """The three-dataset beacon and the verifier switch behind it."""
    directory = tmp_path_factory.mktemp("attacks-http")
    unknown_sex = {"id": "NCIT:C17998", "label": "Unknown"}
    files = {
        "datasets": [{"id": dataset, "name": f"{dataset} data"} for dataset in INDIVIDUALS],
        "individuals": [
            {"id": name, "sex": unknown_sex, "datasetId": dataset}
            for dataset, names in INDIVIDUALS.items()
            for name in names
        ],
    }
    for entity, records in files.items():
        (directory / f"{entity}.json").write_text(json.dumps(records), encoding="utf-8")
    store = SqliteStore(directory / "beacon.sqlite")
    load_metadata(store, [directory / f"{entity}.json" for entity in files], default_validator())
    (directory / "access.yaml").write_text(POLICY, encoding="utf-8")
    settings = Settings(
        store_uri=f"sqlite:///{directory / 'beacon.sqlite'}",
        base_url="http://beacon.test/api",
        access_file=directory / "access.yaml",
    )
    switch = SwitchableVerifier()
    return create_app(settings, store=store, verifier=switch).test_client(), switch


@pytest.fixture
def client(beacon: tuple[FlaskClient, SwitchableVerifier], make_verifier: Callable[..., TokenVerifier]) -> Iterator:
    """Builds the test client for a verifier configuration (AuthConfig overrides)."""
    test_client, switch = beacon

    def use(**config: Any) -> FlaskClient:
        switch.target = make_verifier(**config)
        return test_client

    yield use
    switch.target = None


def send(client: FlaskClient, request: tuple[str, str, dict[str, Any] | None], header: str | None) -> Any:
    """One request, with `header` as the Authorization header when given."""
    method, path, body = request
    headers = {} if header is None else {"Authorization": header}
    return client.open(path, method=method, json=body, headers=headers)


def without_warnings(document: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The document without `info.warnings` (and without `info` if that was all), and those warnings."""
    info = dict(document.get("info") or {})
    warnings = info.pop("warnings", [])
    rest = {key: value for key, value in document.items() if key != "info"}
    return (rest | {"info": info} if info else rest), warnings


def test_the_cases_are_either_refused_or_ignored() -> None:
    """No case is in both lists, so each has one expected outcome."""
    assert not set(REFUSED) & set(IGNORED)


@pytest.mark.parametrize("name", [*REFUSED, *IGNORED])
def test_a_credential_gets_a_401_or_exactly_the_anonymous_answer(
    name: str, env: Env, client: Callable[..., FlaskClient]
) -> None:
    """Never more than anonymous: REFUSED cases are 401s, IGNORED ones the anonymous answers plus one note."""
    case = (REFUSED | IGNORED)[name](env)
    beacon = client(**case.config)
    for request in DATA_REQUESTS:
        anonymous, answer = send(beacon, request, None), send(beacon, request, case.header)
        if name in REFUSED:
            assert answer.status_code == 401, request
            assert answer.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
            assert case.token[:24] not in answer.get_data(as_text=True)
            continue
        assert answer.status_code == anonymous.status_code, request
        document, warnings = without_warnings(answer.get_json())
        expected, anonymous_warnings = without_warnings(anonymous.get_json())
        assert document == expected, request
        if anonymous.status_code == 200:
            (note,) = set(warnings) - set(anonymous_warnings)
            assert note.startswith("the bearer token was ignored")
    for path in METADATA_PATHS:
        anonymous, answer = beacon.get(path), beacon.get(path, headers={"Authorization": case.header})
        assert (answer.status_code, answer.get_data()) == (200, anonymous.get_data()), path


def test_controls_a_genuine_token_sees_more_and_is_not_noted(
    env: Env, client: Callable[..., FlaskClient], op: OpenIdProvider
) -> None:
    """The comparison can fail: a genuine granted token sees the HIDDEN dataset, with no ignored-token note."""
    beacon = client()
    granted = bearer(op.token(op.add_account(visas=[*BONA_FIDE_VISAS, grant_visa(DATASET_A)])))
    individuals = send(beacon, DATA_REQUESTS[0], granted).get_json()
    anonymous = send(beacon, DATA_REQUESTS[0], None).get_json()
    counts = {result["id"]: result["resultsCount"] for result in individuals["response"]["resultSets"]}
    assert counts == {dataset: len(names) for dataset, names in INDIVIDUALS.items()}
    assert {result["id"] for result in anonymous["response"]["resultSets"]} == {OPEN, REGISTERED}  # HIDDEN: none
    assert "info" not in individuals
    assert send(beacon, DATA_REQUESTS[3], granted).status_code == 200
    assert send(beacon, DATA_REQUESTS[3], None).status_code == 404  # as an unknown dataset


def test_an_ignored_token_is_logged_with_the_reason_and_never_the_token(
    env: Env, client: Callable[..., FlaskClient], caplog: pytest.LogCaptureFixture
) -> None:
    """One INFO line says why the token was ignored (naming the untrusted issuer); no part of the token appears."""
    token = env.rogue.token(env.rich(env.rogue))
    with caplog.at_level(logging.DEBUG):
        answer = send(client(), DATA_REQUESTS[0], bearer(token)).get_json()
    (line,) = [record for record in caplog.records if "bearer token ignored" in record.getMessage()]
    assert line.levelno == logging.INFO
    assert f"{env.rogue.issuer!r} is not trusted" in line.getMessage()
    assert f"{env.rogue.issuer!r} is not trusted" in answer["info"]["warnings"][0]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert not [part for part in token.split(".") if part in logged]
