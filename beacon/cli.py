"""The `beacon` command: load data, manage datasets, serve the API.

Every command exits 0 on success and 1 on failure, with the reason on stderr (never a traceback for
bad input).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from beacon.cli_support import fail, load_settings, opened_store, reported_errors, store_option
from beacon.cli_vcf import load_vcf_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """A GA4GH Beacon v2 node: load metadata and variants, then serve the Beacon v2 API."""


@main.group()
def load() -> None:
    """Load data into the store."""


load.add_command(load_vcf_command)


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
