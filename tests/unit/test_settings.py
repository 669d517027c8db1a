"""Settings: built from BEACON_* variables, invalid values name the variable, all documented in README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from beacon.settings import SETTINGS, Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def test_defaults_need_no_environment():
    settings = Settings.from_env({})
    assert settings.store_uri == "sqlite:///var/beacon.sqlite"
    assert settings.access_file is None
    assert settings.max_limit == 1000


def test_values_come_from_the_environment(tmp_path):
    info = tmp_path / "info.yaml"
    info.write_text("id: eu.example.beacon\nname: Example\n")
    settings = Settings.from_env(
        {
            "BEACON_STORE_URI": "mongodb://db:27017/beacon",
            "BEACON_BASE_URL": "https://beacon.example.org/api",
            "BEACON_INFO_FILE": str(info),
            "BEACON_OIDC_ISSUERS": "https://login.elixir-czech.org/oidc/, https://idp.example.nl",
            "BEACON_OIDC_AUDIENCES": "beacon-client",
            "BEACON_HTTP_TIMEOUT": "1.5",
        }
    )
    assert settings.store_uri == "mongodb://db:27017/beacon"
    assert settings.info["id"] == "eu.example.beacon"
    assert settings.oidc_issuers == ("https://login.elixir-czech.org/oidc/", "https://idp.example.nl")
    assert settings.http_timeout == 1.5


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BEACON_STORE_URI", "postgres://db"),
        ("BEACON_STORE_URI", "sqlite:///"),
        ("BEACON_BASE_URL", "beacon.example.org/api"),
        ("BEACON_INFO_FILE", "/no/such/file.json"),
        ("BEACON_ACCESS_FILE", "/no/such/policy.yaml"),
        ("BEACON_ENVIRONMENT", "production"),
        ("BEACON_REGISTERED_REQUIRES", "everyone"),
        ("BEACON_HTTP_TIMEOUT", "soon"),
        ("BEACON_HTTP_TIMEOUT", "3"),
        ("BEACON_MAX_LIMIT", "lots"),
        ("BEACON_DEFAULT_LIMIT", "0"),
        ("BEACON_OIDC_ISSUERS", "ftp://idp"),
    ],
)
def test_invalid_settings_name_the_variable(variable, value):
    environ = {variable: value}
    if variable == "BEACON_OIDC_ISSUERS":
        environ["BEACON_OIDC_AUDIENCES"] = "beacon"
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env(environ)


def test_issuers_need_audiences():
    with pytest.raises(SettingsError, match="BEACON_OIDC_AUDIENCES"):
        Settings.from_env({"BEACON_OIDC_ISSUERS": "https://idp.example.org"})


def test_settings_are_frozen():
    settings = Settings.from_env({})
    with pytest.raises(AttributeError):
        settings.store_uri = "sqlite:///other.sqlite"  # type: ignore[misc]


def readme_settings_table() -> dict[str, tuple[str, str]]:
    """README's configuration table: variable -> (default column, meaning column)."""
    rows = re.findall(r"^\| `(BEACON_[A-Z_]+)` \| (.*?) \| (.*) \|$", README.read_text(), flags=re.MULTILINE)
    return {name: (default, meaning) for name, default, meaning in rows}


def test_every_setting_is_documented_in_the_readme():
    declared = {spec.env: spec for spec in SETTINGS}
    table = readme_settings_table()
    assert set(table) == set(declared)
    for name, (default, meaning) in table.items():
        assert default == (f"`{declared[name].default}`" if declared[name].default else "(unset)"), name
        assert meaning == declared[name].help, name


# Variables the docs name that are not settings of the beacon, and where each is really read.
NOT_SETTINGS = {
    "BEACON_TEST_MONGO_URI": "the test suite's real MongoDB server (tests/ci_skips.py)",
    "BEACON_API_PASSWORD": "docker/compose.yml: the read-only MongoDB user's password",
    "BEACON_LOADER_PASSWORD": "docker/compose.yml: the loader's MongoDB user's password",
    "BEACON_MONGO_USER": "docker/store_uri.py: the user of the store URI it builds",
    "BEACON_MONGO_PASSWORD": "docker/store_uri.py: the password it percent-encodes into that URI",
    "BEACON_MONGO_LOCATION": "docker/store_uri.py: host, port, database and options of that URI",
}


def test_every_variable_the_docs_name_is_a_setting_or_read_where_they_say():
    from tests.ci_skips import MONGO_VARIABLE

    documents = [README, *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "docker").iterdir())]
    named = {name for path in documents for name in re.findall(r"\bBEACON_[A-Z][A-Z_]*[A-Z]\b", path.read_text())}
    assert named - {spec.env for spec in SETTINGS} == set(NOT_SETTINGS)
    assert MONGO_VARIABLE == "BEACON_TEST_MONGO_URI"
    compose = (ROOT / "docker" / "compose.yml").read_text()
    assert "${BEACON_API_PASSWORD}" in compose and "${BEACON_LOADER_PASSWORD}" in compose


def test_every_setting_sets_one_field_and_every_field_has_a_setting():
    import dataclasses

    fields = {field.name for field in dataclasses.fields(Settings)}
    assert sorted(spec.field_name for spec in SETTINGS) == sorted(fields)
