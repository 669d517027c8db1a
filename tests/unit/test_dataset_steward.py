"""The steward's commands through the real CLI: `datasets show`, `datasets remove`, `beacon check`, metadata errors.

Expected values come from the input files (VCF lines, panel rows, file bytes and their sha256 computed
here) or from the access policy's documented ceilings, never from the command's own output.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from beacon.cli import main
from beacon.demo import DEMO_ACCESS_POLICY
from beacon.genome import classify_variant, trim_alleles
from tests.conftest import DEMO_DATASET

ROOT = Path(__file__).resolve().parents[2]
VCF = ROOT / "tests" / "data" / "vcf" / "test_1000G.vcf.gz"  # the 1000 Genomes chr1 slice (GRCh37)
TRUTH = ROOT / "tests" / "data" / "vcf" / "test_1000G_population_allele_counts.tsv"
PANEL = ROOT / "beacon" / "demo" / "1000g_sample_panel.tsv"
METADATA = ROOT / "beacon" / "demo"  # the CINECA UK1 BFF records


def loadable_alleles() -> list[dict[str, str]]:
    """The slice's alleles a default load keeps: IUPAC ALTs some genotype carries (independent counts)."""
    with TRUTH.open() as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [row for row in rows if row["gt_AC"] != "0" and not row["alt"].startswith("<")]


def vcf_samples() -> list[str]:
    with gzip.open(VCF, "rt") as handle:
        return next(line for line in handle if line.startswith("#CHROM")).rstrip("\n").split("\t")[9:]


def show(runner, *arguments: str) -> dict:
    result = runner.invoke(main, ["datasets", "show", DEMO_DATASET, "--json", *arguments])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def load_slice(runner, *options: str):
    arguments = ["load", "vcf", str(VCF), "--dataset", DEMO_DATASET, "--assembly", "GRCh37", "--replace"]
    result = runner.invoke(main, [*arguments, "--sample-panel", str(PANEL), *options])
    assert result.exit_code == 0, result.stderr
    return result


# -- datasets show ---------------------------------------------------------------------------------------


def test_show_tells_what_a_load_put_in_and_from_which_file(runner) -> None:
    load_slice(runner)
    report = show(runner, "--policy", str(DEMO_ACCESS_POLICY))
    alleles = loadable_alleles()
    types: dict[str, int] = {}
    for row in alleles:
        _, ref, alt = trim_alleles(int(row["start0"]), row["ref"], row["alt"])
        types[classify_variant(ref, alt)] = types.get(classify_variant(ref, alt), 0) + 1
    assert report["variants"] == {"assembly": "GRCh37", "count": len(alleles), "byChromosome": {"1": len(alleles)},
                                  "byType": dict(sorted(types.items()))}  # fmt: skip
    assert report["caseLevel"] is False and report["frequencySource"] is None
    samples = vcf_samples()
    with PANEL.open() as handle:
        population_of = {row["sample"]: row["pop"] for row in csv.DictReader(handle, delimiter="\t")}
    assert report["populations"]["Total"] == len(samples)
    assert report["populations"]["FIN"] == sum(population_of[sample] == "FIN" for sample in samples)
    latest = report["loads"][-1]
    (item,) = latest["files"]
    assert item["path"] == str(VCF.resolve())
    assert item["bytes"] == VCF.stat().st_size
    assert item["sha256"] == hashlib.sha256(VCF.read_bytes()).hexdigest()
    assert (latest["loaded"], latest["mode"], item["loaded"]) == (len(alleles), "replace", len(alleles))
    # The demo policy makes the dataset PUBLIC: every tier sees records (issue #4's ceilings).
    assert report["access"]["securityLevel"] == "PUBLIC"
    assert report["access"]["tiers"] == {"anonymous": "record", "registered": "record", "controlled": "record"}


def test_show_in_text_names_the_counts_the_checksum_and_the_tiers(runner) -> None:
    load_slice(runner, "--case-level")
    result = runner.invoke(main, ["datasets", "show", DEMO_DATASET])  # no policy: the secure default
    assert result.exit_code == 0, result.stderr
    count = len(loadable_alleles())
    assert f"variants: {count:,} (GRCh37)" in result.stdout
    assert f"per chromosome: 1 {count:,}" in result.stdout
    assert "case-level data: yes" in result.stdout
    assert hashlib.sha256(VCF.read_bytes()).hexdigest() in result.stdout
    assert "CONTROLLED" in result.stdout
    assert "  anonymous: boolean" in result.stdout and "  registered: count" in result.stdout
    # The secure default protects rare alleles with a member budget (README: Re-identification).
    assert "  rare alleles: fewer than 3 copies not found for anonymous, registered" in result.stdout
    assert "  member budget: 1 answer(s) per caller, for 365 days" in result.stdout


