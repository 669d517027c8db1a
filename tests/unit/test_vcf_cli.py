"""`beacon load vcf` end to end, in-process (click's CliRunner) and as a real process.

Every test starts from a private copy of the demo store, whose demo dataset already holds the
CINECA chr22 variants, and checks the store through its public counting and lookup queries.
Expected counts come from `cineca_uk1_chr22_population_allele_counts.tsv` (computed independently)
or from the VCF lines quoted in comments.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from beacon.cli import main
from beacon.demo import DEMO_PANEL, DEMO_VCF
from beacon.store.base import VariantQuery, build_id_query
from beacon.store.sqlite import SqliteStore
from benchmarks.synthetic_vcf import write_vcf
from tests.conftest import DEMO_DATASET

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "vcf"
TRUTH = DATA / "cineca_uk1_chr22_population_allele_counts.tsv"
FIRST_DEMO_VARIANT = "GRCh37-22-16050075-A-G"  # the demo VCF's first record, rs587697622
LAST_DEMO_VARIANT = "GRCh37-22-17566000-C-T"  # and its last


def truth_rows() -> dict[tuple[str, str, str], dict[str, str]]:
    """The independently computed counts of the demo VCF, by (POS, REF, ALT)."""
    with TRUTH.open() as handle:
        return {(row["pos"], row["ref"], row["alt"]): row for row in csv.DictReader(handle, delimiter="\t")}


# The demo loads frequencies from genotypes: alleles with a carrier (its symbolic <CNn> alleles too).
DEMO_VARIANTS = sum(row["gt_AC"] != "0" for row in truth_rows().values())


def count(store: SqliteStore, dataset_id: str = DEMO_DATASET) -> int:
    return store.count_variants(VariantQuery(dataset_id, kind="all"))


def find(store: SqliteStore, variant_id: str):
    query = build_id_query(DEMO_DATASET, variant_id)
    assert query is not None, variant_id
    found = store.find_variants(query)
    return found[0] if found else None


def demo_lines(records: int) -> list[str]:
    """The demo VCF's header and first `records` record lines."""
    lines: list[str] = []
    with gzip.open(DEMO_VCF, "rt") as handle:
        for line in handle:
            records -= not line.startswith("#")
            if records < 0:
                break
            lines.append(line)
    return lines


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(lines))
    return path


def corrupt(tmp_path: Path, record: int, change) -> tuple[Path, int, list[str]]:
    """The demo VCF's first 400 records with record `record` changed; (path, its line number, columns)."""
    lines = demo_lines(400)
    at = sum(line.startswith("#") for line in lines) + record - 1
    columns = lines[at].rstrip("\n").split("\t")
    lines[at] = "\t".join(change(columns)) + "\n"
    return write_lines(tmp_path / "bad.vcf", lines), at + 1, columns


def expected_loaded(lines: list[str]) -> int:
    """Alleles of these VCF lines that load by default: those with an INFO AC above 0."""
    truth = truth_rows()
    records = [line.split("\t") for line in lines if not line.startswith("#")]
    rows = [truth[(columns[1], columns[3], columns[4])] for columns in records]
    return sum(row["info_AC"] != "0" for row in rows)


def load_vcf(runner, *arguments: str):
    return runner.invoke(main, ["load", "vcf", *arguments])


def beacon_command(*arguments: str) -> list[str]:
    return [sys.executable, "-c", "from beacon.cli import main; main()", *arguments]


# -- bad input ---------------------------------------------------------------------------------------


def truncated_bgzip(tmp_path: Path) -> tuple[Path, list[str]]:
    path = tmp_path / "truncated.vcf.gz"
    path.write_bytes(DEMO_VCF.read_bytes()[:300_000])
    return path, ["byte 300,000", "truncated"]


def header_without_column_line(tmp_path: Path) -> tuple[Path, list[str]]:
    path = write_lines(tmp_path / "header.vcf", [line for line in demo_lines(400) if not line.startswith("#CHROM")])
    return path, ["header: not a readable VCF/BCF file"]


def unknown_contig(tmp_path: Path) -> tuple[Path, list[str]]:
    # Record 350 comes after three batches of 100 have been written to the new version.
    path, line, columns = corrupt(tmp_path, 350, lambda c: ["chrUn_gl000220", *c[1:]])
    return path, [f"record 350 (line {line}, chrUn_gl000220:{columns[1]}): CHROM: unknown contig"]


