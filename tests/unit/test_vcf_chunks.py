"""Cutting a VCF into chunks of whole records without an index: coverage, cut points, sizes, chunk files.

Real VCFs from tests/data are rewritten as BGZF of small blocks and as plain text of small pieces
(PLAIN_BLOCK patched), so that even these small files are cut into many chunks. What the chunks must
hold is read from the source text with gzip, and from the source file with cyvcf2, never from
`vcf_chunks` itself.
"""

from __future__ import annotations

import functools
import gzip
import itertools
import random
from pathlib import Path

import cyvcf2
import pytest

from loaders import vcf_chunks
from loaders.bgzf import EOF_BLOCK, MAX_BLOCK_DATA, write_bgzf
from loaders.vcf_chunks import VcfChunk, VcfSplit, block_file, read_chunk, split_vcf, write_chunk

DATA = Path(__file__).resolve().parents[1] / "data" / "vcf"
EXAC = DATA / "exac.vcf.gz"  # sites only, about 1.7 kB a record, some positions twice
EGA = DATA / "synthetic_usecases_4beacon_testingV4.vcf.gz"  # plain gzip, VEP CSQ, 20 samples
MULTI_CONTIG = DATA / "multi-contig.vcf.gz"  # the VCF spec example, 3 samples, 9 records
ONE_RECORD = DATA / "test-multiallelic-homozygous-alt.vcf.gz"  # bgzip, one record

# name: (real file, how many of its records to keep; None: all of them)
REAL = {
    "exac": (EXAC, None),
    "1000G": (DATA / "test_1000G.vcf.gz", 25),  # 2504 genotypes, about 10 kB a record
    "trio": (DATA / "test_trio.vcf.gz", 120),  # VEP and SnpEff annotations, X, Y, MT
    "ega": (EGA, None),
    "multi_contig": (MULTI_CONTIG, None),
}
LAYOUTS = ["bgzf", "plain"]
ChunkFiles = tuple[Path, VcfSplit, list[Path]]  # the input file, its split, the file written for each chunk


@functools.cache
def vcf_text(name: str) -> bytes:
    """The text of a test VCF: a real file (perhaps its first records only) or one built from one."""
    if name == "runs":
        return same_position_runs()
    if name == "big_header":
        return with_big_header(vcf_text("exac"))
    path, records = REAL[name]
    lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    body = [line for line in lines if not line.startswith(b"#")]
    return header_of(b"".join(lines)) + b"".join(body[:records])


def header_of(text: bytes) -> bytes:
    """The `#` lines at the start of a VCF text."""
    lines = text.splitlines(keepends=True)
    return b"".join(line for line in lines if line.startswith(b"#"))


def records_of(text: bytes) -> list[bytes]:
    """The record lines of a VCF text, with their newlines."""
    return [line for line in text.splitlines(keepends=True) if not line.startswith(b"#")]


def position_of(record: bytes) -> tuple[bytes, bytes]:
    """CHROM and POS of a record line."""
    chrom, pos, _ = record.split(b"\t", 2)
    return chrom, pos


