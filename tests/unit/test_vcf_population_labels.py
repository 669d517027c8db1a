"""Population labels a node publishes: a populations map relabels a sample panel's populations (GBR as GB)
and declares sex splits (`GB_F`/`GB_M` and the sex totals `F`/`M`), the Genome of Europe shape.

Expected counts are counted in the test from the VCF genotypes (cyvcf2) and the panel (csv), see
tests/allele_counts.py, or by hand from the GT columns quoted.
"""

from __future__ import annotations

import gzip
import itertools
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from beacon.demo import DEMO_PANEL, DEMO_POPULATIONS, DEMO_VCF
from beacon.store.base import PopulationFrequency
from loaders.vcf import (
    TOTAL,
    LoadReport,
    VcfError,
    VcfOptions,
    parse_population_map,
    read_documents,
    read_population_map,
    read_sample_panel,
)
from tests.allele_counts import Counts, count_groups, read_panel

DATA = Path(__file__).resolve().parents[1] / "data" / "vcf"
TRIO = DATA / "test_trio.vcf.gz"
RECORDS = 400  # the first records of the demo VCF, enough to cover common and rare alleles
EUROPE = {"GBR": "GB", "FIN": "FI", "IBS": "ES", "TSI": "IT"}
# Where each 1000 Genomes population was sampled (ISO 3166 codes); some countries have several.
COUNTRIES = {
    "GBR": "GB", "FIN": "FI", "IBS": "ES", "TSI": "IT", "CEU": "US", "YRI": "NG", "ESN": "NG", "LWK": "KE",
    "GWD": "GM", "MSL": "SL", "ASW": "US", "ACB": "BB", "MXL": "US", "PUR": "PR", "CLM": "CO", "PEL": "PE",
    "CHB": "CN", "CHS": "CN", "CDX": "CN", "JPT": "JP", "KHV": "VN", "GIH": "US", "PJL": "PK", "BEB": "BD",
    "STU": "GB", "ITU": "GB",
}  # fmt: skip

Found = dict[tuple[int, str, str], dict[str, PopulationFrequency]]


def head(path: Path, records: int) -> Path:
    """A copy of the demo VCF with its header and first `records` records (text copy, no VCF code)."""
    with gzip.open(DEMO_VCF, "rt") as handle, path.open("w") as out:
        lines = iter(handle)
        for line in lines:
            out.write(line)
            if line.startswith("#CHROM"):
                break
        out.writelines(itertools.islice(lines, records))
    return path


def label_map(labels: dict[str, str], **extra: Any) -> Any:
    by_label: dict[str, list[str]] = defaultdict(list)
    for code, label in labels.items():
        by_label[label].append(code)
    items = [{"population": label, "panelPopulations": codes} for label, codes in by_label.items()]
    return parse_population_map({"populations": items, **extra})


def load(vcf: Path, **options: Any) -> Found:
    documents = read_documents(vcf, VcfOptions(assembly="GRCh37", keep_zero_count=True, **options), LoadReport())
    return {
        (d.start + 1, d.reference_bases, d.alternate_bases): {f.population: f for f in d.frequencies}
        for d in documents
        if not d.alternate_bases.startswith("<")  # the oracle counts sequence alleles
    }


def panel_options(population_map: Any) -> dict[str, Any]:
    panel = read_sample_panel(DEMO_PANEL, population_column="pop", sex_column="gender")
    return {"sample_panel": panel, "population_map": population_map}


def expected_groups(labels: dict[str, str]) -> dict[str, set[str]]:
    """Label -> samples: Total, F/M, each country and country_sex, from the panel and `labels`."""
    groups: dict[str, set[str]] = defaultdict(set)
    for sample, (population, sex) in read_panel(DEMO_PANEL).items():
        groups[TOTAL].add(sample)
        groups[sex].add(sample)
        if population in labels:
            groups[labels[population]].add(sample)
            groups[f"{labels[population]}_{sex}"].add(sample)
    return groups


def as_counts(frequency: PopulationFrequency) -> Counts:
    counts = Counts(
        frequency.allele_count,
        frequency.allele_number,
        frequency.allele_count_homozygous,
        frequency.allele_count_heterozygous,
    )
    assert frequency.allele_frequency == pytest.approx(counts[0] / counts[1])
    return counts


