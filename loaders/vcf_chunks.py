"""Split a text VCF (bgzip-compressed or plain) into chunks of whole records for parallel loading.

No index is needed. A bgzip file is a chain of independently compressed BGZF blocks whose headers
give their sizes, so the chain is walked once (a few reads per megabyte) and chunks are cut at block
boundaries; a plain file is cut into fixed-size pieces. Each cut then moves forward to a record
start, past any further records at the same CHROM:POS, because the reader compares the alleles of
one position to drop duplicates. A chunk is addressed by (block, offset in the block's data) at
both ends; `read_chunk` returns its text, which with the header makes a VCF of its own.

Plain gzip (not BGZF) and BCF files cannot be cut this way: `split_vcf` returns None for them.
"""

from __future__ import annotations

import bisect
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from loaders.bgzf import EOF_BLOCK, bgzf_blocks

PLAIN_BLOCK = 1 << 20  # bytes per "block" of an uncompressed file
_BGZF_MAGIC = b"\x1f\x8b\x08\x04"
_BGZF_HEADER = 18  # fixed part of a BGZF block header, up to and including BSIZE


@dataclass(frozen=True)
class BlockFile:
    """A file as a sequence of blocks: BGZF blocks (compressed) or fixed-size pieces (plain text)."""

    path: Path
    offsets: tuple[int, ...]  # where each block starts in the file; one more entry: the file size
    compressed: bool

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def read(self, first: int, last: int) -> list[bytes]:
        """The (decompressed) data of blocks first..last inclusive."""
        with self.path.open("rb") as handle:
            handle.seek(self.offsets[first])
            raw = handle.read(self.offsets[last + 1] - self.offsets[first])
        if not self.compressed:
            base = self.offsets[first]
            return [raw[self.offsets[i] - base : self.offsets[i + 1] - base] for i in range(first, last + 1)]
        return [_inflate(raw, self.offsets[i] - self.offsets[first]) for i in range(first, last + 1)]


@dataclass(frozen=True)
class Position:
    """A place in a BlockFile's data: block number and offset in that block's (decompressed) data."""

    block: int
    offset: int


@dataclass(frozen=True)
class VcfChunk:
    """Records from `start` (a record start) up to `end` (exclusive; None = end of file)."""

    index: int
    start: Position
    end: Position | None


@dataclass(frozen=True)
class VcfSplit:
    """A VCF cut into chunks: the header text, the block layout and the chunks in file order."""

    blocks: BlockFile
    header: bytes
    chunks: tuple[VcfChunk, ...]


