"""Canonical JSON: the one byte encoding for everything hashed or signed.

Keys sorted, ``separators=(",", ":")``, UTF-8 with non-ASCII written raw (as RFC 8785), integers
only. Floats are refused on the way in and on the way out, because two nodes must never disagree
about a number's bytes. Nesting is bounded by ``chain.limits.MAX_JSON_DEPTH``; envelopes carry a
transaction as a string (``chain.wire``), so this bound, checked at admission, is the only one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import msgspec

from chain import limits
from chain.errors import EncodingError

# The canonical bytes are those of the standard library's ``json.dumps(value, sort_keys=True,
# separators=(",", ":"), ensure_ascii=False).encode()``, which this format was defined with.
# msgspec's C encoder writes the same bytes (sorted keys, no spaces, raw UTF-8, the same escapes)
# ~8x faster, and every block encodes each state value, receipt and transaction body through
# here; tests/chain/test_encoding.py checks the two agree on arbitrary JSON values. Only checked
# values reach it: msgspec would also encode floats and types JSON has not.
_encode = msgspec.json.Encoder(order="sorted").encode


def _check(obj: Any, depth: int = 0) -> None:
    """Refuse what has no canonical JSON form (see ``canonical``).

    Every committed block's state writes and receipts pass through here, so the common case --
    plain dicts and lists of str, int, bool and None -- is checked by exact type without a call
    per scalar; anything else (subclasses, floats, foreign types) takes ``_check_any``.
    """
    t = type(obj)
    if t is str or t is int or t is bool or obj is None:
        return
    # a container's items sit one level below it, scalars too
    if depth > limits.MAX_JSON_DEPTH or (depth == limits.MAX_JSON_DEPTH and obj):
        raise EncodingError(f"value nested deeper than {limits.MAX_JSON_DEPTH} levels")
    if t is dict:
        for key, value in obj.items():
            if type(key) is not str:
                _check_any(obj, depth)  # a str subclass passes there; anything else is refused
                return
            tv = type(value)
            if not (tv is str or tv is int or tv is bool or value is None):
                _check(value, depth + 1)
        return
    if t is list:
        for value in obj:
            tv = type(value)
            if not (tv is str or tv is int or tv is bool or value is None):
                _check(value, depth + 1)
        return
    _check_any(obj, depth)


def _check_any(obj: Any, depth: int) -> None:
    if depth > limits.MAX_JSON_DEPTH:
        raise EncodingError(f"value nested deeper than {limits.MAX_JSON_DEPTH} levels")
    if obj is None or isinstance(obj, (bool, int, str)):
        return
    if depth == limits.MAX_JSON_DEPTH and isinstance(obj, (list, tuple, dict)) and obj:
        raise EncodingError(f"value nested deeper than {limits.MAX_JSON_DEPTH} levels")
    if isinstance(obj, float):
        raise EncodingError("floats are not allowed; use integers (fen)")
    if isinstance(obj, (list, tuple)):
        for item in obj:
            _check(item, depth + 1)
        return
    if isinstance(obj, dict):
        for key, value in obj.items():
            if not isinstance(key, str):
                raise EncodingError("object keys must be strings")
            _check(value, depth + 1)
        return
    raise EncodingError(f"value of type {type(obj).__name__} cannot be encoded")


def canonical(obj: Any) -> bytes:
    """Canonical bytes of a JSON value (raises EncodingError on floats or foreign types).

    Text with a lone surrogate (e.g. from a ``"\\ud800"`` escape) has no UTF-8 encoding, so it
    has no canonical bytes: it is refused here rather than failing later with a codec error.
    """
    _check(obj)
    try:
        return _encode(obj)
    except UnicodeEncodeError:
        raise EncodingError(LONE_SURROGATE) from None


def canonical_pairs(pairs: Sequence[tuple[str, Any]]) -> tuple[bytes, list[bytes]]:
    """``canonical([[key, value], ...])`` and each value's own canonical bytes, encoded once.

    The state root hashes the block's writes as one list of pairs and the store keeps every
    value's bytes; encoding each value once serves both. A JSON list is its items joined by
    ``,`` inside ``[]``, so the joined bytes are exactly ``canonical``'s, and each value is
    checked at the depth it has inside the list (2), so the same values are refused.
    """
    parts: list[bytes] = []
    values: list[bytes] = []
    encode = _encode
    try:
        for key, value in pairs:
            _check(key, 2)
            _check(value, 2)
            encoded = encode(value)
            values.append(encoded)
            parts.append(b"[" + encode(key) + b"," + encoded + b"]")
    except UnicodeEncodeError:
        raise EncodingError(LONE_SURROGATE) from None
    return b"[" + b",".join(parts) + b"]", values


def canonical_unchecked(obj: Any) -> bytes:
    """Canonical bytes of a value already known to hold only JSON ints/strs/... (hot path).

    Nothing is checked: a float is written as a number and NaN as ``null``. Anything not built
    from JSON types by this node's own code goes through ``canonical``.
    """
    return _encode(obj)


LONE_SURROGATE = "text contains a lone surrogate (\\ud800-\\udfff), which is not valid Unicode"
NOT_UTF8 = "text is not valid UTF-8"
TOO_DEEP = "JSON nested too deeply"
MAX_INT_DIGITS = 4_300  # longest integer literal parsed; ours, so no VM setting changes it
TOO_MANY_DIGITS = f"integer literal longer than {MAX_INT_DIGITS} digits"


def is_valid_text(text: str) -> bool:
    """True unless ``text`` holds a lone surrogate (the only str that UTF-8 cannot encode)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_int_literal(text: str) -> int:
    """``int(text)`` for a JSON integer, with a fixed digit limit and a fixed error text."""
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise EncodingError(TOO_MANY_DIGITS)
    try:
        return int(text)
    except ValueError:  # the interpreter's own int_max_str_digits is set lower than ours
        raise EncodingError(TOO_MANY_DIGITS) from None


def json_error_text(exc: Exception) -> str:
    """A fixed, interpreter-independent description of why text is not JSON."""
    if isinstance(exc, UnicodeDecodeError):
        return NOT_UTF8
    if isinstance(exc, RecursionError):
        return TOO_DEEP
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON at line {exc.lineno} column {exc.colno}"
    return "invalid JSON"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _no_float(text: str) -> Any:
    raise EncodingError("floats are not allowed; use integers (fen)")


def _no_constant(name: str) -> Any:
    raise EncodingError(f"{name} is not valid JSON")


def shown_name(name: str, limit: int = 64) -> str:
    """A name from outside, safe to echo in an error: cut to ``limit``, surrogates escaped."""
    cut = name[:limit]
    return cut if is_valid_text(cut) else cut.encode("utf-8", "backslashreplace").decode("utf-8")


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise EncodingError(f"duplicate key '{shown_name(key)}'")
        out[key] = value
    return out


# one decoder, built once: json.loads(..., hooks) would build a new JSONDecoder on every call,
# which dominates parsing many small documents (each transaction string of a block)
_decoder = json.JSONDecoder(
    parse_float=_no_float,
    parse_int=parse_int_literal,
    parse_constant=_no_constant,
    object_pairs_hook=_unique_pairs,
)


def loads_strict(data: bytes | str) -> Any:
    """Parse JSON refusing floats, NaN/Infinity and duplicate keys; raises EncodingError."""
    try:
        if isinstance(data, bytes):
            data = data.decode("utf-8")
        return _decoder.decode(data)
    except EncodingError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise EncodingError(f"malformed JSON: {json_error_text(exc)}") from None
