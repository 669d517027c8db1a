"""The `beacon` command: load data, manage datasets, serve the API.

Every command exits 0 on success and 1 on failure, with the reason on stderr (never a traceback for
bad input).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from beacon.settings import Settings, SettingsError
from beacon.store.base import Access, Store, StoreError, UnknownDatasetError

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> None:
    """Print an error to stderr and exit 1."""
    click.echo(f"error: {message}", err=True)
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
    """Load BFF JSON arrays of datasets, cohorts, individuals, biosamples, runs, analyses (all or nothing)."""
    from beacon.schemas import default_validator
    from loaders.metadata import load_metadata

    with reported_errors():
        with opened_store(store_uri) as store:
            report = load_metadata(
                store, list(files), default_validator(), entity=entity, dataset_id=dataset_id, replace=replace
            )
        for line in report.lines():
            click.echo(line)


@load.command("vcf")
# A missing file is reported by the loader (exit 1, naming the file), like every other bad input.
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dataset", "dataset_id", required=True, help="Dataset the variants belong to (must be loaded).")
@click.option("--assembly", required=True, help="Reference assembly: GRCh38 (hg38, b38, GRCh38.p14) or GRCh37.")
@click.option(
    "--populations",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON map naming the INFO fields of each population, or the labels of the sample panel's (see README).",
)
@click.option(
    "--sample-panel",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TSV sample -> population [-> sex]: frequencies computed from genotypes.",
)
@click.option("--population-column", default="pop", show_default=True, help="Panel column holding the population.")
@click.option(
    "--sex-column", default="", help="Panel column holding the sex (e.g. gender); needed for hemizygous X/Y counts."
)
@click.option("--case-level", is_flag=True, help="Also store which biosamples carry each allele, and how.")
@click.option("--keep-zero-count", is_flag=True, help="Keep alleles no sample carries (skipped by default).")
@click.option("--skip-unknown-contigs", is_flag=True, help="Skip records on decoy/alt/unplaced contigs.")
@click.option("--replace", is_flag=True, help="Swap the dataset's existing variants for these in one step.")
@click.option("--batch-size", default=20_000, show_default=True, type=click.IntRange(100, 1_000_000))
@click.option(
    "--workers",
    type=click.IntRange(1),
    help="Processes converting a bgzip or plain VCF in parallel (default: one per CPU; 1 = no workers).",
)
@store_option
def load_vcf_command(files: tuple[Path, ...], store_uri: str | None, **options: Any) -> None:
    """Load VCF/BCF files (one variant per ALT allele) into a dataset, all or nothing."""
    from loaders.variant_load import load_vcf_files
    from loaders.vcf import VcfError
    from loaders.vcf_parallel import WorkerError

    with reported_errors(VcfError, WorkerError):
        vcf_options = vcf_options_from_cli(options)
        with opened_store(store_uri) as store:
            reports = load_vcf_files(
                store,
                list(files),
                options["dataset_id"],
                vcf_options,
                replace=options["replace"],
                batch_size=options["batch_size"],
                on_progress=progress_printer(),
                workers=options["workers"] or len(os.sched_getaffinity(0)),
            )
        for report in reports:
            for line in report.lines():
                click.echo(line)


def vcf_options_from_cli(options: dict[str, Any]) -> Any:
    """The loader's VcfOptions from the `load vcf` command's options."""
    from loaders.vcf import VcfOptions, read_population_map, read_sample_panel

    panel = None
    if options["sample_panel"]:
        panel = read_sample_panel(
            options["sample_panel"],
            population_column=options["population_column"],
            sex_column=options["sex_column"] or None,
        )
    return VcfOptions(
        assembly=options["assembly"],
        population_map=read_population_map(options["populations"]) if options["populations"] else None,
        sample_panel=panel,
        case_level=options["case_level"],
        keep_zero_count=options["keep_zero_count"],
        skip_unknown_contigs=options["skip_unknown_contigs"],
    )


def progress_printer() -> Callable[[Any], None] | None:
    """A progress line on stderr (alleles, rate, ETA) when stderr is a terminal, else nothing."""
    stream = sys.stderr
    if not stream.isatty():
        return None

    def show(progress: Any) -> None:
        line = f"\r{progress.written:,} alleles  {progress.rate:,.0f}/s"
        if progress.total_records and progress.rate:
            remaining = max(progress.total_records - progress.written, 0) / progress.rate
            line += f"  ETA {remaining:,.0f} s"
        stream.write(line)
        stream.flush()

    return show


@load.command("demo")
@store_option
def load_demo_command(store_uri: str | None) -> None:
    """Load (or reload) the bundled CINECA synthetic demo data; safe to repeat."""
    from beacon.demo import load_demo

    with reported_errors(), opened_store(store_uri) as store:
        for line in load_demo(store):
            click.echo(line)


@load.command("ontology")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Replace the ontology if one with the same id is loaded.")
@store_option
def load_ontology_command(file: Path, replace: bool, store_uri: str | None) -> None:
    """Load an ontology (OBO or OWL) so ontology filters include descendant terms."""
    from beacon.store.base import DuplicateOntologyError
    from loaders.ontology import OntologyError, read_ontology

    with reported_errors(OntologyError):
        ontology = read_ontology(file)
        with opened_store(store_uri) as store:
            try:
                count = store.put_ontology(ontology, replace=replace)
            except DuplicateOntologyError as error:
                fail(f"{file}: {error}")
        resource = ontology.resource
        version = f", version {resource.version}" if resource.version else ""
        click.echo(f"{file}: ontology {resource.id} ({resource.name}{version}): {count} terms loaded")


@main.group()
def datasets() -> None:
    """List or remove datasets."""


@datasets.command("list")
@store_option
def datasets_list_command(store_uri: str | None) -> None:
    """List the loaded datasets (id and name)."""

    with reported_errors(), opened_store(store_uri, "read") as store:
        for dataset in store.list_datasets():
            click.echo(f"{dataset['id']}\t{dataset.get('name', '')}")


@datasets.command("remove")
@click.argument("dataset_id")
@store_option
def datasets_remove_command(dataset_id: str, store_uri: str | None) -> None:
    """Remove a dataset and everything loaded into it."""

    with reported_errors():
        with opened_store(store_uri, "write") as store:
            removed = store.remove_dataset(dataset_id)
        if not removed:
            fail(f"{store.where}: no dataset {dataset_id!r}")
        click.echo(f"removed dataset {dataset_id} and everything loaded into it")


@main.command("init")
@store_option
def init_command(store_uri: str | None) -> None:
    """Create the store if it does not exist, or bring its schema up to date (safe to repeat)."""
    with reported_errors(), opened_store(store_uri, "create") as store:
        store.check()
        click.echo(f"{store.where}: the store is ready")


@main.group("store")
def store_group() -> None:
    """Look after the store."""


@store_group.command("compact")
@store_option
def store_compact_command(store_uri: str | None) -> None:
    """Give the space of removed and replaced data back to the file system (see docs/deployment.md)."""
    with reported_errors(), opened_store(store_uri, "write") as store:
        freed = store.compact()
        click.echo(f"{store.where}: compacted, {freed / 1e6:,.1f} MB given back")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5050, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--workers", type=click.IntRange(1), help="gunicorn worker processes (default: BEACON_WORKERS, else 2 x CPUs + 1)."
)
def serve_command(host: str, port: int, workers: int | None) -> None:
    """Serve the Beacon v2 API under /api with gunicorn, with the production settings."""
    from beacon.auth.policy import PolicyError
    from beacon.serve import check_startup, serve

    settings = load_settings()
    with reported_errors(PolicyError):
        check_startup(settings)  # fail fast, with a message, before gunicorn forks
    serve(host=host, port=port, workers=workers)


@main.group("network")
def network_group() -> None:
    """Network mode: one hub answering for several member beacons."""


@network_group.command("serve")
@click.option(
    "--members",
    "members_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML list of members: `- url: https://node/api` with optional `name` and `timeout`.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5050, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--workers", type=click.IntRange(1), help="gunicorn worker processes (default: BEACON_WORKERS, else 2 x CPUs + 1)."
)
def network_serve_command(members_file: Path, host: str, port: int, workers: int | None) -> None:
    """Serve the Beacon v2 API of a network of member beacons under /api with gunicorn."""
    from beacon.network.members import MembersError, load_members
    from beacon.network.serve import serve

    load_settings()
    with reported_errors(MembersError):
        load_members(members_file)  # fail fast, naming the file, line and field, before gunicorn forks
    serve(members_file, host=host, port=port, workers=workers)
