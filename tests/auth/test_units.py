"""Building blocks of beacon.auth that need no OpenID Provider: header parsing, caches, key sets, fetching."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from joserfc.jwk import ECKey, OctKey, RSAKey

from beacon.auth.cache import ExpiringCache
from beacon.auth.compact import MalformedTokenError, peek, unverified_issuer
from beacon.auth.fetch import Deadline, FetchError, JsonFetcher
from beacon.auth.jwks import discovery_url, parse_key_set
from beacon.auth.tokens import AuthConfig, IgnoredTokenError, bearer_token


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (None, None),
        ("", None),
        ("  ", None),
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc", "abc"),
        ("BEARER  abc  ", "abc"),
        ("Bearer a-b_c~d+e/f==", "a-b_c~d+e/f=="),
    ],
)
def test_bearer_token_parsing(header: str | None, token: str | None) -> None:
    """RFC 6750 Bearer credentials: scheme case-insensitive, token68 syntax."""
    assert bearer_token(header, 100) == token


@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwdw==", "Bearer", "Bearer a b", "Bearer a=b", "Token abc", "Bearer " + "a" * 101]
)
def test_unusable_credentials_are_ignored(header: str) -> None:
    """Credentials that cannot be a trusted issuer's bearer token are not this beacon's to refuse."""
    with pytest.raises(IgnoredTokenError) as ignored:
        bearer_token(header, 100)
    assert "dXNlcjpwdw" not in str(ignored.value) and "aaaa" not in str(ignored.value)


def test_discovery_url_strips_one_trailing_slash() -> None:
    """LS Login's issuer ends in a slash; the discovery document is under it either way."""
    expected = "https://login.aai.lifescience-ri.eu/oidc/.well-known/openid-configuration"
    assert discovery_url("https://login.aai.lifescience-ri.eu/oidc/") == expected
    assert discovery_url("https://login.aai.lifescience-ri.eu/oidc") == expected


def test_peek_reads_header_and_claims() -> None:
    """A hand-written JWS ({"alg":"RS256"}, {"sub":"x"}) peeks as written."""
    assert peek("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", 1024) == ({"alg": "RS256"}, {"sub": "x"})


@pytest.mark.parametrize(
    "token",
    [
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0",
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.",
        "eyJzdWIiOiJ4In0.eyJzdWIiOiJ4In0.c2ln",
        "eyJhbGciOiJSUzI1NiJ9=.eyJzdWIiOiJ4In0.c2ln",
        "W10.eyJzdWIiOiJ4In0.c2ln",
    ],
    ids=["two-parts", "empty-signature", "no-alg", "padding", "header-is-a-list"],
)
def test_peek_refuses_malformed_tokens(token: str) -> None:
    """Only well-formed compact JWS of JSON objects with an `alg` get past the first look."""
    with pytest.raises(MalformedTokenError):
        peek(token, 1024)


def b64url(text: str) -> str:
    """base64url of a string, unpadded."""
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("payload", "issuer"),
    [
        ('{"iss": "https://idp.test/", "sub": "x"}', "https://idp.test/"),
        ('{"sub": "x"}', None),
        ('{"iss": ["https://idp.test/"]}', None),
        ('{"iss": null}', None),
        ("[1, 2]", None),
        ("not json", None),
        ("[" * 20_000, None),  # deeper than the JSON parser's recursion limit
    ],
    ids=["string-iss", "no-iss", "iss-list", "iss-null", "payload-list", "payload-not-json", "deeply-nested"],
)
def test_unverified_issuer(payload: str, issuer: str | None) -> None:
    """The claimed `iss` of a JWS, read without verification; anything but a string claim is nobody's."""
    assert unverified_issuer(f"eyJhbGciOiJSUzI1NiJ9.{b64url(payload)}.c2ln") == issuer


@pytest.mark.parametrize("token", ["eyJhbGciOiJSUzI1NiJ9.e30", "a.b!.c", "a.b.c.d.e", "a.eyJhb.c"])
def test_unverified_issuer_of_malformed_tokens_is_none(token: str) -> None:
    """Not three segments, characters outside base64url, or a payload of impossible length: no issuer."""
    assert unverified_issuer(token) is None


def test_peek_of_a_deeply_nested_payload_is_malformed() -> None:
    """A payload nested past the parser's recursion limit is a malformed token, not a crash."""
    with pytest.raises(MalformedTokenError):
        peek(f"eyJhbGciOiJSUzI1NiJ9.{b64url('[' * 20_000)}.c2ln", 1024)


def test_key_set_keeps_only_public_signature_keys() -> None:
    """HMAC secrets, encryption keys and private key parts never become verification keys."""
    rsa, ec = RSAKey.generate_key(2048), ECKey.generate_key("P-256")
    document = {
        "keys": [
            rsa.as_dict(private=True) | {"kid": "rsa"},
            ec.as_dict(private=False) | {"kid": "ec"},
            OctKey.generate_key(256).as_dict() | {"kid": "hmac"},
            ec.as_dict(private=False) | {"kid": "enc", "use": "enc"},
            {"kty": "RSA", "kid": "broken", "n": "AQAB"},
            "not a key",
        ]
    }
    key_set = parse_key_set(document)
    assert sorted(key.kid for key in key_set) == ["ec", "rsa"]
    assert all(not key.is_private for key in key_set)


