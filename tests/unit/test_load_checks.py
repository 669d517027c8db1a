"""Checks `beacon load vcf` makes before anything is written: the header's assembly, the sample panel's coverage.

Every refused load is made on real files rewritten in tmp_path (the 1000 Genomes chr1 slice, its sample
panel, the EGA GRCh38 set), and each test shows that nothing was written: a new store is not even
created, the demo store keeps its variants. Expected counts come from the files themselves (header
lines, panel rows), never from the loader.
"""

from __future__ import annotations

import csv
import gzip
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from beacon.cli import main
from beacon.store.base import VariantQuery
from beacon.store.sqlite import SqliteStore
from tests.conftest import DEMO_DATASET

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "vcf"
B37_VCF = DATA / "test_1000G.vcf.gz"  # header: ##reference=...hs37d5.fa.gz, ##contig=<ID=1,assembly=b37,length=...>
HG38_VCF = DATA / "synthetic_usecases_4beacon_testingV4.vcf.gz"  # ##contig=<ID=1,length=248956422,assembly=hg38>
PANEL = ROOT / "beacon" / "demo" / "1000g_sample_panel.tsv"  # the 1000 Genomes phase 3 panel, 2504 samples


def count(store: SqliteStore) -> int:
    return store.count_variants(VariantQuery(DEMO_DATASET, kind="all"))


def header_and_records(path: Path) -> tuple[list[str], list[str]]:
    with gzip.open(path, "rt") as handle:
        lines = handle.readlines()
    return [line for line in lines if line.startswith("#")], [line for line in lines if not line.startswith("#")]


def vcf_samples(path: Path) -> list[str]:
    header, _ = header_and_records(path)
    return header[-1].rstrip("\n").split("\t")[9:]


def panel_rows(path: Path = PANEL) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def load(runner, vcf: Path, *options: str):
    return runner.invoke(main, ["load", "vcf", str(vcf), "--dataset", DEMO_DATASET, "--replace", *options])


# -- the header's assembly -------------------------------------------------------------------------------


def test_a_grch37_vcf_loaded_as_grch38_is_refused_naming_the_header_line(runner, demo_store) -> None:
    header, _ = header_and_records(B37_VCF)
    reference_line = next(number for number, line in enumerate(header, 1) if line.startswith("##reference="))
    before = count(demo_store)
    result = load(runner, B37_VCF, "--assembly", "GRCh38")
    assert result.exit_code == 1
    assert f"{B37_VCF}, header line {reference_line}: ##reference: " in result.stderr
    assert "GRCh37 reference" in result.stderr and "--ignore-header-assembly" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert count(demo_store) == before  # the demo's chr22 variants still answer


def test_contig_lengths_alone_tell_the_assembly(runner, demo_store, tmp_path) -> None:
    # Without ##reference and without assembly= attributes, chromosome 1's length (GRCh37: 249250621) remains.
    header, records = header_and_records(B37_VCF)
    stripped = [line.replace("assembly=b37,", "") for line in header if not line.startswith("##reference")]
    path = tmp_path / "lengths-only.vcf"
    path.write_text("".join(stripped + records))
    contig_line = next(number for number, line in enumerate(stripped, 1) if line.startswith("##contig=<ID=1,"))
    result = load(runner, path, "--assembly", "hg38")
    assert result.exit_code == 1
    assert f"header line {contig_line}: ##contig length: contig 1 has length 249250621" in result.stderr
    assert "GRCh38's is 248956422" in result.stderr


def test_an_hg38_vcf_loaded_as_grch37_is_refused_before_the_store_is_created(runner, tmp_path) -> None:
    store_path = tmp_path / "new.sqlite"
    arguments = ["load", "vcf", str(HG38_VCF), "--dataset", "any", "--assembly", "GRCh37"]
    result = runner.invoke(main, [*arguments, "--store", f"sqlite:///{store_path}"])
    assert result.exit_code == 1
    assert "##contig assembly: contig 1 has assembly=hg38" in result.stderr
    assert not store_path.exists()


@pytest.mark.parametrize("assembly", ["GRCh37", "grch37", "hg19", "b37", "GRCh37.p13"])
def test_synonyms_of_the_header_assembly_load(runner, demo_store, assembly) -> None:
    _, records = header_and_records(B37_VCF)
    result = load(runner, B37_VCF, "--assembly", assembly)
    assert result.exit_code == 0, result.stderr
    assert f"{len(records)} record(s)" in result.stdout
    assert count(demo_store) > 0


def test_ignore_header_assembly_overrides_a_stale_header(runner, demo_store) -> None:
    result = load(runner, B37_VCF, "--assembly", "GRCh38", "--ignore-header-assembly")
    assert result.exit_code == 0, result.stderr
    assert demo_store.variant_statistics(DEMO_DATASET).assembly == "GRCh38"


