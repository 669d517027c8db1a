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
@click.option(
    "--ignore-header-assembly",
    is_flag=True,
    help="Load even when the header's ##reference/##assembly/##contig lines name another assembly (stale header).",
)
@click.option(
    "--allow-unpanelled-samples",
    is_flag=True,
    help="Load even when VCF samples are missing from --sample-panel (they count in Total, in no population).",
)
@click.option(
    "--add",
    is_flag=True,
    help="Add these variants to the dataset's (e.g. one more chromosome); refused if any is loaded already.",
)
@click.option(
    "--replace-contigs",
    is_flag=True,
    help="Replace the dataset's variants on the chromosomes of the input only; the others are kept.",
)
@click.option("--batch-size", default=20_000, show_default=True, type=click.IntRange(100, 1_000_000))
@click.option(
    "--workers",
    type=click.IntRange(1),
    help="Processes converting a bgzip or plain VCF in parallel (default: one per CPU; 1 = no workers).",
)
@store_option
def load_vcf_command(files: tuple[Path, ...], store_uri: str | None, **options: Any) -> None:
    """Load VCF/BCF files (one variant per ALT allele) into a dataset, all or nothing."""
    from loaders.load_history import vcf_load_entry
    from loaders.variant_load import LoadRefused, load_vcf_files
    from loaders.vcf import VcfError
    from loaders.vcf_parallel import WorkerError
    from loaders.vcf_preflight import check_inputs, quiet_htslib

    with reported_errors(VcfError, WorkerError, LoadRefused):
        mode = load_mode_from_cli(options)
        vcf_options = vcf_options_from_cli(options)
        preflight = check_inputs(list(files), vcf_options)  # before the store is even opened
        for warning in preflight.warnings:
            click.echo(f"warning: {warning}", err=True)
        progress = ProgressLine()
        with quiet_htslib(), progress, opened_store(store_uri) as store:
            reports = load_vcf_files(
                store,
                list(files),
                options["dataset_id"],
                vcf_options,
                mode=mode,
                batch_size=options["batch_size"],
                on_progress=progress.show if progress.enabled else None,
                workers=options["workers"] or len(os.sched_getaffinity(0)),
            )
            entry = vcf_load_entry(list(files), reports, vcf_options, preflight.populations, mode)
            store.record_load(options["dataset_id"], entry)  # the history `beacon datasets show` prints
        for report in reports:
            for line in report.lines():
                click.echo(line)


def load_mode_from_cli(options: dict[str, Any]) -> Any:
    """The `LoadMode` of `--replace`, `--add` or `--replace-contigs` (at most one), else `new`."""
    chosen = [flag for flag in ("replace", "add", "replace_contigs") if options.get(flag)]
    if len(chosen) > 1:
        raise click.UsageError(f"choose one of {', '.join('--' + f.replace('_', '-') for f in chosen)}")
    return chosen[0].replace("_", "-") if chosen else "new"


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
        ignore_header_assembly=options["ignore_header_assembly"],
        allow_unpanelled_samples=options["allow_unpanelled_samples"],
    )


class ProgressLine:
    """A progress line on stderr (alleles, rate, ETA) when stderr is a terminal, ended before anything follows."""

    def __init__(self) -> None:
        self.stream = sys.stderr
        self.enabled = self.stream.isatty()
        self.shown = False

    def show(self, progress: Any) -> None:
        """Rewrite the line with the latest counts."""
        line = f"\r{progress.written:,} alleles  {progress.rate:,.0f}/s"
        if progress.total_records and progress.rate:
            remaining = max(progress.total_records - progress.written, 0) / progress.rate
            line += f"  ETA {remaining:,.0f} s"
        self.stream.write(line)
        self.stream.flush()
        self.shown = True

    def __enter__(self) -> ProgressLine:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.shown:  # the report or the error starts on a line of its own
            self.stream.write("\n")
            self.stream.flush()


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
    """List, show or remove datasets."""


@datasets.command("list")
@store_option
def datasets_list_command(store_uri: str | None) -> None:
    """List the loaded datasets (id and name)."""

    with reported_errors(), opened_store(store_uri, "read") as store:
        for dataset in store.list_datasets():
            click.echo(f"{dataset['id']}\t{dataset.get('name', '')}")


@datasets.command("show")
@click.argument("dataset_id")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--policy",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Access policy file whose levels to show (default: BEACON_ACCESS_FILE).",
)
@store_option
def datasets_show_command(dataset_id: str, as_json: bool, policy: Path | None, store_uri: str | None) -> None:
    """Show a dataset: variants per chromosome and type, populations, load history, access per tier."""
    import json

    from beacon.auth.policy import AccessPolicy, PolicyError
    from beacon.dataset_report import dataset_report, report_lines

    with reported_errors(PolicyError):
        access = AccessPolicy.load(policy or load_settings(store_uri).access_file)
        with opened_store(store_uri, "read") as store:
            report = dataset_report(store, dataset_id, access)
        if report is None:
            fail(f"{store.where}: no dataset {dataset_id!r}")
        click.echo(json.dumps(report, indent=2) if as_json else "\n".join(report_lines(report)))  # type: ignore[arg-type]


@datasets.command("remove")
@click.argument("dataset_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (needed when stdin is not a terminal).")
@store_option
def datasets_remove_command(dataset_id: str, yes: bool, store_uri: str | None) -> None:
    """Remove a dataset and everything loaded into it (asks first on a terminal)."""

    with reported_errors():
        if not yes:
            confirm_removal(dataset_id)
        with opened_store(store_uri, "write") as store:
            removed = store.remove_dataset(dataset_id)
        if not removed:
            fail(f"{store.where}: no dataset {dataset_id!r}")
        click.echo(f"removed dataset {dataset_id} and everything loaded into it")


def confirm_removal(dataset_id: str) -> None:
    """Ask on a terminal; refuse without asking when nobody can answer."""
    if not sys.stdin.isatty():
        fail(f"removing dataset {dataset_id!r} needs confirmation: stdin is not a terminal, so pass --yes")
    if not click.confirm(f"Remove dataset {dataset_id!r} and everything loaded into it?", default=False):
        fail("nothing removed")


@main.command("check")
@store_option
def check_command(store_uri: str | None) -> None:
    """Check the settings, the access policy against the store's datasets, and the info file."""
    from beacon.checks import check_configuration

    settings = load_settings(store_uri)
    with reported_errors(), opened_store(store_uri, "read") as store:
        problems = check_configuration(settings, store)
    for problem in problems:
        click.echo(f"{problem.level}: {problem.message}", err=True)
    errors = sum(problem.level == "error" for problem in problems)
    if errors:
        fail(f"{errors} error(s), {len(problems) - errors} warning(s)")
    click.echo(f"{settings.store_uri}: configuration checked, {len(problems)} warning(s)")


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
