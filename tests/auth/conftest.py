"""The auth tests use the OpenID Provider fixtures of tests.auth.oidc_fixtures."""

from tests.auth.oidc_fixtures import make_verifier, op, providers, request_log, rogue_op

__all__ = ["make_verifier", "op", "providers", "request_log", "rogue_op"]
