"""How a metadata record is kept in MongoDB: an exact, reversible encoding plus its filter index entries.

A stored record document is a wrapper; the record itself is `doc`, never mixed with store fields:

    {_id, entity, id, dataset_id, load, superseded_by?, doc: <record>, terms: [...], values: [...]}

BSON cannot hold everything JSON can, so `encode_record` rewrites what it cannot hold and
`decode_record` undoes it exactly:

- keys starting with `$` or containing `.` or NUL (MongoDB rejects or misreads them) and keys with
  `%` or lone surrogates are percent-escaped (`%24`, `%2E`, `%00`, `%25`, `%uD800`);
- integers outside the 64-bit range become `{"%int": "<digits>"}` and strings BSON cannot encode
  (lone surrogates) become `{"%str": "<JSON string>"}`. A raw `%` never survives key escaping, so
  these marker keys cannot come from a record.

Nothing in `doc` is ever queried: filters use `terms` (ontology term ids) and `values` (one
`{p: path, s: text, n: number}` per scalar leaf, see `beacon.query.indexing.extract_values`), where
field paths are data, not keys, so a request cannot name a key of the stored document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from bson.int64 import Int64

from beacon.query.indexing import extract_terms, extract_values

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_BIG_INT = "%int"
_TEXT = "%str"
_MARKERS = frozenset({_BIG_INT, _TEXT})
_UNSAFE_KEY_CHARS = re.compile("[%.\x00\ud800-\udfff]")
_ESCAPE = re.compile(r"%(u[0-9A-F]{4}|[0-9A-F]{2})")
_SURROGATES = re.compile("[\ud800-\udfff]")


def escape_key(key: str) -> str:
    """A key MongoDB stores verbatim: `$` first, `.`, NUL, `%` and lone surrogates percent-escaped."""
    if key.startswith("$"):
        return "%24" + _escape_chars(key[1:])
    return _escape_chars(key)


def _escape_chars(text: str) -> str:
    return _UNSAFE_KEY_CHARS.sub(lambda match: _escaped_char(match.group()), text)


def _escaped_char(char: str) -> str:
    code = ord(char)
    return f"%{code:02X}" if code < 0x100 else f"%u{code:04X}"


def unescape_key(key: str) -> str:
    """The original key of an `escape_key` result."""
    if "%" not in key:
        return key
    return _ESCAPE.sub(lambda match: chr(int(match.group(1).lstrip("u"), 16)), key)


def encode_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """The BSON-safe form of a JSON record (see the module docstring); `decode_record` reverses it."""
    return {escape_key(key): _encode(value) for key, value in record.items()}


def _encode(value: Any) -> Any:
    if isinstance(value, Mapping):
        return encode_record(value)
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        return value if _INT64_MIN <= value <= _INT64_MAX else {_BIG_INT: str(value)}
    if isinstance(value, str):
        return value if is_bson_text(value) else {_TEXT: json.dumps(value)}
    raise TypeError(f"a record may hold JSON values only, not {type(value).__name__}")


def decode_record(document: Mapping[str, Any]) -> dict[str, Any]:
    """The record an `encode_record` result was made from."""
    return {unescape_key(key): _decode(value) for key, value in document.items()}


def _decode(value: Any) -> Any:
    if isinstance(value, Mapping):
        if len(value) == 1 and next(iter(value)) in _MARKERS:
            return _decode_marker(value)
        return decode_record(value)
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if type(value) is Int64:  # BSON int64 decodes to a subclass of int; give back a plain int
        return int(value)
    return value


def _decode_marker(value: Mapping[str, Any]) -> Any:
    if _BIG_INT in value:
        return int(value[_BIG_INT])
    return json.loads(value[_TEXT])


def is_bson_text(text: str) -> bool:
    """Whether BSON can hold a string (UTF-8 cannot encode lone surrogates)."""
    return text.isascii() or _SURROGATES.search(text) is None


def index_terms(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ontology terms of a record as `{id, label}` entries (ontology filters, /filtering_terms)."""
    return [
        {"id": term_id, "label": label if label is None or is_bson_text(label) else None}
        for term_id, label in extract_terms(record).items()
        if is_bson_text(term_id)
    ]


def index_values(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The scalar leaves of a record as `{p, s, n}` entries (alphanumeric filters).

    Leaves whose path or text BSON cannot hold (lone surrogates) are left out: no filter value a
    request can send through JSON to MongoDB could match them anyway.
    """
    return [
        {"p": path, "s": text, "n": number}
        for path, text, number in extract_values(record)
        if is_bson_text(path) and (text is None or is_bson_text(text))
    ]
