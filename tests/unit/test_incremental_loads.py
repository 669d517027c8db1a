"""`beacon load vcf --add` / `--replace-contigs` end to end: the real CLI in subprocesses, real VCF files.

A dataset is built chromosome by chromosome from per-chromosome slices of the trio VCF
(tests/data/vcf/test_trio.vcf.gz, one record per line, one ALT each). What each step must answer is
counted from the slices with the plain reader below (INFO AC > 0 loads; see `expected_variants`),
never by the loader, and checked through the store's public queries.
"""

from __future__ import annotations

import gzip
import os
import pty
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from beacon.store.base import VariantQuery, build_id_query
from beacon.store.sqlite import SqliteStore
from benchmarks.synthetic_vcf import write_vcf
from tests.unit.test_vcf_cli import written_so_far

ROOT = Path(__file__).resolve().parents[2]
TRIO = ROOT / "tests" / "data" / "vcf" / "test_trio.vcf.gz"
DATASET = "trio"
WHOLE_CHROMOSOME = (0, 300_000_000)


def trio_lines() -> tuple[list[str], list[list[str]]]:
    """The trio VCF's header lines and its records split into columns."""
    header, records = [], []
    with gzip.open(TRIO, "rt") as handle:
        for line in handle:
            if line.startswith("#"):
                header.append(line)
            else:
                records.append(line.rstrip("\n").split("\t"))
    return header, records


def allele_count(columns: list[str]) -> int:
    """INFO AC of a one-ALT record (the plain reader: no htslib)."""
    info = dict(item.split("=", 1) for item in columns[7].split(";") if "=" in item)
    return int(info["AC"])


Allele = tuple[str, int, str, str]  # CHROM, POS, REF, ALT


def expected_variants(records: list[list[str]]) -> dict[str, set[Allele]]:
    """Chromosome -> the alleles these records load: those some sample carries (INFO AC > 0)."""
    expected: dict[str, set[Allele]] = {}
    for columns in records:
        if allele_count(columns) > 0:
            expected.setdefault(columns[0], set()).add((columns[0], int(columns[1]), columns[3], columns[4]))
    return expected


def genes_of(columns: list[str]) -> list[str]:
    """Gene names of a record's SnpEff ANN entries inside a gene (not up/downstream, not intergenic)."""
    info = dict(item.split("=", 1) for item in columns[7].split(";") if "=" in item)
    entries = [entry.split("|") for entry in info.get("ANN", "").split(",") if entry]
    outside = ("upstream_gene_variant", "downstream_gene_variant", "intergenic_region", "intergenic_variant")
    return [e[3] for e in entries if e[3] and not any(kind in e[1].split("&") for kind in outside)]


def gene_alleles(records: list[list[str]], gene: str) -> set[Allele]:
    """The loaded alleles annotated with `gene`."""
    return set().union(*expected_variants([c for c in records if gene in genes_of(c)]).values())


def alleles(documents) -> set[Allele]:
    return {(d.chromosome, d.start + 1, d.reference_bases, d.alternate_bases) for d in documents}


def write_slice(path: Path, records: list[list[str]]) -> Path:
    header, _ = trio_lines()
    path.write_text("".join(header) + "".join("\t".join(columns) + "\n" for columns in records))
    return path


def chromosome_records(chromosome: str) -> list[list[str]]:
    return [columns for columns in trio_lines()[1] if columns[0] == chromosome]


