"""The auth tests use the OpenID provider fixtures of tests.auth.oidc_fixtures (see tests/conftest.py)."""
