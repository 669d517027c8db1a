"""How the MongoDB store reports failures: pymongo exceptions become StoreUnavailable or StoreError.

Messages name the hosts (`where`), never the user or password of the store URI.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import ParamSpec, TypeVar

from pymongo.errors import ConfigurationError, ConnectionFailure, DocumentTooLarge, OperationFailure, PyMongoError

from beacon.store.base import StoreError, StoreUnavailable, VariantDocument
from beacon.store.mongo.loads import MongoVariantLoad

AUTH_ERRORS = frozenset({13, 18})  # Unauthorized, AuthenticationFailed
TOO_LARGE = frozenset({10334, 17419, 17420})  # BSONObjectTooLarge, and the size errors of updates

P = ParamSpec("P")
R = TypeVar("R")


def store_errors(method: Callable[P, R]) -> Callable[P, R]:
    """Turn pymongo exceptions into StoreUnavailable / StoreError with a message safe to log."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except PyMongoError as error:
            raise translate_error(error, args[0].where) from error  # type: ignore[attr-defined]

    return wrapper


def translate_error(error: PyMongoError, where: str) -> StoreError:
    """The store error for a pymongo exception (`where` names the hosts, never the credentials)."""
    reason = str(error).splitlines()[0][:240] if str(error) else type(error).__name__
    if isinstance(error, ConnectionFailure) or getattr(error, "timeout", False):
        return StoreUnavailable(f"MongoDB at {where} is not reachable or did not answer in time: {reason}")
    if isinstance(error, OperationFailure) and error.code in AUTH_ERRORS:
        return StoreUnavailable(f"MongoDB at {where} refused the credentials or privileges of the store URI: {reason}")
    if isinstance(error, DocumentTooLarge) or (isinstance(error, OperationFailure) and error.code in TOO_LARGE):
        return StoreError(f"MongoDB at {where} refused a document larger than its 16 MB limit: {reason}")
    if isinstance(error, ConfigurationError):  # e.g. the DNS lookup of a mongodb+srv:// name failed
        return StoreUnavailable(f"MongoDB at {where} cannot be located: {reason}")
    return StoreError(f"MongoDB at {where} failed: {reason}")


class ErrorTranslatingLoad:
    """A variant load whose pymongo errors surface as StoreError / StoreUnavailable, like the store's."""

    def __init__(self, load: MongoVariantLoad, where: str) -> None:
        self._load = load
        self.where = where

    @store_errors
    def add(self, documents: Iterable[VariantDocument]) -> int:
        """Write a batch; returns how many were written."""
        return self._load.add(documents)

    def part(self, index: int) -> None:
        """None: MongoDB variants are written by the loading process (see `MongoVariantLoad.part`)."""
        return self._load.part(index)

    def add_part(self, part: object) -> int:
        """Never called, since `part` gives None."""
        return self._load.add_part(part)

    @store_errors
    def duplicates(self, chromosomes: Iterable[str]) -> None:
        """DuplicateVariantsError when the load holds one variant id twice on these chromosomes."""
        self._load.duplicates(chromosomes)

    @store_errors
    def commit(self) -> None:
        """Make the new version current in one step and drop the old one."""
        self._load.commit()

    @store_errors
    def abort(self) -> None:
        """Drop the new version; the previous one keeps answering."""
        self._load.abort()
