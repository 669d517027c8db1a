"""The `beacon` command: load data, manage datasets, serve the API.

Every command exits 0 on success and 1 on failure, with the reason on stderr (never a traceback for
bad input).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from beacon.settings import Settings, SettingsError
from beacon.store.base import StoreError

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> None:
    """Print an error to stderr and exit 1."""
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn expected failures into one-line messages and exit code 1."""
    from loaders.metadata import MetadataError

    try:
        yield
    except (SettingsError, StoreError, MetadataError, ValueError) as error:
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


def store_option(function: F) -> F:
    """The `--store URI` option shared by commands that touch the store."""
    return click.option(
        "--store",
        "store_uri",
        metavar="URI",
        help="Store URI (default: BEACON_STORE_URI or sqlite:///var/beacon.sqlite).",
    )(function)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """A GA4GH Beacon v2 node: load metadata and variants, then serve the Beacon v2 API."""


@main.group()
def load() -> None:
    """Load data into the store."""


@load.command("metadata")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--entity", help="Entity of every FILE (default: from the file name, e.g. individuals.json).")
@click.option("--dataset", "dataset_id", help="Dataset the records belong to (default: each record's datasetId).")
@click.option("--replace", is_flag=True, help="Overwrite records whose id already exists.")
@store_option
def load_metadata_command(
    files: tuple[Path, ...], entity: str | None, dataset_id: str | None, replace: bool, store_uri: str | None
) -> None:
    """Load BFF JSON arrays of datasets, cohorts, individuals, biosamples (all or nothing)."""
    from beacon.schemas import default_validator
    from beacon.store import open_store
    from loaders.metadata import load_metadata

    with reported_errors():
        store = open_store(load_settings(store_uri).store_uri)
        try:
            report = load_metadata(
                store, list(files), default_validator(), entity=entity, dataset_id=dataset_id, replace=replace
            )
        finally:
            store.close()
        for line in report.lines():
            click.echo(line)


@load.command("demo")
@store_option
def load_demo_command(store_uri: str | None) -> None:
    """Load (or reload) the bundled CINECA synthetic demo data; safe to repeat."""
    from beacon.demo import load_demo
    from beacon.store import open_store

    with reported_errors():
        store = open_store(load_settings(store_uri).store_uri)
        try:
            for line in load_demo(store):
                click.echo(line)
        finally:
            store.close()


@main.group()
def datasets() -> None:
    """List or remove datasets."""


@datasets.command("list")
@store_option
def datasets_list_command(store_uri: str | None) -> None:
    """List the loaded datasets (id and name)."""
    from beacon.store import open_store

    with reported_errors():
        store = open_store(load_settings(store_uri).store_uri)
        try:
            for dataset in store.list_datasets():
                click.echo(f"{dataset['id']}\t{dataset.get('name', '')}")
        finally:
            store.close()


@datasets.command("remove")
@click.argument("dataset_id")
@store_option
def datasets_remove_command(dataset_id: str, store_uri: str | None) -> None:
    """Remove a dataset and everything loaded into it."""
    from beacon.store import open_store

    with reported_errors():
        store = open_store(load_settings(store_uri).store_uri)
        try:
            removed = store.remove_dataset(dataset_id)
        finally:
            store.close()
        if not removed:
            fail(f"no dataset {dataset_id!r}")
        click.echo(f"removed dataset {dataset_id} and everything loaded into it")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5050, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn worker processes.")
def serve_command(host: str, port: int, workers: int) -> None:
    """Serve the Beacon v2 API under /api with gunicorn."""
    from beacon import create_app
    from beacon.serve import serve

    settings = load_settings()
    with reported_errors():
        create_app(settings)  # fail fast, with a message, before gunicorn forks
    serve(host=host, port=port, workers=workers)