def test_a_bad_second_file_refuses_the_whole_load_before_the_first_is_read(runner, demo_store) -> None:
    before = count(demo_store)
    result = runner.invoke(
        main,
        ["load", "vcf", str(B37_VCF), str(HG38_VCF), "--dataset", DEMO_DATASET, "--assembly", "GRCh37", "--replace"],
    )
    assert result.exit_code == 1
    assert str(HG38_VCF) in result.stderr
    assert result.stdout == ""  # no report: the first file was not loaded either
    assert count(demo_store) == before


# -- sample panel coverage -------------------------------------------------------------------------------


def test_a_panel_missing_samples_is_refused_naming_how_many(runner, demo_store, tmp_path) -> None:
    rows = panel_rows()
    samples = set(vcf_samples(B37_VCF))
    fin = [row["sample"] for row in rows if row["pop"] == "FIN" and row["sample"] in samples]
    assert fin  # the slice has Finnish samples
    panel = tmp_path / "no-fin.tsv"
    panel.write_text("".join(line for line in PANEL.read_text().splitlines(keepends=True) if "\tFIN\t" not in line))
    before = count(demo_store)
    result = load(runner, B37_VCF, "--assembly", "GRCh37", "--sample-panel", str(panel))
    assert result.exit_code == 1
    assert f"samples: {len(fin)} of the VCF's {len(samples)} samples are not in the sample panel" in result.stderr
    assert fin[0] in result.stderr and "--allow-unpanelled-samples" in result.stderr
    assert count(demo_store) == before


def test_allow_unpanelled_samples_loads_them_into_total_only(runner, demo_store, tmp_path) -> None:
    samples = set(vcf_samples(B37_VCF))
    panel = tmp_path / "no-fin.tsv"
    panel.write_text("".join(line for line in PANEL.read_text().splitlines(keepends=True) if "\tFIN\t" not in line))
    arguments = ("--assembly", "GRCh37", "--sample-panel", str(panel), "--allow-unpanelled-samples")
    result = load(runner, B37_VCF, *arguments)
    assert result.exit_code == 0, result.stderr
    (variant,) = demo_store.find_variants(VariantQuery(DEMO_DATASET, kind="all", limit=1))
    populations = {frequency[0]: frequency for frequency in variant.frequencies}
    assert "FIN" not in populations
    assert populations["Total"].allele_number == 2 * len(samples)  # AN counts every sample, the unpanelled ones too


def test_panel_rows_without_a_vcf_sample_are_a_warning(runner, demo_store) -> None:
    samples = set(vcf_samples(B37_VCF))
    unused = [row["sample"] for row in panel_rows() if row["sample"] not in samples]
    assert unused  # the panel has samples the slice lacks
    result = load(runner, B37_VCF, "--assembly", "GRCh37", "--sample-panel", str(PANEL))
    assert result.exit_code == 0, result.stderr
    assert f"warning: {len(unused)} sample panel row(s) name no sample of the VCF file(s): {unused[0]}" in (
        result.stderr
    )


def test_htslib_header_warnings_are_printed_once(demo_store) -> None:
    # The cgbeacon2 trio declares INFO tags htslib calls invalid (`1000GAF`); it warns each time it reads the header.
    trio = DATA / "test_trio.vcf.gz"
    command = [sys.executable, "-c", "from beacon.cli import main; main()", "load", "vcf", str(trio), "--replace"]
    command += ["--dataset", DEMO_DATASET, "--assembly", "GRCh37", "--store", f"sqlite:///{demo_store.path}"]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert finished.returncode == 0, finished.stderr
    assert 'Invalid tag name: "1000GAF"' in finished.stderr
    assert finished.stderr.count('Invalid tag name: "1000GAF"') == 1


def test_the_progress_line_is_ended_before_the_report(demo_store) -> None:
    terminal, child = pty.openpty()  # progress is shown on a terminal only; the report goes to the same one
    command = [sys.executable, "-c", "from beacon.cli import main; main()", "load", "vcf", str(B37_VCF), "--replace"]
    command += ["--dataset", DEMO_DATASET, "--assembly", "GRCh37", "--batch-size", "100", "--workers", "1"]
    command += ["--store", f"sqlite:///{demo_store.path}"]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=child, stderr=child, cwd=ROOT)
    os.close(child)
    output = b""
    while True:
        try:
            chunk = os.read(terminal, 65536)
        except OSError:  # the process closed its terminal
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=120)
    os.close(terminal)
    text = output.decode()
    assert process.returncode == 0, text
    assert " alleles " in text  # the progress line was shown
    report_at = text.index(f"{B37_VCF}: ")
    assert text[:report_at].endswith("\n"), text[max(report_at - 80, 0) : report_at + 40]
