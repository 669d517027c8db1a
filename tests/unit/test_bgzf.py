"""BGZF writing: files that gzip, htslib (cyvcf2) and the block walker of `vcf_chunks` all read back.

Block counts and boundaries are checked against the gzip members found by inflating the file member by
member with zlib, independently of the code under test.
"""

from __future__ import annotations

import gzip
import math
import random
import struct
import zlib
from pathlib import Path

import cyvcf2
import pytest

from loaders.bgzf import EOF_BLOCK, MAX_BLOCK_DATA, BgzfWriter, bgzf_block, bgzf_blocks, write_bgzf
from loaders.vcf_chunks import block_file

DATA = Path(__file__).resolve().parents[1] / "data" / "vcf"
EXAC = DATA / "exac.vcf.gz"  # bgzip, 148 sites-only records of about 1.7 kB
BLOCK_SIZES = [700, 1000, MAX_BLOCK_DATA]


def member_offsets(raw: bytes) -> list[int]:
    """Where each gzip member of `raw` starts, found by inflating one member after another."""
    offsets: list[int] = []
    rest = raw
    while rest:
        offsets.append(len(raw) - len(rest))
        inflater = zlib.decompressobj(wbits=31)  # 31: one gzip member, header and trailer checked
        inflater.decompress(rest)
        assert inflater.eof, "truncated gzip member"
        rest = inflater.unused_data
    return offsets


def exac_text() -> bytes:
    """The decompressed text of the real ExAC VCF."""
    return gzip.decompress(EXAC.read_bytes())


@pytest.mark.parametrize("block_size", BLOCK_SIZES)
def test_write_bgzf_decompresses_to_exactly_the_input(block_size: int, tmp_path: Path) -> None:
    data = exac_text()
    path = write_bgzf(tmp_path / "exac.vcf.gz", data, block_size=block_size)
    assert gzip.decompress(path.read_bytes()) == data


@pytest.mark.parametrize("block_size", BLOCK_SIZES)
def test_write_bgzf_ends_with_the_eof_block(block_size: int, tmp_path: Path) -> None:
    path = write_bgzf(tmp_path / "exac.vcf.gz", exac_text(), block_size=block_size)
    assert path.read_bytes().endswith(EOF_BLOCK)


@pytest.mark.parametrize("block_size", BLOCK_SIZES)
def test_write_bgzf_makes_one_block_per_block_size_of_data_and_the_eof_block(block_size: int, tmp_path: Path) -> None:
    data = exac_text()
    path = write_bgzf(tmp_path / "exac.vcf.gz", data, block_size=block_size)
    members = member_offsets(path.read_bytes())
    assert len(members) == math.ceil(len(data) / block_size) + 1
    blocks = block_file(path)
    assert blocks is not None
    assert len(blocks) == len(members)
    assert blocks.offsets == (*members, path.stat().st_size)


def test_cyvcf2_reads_the_same_records_from_a_file_of_small_blocks(tmp_path: Path) -> None:
    path = write_bgzf(tmp_path / "exac.vcf.gz", exac_text(), block_size=1000)
    written = [str(variant) for variant in cyvcf2.VCF(str(path))]
    source = [str(variant) for variant in cyvcf2.VCF(str(EXAC))]
    assert len(source) == 148
    assert written == source


def test_writing_line_by_line_gives_the_same_file_as_writing_at_once(tmp_path: Path) -> None:
    data = exac_text()
    with BgzfWriter(tmp_path / "lines.vcf.gz", block_size=1000) as writer:
        for line in data.splitlines(keepends=True):
            writer.write(line)
    at_once = write_bgzf(tmp_path / "once.vcf.gz", data, block_size=1000)
    assert (tmp_path / "lines.vcf.gz").read_bytes() == at_once.read_bytes()


@pytest.mark.parametrize("block_size", [0, -1, MAX_BLOCK_DATA + 1])
def test_a_block_size_out_of_range_raises(block_size: int, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="block_size"):
        BgzfWriter(tmp_path / "bad.vcf.gz", block_size=block_size)


def test_an_incompressible_full_block_stays_under_64_kib_and_records_its_size() -> None:
    data = random.Random(7).randbytes(MAX_BLOCK_DATA)
    block = bgzf_block(data)
    assert len(block) <= 0x10000
    assert struct.unpack_from("<H", block, 16)[0] + 1 == len(block)  # BSIZE: total size minus one
    assert gzip.decompress(block) == data


def test_bgzf_blocks_cuts_long_data_at_the_maximum_block_size() -> None:
    data = exac_text()
    raw = bgzf_blocks(data)
    assert len(member_offsets(raw)) == math.ceil(len(data) / MAX_BLOCK_DATA)
    assert gzip.decompress(raw) == data


def test_the_eof_block_is_an_empty_bgzf_block() -> None:
    assert gzip.decompress(EOF_BLOCK) == b""
    assert bgzf_block(b"") == EOF_BLOCK  # what bgzip writes for no data


@pytest.mark.parametrize("name", ["exac.vcf.gz", "test_trio.vcf.gz", "test_1000G.vcf.gz", "multi-contig.vcf.gz"])
def test_block_file_finds_every_block_of_real_bgzip_files(name: str) -> None:
    path = DATA / name
    blocks = block_file(path)
    assert blocks is not None and blocks.compressed
    assert blocks.offsets == (*member_offsets(path.read_bytes()), path.stat().st_size)
