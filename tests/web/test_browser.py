"""The lookup page in headless Chromium against a real `beacon serve` and the local OpenID provider: every input
form on the demo data, the frequency table against counts made here from the demo's VCF and panel, the chart,
the shareable URL, keyboard-only use, and the login that shows a controlled dataset only while logged in."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from beacon.demo import DEMO_DIR
from tests.allele_counts import Counts, count_groups, read_panel, symbolic_carried
from tests.auth.oidc_provider import BONA_FIDE_VISAS, OpenIdProvider, free_port, grant_visa, why_unavailable
from tests.conftest import DATA_DIR, DEMO_DATASET
from tests.web.browser import (
    ARTIFACTS,
    CONTROLLED,
    CONTROLLED_GRANT,
    BeaconServer,
    add_dataset,
    chromium,
    policy_text,
    why_no_browser,
)

pytestmark = pytest.mark.xdist_group("browser")  # one server, provider and browser for the module

EUROPE = {"GBR": "GB", "FIN": "FI", "IBS": "ES", "TSI": "IT"}  # the demo's populations map, copied here
VARIANT = (16050115, "G", "A")  # a demo allele carried by 31 samples (rs587755077)
FORMS = ("22-16050115-G-A", "chr22:16050115 G>A", "22:g.16050115G>A", "NC_000022.10:g.16050115G>A")
REGION = (16050000, 16060000)  # 1-based, both ends included
TRIO_VARIANT = "1-7847367-T-TC"  # the first record of test_trio.vcf.gz, annotated with PER3


@pytest.fixture(scope="module")
def demo_counts() -> dict[tuple[int, str, str], dict[str, Counts]]:
    """Counts per population label and sex, counted here from the demo's genotypes and panel."""
    groups: dict[str, set[str]] = {}
    for sample, (population, sex) in read_panel(DEMO_DIR / "1000g_sample_panel.tsv").items():
        labels = ["Total", sex]
        if population in EUROPE:
            labels += [EUROPE[population], f"{EUROPE[population]}_{sex}"]
        for label in labels:
            groups.setdefault(label, set()).add(sample)
    return count_groups(DEMO_DIR / "cineca_uk1_chr22.vcf.gz", groups, limit=400)


@pytest.fixture(scope="module")
def site(
    demo_store_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[BeaconServer, OpenIdProvider]]:
    """The server over the demo store plus a controlled dataset, trusting a provider that knows the page."""
    for reason in (why_no_browser(), why_unavailable()):
        if reason is not None:
            pytest.fail(reason)
    workdir = tmp_path_factory.mktemp("browser")
    store = workdir / "beacon.sqlite"
    shutil.copy(demo_store_file, store)
    add_dataset(store, DATA_DIR / "vcf" / "test_trio.vcf.gz", workdir)
    policy = workdir / "policy.yaml"
    policy.write_text(policy_text(DEMO_DATASET), encoding="utf-8")
    port = free_port()
    op = OpenIdProvider(workdir, env={"WEB_REDIRECT_URI": f"http://127.0.0.1:{port}/auth/callback"})
    server = BeaconServer(port, store, policy, op, workdir)
    try:
        op.wait_ready()
        server.wait_ready()
        yield server, op
    finally:
        server.stop()
        op.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    if (reason := why_no_browser()) is not None:
        pytest.fail(reason)
    driver = chromium()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(browser: WebDriver, site: tuple[BeaconServer, OpenIdProvider]) -> WebDriver:
    """The browser on the page's start, with no session."""
    browser.delete_all_cookies()
    browser.get(site[0].url + "/")
    return browser


def screenshot(driver: WebDriver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1280, max(900, min(int(height) + 40, 6000)))
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1400)
    return path


def search(driver: WebDriver, text: str) -> None:
    """Type into the search box and press Enter; returns once the new answer has loaded."""
    box = driver.find_element(By.ID, "q")
    box.clear()
    box.send_keys(text, Keys.ENTER)
    wait_for_new_page(driver, box)


