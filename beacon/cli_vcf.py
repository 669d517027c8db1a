"""`beacon load vcf`: its options, the load mode, the checks before the store is opened, the progress line."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from beacon.cli_support import opened_store, reported_errors, store_option


@click.command("vcf")
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
