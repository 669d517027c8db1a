"""Write a deterministic synthetic sites VCF (no samples) with per-population AC/AN/AF INFO fields.

GoE-like: five populations (country codes) plus a total; a few multi-allelic sites and indels.
Used by the load and query benchmarks, and by the test that kills a load midway.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from loaders.bgzf import BgzfWriter

POPULATIONS = ("NL", "FI", "DE", "IT", "ES")
_BASES = "ACGT"


def header(chromosome: str, length: int, assembly: str | None = None) -> str:
    """The VCF header of a synthetic file (naming its assembly, if given, as the load checks read it)."""
    named = f",assembly={assembly}" if assembly else ""
    lines = [
        "##fileformat=VCFv4.2",
        *([f"##reference={assembly}"] if assembly else []),
        f"##contig=<ID={chromosome},length={length}{named}>",
        '##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count">',
        '##INFO=<ID=AN,Number=1,Type=Integer,Description="Allele number">',
        '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">',
    ]
    for population in POPULATIONS:
        lines += [
            f'##INFO=<ID=AC_{population},Number=A,Type=Integer,Description="Allele count in {population}">',
            f'##INFO=<ID=AN_{population},Number=1,Type=Integer,Description="Allele number in {population}">',
            f'##INFO=<ID=AF_{population},Number=A,Type=Float,Description="Allele frequency in {population}">',
        ]
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    return "\n".join(lines) + "\n"


def record(rng: random.Random, chromosome: str, position: int) -> str:
    """One VCF line: mostly SNVs, some indels, some bi-allelic sites with two ALTs."""
    ref = rng.choice(_BASES)
    roll = rng.random()
    if roll < 0.05:
        alts = [ref + "".join(rng.choice(_BASES) for _ in range(rng.randint(1, 4)))]
    elif roll < 0.10:
        ref = ref + "".join(rng.choice(_BASES) for _ in range(rng.randint(1, 6)))
        alts = [ref[0]]
    elif roll < 0.13:
        alts = rng.sample([b for b in _BASES if b != ref], 2)
    else:
        alts = [rng.choice([b for b in _BASES if b != ref])]
    info = _info(rng, len(alts))
    return f"{chromosome}\t{position}\trs{position}\t{ref}\t{','.join(alts)}\t.\tPASS\t{info}\n"


def _info(rng: random.Random, n_alts: int) -> str:
    fields: list[str] = []
    totals_ac = [0] * n_alts
    total_an = 0
    for population in POPULATIONS:
        an = 2 * rng.randint(500, 5000)
        acs = [rng.randint(1, an // 20) for _ in range(n_alts)]
        totals_ac = [a + b for a, b in zip(totals_ac, acs, strict=True)]
        total_an += an
        afs = ",".join(f"{ac / an:.6g}" for ac in acs)
        fields.append(f"AC_{population}={','.join(map(str, acs))};AN_{population}={an};AF_{population}={afs}")
    afs = ",".join(f"{ac / total_an:.6g}" for ac in totals_ac)
    return f"AC={','.join(map(str, totals_ac))};AN={total_an};AF={afs};" + ";".join(fields)


def write_vcf(path: Path, sites: int, chromosome: str = "1", seed: int = 1) -> Path:
    """Write `sites` records on one chromosome, about 20 bases apart, bgzip-compressed (as VCFs ship)."""
    rng = random.Random(seed)
    length = sites * 25 + 1000
    with BgzfWriter(path, level=1) as writer:
        writer.write(header(chromosome, length).encode())
        position = 10_000
        lines = []
        for _ in range(sites):
            position += rng.randint(1, 40)
            lines.append(record(rng, chromosome, position))
            if len(lines) == 10_000:
                writer.write("".join(lines).encode())
                lines.clear()
        writer.write("".join(lines).encode())
    return path


def main() -> None:
    """Command line: write a synthetic VCF."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--sites", type=int, default=1_000_000)
    parser.add_argument("--chromosome", default="1")
    arguments = parser.parse_args()
    write_vcf(arguments.path, arguments.sites, arguments.chromosome)


if __name__ == "__main__":
    main()