def non_numeric_info(tmp_path: Path) -> tuple[Path, list[str]]:
    def break_allele_count(columns: list[str]) -> list[str]:
        info = ";".join("AC=abc" if item.startswith("AC=") else item for item in columns[7].split(";"))
        return [*columns[:7], info, *columns[8:]]

    path, line, columns = corrupt(tmp_path, 333, break_allele_count)
    return path, [f"record 333 (line {line}, 22:{columns[1]}): INFO/AC: 'abc' is not a number"]


def missing_file(tmp_path: Path) -> tuple[Path, list[str]]:
    return tmp_path / "missing.vcf.gz", []


@pytest.mark.parametrize(
    "bad_input",
    [
        truncated_bgzip,
        header_without_column_line,
        unknown_contig,
        non_numeric_info,
        missing_file,
    ],
)
def test_a_bad_vcf_exits_1_naming_file_place_and_field_and_changes_nothing(
    runner, demo_store, tmp_path, bad_input
) -> None:
    path, expected = bad_input(tmp_path)
    result = load_vcf(runner, str(path), "--dataset", DEMO_DATASET, "--assembly", "GRCh37", "--replace",
                      "--batch-size", "100")  # fmt: skip
    assert str(path) in result.stderr
    for part in expected:
        assert part in result.stderr
    assert "Traceback" not in result.stderr
    assert count(demo_store) == DEMO_VARIANTS
    assert find(demo_store, LAST_DEMO_VARIANT) is not None
    assert result.exit_code == 1


def test_a_missing_file_is_named_and_changes_nothing(runner, demo_store, tmp_path) -> None:
    path, _ = missing_file(tmp_path)
    result = load_vcf(runner, str(path), "--dataset", DEMO_DATASET, "--assembly", "GRCh37", "--replace")
    assert result.exit_code != 0
    assert str(path) in result.stderr
    assert "does not exist" in result.stderr or "no such file" in result.stderr  # click's words, or the loader's
    assert count(demo_store) == DEMO_VARIANTS


