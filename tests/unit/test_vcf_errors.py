"""Bad inputs give a VcfError naming the file, the record (number, line, CHROM:POS) and the field.

Each bad file is a real one, corrupted in a temporary directory.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from beacon.demo import DEMO_VCF
from loaders.vcf import (
    SKIP_UNKNOWN_CONTIG,
    LoadReport,
    PopulationMap,
    SamplePanel,
    VcfError,
    VcfOptions,
    parse_population_map,
    read_documents,
    read_sample_panel,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "vcf"
CINECA = DEMO_VCF  # the CINECA UK1 chr22 VCF (1000 Genomes INFO fields only), see beacon/demo/SOURCE.md
EGA = DATA / "synthetic_usecases_4beacon_testingV4.vcf.gz"
GRCH37 = VcfOptions(assembly="GRCh37")


def load(path: Path, options: VcfOptions = GRCH37) -> LoadReport:
    report = LoadReport()
    for _ in read_documents(path, options, report):
        pass
    return report


def cineca_lines(records: int = 60) -> list[str]:
    lines: list[str] = []
    with gzip.open(CINECA, "rt") as handle:
        for line in handle:
            lines.append(line)
            if sum(not x.startswith("#") for x in lines) == records:
                return lines
    raise AssertionError("the CINECA file is shorter than expected")


def untouched(tmp_path: Path, options: VcfOptions) -> LoadReport:
    path = tmp_path / "good.vcf"
    path.write_text("".join(cineca_lines()))
    return load(path, options)


def corrupt(tmp_path: Path, record: int, change) -> tuple[Path, int, list[str]]:
    """Write the CINECA head with record `record` (1-based) changed; returns (path, its line, columns)."""
    lines = cineca_lines()
    header = sum(line.startswith("#") for line in lines)
    columns = lines[header + record - 1].rstrip("\n").split("\t")
    lines[header + record - 1] = "\t".join(change(columns)) + "\n"
    path = tmp_path / "bad.vcf"
    path.write_text("".join(lines))
    return path, header + record, columns


def test_a_truncated_bgzip_file(tmp_path: Path) -> None:
    path = tmp_path / "truncated.vcf.gz"
    path.write_bytes(CINECA.read_bytes()[:300_000])
    with pytest.raises(VcfError, match="truncated") as error:
        load(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("fraction", [0.5, 0.9])
def test_a_truncated_plain_gzip_file(tmp_path: Path, fraction: float) -> None:
    data = EGA.read_bytes()
    path = tmp_path / "truncated.vcf.gz"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(VcfError, match="truncated or corrupt") as error:
        load(path)
    assert str(error.value).startswith(str(path))


def test_a_header_without_the_column_line(tmp_path: Path) -> None:
    path = tmp_path / "no_chrom_line.vcf"
    path.write_text("".join(line for line in cineca_lines() if not line.startswith("#CHROM")))
    with pytest.raises(VcfError, match="header: not a readable VCF/BCF file"):
        load(path)


def test_a_file_that_is_not_a_vcf(tmp_path: Path) -> None:
    path = tmp_path / "individuals.vcf"
    path.write_text('[{"id": "HG00096"}]\n')
    with pytest.raises(VcfError, match="not a readable VCF/BCF file"):
        load(path)
    with pytest.raises(VcfError, match="no such file"):
        load(tmp_path / "missing.vcf.gz")


def test_an_unknown_contig(tmp_path: Path) -> None:
    path, line, columns = corrupt(tmp_path, 20, lambda c: ["chrUn_gl000220", *c[1:]])
    with pytest.raises(VcfError) as error:
        load(path)
    message = str(error.value)
    assert message.startswith(f"{path}, record 20 (line {line}, chrUn_gl000220:{columns[1]}): CHROM: unknown contig")
    assert error.value.field_name == "CHROM"


def test_unknown_contigs_can_be_skipped_and_counted(tmp_path: Path) -> None:
    path, _, _ = corrupt(tmp_path, 20, lambda c: ["GL000192.1", *c[1:]])
    options = VcfOptions(assembly="GRCh37", skip_unknown_contigs=True, keep_zero_count=True)
    report = load(path, options)
    assert report.skipped[SKIP_UNKNOWN_CONTIG] == 1
    assert report.loaded == untouched(tmp_path, options).loaded - 1


def test_a_non_numeric_info_value(tmp_path: Path) -> None:
    def break_allele_count(columns: list[str]) -> list[str]:
        info = ";".join("AC=abc" if item.startswith("AC=") else item for item in columns[7].split(";"))
        return [*columns[:7], info, *columns[8:]]

    path, line, columns = corrupt(tmp_path, 33, break_allele_count)
    with pytest.raises(VcfError) as error:
        load(path)
    assert str(error.value) == f"{path}, record 33 (line {line}, 22:{columns[1]}): INFO/AC: 'abc' is not a number"


def test_missing_info_values_are_not_errors(tmp_path: Path) -> None:
    def blank_allele_count(columns: list[str]) -> list[str]:
        info = ";".join("AC=." if item.startswith("AC=") else item for item in columns[7].split(";"))
        return [*columns[:7], info, *columns[8:]]

    path, _, _ = corrupt(tmp_path, 33, blank_allele_count)
    options = VcfOptions(assembly="GRCh37", keep_zero_count=True)
    assert load(path, options).loaded == untouched(tmp_path, options).loaded


def test_a_position_that_is_not_a_number(tmp_path: Path) -> None:
    path, line, _ = corrupt(tmp_path, 41, lambda c: [c[0], "16051x", *c[2:]])
    with pytest.raises(VcfError) as error:
        load(path)
    message = str(error.value)
    assert f"record 41 (line {line}, after 22:" in message
    assert message.endswith("POS: '16051x' is not a position")


def test_a_record_with_missing_columns(tmp_path: Path) -> None:
    path, line, _ = corrupt(tmp_path, 12, lambda c: c[:5])
    with pytest.raises(VcfError, match=f"record 12 \\(line {line}, after 22:\\d+\\): columns: expected at least 8"):
        load(path)


def test_a_reference_allele_that_is_not_bases(tmp_path: Path) -> None:
    path, line, columns = corrupt(tmp_path, 7, lambda c: [*c[:3], "A?", *c[4:]])
    with pytest.raises(VcfError, match=f"record 7 \\(line {line}, 22:{columns[1]}\\): REF: 'A\\?' is not"):
        load(path)


def test_options_that_need_genotypes_on_a_sites_only_file() -> None:
    exac = DATA / "exac.vcf.gz"
    with pytest.raises(VcfError, match="--case-level needs genotypes"):
        load(exac, VcfOptions(assembly="GRCh37", case_level=True))
    panel = SamplePanel({"HG00096": "GBR"})
    with pytest.raises(VcfError, match="--sample-panel needs genotypes"):
        load(exac, VcfOptions(assembly="GRCh37", sample_panel=panel))
    with pytest.raises(VcfError, match="none of the VCF samples"):
        load(EGA, VcfOptions(assembly="GRCh38", sample_panel=panel))


def test_bad_sample_panels(tmp_path: Path) -> None:
    path = tmp_path / "panel.tsv"
    path.write_text("sample\tpop\nHG00096\tGBR\nHG00096\tFIN\n")
    with pytest.raises(VcfError, match="line 3: sample 'HG00096' is listed twice"):
        read_sample_panel(path)
    with pytest.raises(VcfError, match="no column 'super_pop'"):
        read_sample_panel(path, population_column="super_pop")
    path.write_text("sample\tpop\nHG00096\n")
    with pytest.raises(VcfError, match="line 2: a sample name and a population are required"):
        read_sample_panel(path)


def test_an_unknown_assembly_is_rejected_before_reading() -> None:
    with pytest.raises(ValueError, match="unknown assembly"):
        load(CINECA, VcfOptions(assembly="GRCh36"))


def test_header_problems_raise_before_the_first_record_is_asked_for(tmp_path: Path) -> None:
    with pytest.raises(VcfError, match="no such file"):
        read_documents(tmp_path / "missing.vcf.gz", GRCH37)
    with pytest.raises(VcfError, match="--case-level needs genotypes"):
        read_documents(DATA / "exac.vcf.gz", VcfOptions(assembly="GRCh37", case_level=True))
    both = VcfOptions(assembly="GRCh38", sample_panel=SamplePanel({"SAMPLE1": "ES"}), population_map=parse_map())
    with pytest.raises(VcfError, match="not both"):
        read_documents(EGA, both)


def parse_map() -> PopulationMap:
    return parse_population_map({"populations": [{"population": "Total", "alleleFrequency": "AF"}]})