def wait_for_new_page(driver: WebDriver, old: WebElement) -> None:
    """Wait until the page holding `old` is gone and the next one shows an answer."""
    WebDriverWait(driver, 30).until(lambda _driver: is_gone(old))
    WebDriverWait(driver, 30).until(expected_conditions.presence_of_element_located((By.ID, "answer")))


def is_gone(element: WebElement) -> bool:
    """Whether the element's page has been replaced. Asked while the old document is being torn down,
    chromedriver may answer "Node ... does not belong to the document" instead of a stale element: gone too."""
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as error:
        if "does not belong to the document" in str(error):
            return True
        raise
    return False


def verdicts(driver: WebDriver) -> dict[str, str]:
    rows = driver.find_elements(By.CSS_SELECTOR, "#datasets tbody tr")
    return {row.get_attribute("data-dataset"): row.find_element(By.CSS_SELECTOR, ".verdict").text for row in rows}


def number(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.mark.parametrize("form", FORMS)
def test_each_variant_form_answers_yes_with_the_demo_frequencies(page: WebDriver, form: str, demo_counts: dict) -> None:
    search(page, form)
    assert verdicts(page) == {DEMO_DATASET: "Yes"}
    expected = demo_counts[VARIANT]
    rows = page.find_elements(By.CSS_SELECTOR, "table.frequencies tbody tr")
    shown = {
        row.get_attribute("data-population"): Counts(
            number(row.find_element(By.CSS_SELECTOR, ".ac").text),
            number(row.find_element(By.CSS_SELECTOR, ".an").text),
            number(row.find_element(By.CSS_SELECTOR, ".hom").text),
            0,
        )
        for row in rows
    }
    assert set(shown) == set(expected)  # Total, F, M, each country and each country's sexes
    for label, counts in expected.items():
        # The hom column shows homozygous ALT alleles; heterozygous ones are not a column of the table.
        assert shown[label][:3] == (counts.allele_count, counts.allele_number, counts.homozygous), label
    bars = page.find_elements(By.CSS_SELECTOR, "svg.chart g.bar")
    assert [bar.get_attribute("data-population") for bar in bars] == [
        row.get_attribute("data-population") for row in rows
    ]
    for bar in bars:
        counts = expected[bar.get_attribute("data-population")]
        assert float(bar.get_attribute("data-frequency")) == pytest.approx(
            counts.allele_count / counts.allele_number, abs=1e-6
        )
    widths = {
        bar.get_attribute("data-population"): float(bar.find_element(By.TAG_NAME, "rect").get_attribute("width"))
        for bar in bars
    }
    assert widths["Total"] > 0 and widths["GB"] == 0  # carried by 31 samples, none of them British
    assert page.find_element(By.CSS_SELECTOR, ".rsid").text == "rs587755077"
    screenshot(page, f"variant-{FORMS.index(form) + 1}")


def test_the_shareable_url_and_the_api_link_give_the_same_answer(page: WebDriver, site: tuple) -> None:
    search(page, FORMS[1])
    url = urlparse(page.current_url)
    assert parse_qs(url.query)["q"] == [FORMS[1]] and parse_qs(url.query)["assembly"] == ["GRCh37"]
    share = page.find_element(By.ID, "share-link").get_attribute("href")
    api = page.find_element(By.ID, "api-link").get_attribute("href")
    page.delete_all_cookies()
    page.get(share)
    assert verdicts(page) == {DEMO_DATASET: "Yes"}
    query = parse_qs(urlparse(api).query)
    # Position 16,050,115 as typed (1-based) is the API's start 16050114 (0-based).
    assert (query["referenceName"], query["start"], query["referenceBases"], query["alternateBases"]) == (
        ["22"], ["16050114"], ["G"], ["A"],
    )  # fmt: skip
    page.get(api)
    assert '"exists": true' in page.find_element(By.TAG_NAME, "body").text.replace('"exists":true', '"exists": true')


def test_a_variant_nobody_carries_answers_no(page: WebDriver) -> None:
    search(page, "22-16050115-G-C")
    assert verdicts(page) == {DEMO_DATASET: "No"}
    assert not page.find_elements(By.CSS_SELECTOR, "table.frequencies")
    screenshot(page, "variant-no")


def test_a_region_is_a_paged_list(page: WebDriver, demo_counts: dict) -> None:
    first, last = REGION
    carried = sorted(
        key for key, counts in demo_counts.items() if counts["Total"].allele_count > 0 and first <= key[0] <= last
    )
    # The region's copy-number alleles (<CN0>...) are listed too, named by their span (up to INFO END).
    spans = symbolic_carried(DEMO_DIR / "cineca_uk1_chr22.vcf.gz", "22", first - 1, last)
    carried = sorted([*carried, *spans])
    assert max(key[0] for key in demo_counts) > last  # the counted records reach past the region
    search(page, f"22:{first:,}-{last:,}")
    assert verdicts(page) == {DEMO_DATASET: "Yes"}
    assert number(page.find_element(By.CSS_SELECTOR, "#datasets tbody td.num").text) == len(carried)
    listed = [cell.text for cell in page.find_elements(By.CSS_SELECTOR, "table.variant-list tbody th")]
    names = [
        f"22:{key[0]:,}-{spans[key]:,}" if key in spans else f"NC_000022.10:g.{key[0]}{key[1]}>{key[2]}"
        for key in carried[:10]
        if key in spans or len(key[1]) == len(key[2]) == 1
    ]
    assert listed == names[: len(listed)]
    screenshot(page, "region-page-1")
    next_page = page.find_element(By.ID, "next-page")
    next_page.click()
    wait_for_new_page(page, next_page)
    second = [cell.text for cell in page.find_elements(By.CSS_SELECTOR, "table.variant-list tbody th")]
    assert second and not set(second) & set(listed)
    assert parse_qs(urlparse(page.current_url).query)["page"] == ["2"]


def test_wrong_input_is_explained(page: WebDriver) -> None:
    search(page, "22:16050115")
    message = page.find_element(By.ID, "search-error").text
    assert "a position alone is not a variant" in message and "22-16050115-C-T" in message
    assert page.find_element(By.ID, "q").get_attribute("aria-invalid") == "true"
    screenshot(page, "wrong-input")


def log_in(driver: WebDriver, op: OpenIdProvider, sub: str) -> None:
    """Log in through the provider's own pages (its login form, then its consent prompt)."""
    driver.find_element(By.ID, "login").click()
    WebDriverWait(driver, 30).until(expected_conditions.presence_of_element_located((By.NAME, "login")))
    assert driver.current_url.startswith(op.issuer)
    driver.find_element(By.NAME, "login").send_keys(sub)
    driver.find_element(By.NAME, "password").send_keys("pw", Keys.ENTER)
    WebDriverWait(driver, 30).until(
        lambda d: not d.current_url.startswith(op.issuer) or d.find_elements(By.CSS_SELECTOR, "button[autofocus]")
    )
    if driver.current_url.startswith(op.issuer):  # the consent prompt
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(driver, 30).until(expected_conditions.presence_of_element_located((By.ID, "logout")))


def press(driver: WebDriver, *keys: str) -> str:
    """Press keys where the focus is, as a keyboard does; the id (or text) of what has the focus then."""
    ActionChains(driver).send_keys(*keys).perform()
    active = driver.switch_to.active_element
    return active.get_attribute("id") or active.text


def test_keyboard_only(page: WebDriver) -> None:
    # The search box has the focus at the start: `autofocus` applies when the page is next rendered, which
    # on a busy machine can come after `get` returned (the load event), so the test waits for it.
    WebDriverWait(page, 10).until(lambda driver: driver.switch_to.active_element.get_attribute("id") == "q")
    box = page.switch_to.active_element
    assert box.get_attribute("id") == "q"
    # Typed and sent with Enter; nothing is read until the next page has replaced this one (a focused element
    # read while the page goes is stale).
    ActionChains(page).send_keys(FORMS[0], Keys.ENTER).perform()
    wait_for_new_page(page, box)
    assert verdicts(page) == {DEMO_DATASET: "Yes"}
    assert press(page, Keys.TAB) == "Skip to the search"  # the first stop of every page
    assert press(page, Keys.ENTER) == "main"
    focused = [press(page, Keys.TAB) for _ in range(3)]
    assert "q" in focused and "search-button" in focused  # the form comes first in the main part
    for _ in range(40):  # on to the share link by Tab alone
        if press(page, Keys.TAB) == "share-link":
            break
    assert page.switch_to.active_element.get_attribute("id") == "share-link"
    screenshot(page, "keyboard-focus-share-link")
    share = page.switch_to.active_element
    press(page, Keys.ENTER)
    wait_for_new_page(page, share)
    assert verdicts(page) == {DEMO_DATASET: "Yes"}


def test_login_shows_the_controlled_dataset_only_while_logged_in(page: WebDriver, site: tuple) -> None:
    server, op = site
    sub = op.add_account(visas=[*BONA_FIDE_VISAS, grant_visa(CONTROLLED_GRANT)], name="Dr Test Clinician")
    search(page, TRIO_VARIANT)
    assert CONTROLLED not in verdicts(page)  # hidden from anonymous callers
    screenshot(page, "login-before")
    log_in(page, op, sub)
    assert (
        page.current_url.startswith(server.url)
        and "Dr Test Clinician" in page.find_element(By.CSS_SELECTOR, ".user").text
    )
    assert verdicts(page)[CONTROLLED] == "Yes"  # back on the same search, now with the token's grant
    cookie = next(c for c in page.get_cookies() if c["name"] == "beacon_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]  # http here: not Secure
    screenshot(page, "login-after")
    search(page, "PER3")
    assert verdicts(page)[CONTROLLED] == "Yes"
    assert "PER3" in page.find_element(By.CSS_SELECTOR, "table.variant-list tbody").text
    screenshot(page, "gene-logged-in")
    page.find_element(By.ID, "logout").click()
    WebDriverWait(page, 30).until(expected_conditions.presence_of_element_located((By.ID, "login")))
    search(page, TRIO_VARIANT)
    assert CONTROLLED not in verdicts(page)


def test_rsids_and_genes_with_protein_changes(page: WebDriver, site: tuple, demo_counts: dict) -> None:
    """The forms the API's lookups answer (variantAlternativeId, geneId forms, three-letter protein changes)."""
    op = site[1]
    search(page, "rs587755077")
    assert verdicts(page) == {DEMO_DATASET: "Yes"}
    total = page.find_element(By.CSS_SELECTOR, 'table.frequencies tr[data-population="Total"]')
    assert number(total.find_element(By.CSS_SELECTOR, ".ac").text) == demo_counts[VARIANT]["Total"].allele_count
    screenshot(page, "rsid")
    search(page, "PER3 p.Met1006Arg")  # anonymous: the demo has no annotations, the trio is hidden
    assert verdicts(page) == {DEMO_DATASET: "Cannot tell"}
    screenshot(page, "gene-cannot-tell")
    sub = op.add_account(visas=[*BONA_FIDE_VISAS, grant_visa(CONTROLLED_GRANT)])
    log_in(page, op, sub)
    search(page, "per3 p.Met1006Arg")
    assert verdicts(page) == {DEMO_DATASET: "Cannot tell", CONTROLLED: "Yes"}
    listed = page.find_element(By.CSS_SELECTOR, "table.variant-list tbody").text
    assert "NC_000001.10:g.7890024T>G" in listed and "M1006R" in listed.replace("p.", "").replace(
        "Met1006Arg", "M1006R"
    )