def test_show_says_which_re_identification_defences_the_policy_gives(runner, tmp_path) -> None:
    assert "rareAlleleProtection" not in show(runner, "--policy", str(DEMO_ACCESS_POLICY))["access"]["privacy"]
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "query_budget: {anonymous: {queries: 100, window: 3600}}\n"
        "rare_alleles: {min_allele_count: 7, tiers: [anonymous]}\n"
        f"datasets:\n  {DEMO_DATASET}: {{level: PUBLIC, noisy_counts: {{epsilon: 0.5}}}}\n"
    )
    result = runner.invoke(main, ["datasets", "show", DEMO_DATASET, "--policy", str(policy)])
    assert result.exit_code == 0, result.stderr
    assert "  rare alleles: fewer than 7 copies not found for anonymous\n" in result.stdout
    assert "member budget" not in result.stdout
    assert "  query budget (anonymous): 100 per 3600 s" in result.stdout
    assert "  noisy counts: epsilon 0.5" in result.stdout


def test_show_keeps_every_load_in_the_history(runner) -> None:
    before = len(show(runner)["loads"])
    load_slice(runner)
    load_slice(runner)
    assert len(show(runner)["loads"]) == before + 2


def test_show_of_an_unknown_dataset_exits_1(runner) -> None:
    result = runner.invoke(main, ["datasets", "show", "no-such-dataset"])
    assert result.exit_code == 1
    assert "no dataset 'no-such-dataset'" in result.stderr


# -- datasets remove -------------------------------------------------------------------------------------


def dataset_ids(runner) -> list[str]:
    result = runner.invoke(main, ["datasets", "list"])
    return [line.split("\t")[0] for line in result.stdout.splitlines()]


def test_remove_without_a_terminal_needs_yes(runner) -> None:
    result = runner.invoke(main, ["datasets", "remove", DEMO_DATASET], input="y\n")  # stdin is not a terminal
    assert result.exit_code == 1
    assert "pass --yes" in result.stderr
    assert DEMO_DATASET in dataset_ids(runner)
    result = runner.invoke(main, ["datasets", "remove", DEMO_DATASET, "--yes"])
    assert result.exit_code == 0, result.stderr
    assert DEMO_DATASET not in dataset_ids(runner)


def remove_on_a_terminal(store_path: Path, answer: bytes) -> tuple[int, str]:
    terminal, child = pty.openpty()
    command = [sys.executable, "-c", "from beacon.cli import main; main()", "datasets", "remove", DEMO_DATASET]
    process = subprocess.Popen([*command, "--store", f"sqlite:///{store_path}"], stdin=child, stdout=child,
                               stderr=child, cwd=ROOT)  # fmt: skip
    os.close(child)
    output = b""
    while b"Remove dataset" not in output:
        output += os.read(terminal, 4096)
    os.write(terminal, answer)
    process.wait(timeout=60)
    with contextlib.suppress(OSError):  # the process closed its terminal
        output += os.read(terminal, 4096)
    os.close(terminal)
    return process.returncode, output.decode()


def test_remove_asks_on_a_terminal(runner, demo_store) -> None:
    code, output = remove_on_a_terminal(demo_store.path, b"n\n")
    assert code == 1 and "nothing removed" in output
    assert DEMO_DATASET in dataset_ids(runner)
    code, output = remove_on_a_terminal(demo_store.path, b"y\n")
    assert code == 0, output
    assert DEMO_DATASET not in dataset_ids(runner)


# -- beacon check ----------------------------------------------------------------------------------------


def test_check_passes_on_the_demo_configuration(runner, monkeypatch) -> None:
    monkeypatch.setenv("BEACON_ACCESS_FILE", str(DEMO_ACCESS_POLICY))
    result = runner.invoke(main, ["check"])
    assert result.exit_code == 0, result.stderr
    assert "error:" not in result.stderr


