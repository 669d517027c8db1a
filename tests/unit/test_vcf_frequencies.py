"""Per-population frequencies from INFO fields, a populations map, or genotypes with a sample panel.

Expected counts come from `*_population_allele_counts.tsv` (computed independently and checked with
bcftools +fill-tags), from the INFO values printed in comments, or by hand from the GT columns quoted.
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest

from beacon.demo import DEMO_PANEL, DEMO_VCF
from beacon.store.base import FrequencySource, PopulationFrequency, VariantDocument
from loaders.vcf import (
    TOTAL,
    LoadReport,
    PopulationFields,
    SamplePanel,
    VcfError,
    VcfOptions,
    detect_population_fields,
    parse_population_map,
    read_documents,
    read_population_map,
    read_sample_panel,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "vcf"
CINECA = DEMO_VCF  # the CINECA UK1 chr22 VCF (1000 Genomes INFO fields only), see beacon/demo/SOURCE.md
THOUSAND_GENOMES = DATA / "test_1000G.vcf.gz"
PANEL = DEMO_PANEL  # the 1000 Genomes phase 3 sample panel
TRIO = DATA / "test_trio.vcf.gz"
SUPER_POPULATIONS = ("AFR", "AMR", "EAS", "EUR", "SAS")
EUROPEAN_POPULATIONS = ("CEU", "FIN", "GBR", "IBS", "TSI")

Key = tuple[str, int, str, str]


def load(path: Path, options: VcfOptions) -> dict[Key, VariantDocument]:
    documents = read_documents(path, options, LoadReport())
    return {(d.chromosome, d.start + 1, d.reference_bases, d.alternate_bases): d for d in documents}


def frequencies(document: VariantDocument) -> dict[str, PopulationFrequency]:
    return {frequency.population: frequency for frequency in document.frequencies}


def truth(name: str) -> dict[Key, dict[str, str]]:
    with (DATA / name).open() as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return {(r["chrom"], int(r["pos"]), r["ref"], r["alt"]): r for r in rows}


def genotype_options(column: str) -> VcfOptions:
    panel = read_sample_panel(PANEL, population_column=column, sex_column="gender")
    return VcfOptions(assembly="GRCh37", sample_panel=panel, keep_zero_count=True)


@pytest.fixture(scope="module")
def cineca_super_populations() -> dict[Key, VariantDocument]:
    return load(CINECA, genotype_options("super_pop"))


@pytest.mark.parametrize(
    ("vcf", "table"),
    [(THOUSAND_GENOMES, "test_1000G_population_allele_counts.tsv")],
)
@pytest.mark.parametrize(("column", "populations"), [("super_pop", SUPER_POPULATIONS), ("pop", EUROPEAN_POPULATIONS)])
def test_genotype_counts_per_population_match_bcftools(vcf, table, column, populations) -> None:
    expected = truth(table)
    documents = load(vcf, genotype_options(column))
    assert set(documents) == set(expected)
    for key, row in expected.items():
        found = frequencies(documents[key])
        for population in populations:
            counts = found[population]
            assert (counts.allele_count, counts.allele_number) == (
                int(row[f"AC_{population}"]),
                int(row[f"AN_{population}"]),
            )
            assert counts.allele_frequency == pytest.approx(float(row[f"AF_{population}"]), rel=1e-5, abs=1e-9)


def test_cineca_super_population_counts_match_bcftools(cineca_super_populations) -> None:
    expected = truth("cineca_uk1_chr22_population_allele_counts.tsv")
    assert set(cineca_super_populations) == set(expected)
    for key, row in expected.items():
        found = frequencies(cineca_super_populations[key])
        for population in SUPER_POPULATIONS:
            assert found[population].allele_count == int(row[f"AC_{population}"])
            assert found[population].allele_number == int(row[f"AN_{population}"])


def test_cineca_european_population_counts_match_bcftools() -> None:
    expected = truth("cineca_uk1_chr22_population_allele_counts.tsv")
    documents = load(CINECA, genotype_options("pop"))
    for key, row in expected.items():
        found = frequencies(documents[key])
        for population in EUROPEAN_POPULATIONS:
            assert (found[population].allele_count, found[population].allele_number) == (
                int(row[f"AC_{population}"]),
                int(row[f"AN_{population}"]),
            )


def test_missing_genotypes_reduce_the_allele_number(cineca_super_populations) -> None:
    # CINECA has 157,070 './.' calls, so genotype AN differs from INFO AN (22:16050115: INFO AC=32, GT AC=31).
    expected = truth("cineca_uk1_chr22_population_allele_counts.tsv")
    differing = 0
    for key, row in expected.items():
        total = frequencies(cineca_super_populations[key])[TOTAL]
        assert (total.allele_count, total.allele_number) == (int(row["gt_AC"]), int(row["gt_AN"]))
        differing += row["gt_AN"] != row["info_AN"]
    assert differing > 4000
    assert frequencies(cineca_super_populations[("22", 16050115, "G", "A")])[TOTAL].allele_count == 31


def test_sex_split_populations_add_up_to_their_population(cineca_super_populations) -> None:
    for document in list(cineca_super_populations.values())[:300]:
        found = frequencies(document)
        for population in SUPER_POPULATIONS:
            parts = [found[name] for name in (f"{population}_F", f"{population}_M") if name in found]
            assert sum(part.allele_number for part in parts) == found[population].allele_number
            assert sum(part.allele_count for part in parts) == found[population].allele_count


def test_genotype_zygosity_counts_follow_fill_tags(cineca_super_populations) -> None:
    for document in list(cineca_super_populations.values())[:500]:
        total = frequencies(document)[TOTAL]
        # Autosomal diploid calls: every allele sits in a het or a hom genotype.
        assert total.allele_count_heterozygous + total.allele_count_homozygous == total.allele_count
        assert total.allele_count_homozygous % 2 == 0
        # A hemizygous count on chromosome 22 would be a structural zero, so there is none.
        assert all(frequency.allele_count_hemizygous is None for frequency in document.frequencies)


def test_info_frequencies_of_the_cineca_file() -> None:
    expected = truth("cineca_uk1_chr22_population_allele_counts.tsv")
    documents = load(CINECA, VcfOptions(assembly="GRCh37", keep_zero_count=True))
    for key, row in expected.items():
        found = frequencies(documents[key])
        total = found[TOTAL]
        assert (total.allele_count, total.allele_number) == (int(row["info_AC"]), int(row["info_AN"]))
        assert total.allele_frequency == pytest.approx(float(row["info_AF"]), rel=1e-3, abs=1e-6)
        assert found["EUR"].allele_frequency == pytest.approx(float(row["info_EUR_AF"]), rel=1e-6, abs=1e-9)
        # EUR_AF alone: the file has no EUR counts, so none are made up.
        assert found["EUR"].allele_count is None and found["EUR"].allele_number is None
        assert set(found) == {TOTAL, *SUPER_POPULATIONS}


def test_per_allele_info_values_of_a_multi_allelic_record() -> None:
    # 1:15274 A>G,T: AC=1739,3210; AN=5008; EUR_AF=0.2922,0.7078; AFR_AF=0.323,0.6369
    documents = load(THOUSAND_GENOMES, VcfOptions(assembly="GRCh37"))
    first = frequencies(documents[("1", 15274, "A", "G")])
    second = frequencies(documents[("1", 15274, "A", "T")])
    assert (first[TOTAL].allele_count, first[TOTAL].allele_number) == (1739, 5008)
    assert (second[TOTAL].allele_count, second[TOTAL].allele_number) == (3210, 5008)
    assert first[TOTAL].allele_frequency == pytest.approx(1739 / 5008)
    assert first["EUR"].allele_frequency == pytest.approx(0.2922)
    assert second["EUR"].allele_frequency == pytest.approx(0.7078)
    assert second["AFR"].allele_frequency == pytest.approx(0.6369)


def test_exac_style_per_population_counts() -> None:
    # 1:13372 G>C: AC=3 AN=42870, AC_AFR=0 AN_AFR=770, AC_SAS=2 AN_SAS=5052, AC_FIN=0 AN_FIN=16,
    # AC_Het=0, AC_Hom=1; AC_Adj/AN_Adj are not a population.
    documents = load(DATA / "exac.vcf.gz", VcfOptions(assembly="GRCh37"))
    found = frequencies(documents[("1", 13372, "G", "C")])
    assert set(found) == {TOTAL, "AFR", "AMR", "EAS", "FIN", "NFE", "OTH", "SAS"}
    total = found[TOTAL]
    assert (total.allele_count, total.allele_number, total.allele_frequency) == (3, 42870, 3 / 42870)
    assert (total.allele_count_heterozygous, total.allele_count_homozygous, total.allele_count_hemizygous) == (
        0,
        1,
        None,
    )
    assert (found["SAS"].allele_count, found["SAS"].allele_number, found["SAS"].allele_frequency) == (2, 5052, 2 / 5052)
    assert (found["AFR"].allele_count, found["AFR"].allele_frequency) == (0, 0.0)
    assert found["FIN"].allele_number == 16


def test_info_zygosity_counts_are_taken_as_given() -> None:
    # EGA 1:169549811 C>T: AC=2;AN=40;AC_Het=2;AC_Hom=0;AC_Hemi=0 and X:31121924 T>C: AC=18;AN=40;AC_Het=14;AC_Hom=4
    documents = load(DATA / "synthetic_usecases_4beacon_testingV4.vcf.gz", VcfOptions(assembly="GRCh38"))
    assert documents[("1", 169549811, "C", "T")].frequencies == (PopulationFrequency(TOTAL, 0.05, 2, 40, 0, 2, 0),)
    assert documents[("X", 31121924, "T", "C")].frequencies == (PopulationFrequency(TOTAL, 18 / 40, 18, 40, 4, 14, 0),)


def test_a_populations_map_names_the_fields(tmp_path: Path) -> None:
    mapping = {
        "source": "SweGen",
        "sourceReference": "https://swefreq.nbis.se/",
        "populations": [
            {"population": "Total", "alleleFrequency": "AF", "alleleCount": "AC", "alleleNumber": "AN"},
            {
                "population": "SE",
                "alleleFrequency": "SWEREFAF",
                "alleleCountHomozygous": "SWEREFAC_Hom",
                "alleleCountHeterozygous": "SWEREFAC_Het",
                "alleleCountHemizygous": "SWEREFAC_Hemi",
            },
        ],
    }
    path = tmp_path / "populations.json"
    path.write_text(json.dumps(mapping))
    population_map = read_population_map(path)
    assert (population_map.source, population_map.source_reference) == ("SweGen", "https://swefreq.nbis.se/")
    documents = load(TRIO, VcfOptions(assembly="GRCh37", population_map=population_map))
    # 1:156131050 A>T: AC=2;AF=0.333;AN=6;SWEREFAC_Hemi=0;SWEREFAC_Het=286;SWEREFAC_Hom=148;SWEREFAF=0.226
    found = frequencies(documents[("1", 156131050, "A", "T")])
    assert found[TOTAL] == PopulationFrequency(TOTAL, 2 / 6, 2, 6)
    assert found["SE"].allele_frequency == pytest.approx(0.226)
    assert found["SE"][2:] == (None, None, 148, 286, 0)
    # A record without SWEREF fields has no SE entry rather than zeros.
    assert set(frequencies(documents[("1", 7847367, "T", "TC")])) == {TOTAL}


def test_the_sample_panel_reader() -> None:
    panel = read_sample_panel(PANEL, population_column="pop", sex_column="gender")
    assert len(panel.populations) == 2535
    assert (panel.populations["HG00096"], panel.sexes["HG00096"]) == ("GBR", "M")
    assert (panel.populations["HG00097"], panel.sexes["HG00097"]) == ("GBR", "F")
    super_panel = read_sample_panel(PANEL, population_column="super_pop")
    assert super_panel.populations["HG00096"] == "EUR" and super_panel.sexes == {}


def write_trio_panel(tmp_path: Path) -> SamplePanel:
    # A1 and A2 have reads on Y (Y:14898429 DP 16 and 17), A3 has none (DP 0): two males, one female.
    path = tmp_path / "trio_panel.tsv"
    path.write_text("sample\tpopulation\tsex\nADM1059A1\tSE\tmale\nADM1059A2\tSE\tmale\nADM1059A3\tSE\tfemale\n")
    return read_sample_panel(path, population_column="population", sex_column="sex")


@pytest.mark.parametrize(
    ("key", "population", "expected"),
    [
        # (AF, AC, AN, hom, het, hemi) counted by hand from the GT of ADM1059A1 (M), A2 (M), A3 (F).
        # X:207362 0/1 1/1 1/1 lies in PAR1, so the males stay diploid.
        (("X", 207362, "C", "T"), TOTAL, (5 / 6, 5, 6, 4, 1, 0)),
        # X:37641484 0/0 0/0 0/1: each male contributes one allele.
        (("X", 37641484, "C", "G"), TOTAL, (1 / 4, 1, 4, 0, 1, 0)),
        # X:37653150 0/1 1/1 0/1: A2's homozygous call is one hemizygous allele; A1's het call is kept.
        (("X", 37653150, "C", "CA"), TOTAL, (3 / 5, 3, 5, 0, 2, 1)),
        (("X", 37653150, "C", "CA"), "SE_M", (2 / 3, 2, 3, 0, 1, 1)),
        (("X", 37653150, "C", "CA"), "SE_F", (1 / 2, 1, 2, 0, 1, 0)),
        # Y:14959237 1/1 1/1 0/0: two hemizygous males; the female's Y call does not count.
        (("Y", 14959237, "C", "G"), TOTAL, (1.0, 2, 2, 0, 0, 2)),
        # Y:21154323 0/1 0/1 1/1
        (("Y", 21154323, "G", "A"), TOTAL, (2 / 4, 2, 4, 0, 2, 0)),
        # MT:14872 1/1 1/1 1/1: mitochondrial calls are counted as written, with no hemizygous count.
        (("MT", 14872, "C", "T"), TOTAL, (1.0, 6, 6, 6, 0, None)),
        # 1:7847367 T>TC 0/0 0/1 1/1: autosomal, so no hemizygous count either.
        (("1", 7847367, "T", "TC"), TOTAL, (3 / 6, 3, 6, 2, 1, None)),
        (("1", 7847367, "T", "TC"), "SE_F", (1.0, 2, 2, 2, 0, None)),
    ],
)
def test_hemizygous_counting_on_x_and_y_for_males(tmp_path: Path, key, population, expected) -> None:
    options = VcfOptions(assembly="GRCh37", sample_panel=write_trio_panel(tmp_path))
    found = frequencies(load(TRIO, options)[key])
    assert tuple(found[population][1:]) == expected


def test_hemizygous_counts_from_genotypes_are_given_on_x_and_y_only(tmp_path: Path) -> None:
    options = VcfOptions(assembly="GRCh37", sample_panel=write_trio_panel(tmp_path))
    given: dict[str, set[bool]] = {}
    for (chromosome, *_), document in load(TRIO, options).items():
        for frequency in document.frequencies:
            given.setdefault(chromosome, set()).add(frequency.allele_count_hemizygous is not None)
    assert given.pop("X") == given.pop("Y") == {True}
    assert "MT" in given and len(given) == 23  # 22 autosomes and MT, none with a hemizygous count
    assert all(flags == {False} for flags in given.values())


def test_case_level_zygosity_uses_the_same_rules(tmp_path: Path) -> None:
    options = VcfOptions(assembly="GRCh37", sample_panel=write_trio_panel(tmp_path), case_level=True)
    documents = load(TRIO, options)
    assert documents[("X", 37653150, "C", "CA")].carriers == (
        ("ADM1059A1", "heterozygous"),
        ("ADM1059A2", "hemizygous"),
        ("ADM1059A3", "heterozygous"),
    )
    # Without a panel the sexes are unknown and calls are read as written.
    plain = load(TRIO, VcfOptions(assembly="GRCh37", case_level=True))
    assert plain[("X", 37653150, "C", "CA")].carriers[1] == ("ADM1059A2", "homozygous")


def test_case_level_carriers_match_the_reference_bff() -> None:
    documents = load(CINECA, VcfOptions(assembly="GRCh37", case_level=True, keep_zero_count=True))
    checked = 0
    with gzip.open(DATA / "cineca_uk1_chr22_case_level_subset.tsv.gz", "rt") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            carriers = documents[(row["chrom"], int(row["pos"]), row["ref"], row["alt"])].carriers
            expected = {(s, "heterozygous") for s in row["heterozygous"].split(",") if s}
            expected |= {(s, "homozygous") for s in row["homozygous"].split(",") if s}
            assert set(carriers) == expected
            checked += bool(expected)
    assert checked > 150


@pytest.mark.parametrize(
    ("infos", "expected"),
    [
        (
            {"AF": ("A", "Float"), "AC": ("A", "Integer"), "AN": ("1", "Integer"), "AC_Hemi": ("A", "Integer")},
            [PopulationFields(TOTAL, "AF", "AC", "AN", allele_count_hemizygous="AC_Hemi")],
        ),
        (  # Genome of Europe style: country, country and sex, zygosity counts per group.
            {
                "AC_FI": ("A", "Integer"),
                "AN_FI": ("1", "Integer"),
                "AF_FI_F": ("A", "Float"),
                "AC_FI_F_Het": ("A", "Integer"),
                "AC_FI_F_Hom": ("A", "Integer"),
            },
            [
                PopulationFields("FI", allele_count="AC_FI", allele_number="AN_FI"),
                PopulationFields(
                    "FI_F", "AF_FI_F", allele_count_homozygous="AC_FI_F_Hom", allele_count_heterozygous="AC_FI_F_Het"
                ),
            ],
        ),
        (  # 1000 Genomes and gnomAD spellings.
            {"EUR_AF": ("A", "Float"), "AF_nfe": ("A", "Float"), "AF_nfe_female": ("A", "Float")},
            [
                PopulationFields("EUR", "EUR_AF"),
                PopulationFields("nfe", "AF_nfe"),
                PopulationFields("nfe_female", "AF_nfe_female"),
            ],
        ),
        (  # Not populations: adjusted/raw totals, maxima, wrong types or Numbers, counts without a number.
            {
                "AC_Adj": ("A", "Integer"),
                "AN_Adj": ("1", "Integer"),
                "AF_raw": ("A", "Float"),
                "AF_popmax": ("A", "Float"),
                "EXACMAX_AF": ("A", "Float"),
                "SnpSift_AF": (".", "String"),
                "AF_XX": ("1", "Integer"),
                "AC_SE": ("A", "Integer"),
                "1000G_MAX_AF": ("A", "Float"),
            },
            [],
        ),
    ],
)
def test_detect_population_fields(infos, expected) -> None:
    assert list(detect_population_fields(infos)) == expected


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"populations": []}, "empty"),
        ({}, "populations"),
        ({"populations": [{"alleleFrequency": "AF"}]}, "population"),
        ({"populations": [{"population": "FI", "alleleFrequncy": "AF_FI"}]}, "unknown key"),
        ({"numberOfPopulations": 2, "populations": [{"population": "FI", "alleleFrequency": "AF_FI"}]}, "numberOf"),
        ({"populations": [{"population": "FI"}, {"population": "FI"}]}, "twice"),
    ],
)
def test_invalid_populations_maps_are_rejected(document, problem) -> None:
    with pytest.raises(VcfError, match=problem):
        parse_population_map(document)


SE_POPULATIONS = [{"population": "SE", "alleleFrequency": "SWEREFAF"}]


@pytest.mark.parametrize(
    ("texts", "field"),
    [
        ({"source": "Genome of Europe"}, "sourceReference"),
        ({"source": "Genome of Europe", "sourceReference": "", "version": "2025-01"}, "sourceReference"),
        ({"sourceReference": "https://genomeofeurope.eu/"}, "source"),
        ({"version": "2025-01"}, "version"),
        ({"source": "Genome of Europe", "sourceReference": 7}, "sourceReference"),
    ],
)
def test_a_map_must_name_its_source_and_reference_together(tmp_path: Path, texts, field) -> None:
    # The Beacon schema requires both source and sourceReference in a frequencyInPopulations item.
    path = tmp_path / "goe.json"
    path.write_text(json.dumps({**texts, "populations": SE_POPULATIONS}))
    with pytest.raises(VcfError) as raised:
        read_population_map(path)
    assert raised.value.field_name == field
    assert str(raised.value).startswith(f"{path}: {field}: ")


def test_a_map_with_a_source_gives_the_frequency_source_of_the_load() -> None:
    texts = {"source": "Genome of Europe", "sourceReference": "https://genomeofeurope.eu/", "version": "2025-01"}
    population_map = parse_population_map({**texts, "populations": SE_POPULATIONS})
    source = VcfOptions(assembly="GRCh38", population_map=population_map).frequency_source()
    assert source == FrequencySource("Genome of Europe", "https://genomeofeurope.eu/", "2025-01")
    unversioned = parse_population_map({**texts, "version": "", "populations": SE_POPULATIONS})
    assert unversioned.frequency_source() == FrequencySource("Genome of Europe", "https://genomeofeurope.eu/")


def test_without_a_source_in_a_map_the_load_names_none() -> None:
    blank = parse_population_map({"source": "", "sourceReference": "", "populations": SE_POPULATIONS})
    assert VcfOptions(assembly="GRCh38", population_map=blank).frequency_source() is None
    assert VcfOptions(assembly="GRCh38").frequency_source() is None  # INFO fields detected
    assert VcfOptions(assembly="GRCh37", sample_panel=SamplePanel({"S1": "FIN"})).frequency_source() is None


def test_a_map_naming_an_undeclared_or_textual_field_is_rejected() -> None:
    for fields, problem in ((("SWEGENAF",), "does not declare"), (("ANN",), "Type=String")):
        population_map = parse_population_map({"populations": [{"population": "SE", "alleleFrequency": fields[0]}]})
        with pytest.raises(VcfError, match=problem):
            load(TRIO, VcfOptions(assembly="GRCh37", population_map=population_map))


HAND_WRITTEN_PLOIDIES = """\
##fileformat=VCFv4.2
##contig=<ID=1,length=249250621>
##contig=<ID=X,length=155270560>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\tS3
1\t1000\t.\tA\tG\t.\tPASS\t.\tGT\t0/1/1\t1/1/1\t./0/0
1\t2000\t.\tC\tT\t.\tPASS\t.\tGT\t1\t0\t.
1\t3000\t.\tG\tA\t.\tPASS\t.\tGT\t0/2\t0/1\t1/1
X\t3000000\t.\tG\tA\t.\tPASS\t.\tGT\t1\t0/1\t1
"""


def test_genotype_counts_of_unusual_ploidies_and_allele_numbers(tmp_path: Path) -> None:
    path = tmp_path / "ploidies.vcf"
    path.write_text(HAND_WRITTEN_PLOIDIES)
    found = {key[1]: frequencies(document)[TOTAL] for key, document in load(path, VcfOptions("GRCh37")).items()}
    # Triploid calls: 2 + 3 + 0 ALT alleles of 3 + 3 + 2 called.
    assert found[1000][1:4] == (5 / 8, 5, 8)
    # Haploid calls 1, 0 and a missing one: no genotype is het or hom; autosomal, so no hemizygous count.
    assert found[2000][1:] == (1 / 2, 1, 2, 0, 0, None)
    # S1 0/2 names an allele the record lacks: its 0 and 2 are called, neither is the ALT.
    assert found[3000][1:] == (3 / 6, 3, 6, 2, 1, None)
    # X outside the PARs, mixed ploidy: two haploid (hemizygous) carriers and one heterozygous.
    assert found[3000000][1:] == (3 / 4, 3, 4, 0, 1, 2)
