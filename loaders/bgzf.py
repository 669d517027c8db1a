"""Write BGZF (bgzip) files: gzip members of at most 64 KiB of data each, as htslib and tabix expect.

Used by the benchmark's VCF generator and by tests that need files of many blocks; `vcf_chunks`
reads the block chain back.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from types import TracebackType

MAX_BLOCK_DATA = 0xFF00  # bgzip's own limit, so that a block stays under 64 KiB even if incompressible
EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def bgzf_block(data: bytes, level: int = 6) -> bytes:
    """One BGZF block holding `data` (at most MAX_BLOCK_DATA bytes)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    deflated = compressor.compress(data) + compressor.flush()
    size = 18 + len(deflated) + 8
    header = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00" + struct.pack("<H", size - 1)
    return header + deflated + struct.pack("<II", zlib.crc32(data), len(data))


def bgzf_blocks(data: bytes, level: int = 6) -> bytes:
    """`data` of any length as consecutive BGZF blocks."""
    return b"".join(
        bgzf_block(data[start : start + MAX_BLOCK_DATA], level) for start in range(0, len(data), MAX_BLOCK_DATA)
    )


class BgzfWriter:
    """A binary file writer producing BGZF; `block_size` below the maximum makes more, smaller blocks."""

    def __init__(self, path: Path, *, block_size: int = MAX_BLOCK_DATA, level: int = 6) -> None:
        if not 0 < block_size <= MAX_BLOCK_DATA:
            raise ValueError(f"block_size must be between 1 and {MAX_BLOCK_DATA}")
        self.block_size = block_size
        self.level = level
        self.pending = bytearray()
        self.handle = path.open("wb")

    def write(self, data: bytes) -> None:
        """Buffer data, writing every full block."""
        self.pending += data
        while len(self.pending) >= self.block_size:
            self.handle.write(bgzf_block(bytes(self.pending[: self.block_size]), self.level))
            del self.pending[: self.block_size]

    def close(self) -> None:
        """Write the last partial block and the end-of-file marker."""
        if self.pending:
            self.handle.write(bgzf_block(bytes(self.pending), self.level))
            self.pending.clear()
        self.handle.write(EOF_BLOCK)
        self.handle.close()

    def __enter__(self) -> BgzfWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.handle.close()


def write_bgzf(path: Path, data: bytes, *, block_size: int = MAX_BLOCK_DATA) -> Path:
    """Write `data` to `path` as BGZF."""
    with BgzfWriter(path, block_size=block_size) as writer:
        writer.write(data)
    return path
