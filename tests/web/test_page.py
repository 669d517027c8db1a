"""The lookup page in-process (Flask's client over the demo store): what it shows without a browser, what it
leaves out (scripts, resources from elsewhere), cannot tell, escaping, and the login's guards."""

from __future__ import annotations

import re
import shutil
from html import escape
from pathlib import Path

from flask.testing import FlaskClient

from beacon import create_app
from beacon.web.answer import format_percent
from beacon.web.populations import label
from tests.conftest import DATA_DIR, DEMO_DATASET, make_settings
from tests.web.browser import add_dataset


def page(client: FlaskClient, status: int = 200, **query: str) -> str:
    response = client.get("/", query_string=query)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def test_the_start_page_says_what_this_is_and_how_positions_count(client: FlaskClient) -> None:
    html = page(client)
    assert "Is this variant known here" in html and "1-based" in html
    assert '<label for="q">' in html and 'id="q"' in html
    assert "GRCh37" in html  # the one assembly the demo serves is named, with no choice to make
    assert '<select id="assembly"' not in html


def test_the_page_needs_no_script_and_nothing_from_elsewhere(client: FlaskClient) -> None:
    html = page(client, q="22-16050115-G-A")
    assert "<script" not in html.lower()
    resources = re.findall(r'<(?:link|img|script)[^>]+(?:href|src)="([^"]+)"', html)
    assert resources and all(url.startswith("/") for url in resources), resources
    assert client.get(resources[0]).status_code == 200


def test_a_variant_is_answered_with_its_api_request(client: FlaskClient) -> None:
    html = page(client, q="chr22:16050115 G>A")
    assert re.search(rf'data-dataset="{DEMO_DATASET}".*?verdict-yes">Yes<', html, re.S)
    assert "position 16,050,115 (1-based" in html and "its start is 16,050,114" in html
    api = re.search(r'id="api-link" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    document = client.get(api).get_json()
    assert document["response"]["resultSets"][0]["exists"] is True
    assert escape(document["response"]["resultSets"][0]["results"][0]["identifiers"]["genomicHGVSId"]) in html


def test_a_copy_number_change_is_named_by_its_span_and_class(client: FlaskClient) -> None:
    """The demo's `22 16050654 A <CN3> ... END=16063474` (the VCF text) has no HGVS id: the page names it by its span
    (1-based, both ends included) and its EFO class (one copy more than two: low-level gain), and links that span."""
    html = page(client, q="22:16,050,654-16,050,654")
    assert "22:16,050,654-16,063,474" in html
    assert "low-level copy number gain" in html
    assert "q=22:16,050,654-16,063,474" in html.replace("%3A", ":").replace("%2C", ",")


def test_a_gene_on_a_node_without_annotations_cannot_tell(client: FlaskClient) -> None:
    html = page(client, q="TP53 p.Arg175His")
    assert "verdict-cannot-tell" in html and "verdict-no" not in html and "verdict-yes" not in html


def test_wrong_input_is_a_400_with_the_message_and_the_text_escaped(client: FlaskClient) -> None:
    html = page(client, 400, q="<script>alert(1)</script>")
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert 'aria-invalid="true"' in html and 'role="alert"' in html


def test_without_login_settings_there_is_no_login(client: FlaskClient) -> None:
    assert 'id="login"' not in page(client)
    assert client.get("/login").status_code == 404
    assert client.post("/logout").status_code == 400  # nothing to log out of, and no CSRF token


def test_logout_needs_the_session_csrf_token(demo_store_file: Path) -> None:
    settings = make_settings(
        demo_store_file,
        web_oidc_issuer="http://127.0.0.1:9/",
        web_oidc_client_id="page",
        web_session_secret="s" * 32,
    )
    client = create_app(settings).test_client()
    assert 'id="login"' in page(client)
    with client.session_transaction() as session:
        session.update(access_token="t", expires_at=4102444800, user="someone", csrf="right")
    assert client.post("/logout", data={"csrf": "wrong"}).status_code == 400
    assert "Logged in as" in page(client)
    assert client.post("/logout", data={"csrf": "right"}).status_code == 302
    assert "Logged in as" not in page(client)


def test_population_names_and_numbers_as_people_read_them() -> None:
    assert label("GB_F") == "United Kingdom, female" and label("FI") == "Finland" and label("IBS") == "Iberian in Spain"
    assert (label("Total"), label("M"), label("XYZ")) == ("Everyone", "Male", "XYZ")
    assert [format_percent(v) for v in (0.006237425, 0.125, 0.0002, 1.0, 0.0)] == [
        "0.624 %", "12.5 %", "0.0200 %", "100 %", "0 %",
    ]  # fmt: skip


def test_a_node_with_two_assemblies_asks_which(demo_store_file: Path, tmp_path: Path) -> None:
    store = tmp_path / "beacon.sqlite"
    shutil.copy(demo_store_file, store)
    vcf = DATA_DIR / "vcf" / "synthetic_usecases_4beacon_testingV4.vcf.gz"
    add_dataset(store, vcf, tmp_path, dataset="grch38-set", name="A GRCh38 set", assembly="GRCh38")
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        f"rare_alleles: {{enabled: false}}\n"
        f"datasets:\n  {DEMO_DATASET}: {{level: PUBLIC}}\n  grch38-set: {{level: PUBLIC}}\n"
    )
    client = create_app(make_settings(store, access_file=policy)).test_client()
    assert re.search(r'<select id="assembly" name="assembly">\s*<option value="GRCh37" >GRCh37</option>\s*'
                     r'<option value="GRCh38" selected>GRCh38</option>', page(client))  # fmt: skip
    on_38 = page(client, q="1-169549811-C-T", assembly="GRCh38")
    assert 'data-dataset="grch38-set"' in on_38 and "verdict-yes" in on_38 and "assemblyId=GRCh38" in on_38
    assert "F5" in on_38  # the gene of its CSQ annotation
    on_37 = page(client, q="1-169549811-C-T", assembly="GRCh37")
    assert "verdict-yes" not in on_37 and "assemblyId=GRCh37" in on_37


def test_a_failed_login_says_so_in_the_page_s_words(demo_store_file: Path) -> None:
    settings = make_settings(
        demo_store_file, web_oidc_issuer="http://127.0.0.1:9/", web_oidc_client_id="page", web_session_secret="s" * 32
    )
    client = create_app(settings).test_client()
    login = client.get("/login")  # nothing listens on port 9: the provider is unreachable
    assert login.status_code == 302 and "login_error=unavailable" in login.headers["Location"]
    assert "cannot be reached right now" in page(client, login_error="unavailable")
    forged = page(client, login_error="<b>Your account is locked, call +1 555</b>")
    assert "Your account is locked" not in forged and "could not be completed" in forged
