"""Checks of a VCF header against the load's options, made before any variant is written.

**Assembly.** A header says which reference it was called on in three places: `##reference=` (a
path or URL naming the FASTA: `hs37d5.fa.gz`, `Homo_sapiens_assembly38.fasta`...), `##assembly=`,
and the `assembly=` attribute of `##contig` lines; and the `length=` of the chromosomes' `##contig`
lines tells GRCh37 from GRCh38 (every chromosome but MT differs in length). A header naming another
assembly than `--assembly` (synonyms are one assembly: `beacon.genome.normalise_assembly`), or
giving a chromosome the other assembly's length, is refused: loading it would publish every variant
at wrong coordinates. A header that names nothing, or lengths that are neither assembly's (test
slices), are no evidence either way. `--ignore-header-assembly` overrides (a header left stale by a
lift-over).

**Sample panel coverage.** With `--sample-panel`, every VCF sample must be in the panel: a sample
outside it counts in `Total` but in no population, so the populations no longer add up to `Total`.
`--allow-unpanelled-samples` accepts that (e.g. samples withheld from the population analysis).
Panel rows naming no sample of the VCF are only reported (a panel of a larger cohort is normal).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from beacon.genome import normalise_assembly, normalise_chromosome
from loaders.vcf_types import SamplePanel, VcfError

# Chromosome lengths of the primary assemblies (GRC assembly reports; MT is the same rCRS in both).
CHROMOSOME_LENGTHS = {
    "GRCh37": (
        249250621, 243199373, 198022430, 191154276, 180915260, 171115067, 159138663, 146364022,
        141213431, 135534747, 135006516, 133851895, 115169878, 107349540, 102531392, 90354753,
        81195210, 78077248, 59128983, 63025520, 48129895, 51304566, 155270560, 59373566,
    ),
    "GRCh38": (
        248956422, 242193529, 198295559, 190214555, 181538259, 170805979, 159345973, 145138636,
        138394717, 133797422, 135086622, 133275309, 114364328, 107043718, 101991189, 90338345,
        83257441, 80373285, 58617616, 64444167, 46709983, 50818468, 156040895, 57227415,
    ),
}  # fmt: skip
_CHROMOSOMES = (*(str(number) for number in range(1, 23)), "X", "Y")

# Names of reference FASTAs and builds as they appear in `##reference=` paths, lower-cased; a token
# is delimited by anything but letters and digits, so `hs37d5.fa.gz` and `GRCh38_full` are found.
_REFERENCE_NAMES = {
    "grch37": "GRCh37", "hg19": "GRCh37", "b37": "GRCh37", "hs37d5": "GRCh37", "hs37": "GRCh37",
    "g1k_v37": "GRCh37", "human_g1k_v37": "GRCh37", "homo_sapiens_assembly19": "GRCh37",
    "grch38": "GRCh38", "hg38": "GRCh38", "b38": "GRCh38", "hs38": "GRCh38", "hs38dh": "GRCh38",
    "homo_sapiens_assembly38": "GRCh38",
    "ncbi36": "NCBI36", "hg18": "NCBI36", "b36": "NCBI36",
}  # fmt: skip
_TOKEN = re.compile(r"(?<![a-z0-9])(" + "|".join(sorted(_REFERENCE_NAMES, key=len, reverse=True)) + r")(?![a-z0-9])")
_ATTRIBUTE = re.compile(r'(?:^|,)\s*([A-Za-z_]+)=("[^"]*"|[^,>]*)')

OVERRIDE_ASSEMBLY = "--ignore-header-assembly"
OVERRIDE_PANEL = "--allow-unpanelled-samples"


def check_header_assembly(path: Path, header: str, assembly: str) -> None:
    """Raise VcfError (naming the header line and field) when the header says another assembly than `assembly`."""
    wanted = normalise_assembly(assembly)
    for number, line in enumerate(header.splitlines(), start=1):
        problem = _assembly_problem(line, wanted)
        if problem is not None:
            field_name, text = problem
            raise VcfError(
                path,
                f"{text}, but the load says --assembly {assembly} (use {OVERRIDE_ASSEMBLY} if the header is wrong)",
                where=f"header line {number}",
                field_name=field_name,
            )


def _assembly_problem(line: str, wanted: str) -> tuple[str, str] | None:
    """(field, what the line says) when the header line contradicts `wanted`, else None."""
    if line.startswith("##reference=") or line.startswith("##assembly="):
        key, _, value = line[2:].partition("=")
        named = _named_assembly(value)
        if named is not None and named != wanted:
            return f"##{key}", f"{value.strip()!r} is a {named} reference"
        return None
    if not line.startswith("##contig=<"):
        return None
    attributes = {key: value.strip('"') for key, value in _ATTRIBUTE.findall(line[len("##contig=<") :].rstrip(">"))}
    named = _named_assembly(attributes.get("assembly", ""))
    if named is not None and named != wanted:
        return "##contig assembly", f"contig {attributes.get('ID', '?')} has assembly={attributes['assembly']}"
    return _length_problem(attributes, wanted)


def _length_problem(attributes: dict[str, str], wanted: str) -> tuple[str, str] | None:
    """The contig's length when it is the other assembly's length of that chromosome (never theirs both)."""
    length = attributes.get("length", "")
    try:
        chromosome = normalise_chromosome(attributes.get("ID", ""))
    except ValueError:
        return None
    if not length.isdigit() or chromosome not in _CHROMOSOMES:
        return None
    index = _CHROMOSOMES.index(chromosome)
    for other, lengths in CHROMOSOME_LENGTHS.items():
        if other != wanted and int(length) == lengths[index] != CHROMOSOME_LENGTHS[wanted][index]:
            expected = CHROMOSOME_LENGTHS[wanted][index]
            return (
                "##contig length",
                f"contig {attributes['ID']} has length {length}, {other}'s chromosome {chromosome} "
                f"({wanted}'s is {expected})",
            )
    return None


def _named_assembly(text: str) -> str | None:
    """The assembly a header value names (`b37`, `GRCh38.p14`, `.../hs37d5.fa.gz`), None when it names none."""
    value = text.strip().strip("<>\"'")
    if not value:
        return None
    try:
        return normalise_assembly(value)
    except ValueError:
        pass
    found = {_REFERENCE_NAMES[token] for token in _TOKEN.findall(value.lower())}
    return found.pop() if len(found) == 1 else None


def check_panel_coverage(path: Path, samples: Sequence[str], panel: SamplePanel, allow_unpanelled: bool) -> None:
    """Raise VcfError when VCF samples are missing from the panel (unless allowed); names the first few."""
    missing = [sample for sample in samples if sample not in panel.populations]
    if not missing or allow_unpanelled:
        return
    raise VcfError(
        path,
        f"{len(missing)} of the VCF's {len(samples)} samples are not in the sample panel ({_some(missing)}): "
        f"they would count in Total but in no population (use {OVERRIDE_PANEL} to accept that)",
        field_name="samples",
    )


def panel_rows_not_in(samples: Iterable[str], panel: SamplePanel) -> list[str]:
    """Panel samples the VCF does not have, in panel order."""
    present = set(samples)
    return [sample for sample in panel.populations if sample not in present]


def _some(names: Sequence[str], shown: int = 5) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