def beacon(store: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess, on the store."""
    command = [sys.executable, "-c", "from beacon.cli import main; main()", *arguments, "--store", f"sqlite:///{store}"]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)


def load(store: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return beacon(store, "load", "vcf", *arguments, "--dataset", DATASET, "--assembly", "GRCh37")


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "beacon.sqlite"
    datasets = tmp_path / "datasets.json"
    datasets.write_text('[{"id": "trio", "name": "Trio"}]')
    result = beacon(path, "load", "metadata", str(datasets))
    assert result.returncode == 0, result.stderr
    return path


def current_state(path: Path) -> tuple[list[tuple], list[str]]:
    """The variant sets and the variant tables of the store file, read with plain SQL."""
    with sqlite3.connect(path) as conn:
        sets = conn.execute("SELECT * FROM variant_sets ORDER BY version").fetchall()
        tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'variants%'")]
    return sets, sorted(tables)


def check_answers(path: Path, expected: dict[str, set[Allele]]) -> None:
    """The store answers exactly `expected`: totals, whole-chromosome range counts (bins), each variant."""
    store = SqliteStore(path, access="read")
    try:
        assert store.count_variants(VariantQuery(DATASET, kind="all")) == sum(map(len, expected.values()))
        everything = store.find_variants(VariantQuery(DATASET, kind="all", limit=10_000))
        assert alleles(everything) == set().union(*expected.values())
        for chromosome in ("1", "2", "10", "22", "X", "MT"):
            start, end = WHOLE_CHROMOSOME
            query = VariantQuery(DATASET, chromosome=chromosome, kind="range", start=start, end=end, limit=10_000)
            assert store.count_variants(query) == len(expected.get(chromosome, ())), chromosome
            assert alleles(store.find_variants(query)) == expected.get(chromosome, set()), chromosome
        for loaded in expected.values():
            short = sorted(allele for allele in loaded if len(allele[2]) + len(allele[3]) <= 20)
            for chromosome, position, ref, alt in short[:3]:  # long alleles have digest ids
                id_query = build_id_query(DATASET, f"GRCh37-{chromosome}-{position}-{ref}-{alt}")
                assert id_query is not None
                assert alleles(store.find_variants(id_query)) == {(chromosome, position, ref, alt)}
    finally:
        store.close()


def test_a_dataset_is_built_chromosome_by_chromosome_with_add(store_path, tmp_path) -> None:
    expected: dict[str, set[Allele]] = {}
    for chromosome in ("1", "22", "X", "2"):
        records = chromosome_records(chromosome)
        result = load(store_path, str(write_slice(tmp_path / f"chr{chromosome}.vcf", records)), "--add")
        assert result.returncode == 0, result.stderr
        expected.update(expected_variants(records))
        check_answers(store_path, expected)
    # Adding more of a chromosome already there: the new alleles join it, the old ones stay.
    records = chromosome_records("10")
    first, second = records[: len(records) // 2], records[len(records) // 2 :]
    assert load(store_path, str(write_slice(tmp_path / "chr10a.vcf", first)), "--add").returncode == 0
    assert load(store_path, str(write_slice(tmp_path / "chr10b.vcf", second)), "--add").returncode == 0
    expected.update(expected_variants(records))
    check_answers(store_path, expected)


def test_add_refuses_variants_already_loaded_and_changes_nothing(store_path, tmp_path) -> None:
    chr1 = chromosome_records("1")
    chr22 = chromosome_records("22")
    assert load(store_path, str(write_slice(tmp_path / "chr1.vcf", chr1)), "--add").returncode == 0
    before = current_state(store_path)
    # chr22 is new, but five chr1 records are loaded already: the whole load is refused.
    again = write_slice(tmp_path / "again.vcf", chr1[:5] + chr22)
    result = load(store_path, str(again), "--add")
    assert result.returncode == 1
    repeated = sum(len(ids) for ids in expected_variants(chr1[:5]).values())
    assert f"already has {repeated} of the variants of this load" in result.stderr
    assert "nothing was loaded" in result.stderr
    check_answers(store_path, expected_variants(chr1))
    assert current_state(store_path) == before  # the same version answers, with the same tables


def test_without_a_mode_a_second_load_is_refused_and_names_the_flags(store_path, tmp_path) -> None:
    chr1 = chromosome_records("1")
    assert load(store_path, str(write_slice(tmp_path / "chr1.vcf", chr1))).returncode == 0
    result = load(store_path, str(write_slice(tmp_path / "chr22.vcf", chromosome_records("22"))))
    assert result.returncode == 1
    loaded = len(expected_variants(chr1)["1"])
    assert f"already has {loaded} variants; use --replace to swap them, --add to add to them" in result.stderr
    assert "--replace-contigs" in result.stderr
    both = load(store_path, str(tmp_path / "chr22.vcf"), "--add", "--replace")
    assert both.returncode == 2 and "choose one of" in both.stderr
    check_answers(store_path, expected_variants(chr1))


def test_replace_contigs_replaces_one_chromosome_only(store_path, tmp_path) -> None:
    chr1, chr22 = chromosome_records("1"), chromosome_records("22")
    for name, records in (("chr1", chr1), ("chr22", chr22)):
        assert load(store_path, str(write_slice(tmp_path / f"{name}.vcf", records)), "--add").returncode == 0
    fixed = chr22[len(chr22) // 2 :]  # a corrected chr22: its second half only
    result = load(store_path, str(write_slice(tmp_path / "chr22-fixed.vcf", fixed)), "--replace-contigs")
    assert result.returncode == 0, result.stderr
    check_answers(store_path, {**expected_variants(chr1), **expected_variants(fixed)})


def test_replace_contigs_in_a_dataset_loaded_in_one_run(store_path, tmp_path) -> None:
    # Every chromosome in one load shares one table: replacing one must leave the others intact.
    _, records = trio_lines()
    assert load(store_path, str(TRIO)).returncode == 0
    check_answers(store_path, expected_variants(records))
    fixed = chromosome_records("2")[:7]
    assert load(store_path, str(write_slice(tmp_path / "chr2.vcf", fixed)), "--replace-contigs").returncode == 0
    expected = {**expected_variants(records), **expected_variants(fixed)}
    check_answers(store_path, expected)
    store = SqliteStore(store_path, access="read")
    try:
        # Gene queries read every table of the version: a gene of the fixed chromosome and one of another.
        kept = [columns for columns in records if columns[0] != "2"] + fixed
        for gene in (genes_of(fixed[0])[0], "PER3"):
            gene_query = VariantQuery(DATASET, kind="gene", gene_id=gene, limit=1000)
            assert alleles(store.find_variants(gene_query)) == gene_alleles(kept, gene), gene
            assert store.count_variants(gene_query) == len(gene_alleles(kept, gene))
        bins = VariantQuery(DATASET, chromosome="2", kind="range", start=0, end=250_000_000)
        assert store.count_variants(bins) == len(expected["2"])
    finally:
        store.close()
    # --replace keeps its meaning: only the input remains.
    assert load(store_path, str(write_slice(tmp_path / "chr2.vcf", fixed)), "--replace").returncode == 0
    check_answers(store_path, expected_variants(fixed))


def test_the_same_variants_in_two_files_of_one_load_are_refused_naming_both(store_path, tmp_path) -> None:
    chr1 = chromosome_records("1")
    first = write_slice(tmp_path / "first.vcf", chr1[:20])
    second = write_slice(tmp_path / "second.vcf", chr1[15:] + chromosome_records("22"))  # 5 records in both
    result = load(store_path, str(first), str(second))
    assert result.returncode == 1
    assert f"{first} and {second} hold the same variants" in result.stderr
    repeated = len(expected_variants(chr1[15:20])["1"])
    assert f"this load holds {repeated} variant(s) twice" in result.stderr
    check_answers(store_path, {})
    # Files on different chromosomes, or overlapping without a common allele, load together.
    ok = load(store_path, str(first), str(write_slice(tmp_path / "rest.vcf", chr1[20:])))
    assert ok.returncode == 0, ok.stderr
    check_answers(store_path, expected_variants(chr1))


def test_a_load_that_loads_nothing_exits_non_zero(store_path, tmp_path) -> None:
    chr1 = chromosome_records("1")
    assert load(store_path, str(write_slice(tmp_path / "chr1.vcf", chr1))).returncode == 0
    unknown = [["chrUn_gl000220", *columns[1:]] for columns in chromosome_records("22")]
    path = write_slice(tmp_path / "unknown.vcf", unknown)
    result = load(store_path, str(path), "--replace", "--skip-unknown-contigs")
    assert result.returncode == 1
    assert f"error: nothing was loaded: {path}: 0 variant(s) of {len(unknown)} ALT allele(s) read" in result.stderr
    assert f"skipped {len(unknown)}: unknown contig" in result.stderr
    check_answers(store_path, expected_variants(chr1))  # --replace did not empty the dataset


def test_a_killed_add_leaves_the_previous_version_answering(store_path, tmp_path) -> None:
    chr1 = chromosome_records("1")
    assert load(store_path, str(write_slice(tmp_path / "chr1.vcf", chr1))).returncode == 0
    big = write_vcf(tmp_path / "chr2-big.vcf.gz", 30_000, chromosome="2")
    terminal, child_terminal = pty.openpty()  # the CLI shows its progress on a terminal
    command = [sys.executable, "-c", "from beacon.cli import main; main()", "load", "vcf", str(big), "--add",
               "--dataset", DATASET, "--assembly", "GRCh37", "--batch-size", "100", "--workers", "1",
               "--store", f"sqlite:///{store_path}"]  # fmt: skip
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=child_terminal)
    os.close(child_terminal)
    try:
        written = written_so_far(terminal, process, at_least=300, timeout=120)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        os.close(terminal)
    assert process.returncode == -signal.SIGKILL and 300 <= written < 30_000
    check_answers(store_path, expected_variants(chr1))
    # The next --add drops the dead load's table and adds its own.
    chr22 = chromosome_records("22")
    assert load(store_path, str(write_slice(tmp_path / "chr22.vcf", chr22)), "--add").returncode == 0
    check_answers(store_path, {**expected_variants(chr1), **expected_variants(chr22)})
    with sqlite3.connect(store_path) as conn:
        tables = Counter(name.split("_")[1] for (name,) in conn.execute("SELECT name FROM sqlite_master") if
                         name.startswith("variants_"))  # fmt: skip
    assert len(tables) == 2  # chr1's table and chr22's: the killed load's went