@pytest.mark.parametrize("document", [{}, {"keys": "x"}, {"keys": []}, {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}])
def test_key_set_without_usable_keys_is_an_error(document: dict) -> None:
    """A key set with nothing to verify with is a fetch failure, not an empty trust anchor."""
    with pytest.raises(FetchError):
        parse_key_set(document)


def test_expiring_cache_is_bounded_and_expires() -> None:
    """Least recently used entries go first; expired entries are never returned."""
    clock = [1000.0]
    cache: ExpiringCache[str, int] = ExpiringCache(2, clock=lambda: clock[0])
    cache.put("a", 1, 2000.0)
    cache.put("b", 2, 1500.0)
    assert cache.get("a") == 1
    cache.put("c", 3, 2000.0)
    assert (cache.get("a"), cache.get("b"), cache.get("c"), len(cache)) == (1, None, 3, 2)
    clock[0] = 2000.0
    assert cache.get("a") is None


class _Handler(BaseHTTPRequestHandler):
    """Serves the paths the fetch tests need."""

    def do_GET(self) -> None:
        self.server.paths.append(self.path)  # type: ignore[attr-defined]
        if self.path == "/redirect":
            self._send(302, b"", {"Location": "http://169.254.169.254/latest/"})
        elif self.path == "/big":
            self._send(200, b'{"pad": "' + b"x" * 5000 + b'"}')
        elif self.path == "/drip":
            self._drip()
        elif self.path == "/list":
            self._send(200, b"[1, 2]")
        else:
            self._send(200, b'{"ok": true}')

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _drip(self) -> None:
        # No Content-Length, one byte at a time: each read is quick, the whole body is not.
        self.send_response(200)
        self.end_headers()
        try:
            for _ in range(100):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:
            return

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadingHTTPServer]:
    """A local HTTP server on a free port."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.paths = []  # type: ignore[attr-defined]
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def fetch(server: ThreadingHTTPServer, path: str, budget: float = 2.0, max_bytes: int = 1000) -> dict:
    """GET `path` through a JsonFetcher as the verifier configures it."""
    with httpx.Client(trust_env=False) as client:
        url = f"http://127.0.0.1:{server.server_address[1]}{path}"
        return JsonFetcher(client, 1.0, max_bytes).get_json(url, Deadline(budget))


def test_fetch_reads_a_json_object(server: ThreadingHTTPServer) -> None:
    """The happy path."""
    assert fetch(server, "/ok") == {"ok": True}


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/redirect", "HTTP 302"),
        ("/big", "more than 1000 bytes"),
        ("/list", "JSON object"),
        ("/drip", "too slow"),
    ],
)
def test_fetch_refusals(server: ThreadingHTTPServer, path: str, reason: str) -> None:
    """Redirects are not followed, sizes are capped, non-objects refused, slow bodies cut at the deadline."""
    with pytest.raises(FetchError, match=reason):
        fetch(server, path, budget=0.5)
    assert "/latest/" not in server.paths  # type: ignore[attr-defined]


def test_fetch_with_no_time_left_sends_nothing(server: ThreadingHTTPServer) -> None:
    """An exhausted budget refuses before any request is made."""
    before = len(server.paths)  # type: ignore[attr-defined]
    with pytest.raises(FetchError, match="no time left"):
        fetch(server, "/ok", budget=0.0)
    assert len(server.paths) == before  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"registered_requires": "anyone"}, "registered_requires"),
        ({"audiences": ()}, "audiences"),
        ({"algorithms": ("HS256",)}, "algorithms"),
        ({"algorithms": ("none",)}, "algorithms"),
        ({"algorithms": ()}, "algorithms"),
        ({"issuers": ("http://idp.example.org",)}, "https"),
        ({"issuers": ("idp.example.org",)}, "absolute"),
        ({"trusted_jkus": ("http://visas.example.org/jwks",)}, "https"),
        ({"opaque_token_issuer": "https://other.example"}, "opaque_token_issuer"),
        ({"http_timeout": 0}, "positive"),
    ],
)
def test_config_is_validated(overrides: dict[str, Any], message: str) -> None:
    """Unsafe or inconsistent settings are refused at start-up, naming the field."""
    settings = {"issuers": ("https://login.example.org/oidc/",), "audiences": ("beacon",)} | overrides
    with pytest.raises(ValueError, match=message):
        AuthConfig(**settings)


def test_config_defaults_match_the_issue() -> None:
    """Defaults: bona fide registration, RS256/ES256 only, 60 s leeway, budget below the 5 s network budget."""
    config = AuthConfig(issuers=("https://login.example.org/oidc/",), audiences=("beacon",))
    assert config.registered_requires == "bona_fide"
    assert config.algorithms == ("RS256", "ES256")
    assert config.leeway == 60
    assert config.request_budget + config.http_timeout <= 5.0
    assert config.userinfo_issuer == "https://login.example.org/oidc/"
