"""The shape predicates every layer validates with: one home for "is an integer", "is 64 hex".

Each layer raises its own error type (a malformed transaction, an invalid block, a bad message,
invalid RPC params) with its own wording, but what counts as an integer or a hash is decided
here once. ``bool`` is a subclass of ``int`` in Python and JSON's ``true`` must never pass for 1,
which is why the integer predicates exclude it explicitly.
"""

from __future__ import annotations

import re
from typing import TypeGuard

_HEX64_LOWER = re.compile(r"\A[0-9a-f]{64}\Z")
_HEX64_ANY_CASE = re.compile(r"\A[0-9a-fA-F]{64}\Z")
_HEX128_LOWER = re.compile(r"\A[0-9a-f]{128}\Z")


def is_int(value: object) -> TypeGuard[int]:
    """An integer and not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_uint(value: object, maximum: int | None = None) -> TypeGuard[int]:
    """A non-negative integer (not a bool), at most ``maximum`` when one is given."""
    return is_int(value) and value >= 0 and (maximum is None or value <= maximum)


def is_hex64(value: object) -> TypeGuard[str]:
    """64 lowercase hex characters: the canonical form of hashes, addresses and public keys."""
    return isinstance(value, str) and _HEX64_LOWER.match(value) is not None


def is_hex64_any_case(value: object) -> TypeGuard[str]:
    """64 hex characters in either case: what a human may paste (callers lower-case it)."""
    return isinstance(value, str) and _HEX64_ANY_CASE.match(value) is not None


def is_hex128(value: object) -> TypeGuard[str]:
    """128 lowercase hex characters: the canonical form of an ed25519 signature."""
    return isinstance(value, str) and _HEX128_LOWER.match(value) is not None