def same_position_runs(records: int = 2000, seed: int = 22) -> bytes:
    """The VCF spec example's header and `records` records in runs of 5 to 50 at one CHROM:POS each."""
    rng = random.Random(seed)
    lines: list[bytes] = []
    position = 100
    while len(lines) < records:
        chrom = ("19", "20", "X")[len(lines) * 3 // records]
        position += rng.randint(1, 500)
        for allele in range(rng.randint(5, 50)):
            alt = "CGT"[allele % 3] + "A" * (allele // 3)
            lines.append(
                f"{chrom}\t{position}\trun{len(lines)}\tA\t{alt}\t50\tPASS\tNS=3\tGT\t0|1\t0/0\t1/1\n".encode()
            )
    return header_of(vcf_text("multi_contig")) + b"".join(lines[:records])


def with_big_header(text: bytes, contigs: int = 3000) -> bytes:
    """`text` with `contigs` more ##contig lines, making a header of more than 64 KiB."""
    header = header_of(text)
    extra = b"".join(b"##contig=<ID=extra%d,length=1000>\n" % number for number in range(contigs))
    meta, column_line = header.rsplit(b"#CHROM", 1)
    return meta + extra + b"#CHROM" + column_line + b"".join(records_of(text))


def write_vcf(text: bytes, layout: str, block: int, directory: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`text` as BGZF of `block`-byte blocks, or as plain text cut into `block`-byte pieces."""
    if layout == "bgzf":
        return write_bgzf(directory / "input.vcf.gz", text, block_size=block)
    monkeypatch.setattr(vcf_chunks, "PLAIN_BLOCK", block)
    path = directory / "input.vcf"
    path.write_bytes(text)
    return path


def split_of(path: Path, max_bytes: int, **options: int) -> VcfSplit:
    """`split_vcf` of a file that can be split."""
    split = split_vcf(path, max_bytes, **options)
    assert split is not None
    return split


def chunk_texts(split: VcfSplit) -> list[bytes]:
    """The text of every chunk."""
    return [read_chunk(split, chunk) for chunk in split.chunks]


def file_bytes(split: VcfSplit, chunk: VcfChunk) -> int:
    """A chunk's size in file bytes, from the start of its first block to the start of its end block."""
    offsets = split.blocks.offsets
    end = offsets[chunk.end.block] if chunk.end is not None else offsets[-1]
    return end - offsets[chunk.start.block]


def variants(path: Path) -> list[str]:
    """Every record of a VCF file as htslib formats it."""
    return [str(variant) for variant in cyvcf2.VCF(str(path))]


# ---- split_vcf and read_chunk on real files -----------------------------------------------------

# name: bytes of data per BGZF block and per plain piece
BLOCKS = {"exac": 1000, "1000G": 1000, "trio": 1000, "ega": 1000, "multi_contig": 200, "runs": 300}
MAX_BYTES = [1, 700, 4000, 30000, 10**9]


@pytest.fixture(params=LAYOUTS)
def layout(request: pytest.FixtureRequest) -> str:
    """BGZF or plain text."""
    return request.param


@pytest.fixture(
    params=[(name, max_bytes) for name in BLOCKS for max_bytes in MAX_BYTES], ids=lambda param: f"{param[0]}-{param[1]}"
)
def case(
    request: pytest.FixtureRequest, layout: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[bytes, VcfSplit]:
    """A test VCF's text and its split, for every layout, block size and max_bytes."""
    name, max_bytes = request.param
    path = write_vcf(vcf_text(name), layout, BLOCKS[name], tmp_path, monkeypatch)
    return vcf_text(name), split_of(path, max_bytes)


def test_chunks_hold_every_record_once_in_order(case: tuple[bytes, VcfSplit]) -> None:
    text, split = case
    assert b"".join(chunk_texts(split)) == b"".join(records_of(text))


def test_split_header_is_the_header_of_the_file(case: tuple[bytes, VcfSplit]) -> None:
    text, split = case
    assert split.header == header_of(text)
    assert split.header.endswith(b"\n") and split.header.splitlines()[-1].startswith(b"#CHROM")


def test_every_chunk_is_whole_records(case: tuple[bytes, VcfSplit]) -> None:
    _, split = case
    for text in chunk_texts(split):
        assert text
        assert not text.startswith(b"#")
        assert text.endswith(b"\n")


def test_neighbouring_chunks_never_share_a_position(case: tuple[bytes, VcfSplit]) -> None:
    _, split = case
    texts = chunk_texts(split)
    for before, after in itertools.pairwise(texts):
        assert position_of(records_of(before)[-1]) != position_of(records_of(after)[0])


def test_chunks_follow_one_another(case: tuple[bytes, VcfSplit]) -> None:
    _, split = case
    assert [chunk.index for chunk in split.chunks] == list(range(len(split.chunks)))
    assert [chunk.end for chunk in split.chunks[:-1]] == [chunk.start for chunk in split.chunks[1:]]
    assert split.chunks[-1].end is None


@pytest.mark.parametrize("max_bytes", [1, 500, 3000])
def test_runs_at_one_position_across_blocks_stay_in_one_chunk(
    max_bytes: int, layout: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = vcf_text("runs")
    split = split_of(write_vcf(text, layout, BLOCKS["runs"], tmp_path, monkeypatch), max_bytes)
    chunk_of: dict[tuple[bytes, bytes], set[int]] = {}
    for index, chunk_text in enumerate(chunk_texts(split)):
        for record in records_of(chunk_text):
            chunk_of.setdefault(position_of(record), set()).add(index)
    assert len(split.chunks) >= 5  # blocks of 300 bytes fall inside runs of 5 to 50 records
    assert len(chunk_of) == len({position_of(record) for record in records_of(text)})
    assert all(len(chunks) == 1 for chunks in chunk_of.values())


def test_the_runs_file_has_runs_of_5_to_50_records() -> None:
    positions = [position_of(record) for record in records_of(vcf_text("runs"))]
    lengths = [positions.count(position) for position in dict.fromkeys(positions)]
    assert len(positions) == 2000
    assert all(5 <= length <= 50 for length in lengths[:-1])  # the last run may be cut short


def test_a_header_ending_exactly_at_a_block_end(layout: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = vcf_text("exac")
    header = header_of(text)
    split = split_of(write_vcf(text, layout, len(header), tmp_path, monkeypatch), 1)
    assert split.header == header
    assert split.chunks[0].start == vcf_chunks.Position(1, 0)
    assert b"".join(chunk_texts(split)) == b"".join(records_of(text))


def test_a_real_bgzip_file_with_its_own_blocks_is_split_at_every_block() -> None:
    split = split_of(DATA / "test_trio.vcf.gz", 1)
    assert len(split.chunks) >= 5
    assert b"".join(chunk_texts(split)) == b"".join(records_of(gzip.decompress(split.blocks.path.read_bytes())))


# ---- guided sizes -----------------------------------------------------------------------------

# layout: (block size, max_bytes, min_bytes)
GUIDED = {"bgzf": (4000, 12000, 1500), "plain": (4000, 40000, 5000)}


@pytest.fixture
def guided(layout: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, int, int]:
    """The ExAC file in `layout`, with the max_bytes and min_bytes for it."""
    block, max_bytes, min_bytes = GUIDED[layout]
    return write_vcf(vcf_text("exac"), layout, block, tmp_path, monkeypatch), max_bytes, min_bytes


def largest_block(split: VcfSplit) -> int:
    """The size in file bytes of the split file's largest block."""
    offsets = split.blocks.offsets
    return max(end - start for start, end in itertools.pairwise(offsets))


def test_guided_chunks_never_exceed_max_bytes_by_more_than_a_block(guided: tuple[Path, int, int]) -> None:
    path, max_bytes, min_bytes = guided
    split = split_of(path, max_bytes, min_bytes=min_bytes, workers=2)
    assert max(file_bytes(split, chunk) for chunk in split.chunks) <= max_bytes + largest_block(split)


def test_guided_chunks_shrink_towards_the_end_but_not_below_min_bytes(guided: tuple[Path, int, int]) -> None:
    path, max_bytes, min_bytes = guided
    split = split_of(path, max_bytes, min_bytes=min_bytes, workers=2)
    sizes = [file_bytes(split, chunk) for chunk in split.chunks]
    assert len(sizes) >= 6
    assert sizes[0] >= max_bytes
    assert max(sizes[-3:]) < sizes[0] / 2
    assert min(sizes[:-1]) >= min_bytes  # the last chunk is whatever is left


def test_without_workers_every_chunk_but_the_last_reaches_max_bytes(guided: tuple[Path, int, int]) -> None:
    path, max_bytes, _ = guided
    split = split_of(path, max_bytes)
    sizes = [file_bytes(split, chunk) for chunk in split.chunks]
    assert len(sizes) >= 3
    assert all(max_bytes <= size <= max_bytes + largest_block(split) for size in sizes[:-1])


# ---- write_chunk --------------------------------------------------------------------------------

# name: (test VCF, bytes per block, max_bytes)
CHUNK_FILES = {
    "ExAC, chunks over a few blocks": ("exac", 1000, 1),
    "ExAC, chunks over many blocks": ("exac", 1000, 15000),
    "1000 Genomes genotypes": ("1000G", 2000, 8000),
    "EGA samples and CSQ": ("ega", 1000, 3000),
    "spec example, tiny blocks": ("multi_contig", 200, 1),
    "header over 64 KiB, small blocks": ("big_header", 1000, 6000),
    "header over 64 KiB, full blocks": ("big_header", MAX_BLOCK_DATA, 1),
}


@pytest.fixture(params=sorted(CHUNK_FILES))
def chunk_case(
    request: pytest.FixtureRequest, layout: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> ChunkFiles:
    """A test VCF in `layout`, its split and the file each chunk was written to."""
    name, block, max_bytes = CHUNK_FILES[request.param]
    source = write_vcf(vcf_text(name), layout, block, tmp_path, monkeypatch)
    split = split_of(source, max_bytes)
    written = [tmp_path / f"chunk{chunk.index}.vcf{'.gz' if layout == 'bgzf' else ''}" for chunk in split.chunks]
    for chunk, destination in zip(split.chunks, written, strict=True):
        write_chunk(split, chunk, destination)
    return source, split, written


def test_written_chunks_hold_exactly_the_records_of_the_source(chunk_case: ChunkFiles) -> None:
    source, _, written = chunk_case
    per_chunk = [variants(path) for path in written]
    assert len(per_chunk) >= 2
    assert all(per_chunk)
    assert [record for records in per_chunk for record in records] == variants(source)


def test_each_written_chunk_holds_the_records_of_its_own_range(chunk_case: ChunkFiles) -> None:
    source, split, written = chunk_case
    expected = variants(source)
    start = 0
    for chunk, path in zip(split.chunks, written, strict=True):
        count = len(records_of(read_chunk(split, chunk)))
        assert variants(path) == expected[start : start + count]
        start += count
    assert start == len(expected)


def test_written_chunks_have_the_samples_of_the_source(chunk_case: ChunkFiles) -> None:
    source, _, written = chunk_case
    samples = cyvcf2.VCF(str(source)).samples
    assert all(cyvcf2.VCF(str(path)).samples == samples for path in written)


def test_written_chunk_is_the_header_and_the_chunk_text(chunk_case: ChunkFiles) -> None:
    source, split, written = chunk_case
    header = header_of(vcf_text_of(source))
    for chunk, path in zip(split.chunks, written, strict=True):
        raw = path.read_bytes()
        text = gzip.decompress(raw) if split.blocks.compressed else raw
        assert text == header + read_chunk(split, chunk)


def test_written_chunk_keeps_the_layout_of_the_input(chunk_case: ChunkFiles) -> None:
    _, split, written = chunk_case
    for path in written:
        blocks = block_file(path)
        assert blocks is not None and blocks.compressed == split.blocks.compressed
        assert path.read_bytes().endswith(EOF_BLOCK) == split.blocks.compressed


def vcf_text_of(path: Path) -> bytes:
    """The text of a VCF file, BGZF or plain."""
    raw = path.read_bytes()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("spec example, tiny blocks", "ends in the next block"),
        ("ExAC, chunks over many blocks", "spans many blocks"),
        ("header over 64 KiB, small blocks", "spans many blocks"),
        ("header over 64 KiB, full blocks", "header over several blocks"),
    ],
)
def test_the_chunk_files_cover_every_shape_of_chunk(
    name: str, shape: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source_name, block, max_bytes = CHUNK_FILES[name]
    split = split_of(write_vcf(vcf_text(source_name), "bgzf", block, tmp_path, monkeypatch), max_bytes)
    within = [chunk for chunk in split.chunks if chunk.end is not None]
    shapes = {
        "ends in the next block": any(chunk.end.block == chunk.start.block + 1 for chunk in within),
        "spans many blocks": any(chunk.end.block - chunk.start.block >= 4 for chunk in within),
        "header over several blocks": split.chunks[0].start.block >= 1 and len(split.header) > 0x10000,
    }
    assert shapes[shape]


def test_a_last_chunk_inside_the_final_block_of_a_file_without_eof_marker(tmp_path: Path) -> None:
    # htslib reads BGZF without the empty end-of-file block; the last chunk then starts and ends in one block.
    text = vcf_text("exac")
    full = write_bgzf(tmp_path / "full.vcf.gz", text, block_size=60000)
    source = tmp_path / "no_eof.vcf.gz"
    source.write_bytes(full.read_bytes().removesuffix(EOF_BLOCK))
    split = split_of(source, 1)
    last = split.chunks[-1]
    assert last.end is None and last.start.block == len(split.blocks) - 1
    write_chunk(split, last, tmp_path / "last.vcf.gz")
    expected = records_of(text)[-len(records_of(read_chunk(split, last))) :]
    assert gzip.decompress((tmp_path / "last.vcf.gz").read_bytes()) == header_of(text) + b"".join(expected)
    assert variants(tmp_path / "last.vcf.gz") == variants(full)[-len(expected) :]


# ---- files that cannot be cut, files of one chunk -------------------------------------------------


def bcf(directory: Path, *, compressed: bool = True) -> Path:
    """The spec example VCF written as BCF by htslib (BGZF-compressed), or that BCF uncompressed."""
    template = cyvcf2.VCF(str(MULTI_CONTIG))
    path = directory / "example.bcf"
    writer = cyvcf2.Writer(str(path), template, mode="wb")
    for variant in template:
        writer.write_record(variant)
    writer.close()
    if compressed:
        return path
    uncompressed = directory / "example.u.bcf"  # cyvcf2 writes BGZF even when asked for "wbu"
    uncompressed.write_bytes(gzip.decompress(path.read_bytes()))
    return uncompressed


def header_only(directory: Path, layout: str) -> Path:
    """The spec example's header without records, as BGZF or plain text."""
    header = header_of(vcf_text("multi_contig"))
    if layout == "bgzf":
        return write_bgzf(directory / "header.vcf.gz", header)
    path = directory / "header.vcf"
    path.write_bytes(header)
    return path


def empty(directory: Path) -> Path:
    """An empty file."""
    path = directory / "empty.vcf"
    path.write_bytes(b"")
    return path


UNSPLITTABLE = {
    "plain gzip (real EGA file)": lambda directory: EGA,
    "BCF, BGZF-compressed": bcf,
    "BCF, uncompressed": lambda directory: bcf(directory, compressed=False),
    "header only, BGZF": lambda directory: header_only(directory, "bgzf"),
    "header only, plain": lambda directory: header_only(directory, "plain"),
    "empty file": empty,
}
NO_BLOCKS = ["plain gzip (real EGA file)", "BCF, BGZF-compressed", "BCF, uncompressed"]


@pytest.mark.parametrize("name", sorted(UNSPLITTABLE))
def test_split_vcf_returns_none_for_a_file_it_cannot_cut(name: str, tmp_path: Path) -> None:
    path = UNSPLITTABLE[name](tmp_path)
    assert path.stat().st_size > 0 or name == "empty file"
    assert split_vcf(path, 1) is None


@pytest.mark.parametrize("name", NO_BLOCKS)
def test_block_file_returns_none_for_plain_gzip_and_bcf(name: str, tmp_path: Path) -> None:
    assert block_file(UNSPLITTABLE[name](tmp_path)) is None


def test_the_bcf_files_are_bcf_of_the_spec_example(tmp_path: Path) -> None:
    compressed, uncompressed = bcf(tmp_path), bcf(tmp_path, compressed=False)
    assert compressed.read_bytes()[:2] == b"\x1f\x8b" and uncompressed.read_bytes()[:3] == b"BCF"
    assert variants(compressed) == variants(uncompressed) == variants(MULTI_CONTIG)


def test_block_file_refuses_a_truncated_bgzf_chain(tmp_path: Path) -> None:
    full = write_bgzf(tmp_path / "full.vcf.gz", vcf_text("exac"), block_size=4000).read_bytes()
    truncated = tmp_path / "truncated.vcf.gz"
    truncated.write_bytes(full[: len(full) - len(EOF_BLOCK) - 100])  # a download cut short inside a block
    assert block_file(truncated) is None
    assert split_vcf(truncated, 1) is None


# name: (file maker, max_bytes)
ONE_CHUNK = {
    "real bgzip file of one record": (lambda directory, monkeypatch: ONE_RECORD, 1),
    "ExAC BGZF, max_bytes over the file size": (
        lambda directory, monkeypatch: write_vcf(vcf_text("exac"), "bgzf", 1000, directory, monkeypatch),
        10**9,
    ),
    "spec example, plain, one piece": (
        lambda directory, monkeypatch: write_vcf(vcf_text("multi_contig"), "plain", 1 << 20, directory, monkeypatch),
        1,
    ),
}


@pytest.mark.parametrize("name", sorted(ONE_CHUNK))
def test_records_that_fit_in_one_chunk_give_exactly_one_chunk(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make, max_bytes = ONE_CHUNK[name]
    path = make(tmp_path, monkeypatch)
    split = split_of(path, max_bytes)
    assert len(split.chunks) == 1
    assert split.chunks[0].end is None
    assert read_chunk(split, split.chunks[0]) == b"".join(records_of(vcf_text_of(path)))
