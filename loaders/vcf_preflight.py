"""What `beacon load vcf` checks before it opens the store, and the htslib log kept to one telling.

`check_inputs` opens the header of every input (the same checks the reader makes: assembly, sample
panel, populations map, samples) so a bad last file is refused before the first file is converted,
and the store is not even created. It is also the one place htslib's header warnings are shown: a
load opens each file again (the index count, the reader, the workers), and those opens run inside
`quiet_htslib`, so a warning is printed once, not once per open.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from loaders.vcf_header import panel_rows_not_in
from loaders.vcf_reader import VcfReader
from loaders.vcf_types import LoadReport, VcfOptions

_HTS_LOG_ERROR = 1  # htslib's HTS_LOG_ERROR: errors are still printed, warnings (level 3) are not


@dataclass
class Preflight:
    """What the headers said: warnings to show, and the populations with their sample counts (None: INFO fields)."""

    warnings: list[str] = field(default_factory=list)
    populations: dict[str, int | None] = field(default_factory=dict)


def check_inputs(paths: Sequence[Path], options: VcfOptions) -> Preflight:
    """Check every file's header against the options (VcfError on the first problem)."""
    result = Preflight()
    unused: list[str] | None = None
    for path in paths:
        reader = VcfReader(Path(path), options, LoadReport(), _nothing)
        result.populations = reader.check_header()
        if options.sample_panel is not None:
            lacking = set(panel_rows_not_in(reader.samples, options.sample_panel))
            candidates = options.sample_panel.populations if unused is None else unused
            unused = [sample for sample in candidates if sample in lacking]
    if unused:
        shown = ", ".join(unused[:5]) + (f" and {len(unused) - 5} more" if len(unused) > 5 else "")
        result.warnings.append(f"{len(unused)} sample panel row(s) name no sample of the VCF file(s): {shown}")
    return result


def _nothing(*_fields: object) -> None:
    return None


@contextmanager
def quiet_htslib() -> Iterator[None]:
    """htslib prints errors but not warnings inside the block (its log level is process-wide)."""
    library = _htslib()
    if library is None:
        yield
        return
    level = library.hts_get_log_level()
    library.hts_set_log_level(_HTS_LOG_ERROR)
    try:
        yield
    finally:
        library.hts_set_log_level(level)


def _htslib() -> ctypes.CDLL | None:
    """The htslib cyvcf2 is linked with (its symbols are exported by the extension module)."""
    import cyvcf2.cyvcf2 as extension

    try:
        library = ctypes.CDLL(extension.__file__)
        library.hts_get_log_level.restype = ctypes.c_int
        return library
    except (OSError, AttributeError):  # another build of cyvcf2: warnings may then repeat, nothing worse
        return None