@pytest.fixture(scope="module")
def demo_head(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return head(tmp_path_factory.mktemp("vcf") / "head.vcf", RECORDS)


def test_the_demo_map_publishes_countries_sexes_and_totals_counted_from_genotypes(demo_head) -> None:
    assert all(sex in ("F", "M") for _, sex in read_panel(DEMO_PANEL).values())  # every sample has a sex
    expected = count_groups(demo_head, expected_groups(EUROPE))
    found = load(demo_head, **panel_options(read_population_map(DEMO_POPULATIONS)))
    assert set(found) == set(expected) and len(found) > 300
    labels = {TOTAL, "F", "M", *EUROPE.values(), *(f"{c}_{s}" for c in EUROPE.values() for s in "FM")}
    for key, counts in expected.items():
        assert set(found[key]) == labels == set(counts)
        for label, frequency in found[key].items():
            assert as_counts(frequency) == counts[label], (key, label)
            assert frequency.allele_count_hemizygous is None  # chromosome 22
        by_label = {label: as_counts(frequency) for label, frequency in found[key].items()}
        assert by_label["F"] + by_label["M"] == by_label[TOTAL]
        for country in EUROPE.values():
            assert by_label[f"{country}_F"] + by_label[f"{country}_M"] == by_label[country]


def test_countries_add_up_to_the_total_when_every_sample_has_one(demo_head) -> None:
    panel = read_panel(DEMO_PANEL)
    found = load(demo_head, **panel_options(label_map(COUNTRIES)))  # no sex splits: not declared
    expected = count_groups(demo_head, expected_groups(COUNTRIES))
    countries = sorted(set(COUNTRIES.values()))
    assert {population for population, _ in panel.values()} == set(COUNTRIES)  # every sample has a country
    for key, frequencies in found.items():
        assert set(frequencies) == {TOTAL, *countries}
        total = sum((as_counts(frequencies[country]) for country in countries), Counts(0, 0, 0, 0))
        assert total == as_counts(frequencies[TOTAL]) == expected[key][TOTAL]
        assert as_counts(frequencies["CN"]) == expected[key]["CN"]  # CHB, CHS and CDX together


def test_without_a_map_the_panel_populations_are_published_as_before(demo_head) -> None:
    panel = read_sample_panel(DEMO_PANEL, population_column="pop", sex_column="gender")
    found = load(demo_head, sample_panel=panel)
    populations = {population for population, _ in read_panel(DEMO_PANEL).values()}
    expected = {TOTAL, *populations, *(f"{p}_{s}" for p in populations for s in "FM")}
    assert all(set(frequencies) == expected for frequencies in found.values())  # no F/M totals


def write_trio_panel(tmp_path: Path) -> Any:
    # A1 and A2 have reads on Y (Y:14898429 DP 16 and 17), A3 has none (DP 0): two males, one female.
    path = tmp_path / "trio_panel.tsv"
    path.write_text("sample\tpopulation\tsex\nADM1059A1\tSWE\tmale\nADM1059A2\tSWE\tmale\nADM1059A3\tSWE\tfemale\n")
    return read_sample_panel(path, population_column="population", sex_column="sex")


@pytest.mark.parametrize(
    ("key", "expected", "absent"),
    [
        # (AC, AN, hom, het, hemi) by hand from the GT of ADM1059A1 (M), A2 (M), A3 (F).
        # X:37653150 0/1 1/1 0/1: A2's homozygous call is one hemizygous allele; A1's het call is kept.
        (
            (37653150, "C", "CA"),
            {"M": (2, 3, 0, 1, 1), "SE_M": (2, 3, 0, 1, 1), "F": (1, 2, 0, 1, 0), "SE": (3, 5, 0, 2, 1)},
            (),
        ),
        # Y:14959237 1/1 1/1 0/0: two hemizygous males; the female's Y call does not count, so she is left out.
        ((14959237, "C", "G"), {"M": (2, 2, 0, 0, 2), "SE_M": (2, 2, 0, 0, 2), "SE": (2, 2, 0, 0, 2)}, ("F", "SE_F")),
        # X:207362 0/1 1/1 1/1 lies in PAR1, so the males stay diploid.
        ((207362, "C", "T"), {"M": (3, 4, 2, 1, 0), "F": (2, 2, 2, 0, 0), "SE_F": (2, 2, 2, 0, 0)}, ()),
    ],
)
def test_sex_totals_carry_hemizygous_counts_on_x_and_y(tmp_path: Path, key, expected, absent) -> None:
    population_map = label_map({"SWE": "SE"}, splitBySex=True)
    found = load(TRIO, sample_panel=write_trio_panel(tmp_path), population_map=population_map)[key]
    for label, counts in expected.items():
        assert tuple(found[label][2:]) == counts, label
    assert not set(absent) & set(found)  # groups without a called allele are left out


def test_a_panel_map_names_the_frequency_source() -> None:
    population_map = label_map(EUROPE, source="1000 Genomes", sourceReference="https://www.internationalgenome.org/")
    options = VcfOptions(assembly="GRCh37", **panel_options(population_map))
    source = options.frequency_source()
    assert source is not None and (source.source, source.source_reference) == (
        "1000 Genomes",
        "https://www.internationalgenome.org/",
    )


def test_info_fields_mapped_to_goe_labels_give_the_same_frequencies(demo_head, tmp_path) -> None:
    """The populations-map path: INFO fields (written here from the test's own counts) named per label."""
    groups = expected_groups(EUROPE)
    expected = count_groups(demo_head, groups)
    fields = {label: label.replace("_", "") for label in groups}  # INFO ids: AC_GBF for GB_F, ...
    vcf = tmp_path / "goe.vcf"
    with demo_head.open() as handle, vcf.open("w") as out:
        for line in handle:
            if line.startswith("#CHROM"):
                for label, field in fields.items():
                    for kind, number in (("AC", "A"), ("AN", "1"), ("HOM", "A"), ("HET", "A")):
                        out.write(f'##INFO=<ID={kind}_{field},Number={number},Type=Integer,Description="{label}">\n')
                out.write("\t".join(line.split("\t")[:8]) + "\n")
            elif line.startswith("#"):
                out.write(line)
            else:
                columns = line.split("\t")[:8]
                counts = expected.get((int(columns[1]), columns[3], columns[4]))
                if counts is None:
                    continue
                values = [
                    f"{kind}_{fields[label]}={value}"
                    for label, count in counts.items()
                    for kind, value in zip(("AC", "AN", "HOM", "HET"), count, strict=True)
                ]
                span = [item for item in columns[7].split(";") if item.startswith("END=")]  # symbolic alleles' END
                columns[7] = ";".join(span + values)
                out.write("\t".join(columns) + "\n")
    items = [
        {
            "population": label,
            "alleleCount": f"AC_{field}",
            "alleleNumber": f"AN_{field}",
            "alleleCountHomozygous": f"HOM_{field}",
            "alleleCountHeterozygous": f"HET_{field}",
        }
        for label, field in fields.items()
    ]
    from_info = load(vcf, population_map=parse_population_map({"populations": items}))
    from_genotypes = load(demo_head, **panel_options(read_population_map(DEMO_POPULATIONS)))
    assert set(from_info) == set(expected)
    for key, counts in expected.items():
        assert {label: as_counts(f) for label, f in from_info[key].items()} == counts
        assert from_info[key] == from_genotypes[key]


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"populations": [{"population": "GB", "panelPopulations": ["GBR"], "alleleCount": "AC"}]}, "not both"),
        (
            {
                "populations": [
                    {"population": "GB", "panelPopulations": ["GBR"]},
                    {"population": "FI", "alleleFrequency": "AF_FI"},
                ]
            },
            "not both",
        ),
        ({"populations": [{"population": "GB", "panelPopulations": []}]}, "non-empty array"),
        ({"populations": [{"population": "GB", "panelPopulations": "GBR"}]}, "non-empty array"),
        (
            {
                "populations": [
                    {"population": "GB", "panelPopulations": ["GBR"]},
                    {"population": "UK", "panelPopulations": ["GBR"]},
                ]
            },
            "'GBR' is given two labels",
        ),
        ({"populations": [{"population": "Total", "panelPopulations": ["GBR"]}]}, "Total would be published twice"),
        (
            {"populations": [{"population": "M", "panelPopulations": ["MXL"]}], "splitBySex": True},
            "M would be published twice",
        ),
        (
            {
                "populations": [
                    {"population": "GB", "panelPopulations": ["GBR"]},
                    {"population": "GB_F", "panelPopulations": ["FIN"]},
                ],
                "splitBySex": True,
            },
            "GB_F would be published twice",
        ),
        ({"populations": [{"population": "GB", "panelPopulations": ["GBR"]}], "splitBySex": "yes"}, "true or false"),
        ({"populations": [{"population": "NL", "alleleFrequency": "AF_NL"}], "splitBySex": True}, "list each sex"),
    ],
)
def test_invalid_panel_maps_are_rejected(document, problem) -> None:
    with pytest.raises(VcfError, match=problem):
        parse_population_map(document, "map.json")


def test_a_panel_map_must_fit_the_panel_and_the_panel_must_be_given(demo_head, tmp_path) -> None:
    with pytest.raises(VcfError, match="needs a sample panel"):
        load(demo_head, population_map=label_map(EUROPE))
    with pytest.raises(VcfError, match=r"panelPopulations: GRB named by the populations map"):
        load(demo_head, **panel_options(label_map({"GRB": "GB"})))
    no_sexes = read_sample_panel(DEMO_PANEL, population_column="pop")
    with pytest.raises(VcfError, match=r"splitBySex needs the sample panel's sexes \(--sex-column\)"):
        load(demo_head, sample_panel=no_sexes, population_map=label_map(EUROPE, splitBySex=True))


def test_the_demo_map_is_the_documented_one() -> None:
    document = json.loads(DEMO_POPULATIONS.read_text(encoding="utf-8"))
    population_map = parse_population_map(document)
    assert dict(population_map.panel_labels) == EUROPE and population_map.split_by_sex
