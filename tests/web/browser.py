"""The browser tests' real components: a `beacon serve` process over a store with a public and a controlled
dataset, the local OpenID provider with the page's client, and headless Chromium (Debian's chromium and
chromium-driver) driven by selenium; screenshots go to $BEACON_TEST_ARTIFACTS or tests/artifacts/."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.auth.oidc_provider import AUDIENCE, OpenIdProvider

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ARTIFACTS = Path(os.environ.get("BEACON_TEST_ARTIFACTS") or Path(__file__).resolve().parent.parent / "artifacts")
CONTROLLED = "annotated-trio"
CONTROLLED_NAME = "Annotated trio (controlled)"
CONTROLLED_GRANT = "https://beacon.test/datasets/annotated-trio"
WEB_CLIENT = ("beacon-web", "beacon-web-secret")


def why_no_browser() -> str | None:
    """Why headless Chromium cannot run here, or None when it can."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not Path(path).exists():
            return f"{path} is missing: apt-get install {package} (make test does)"
    return None


def chromium() -> webdriver.Chrome:
    """Headless Chromium at a desktop size, offline (nothing of the page may need the internet)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1400"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    return driver


def policy_text(demo_dataset: str) -> str:
    """The public demo dataset and a controlled dataset hidden from anonymous callers."""
    return (
        "default_level: CONTROLLED\n"
        "rare_alleles: {enabled: false}\n"  # the page's tests count the demo's rare alleles too
        "datasets:\n"
        f"  {demo_dataset}: {{level: PUBLIC}}\n"
        f'  {CONTROLLED}: {{level: CONTROLLED, visas: ["{CONTROLLED_GRANT}"], granularity: {{anonymous: none}}}}\n'
    )


def add_dataset(
    store: Path,
    vcf: Path,
    workdir: Path,
    dataset: str = CONTROLLED,
    name: str = CONTROLLED_NAME,
    assembly: str = "GRCh37",
) -> None:
    """Load a VCF into a new dataset of `store` with the real CLI (by default the controlled trio)."""
    datasets = workdir / dataset / "datasets.json"
    datasets.parent.mkdir(parents=True, exist_ok=True)
    datasets.write_text(json.dumps([{"id": dataset, "name": name}]), encoding="utf-8")
    uri = f"sqlite:///{store}"
    for arguments in (
        ["load", "metadata", str(datasets), "--store", uri],
        ["load", "vcf", "--dataset", dataset, "--assembly", assembly, "--workers", "1", str(vcf), "--store", uri],
    ):
        done = subprocess.run([_beacon(), *arguments], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr


def _beacon() -> str:
    found = shutil.which("beacon") or str(Path(os.sys.executable).parent / "beacon")
    return found


class BeaconServer:
    """`beacon serve` (gunicorn, the production configuration) on a port, logging to a file."""

    def __init__(self, port: int, store: Path, policy: Path, op: OpenIdProvider, workdir: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "BEACON_STORE_URI": f"sqlite:///{store}",
            "BEACON_ACCESS_FILE": str(policy),
            "BEACON_BASE_URL": f"{self.url}/api",
            "BEACON_OIDC_ISSUERS": op.issuer,
            "BEACON_OIDC_AUDIENCES": AUDIENCE,
            "BEACON_TRUSTED_JKUS": op.visa_jku,
            "BEACON_VISA_ISSUERS": op.issuer,
            "BEACON_WEB_OIDC_ISSUER": op.issuer,
            "BEACON_WEB_OIDC_CLIENT_ID": WEB_CLIENT[0],
            "BEACON_WEB_OIDC_CLIENT_SECRET": WEB_CLIENT[1],
            "BEACON_WEB_SESSION_SECRET": "browser-tests-session-secret",
            "BEACON_WORKERS": "2",
        }
        self.log = workdir / f"beacon-{port}.log"
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [_beacon(), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, seconds: float = 60.0) -> None:
        """Poll /health until the server answers."""
        ends_at = time.monotonic() + seconds
        while time.monotonic() < ends_at:
            if self.process.poll() is not None:
                raise RuntimeError(f"beacon serve exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/api/info", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError(f"beacon serve did not start: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        """Stop gunicorn (its master stops the workers)."""
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