def test_a_policy_naming_a_missing_dataset_fails_the_check(runner, monkeypatch, tmp_path) -> None:
    typo = DEMO_DATASET[:-1]  # CINECA_synthetic_cohort_EUROPE_UK
    policy = tmp_path / "policy.yaml"
    policy.write_text(DEMO_ACCESS_POLICY.read_text().replace(f"{DEMO_DATASET}:", f"{typo}:"))
    monkeypatch.setenv("BEACON_ACCESS_FILE", str(policy))
    result = runner.invoke(main, ["check"])
    assert result.exit_code == 1
    assert f"error: {policy}: datasets.{typo}: no dataset {typo!r} in the store" in result.stderr
    # The real dataset is then not named: it silently got the default level.
    assert f"warning: {policy}: dataset {DEMO_DATASET!r} is not named: it gets the default level CONTROLLED" in (
        result.stderr
    )


def test_an_info_file_the_schema_refuses_fails_the_check(runner, monkeypatch, tmp_path) -> None:
    info = tmp_path / "info.json"
    organization = {"id": "org.example", "name": ["not", "a", "string"]}
    info.write_text(json.dumps({"id": "org.example.beacon", "organization": organization, "organisation": 1}))
    monkeypatch.setenv("BEACON_INFO_FILE", str(info))
    monkeypatch.setenv("BEACON_ACCESS_FILE", str(DEMO_ACCESS_POLICY))
    result = runner.invoke(main, ["check"])
    assert result.exit_code == 1
    assert "error: BEACON_INFO_FILE: /info would be refused by the Beacon schema: organization.name: " in result.stderr
    assert "warning: BEACON_INFO_FILE: key 'organisation' is not used" in result.stderr


# -- metadata: every bad record --------------------------------------------------------------------------


def test_metadata_errors_name_every_bad_record_and_nothing_is_written(runner, tmp_path) -> None:
    individuals = json.loads((METADATA / "individuals.json").read_text())[:120]
    bad = [3, 40, 77]  # 1-based record numbers
    for number in bad:
        del individuals[number - 1]["sex"]  # required by the individuals model
    path = tmp_path / "individuals.json"
    path.write_text(json.dumps([{**record, "id": f"new-{record['id']}"} for record in individuals]))
    result = runner.invoke(main, ["load", "metadata", str(path), "--dataset", DEMO_DATASET])
    assert result.exit_code == 1
    for number in bad:
        assert f"error: {path}: record {number}: " in result.stderr
    assert "error: 3 bad record(s): nothing was loaded" in result.stderr
    listed = runner.invoke(main, ["load", "metadata", str(path), "--dataset", DEMO_DATASET])
    assert listed.exit_code == 1  # still refused: nothing of the first attempt was written (no duplicate ids)
    assert "already exists" not in listed.stderr


def test_metadata_errors_stop_listing_at_fifty(runner, tmp_path) -> None:
    individuals = json.loads((METADATA / "individuals.json").read_text())[:70]
    for record in individuals:
        del record["sex"]
    path = tmp_path / "individuals.json"
    path.write_text(json.dumps(individuals))
    result = runner.invoke(main, ["load", "metadata", str(path), "--dataset", DEMO_DATASET, "--replace"])
    assert result.exit_code == 1
    assert result.stderr.count(f"error: {path}: record ") == 50
    assert "error: and 20 more bad record(s)" in result.stderr
    assert "error: 70 bad record(s): nothing was loaded" in result.stderr


def test_a_member_budget_on_a_dataset_without_carriers_is_a_warning(runner, monkeypatch, tmp_path) -> None:
    metadata = tmp_path / "datasets.json"
    metadata.write_text('[{"id": "counts-only", "name": "Allele counts only"}]')
    exac = Path(__file__).parents[1] / "data" / "vcf" / "exac.vcf.gz"
    assert runner.invoke(main, ["load", "metadata", str(metadata)]).exit_code == 0
    loaded = runner.invoke(main, ["load", "vcf", str(exac), "--dataset", "counts-only", "--assembly", "GRCh37"])
    assert loaded.exit_code == 0, loaded.stderr
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        DEMO_ACCESS_POLICY.read_text()
        + "  counts-only: {level: PUBLIC}\nrare_alleles: {min_allele_count: 5, member_budget: {answers: 1}}\n"
    )
    monkeypatch.setenv("BEACON_ACCESS_FILE", str(policy))
    result = runner.invoke(main, ["check"])
    assert result.exit_code == 0, result.stderr  # a warning, not an error
    warned = [line for line in result.stderr.splitlines() if "member budget" in line]
    # The demo datasets were loaded with their carriers; the ExAC counts were not.
    assert len(warned) == 1 and "'counts-only'" in warned[0] and "--case-level" in warned[0], result.stderr