def split_vcf(path: Path, max_bytes: int, *, min_bytes: int | None = None, workers: int = 1) -> VcfSplit | None:
    """Chunks of at most `max_bytes` of file each; None when the file cannot be cut (BCF, plain gzip).

    Chunks shrink towards the end of the file (a chunk is at most the rest over twice `workers`, and
    at least `min_bytes`), so that workers finish together instead of one converting a large last
    chunk while the others wait.
    """
    blocks = block_file(path)
    if blocks is None or not len(blocks):
        return None
    header_end = _Stream(blocks, 0).skip_header()
    if header_end is None:  # no record at all
        return None
    head = blocks.read(0, header_end.block)
    head[-1] = head[-1][: header_end.offset]
    starts = [header_end]
    minimum = max_bytes if min_bytes is None else min_bytes
    offsets, size = blocks.offsets, blocks.offsets[-1]
    while True:
        here = offsets[starts[-1].block]
        step = min(max_bytes, max(minimum, (size - here) // (2 * workers)))
        block = bisect.bisect_left(offsets, here + max(step, 1), hi=len(blocks))
        cut = _cut_at(blocks, block) if block < len(blocks) else None
        if cut is None:
            break
        starts.append(cut)
    chunks = tuple(
        VcfChunk(index, start, starts[index + 1] if index + 1 < len(starts) else None)
        for index, start in enumerate(starts)
    )
    return VcfSplit(blocks, b"".join(head), chunks)


def read_chunk(split: VcfSplit, chunk: VcfChunk) -> bytes:
    """The text of a chunk's records."""
    last = chunk.end.block if chunk.end is not None else len(split.blocks) - 1
    data = split.blocks.read(chunk.start.block, last)
    if chunk.end is not None:
        data[-1] = data[-1][: chunk.end.offset]
    data[0] = data[0][chunk.start.offset :]
    return b"".join(data)


def write_chunk(split: VcfSplit, chunk: VcfChunk, destination: Path) -> None:
    """Write the header and a chunk's records as a VCF file of their own (BGZF when the input is).

    From a bgzip file, the blocks wholly inside the chunk are copied as they are (htslib inflates
    them faster than Python would) and only the partial first and last blocks are compressed again.
    """
    if not split.blocks.compressed:
        destination.write_bytes(split.header + read_chunk(split, chunk))
        return
    last = chunk.end.block if chunk.end is not None else len(split.blocks) - 1
    with split.blocks.path.open("rb") as source, destination.open("wb") as target:
        target.write(bgzf_blocks(split.header, level=1))
        if last == chunk.start.block:
            target.write(bgzf_blocks(read_chunk(split, chunk), level=1))
        else:
            first = split.blocks.read(chunk.start.block, chunk.start.block)[0][chunk.start.offset :]
            target.write(bgzf_blocks(first, level=1))
            whole_end = last if chunk.end is not None else last + 1  # the final block of the file is whole
            source.seek(split.blocks.offsets[chunk.start.block + 1])
            target.write(source.read(split.blocks.offsets[whole_end] - split.blocks.offsets[chunk.start.block + 1]))
            if chunk.end is not None and chunk.end.offset:
                target.write(bgzf_blocks(split.blocks.read(last, last)[0][: chunk.end.offset], level=1))
        target.write(EOF_BLOCK)


def block_file(path: Path) -> BlockFile | None:
    """The block layout of a bgzip or plain text file; None for BCF, plain gzip or a damaged chain."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(_BGZF_HEADER)
        if head[:2] == b"\x1f\x8b" and not _is_bgzf_header(head):
            return None  # plain gzip: no block boundaries to cut at
        if not _is_bgzf_header(head):
            if head[:3] == b"BCF":
                return None
            offsets = (*range(0, size, PLAIN_BLOCK), size)
            return BlockFile(path, offsets if size else (0,), compressed=False)
        return _bgzf_blocks(path, handle, size)


def _bgzf_blocks(path: Path, handle: BinaryIO, size: int) -> BlockFile | None:
    offsets = [0]
    offset = 0
    while offset < size:
        handle.seek(offset)
        head = handle.read(_BGZF_HEADER)
        if not _is_bgzf_header(head):
            return None  # not a clean chain (or BGZF-compressed BCF, checked below)
        offset += struct.unpack_from("<H", head, 16)[0] + 1
        offsets.append(offset)
    if offset != size:
        return None  # the last block runs past the end of the file: truncated
    blocks = BlockFile(path, tuple(offsets), compressed=True)
    if blocks.read(0, 0)[0][:3] == b"BCF":
        return None
    return blocks


def _is_bgzf_header(head: bytes) -> bool:
    # The BGZF "BC" extra subfield sits right after the gzip header when the extra field is 6 bytes.
    return len(head) == _BGZF_HEADER and head[:4] == _BGZF_MAGIC and head[10:16] == b"\x06\x00BC\x02\x00"


def _inflate(raw: bytes, start: int) -> bytes:
    size = struct.unpack_from("<H", raw, start + 16)[0] + 1
    return zlib.decompress(raw[start + _BGZF_HEADER : start + size - 8], wbits=-15)


def _cut_at(blocks: BlockFile, block: int) -> Position | None:
    """The first record start at or after `block` that does not share CHROM:POS with the record before."""
    stream = _Stream(blocks, block)
    if not stream.to_line_start():
        return None
    first_key = stream.record_key()
    if first_key is None:  # still in the header: this cut is not needed
        return None
    while True:
        if not stream.next_line():
            return None
        if stream.record_key() != first_key:
            return stream.position()


class _Stream:
    """Forward reading of a BlockFile's data from one block on, line by line."""

    def __init__(self, blocks: BlockFile, block: int) -> None:
        self.blocks = blocks
        self.first = block
        self.next_block = block
        self.data = b""
        self.spans: list[int] = []  # where each loaded block starts in `data`
        self.at = 0
        self.previous_byte = b"\n" if block == 0 else blocks.read(block - 1, block - 1)[0][-1:]

    def _load(self) -> bool:
        if self.next_block >= len(self.blocks):
            return False
        self.spans.append(len(self.data))
        self.data += self.blocks.read(self.next_block, self.next_block)[0]
        self.next_block += 1
        return True

    def _find(self, byte: bytes, start: int) -> int:
        while True:
            found = self.data.find(byte, start)
            if found >= 0 or not self._load():
                return found

    def _ensure_data(self) -> bool:
        """Load blocks until there is data at the current place; False at end of file."""
        while self.at >= len(self.data):
            if not self._load():
                return False
        return True

    def to_line_start(self) -> bool:
        """Move to the first line starting at or after the first block's start; False at end of file."""
        if not self._ensure_data():
            return False
        if self.previous_byte != b"\n":
            end = self._find(b"\n", 0)
            if end < 0:
                return False
            self.at = end + 1
        return self._ensure_data()

    def next_line(self) -> bool:
        """Move to the next line start; False when there is none."""
        end = self._find(b"\n", self.at)
        if end < 0:
            return False
        self.at = end + 1
        return self._ensure_data()

    def record_key(self) -> bytes | None:
        """CHROM and POS of the line here; None for a header line."""
        if self.data[self.at : self.at + 1] == b"#":
            return None
        line_end = self._find(b"\n", self.at)  # loads the whole line
        if line_end < 0:
            line_end = len(self.data)
        first_tab = self.data.find(b"\t", self.at, line_end)
        second_tab = self.data.find(b"\t", first_tab + 1, line_end) if first_tab >= 0 else -1
        return self.data[self.at : second_tab if second_tab >= 0 else line_end]

    def skip_header(self) -> Position | None:
        """The position of the first record line (from block 0); None when there is none."""
        if not self._ensure_data():
            return None
        while self.data[self.at : self.at + 1] == b"#":
            if not self.next_line():
                return None
        return self.position()

    def position(self) -> Position:
        """The current place as a block number and offset."""
        index = max(i for i, start in enumerate(self.spans) if start <= self.at)
        return Position(self.first + index, self.at - self.spans[index])