def test_a_bad_vcf_in_a_real_process_exits_1_without_a_traceback(runner, demo_store, tmp_path) -> None:
    path, expected = non_numeric_info(tmp_path)
    arguments = ("load", "vcf", str(path), "--dataset", DEMO_DATASET, "--assembly", "GRCh37", "--replace")
    finished = subprocess.run(beacon_command(*arguments), capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert finished.returncode == 1
    assert finished.stderr.startswith(f"error: {path}, ")
    assert expected[0] in finished.stderr and "Traceback" not in finished.stderr
    assert count(demo_store) == DEMO_VARIANTS


# -- datasets and --replace ----------------------------------------------------------------------------


def test_replace_swaps_the_variants_in_one_step(runner, demo_store, tmp_path) -> None:
    lines = demo_lines(200)
    path = write_lines(tmp_path / "head.vcf", lines)
    result = load_vcf(runner, str(path), "--dataset", DEMO_DATASET, "--assembly", "GRCh37", "--replace")
    assert result.exit_code == 0, result.stderr
    loaded = expected_loaded(lines)
    assert f"200 record(s), 200 ALT allele(s) read, {loaded} variant(s) loaded" in result.stdout
    assert count(demo_store) == loaded
    assert find(demo_store, FIRST_DEMO_VARIANT) is not None
    assert find(demo_store, LAST_DEMO_VARIANT) is None  # not in the first 200 records


def test_a_dataset_with_variants_is_only_reloaded_with_replace(runner, demo_store, tmp_path) -> None:
    path = write_lines(tmp_path / "head.vcf", demo_lines(50))
    result = load_vcf(runner, str(path), "--dataset", DEMO_DATASET, "--assembly", "GRCh37")
    assert result.exit_code == 1
    assert f"dataset {DEMO_DATASET!r} already has {DEMO_VARIANTS} variants; use --replace" in result.stderr
    assert count(demo_store) == DEMO_VARIANTS


def test_an_unknown_dataset_is_refused(runner, demo_store, tmp_path) -> None:
    path = write_lines(tmp_path / "head.vcf", demo_lines(50))
    result = load_vcf(runner, str(path), "--dataset", "NO_SUCH_DATASET", "--assembly", "GRCh37")
    assert result.exit_code == 1
    assert "dataset 'NO_SUCH_DATASET' does not exist" in result.stderr
    assert count(demo_store, "NO_SUCH_DATASET") == 0
    assert count(demo_store) == DEMO_VARIANTS


# -- frequency options ---------------------------------------------------------------------------------


def test_a_populations_map_names_the_info_fields(runner, demo_store, tmp_path) -> None:
    mapping = {
        "source": "SweGen",
        "sourceReference": "https://swefreq.nbis.se/",
        "populations": [
            {"population": "Total", "alleleCount": "AC", "alleleNumber": "AN"},
            {"population": "SE", "alleleFrequency": "SWEREFAF", "alleleCountHomozygous": "SWEREFAC_Hom"},
        ],
    }
    populations = tmp_path / "populations.json"
    populations.write_text(json.dumps(mapping))
    trio = str(DATA / "test_trio.vcf.gz")
    result = load_vcf(runner, trio, "--dataset", DEMO_DATASET, "--assembly", "GRCh37", "--replace",
                      "--populations", str(populations))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    # 1:156131050 A>T: AC=2;AF=0.333;AN=6;SWEREFAC_Hemi=0;SWEREFAC_Het=286;SWEREFAC_Hom=148;SWEREFAF=0.226
    total, sweden = find(demo_store, "GRCh37-1-156131050-A-T").frequencies
    assert tuple(total) == ("Total", 2 / 6, 2, 6, None, None, None)
    assert (sweden.population, sweden.allele_count_homozygous) == ("SE", 148)
    assert sweden.allele_frequency == pytest.approx(0.226)
    assert sweden.allele_count_heterozygous is None  # not in the map, so not reported


def test_a_sample_panel_gives_per_population_frequencies_from_genotypes(runner, demo_store, tmp_path) -> None:
    path = write_lines(tmp_path / "head.vcf", demo_lines(60))
    result = load_vcf(runner, str(path), "--dataset", DEMO_DATASET, "--assembly", "GRCh37", "--replace",
                      "--sample-panel", str(DEMO_PANEL), "--population-column", "super_pop",
                      "--sex-column", "gender", "--case-level")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    row = truth_rows()[("16050115", "G", "A")]
    variant = find(demo_store, "GRCh37-22-16050115-G-A")
    found = {frequency.population: frequency for frequency in variant.frequencies}
    assert (found["Total"].allele_count, found["Total"].allele_number) == (int(row["gt_AC"]), int(row["gt_AN"]))
    assert (found["AFR"].allele_count, found["AFR"].allele_number) == (int(row["AC_AFR"]), int(row["AN_AFR"]))
    assert found["AFR_F"].allele_count + found["AFR_M"].allele_count == int(row["AC_AFR"])
    assert all(frequency.allele_count_hemizygous is None for frequency in variant.frequencies)  # chromosome 22
    assert len(variant.carriers) == int(row["gt_AC"]) - found["Total"].allele_count_homozygous // 2


def test_a_populations_map_labels_the_sample_panel_populations(runner, demo_store, tmp_path) -> None:
    map_path = tmp_path / "labels.json"
    map_path.write_text(
        json.dumps({"populations": [{"population": "GB", "panelPopulations": ["GBR"]}], "splitBySex": True})
    )
    path = write_lines(tmp_path / "head.vcf", demo_lines(60))
    result = load_vcf(runner, str(path), "--dataset", DEMO_DATASET, "--assembly", "GRCh37", "--replace",
                      "--sample-panel", str(DEMO_PANEL), "--sex-column", "gender",
                      "--populations", str(map_path))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    row = truth_rows()[("16050115", "G", "A")]
    found = {f.population: f for f in find(demo_store, "GRCh37-22-16050115-G-A").frequencies}
    assert set(found) == {"Total", "F", "M", "GB", "GB_F", "GB_M"}
    assert (found["GB"].allele_count, found["GB"].allele_number) == (int(row["AC_GBR"]), int(row["AN_GBR"]))
    assert found["F"].allele_number + found["M"].allele_number == found["Total"].allele_number == int(row["gt_AN"])
    # Without --sex-column the map's sex split cannot be made: one line naming the file, exit 1.
    result = load_vcf(runner, str(path), "--dataset", DEMO_DATASET, "--assembly", "GRCh37", "--replace",
                      "--sample-panel", str(DEMO_PANEL), "--populations", str(map_path))  # fmt: skip
    assert result.exit_code == 1
    assert (
        result.stderr.strip()
        == f"error: {path}: the populations map's splitBySex needs the sample panel's sexes (--sex-column)"
    )


# -- a killed load -----------------------------------------------------------------------------------


def written_so_far(terminal: int, process: subprocess.Popen, at_least: int, timeout: float) -> int:
    """Read the load's progress line from its terminal until it reports `at_least` alleles written."""
    output = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        ready, _, _ = select.select([terminal], [], [], 0.2)
        if not ready:
            continue
        try:
            output += os.read(terminal, 65536)
        except OSError:  # the process closed its terminal
            break
        counts = re.findall(rb"([\d,]+) alleles", output)
        if counts and int(counts[-1].replace(b",", b"")) >= at_least:
            return int(counts[-1].replace(b",", b""))
    raise AssertionError(f"no progress past {at_least} alleles: {output[-500:]!r}")


def kill_load_after(vcf: Path, alleles: int, *options: str) -> tuple[subprocess.Popen, int]:
    """Run `beacon load vcf` into the demo dataset and SIGKILL it once it reports `alleles` written."""
    terminal, child_terminal = pty.openpty()  # the CLI shows its progress on a terminal
    process = subprocess.Popen(
        beacon_command("load", "vcf", str(vcf), "--dataset", DEMO_DATASET, "--assembly", "GRCh37", "--replace",
                       *options),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=child_terminal, cwd=ROOT,
    )  # fmt: skip
    os.close(child_terminal)
    try:
        written = written_so_far(terminal, process, at_least=alleles, timeout=120)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        os.close(terminal)
    return process, written


def test_a_killed_load_leaves_the_previous_variants_answering(runner, demo_store, tmp_path) -> None:
    big = write_vcf(tmp_path / "big.vcf.gz", 30_000)
    process, written = kill_load_after(big, 300, "--batch-size", "100")
    assert process.returncode == -signal.SIGKILL
    assert 300 <= written < 30_000
    assert count(demo_store) == DEMO_VARIANTS
    assert find(demo_store, FIRST_DEMO_VARIANT) is not None
    # The next load finds the dead load's version, drops it and succeeds.
    lines = demo_lines(100)
    result = load_vcf(runner, str(write_lines(tmp_path / "head.vcf", lines)), "--dataset", DEMO_DATASET,
                      "--assembly", "GRCh37", "--replace")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert count(demo_store) == expected_loaded(lines)


def processes_running(marker: str) -> list[int]:
    """Pids of live processes whose command line mentions `marker` (forked workers share their parent's)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().split(") ", 1)[1][:1]
        except (OSError, IndexError):
            continue
        if marker.encode() in command and state != "Z":
            pids.append(int(entry.name))
    return pids


def test_a_killed_parallel_load_leaves_no_workers_nor_parts_behind(runner, demo_store, tmp_path) -> None:
    big = write_vcf(tmp_path / "big-parallel.vcf.gz", 80_000)  # about 8 MB: several chunks
    _, written = kill_load_after(big, 1, "--workers", "2")  # once the first part is merged
    assert 0 < written < 80_000
    assert count(demo_store) == DEMO_VARIANTS  # the previous variants still answer
    deadline = time.monotonic() + 30
    while processes_running(str(big)) and time.monotonic() < deadline:
        time.sleep(0.2)  # workers notice their parent is gone at their next batch
    assert processes_running(str(big)) == []
    lines = demo_lines(100)
    result = load_vcf(runner, str(write_lines(tmp_path / "head.vcf", lines)), "--dataset", DEMO_DATASET,
                      "--assembly", "GRCh37", "--replace")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert count(demo_store) == expected_loaded(lines)
    assert sorted(demo_store.path.parent.glob("*.part-*")) == []  # the dead load's parts went with it
