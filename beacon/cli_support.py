"""What every `beacon` command shares: one-line errors with exit 1, settings, the store, `--store`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from beacon.settings import Settings, SettingsError
from beacon.store.base import Access, Store, StoreError, UnknownDatasetError

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> None:
    """Print an error to stderr (each line of it an `error:` line) and exit 1."""
    for line in message.splitlines() or [""]:
        click.echo(f"error: {line}", err=True)
    sys.exit(1)


@contextmanager
def reported_errors(*expected: type[Exception]) -> Iterator[None]:
    """Turn expected failures into one-line messages and exit code 1."""
    from loaders.metadata import MetadataError

    try:
        yield
    except (SettingsError, StoreError, MetadataError, ValueError, *expected) as error:
        fail(str(error))
    except KeyboardInterrupt:
        fail("interrupted; nothing was changed by the unfinished step")


def load_settings(store_uri: str | None = None) -> Settings:
    """Settings from the environment, with `--store` overriding BEACON_STORE_URI."""
    try:
        overrides = {"store_uri": store_uri} if store_uri else {}
        return Settings.from_env(**overrides)
    except SettingsError as error:
        fail(str(error))
        raise  # unreachable; keeps type checkers content


@contextmanager
def opened_store(store_uri: str | None, access: Access = "create") -> Iterator[Store]:
    """The store named by `--store` or BEACON_STORE_URI, closed afterwards.

    `access` (`beacon.store.open_store`): loads create the store, other commands need it to exist.
    A dataset the command names but the store lacks is reported with the store's place.
    """
    from beacon.store import open_store

    store = open_store(load_settings(store_uri).store_uri, access=access)
    try:
        yield store
    except UnknownDatasetError as error:
        fail(f"{store.where}: {error}")
    finally:
        store.close()


def store_option(function: F) -> F:
    """The `--store URI` option shared by commands that touch the store."""
    return click.option(
        "--store",
        "store_uri",
        metavar="URI",
        help="Store URI (default: BEACON_STORE_URI or sqlite:///var/beacon.sqlite).",
    )(function)
