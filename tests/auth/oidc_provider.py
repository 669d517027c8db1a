"""Drives the real local OpenID Provider (tests/oidc/op.mjs, npm oidc-provider) for the auth tests."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

OP_DIR = Path(__file__).resolve().parent.parent / "oidc"
CLIENT = ("beacon-test", "beacon-secret")
AUDIENCE = "beacon-test"
RESOURCE = "https://beacon.test/api"
PASSPORT_SCOPE = "openid email ga4gh_passport_v1"
BONA_FIDE_DOI = "https://doi.org/10.1038/s41431-018-0219-y"

BONA_FIDE_VISAS = (
    {"type": "AcceptedTermsAndPolicies", "value": BONA_FIDE_DOI, "source": "https://no.organization", "by": "self"},
    {"type": "ResearcherStatus", "value": BONA_FIDE_DOI, "source": "https://www.example.edu", "by": "so"},
)


def grant_visa(value: str, **extra: Any) -> dict[str, Any]:
    """An OP-minted ControlledAccessGrants visa spec for accounts.json (`extra` overrides fields)."""
    return {
        "type": "ControlledAccessGrants",
        "value": value,
        "source": "https://dac.test/dacs/DAC-1",
        "by": "dac",
    } | extra


def why_unavailable() -> str | None:
    """Why the OP cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed (needed for the local OpenID provider)"
    if not (OP_DIR / "node_modules" / "oidc-provider").is_dir():
        return "tests/oidc/node_modules is missing: run `npm ci` in tests/oidc (make test does)"
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OpenIdProvider:
    """One op.mjs process on a free port with its own accounts file."""

    def __init__(self, workdir: Path, port: int | None = None, env: dict[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.visa_jku = f"{self.issuer}/ga4gh/jwks"
        self.accounts_file = workdir / f"accounts-{self.port}.json"
        self._accounts: dict[str, Any] = {}
        self._write_accounts()
        self._log = (workdir / f"op-{self.port}.log").open("wb")
        env = {**os.environ, **(env or {}), "PORT": str(self.port), "ACCOUNTS_FILE": str(self.accounts_file)}
        self._process = subprocess.Popen(
            ["node", str(OP_DIR / "op.mjs")], cwd=OP_DIR, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        self._http = httpx.Client(base_url=self.issuer, timeout=10)

    def wait_ready(self, seconds: float = 20.0) -> None:
        """Poll discovery until the OP answers (RSA key generation takes a moment)."""
        ends_at = time.monotonic() + seconds
        while time.monotonic() < ends_at:
            if self._process.poll() is not None:
                raise RuntimeError(f"the OP exited early; see {self._log.name}")
            try:
                if self._http.get("/.well-known/openid-configuration").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"the OP did not start within {seconds} s; see {self._log.name}")

    def stop(self) -> None:
        """Stop this OP process."""
        self._http.close()
        self._process.terminate()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5)
        self._log.close()

    def add_account(self, sub: str | None = None, **fields: Any) -> str:
        """Create an account (password `pw`), uniquely named unless `sub` is given; returns its `sub`."""
        sub = sub or f"user-{uuid.uuid4().hex[:12]}@test"
        self._accounts[sub] = {"password": "pw", "email": f"{sub}.example"} | fields
        self._write_accounts()
        return sub

    def _write_accounts(self) -> None:
        # The OP re-reads the file per request: write a sibling and rename so it never sees half a file.
        partial = self.accounts_file.with_suffix(".partial")
        partial.write_text(json.dumps(self._accounts), encoding="utf-8")
        partial.replace(self.accounts_file)

    def token(self, sub: str, jwt: bool = True, scope: str = PASSPORT_SCOPE) -> str:
        """An access token from the password grant: a JWT (`at+jwt`) or, with jwt=False, an opaque one."""
        data = {"grant_type": "password", "username": sub, "password": "pw", "scope": scope}
        if jwt:
            data["resource"] = RESOURCE
        response = self._http.post("/token", data=data, auth=CLIENT)
        response.raise_for_status()
        return response.json()["access_token"]

    def sign(self, claims: dict[str, Any], key: str = "op", header: dict[str, Any] | None = None) -> str:
        """A JWS over arbitrary `claims` signed by one of the OP's own keys ('op', 'visa' or a rotated kid)."""
        response = self._http.post("/test/sign", json={"key": key, "claims": claims, "header": header or {}})
        response.raise_for_status()
        return response.json()["token"]

    def access_claims(self, sub: str = "someone@test", **overrides: Any) -> dict[str, Any]:
        """Claims of a well-formed access token of this OP; overrides set (or, with None, drop) claims."""
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": sub, "aud": AUDIENCE, "iat": now, "exp": now + 600, "scope": "openid"}
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def visa_claims(self, sub: str, visa: dict[str, Any], **overrides: Any) -> dict[str, Any]:
        """Claims of a visa for `sub` carrying `visa` as ga4gh_visa_v1; overrides set (None drops) claims."""
        now = int(time.time())
        body = {"asserted": now - 3600} | visa
        claims = {"iss": self.issuer, "sub": sub, "iat": now, "exp": now + 600, "ga4gh_visa_v1": body}
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def rotate(self) -> str:
        """Add a new OP signing key (served at /jwks); returns its kid."""
        return self._http.post("/test/rotate").json()["kid"]

    def fail(self, jwks: bool = False, visa_jwks: bool = False) -> None:
        """Make the OP's key set endpoints answer 503 (or recover)."""
        self._http.post("/test/fail", json={"jwks": jwks, "visa_jwks": visa_jwks}).raise_for_status()


class RequestLog:
    """Every URL an httpx client requested, via httpx's own event hooks."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def client(self) -> httpx.Client:
        """A client as the verifier would build it, recording each request."""
        return httpx.Client(follow_redirects=False, trust_env=False, event_hooks={"request": [self._record]})

    def _record(self, request: httpx.Request) -> None:
        self.urls.append(str(request.url))

    def count(self, prefix: str) -> int:
        """How many requested URLs start with `prefix`."""
        return sum(url.startswith(prefix) for url in self.urls)
