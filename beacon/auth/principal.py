"""Who is calling: the verified identity and entitlements behind one request."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """A caller as the access policy sees it; only verified facts end up here."""

    subject: str | None
    """The token's `sub`; None for an anonymous caller."""
    registered: bool
    """True when the caller passes `BEACON_REGISTERED_REQUIRES` (see `AuthConfig.registered_requires`)."""
    grants: frozenset[str]
    """`value`s of verified `ControlledAccessGrants` visas, compared by exact string match."""
    issuer: str | None = None
    """The trusted issuer that vouched for `subject`."""

    @property
    def authenticated(self) -> bool:
        """True when a valid token was presented."""
        return self.subject is not None


ANONYMOUS = Principal(subject=None, registered=False, grants=frozenset())
"""The caller without a token."""
