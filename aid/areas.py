"""The area tree, read straight from 12-digit statistical division codes.

China's administrative division codes (GB/T 2260 for province, city and county; the 12-digit
statistical codes for township and village) are hierarchical: a code's level and its parent are
fixed by which segments are non-zero. Reading them from the code, instead of from a stored tree,
makes "is this village inside that county" a prefix test that every node answers identically and
without a state read, which is what every role-scope check needs.

    segment   province  city  county  township  village
    digits    2         2     2       3         3
    example   53        01    02      001       001      -> 530102001001 (a village)
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from aid.errors import UnknownArea

AREA_CODE_DIGITS = 12
LEVELS = ("province", "city", "county", "township", "village")
AREA_CACHE_SIZE = 65_536  # area codes whose level is remembered (a province has ~20,000 villages)
_SEGMENT_ENDS = (2, 4, 6, 9, 12)  # where each level's segment ends in the code


def _segments(code: str) -> list[str]:
    starts = (0, *_SEGMENT_ENDS[:-1])
    return [code[a:b] for a, b in zip(starts, _SEGMENT_ENDS, strict=True)]


def area_level(code: object) -> str:
    """The level of a well-formed code; raises UnknownArea for anything else.

    Well-formed: 12 ASCII digits; the segments down to the code's level are non-zero and every
    segment below it is all zeros (``530100000000`` is a city, ``530100001000`` is not a code).
    Every entitlement, payment and counter asks this of the same few villages, so answers are
    cached (a refused code raises and is not cached).
    """
    if not isinstance(code, str):
        raise UnknownArea(f"area code must be {AREA_CODE_DIGITS} digits, got {code!r:.40}")
    return _level_of(code)


@lru_cache(maxsize=AREA_CACHE_SIZE)
def _level_of(code: str) -> str:
    if len(code) != AREA_CODE_DIGITS or not code.isascii():
        raise UnknownArea(f"area code must be {AREA_CODE_DIGITS} digits, got {code!r:.40}")
    if not code.isdigit():
        raise UnknownArea(f"area code must be {AREA_CODE_DIGITS} digits, got {code!r:.40}")
    segments = _segments(code)
    depth = 0
    while depth < len(segments) and int(segments[depth]) != 0:
        depth += 1
    if depth == 0 or any(int(s) != 0 for s in segments[depth:]):
        raise UnknownArea(
            f"{code} is not a valid division code (a zero segment above a non-zero one)"
        )
    return LEVELS[depth - 1]


def area_prefix(code: str) -> str:
    """The significant digits of a code: every area inside it starts with them."""
    return code[: _SEGMENT_ENDS[LEVELS.index(area_level(code))]]


def area_parent(code: str) -> str | None:
    """The code one level up, or None for a province."""
    depth = LEVELS.index(area_level(code))
    if depth == 0:
        return None
    keep = _SEGMENT_ENDS[depth - 1]
    return code[:keep] + "0" * (AREA_CODE_DIGITS - keep)


def area_contains(outer: str, inner: str) -> bool:
    """True if ``inner`` is ``outer`` or lies below it in the tree."""
    return inner.startswith(area_prefix(outer)) and (
        LEVELS.index(area_level(inner)) >= LEVELS.index(area_level(outer))
    )


def area_ancestors(code: str) -> list[str]:
    """The code and every area above it, nearest first (village, township, …, province)."""
    out = [code]
    parent = area_parent(code)
    while parent is not None:
        out.append(parent)
        parent = area_parent(parent)
    return out


class AreaTree:
    """The chain's area tree as genesis lists it (``aid.areas``; it never changes): each area's
    name and the areas directly below it, for the clerks who need a village's code."""

    def __init__(self, records: dict[str, dict[str, Any]]) -> None:
        self._records = records  # code -> {"name", "population"?}
        self._children: dict[str | None, list[str]] = {}
        for code in sorted(records):
            above = next((a for a in area_ancestors(code)[1:] if a in records), None)
            self._children.setdefault(above, []).append(code)

    def children(self, under: str | None) -> list[dict[str, Any]]:
        """The areas directly below ``under`` (the tree's top areas for None), by code.

        Each is ``{"code", "name", "level", "population"?}``. UnknownArea names a code that is
        malformed or not in the tree. At most a real division's children: genesis bounds the
        tree (``MAX_GENESIS_AREAS``) and a level's codes (3 digits below a township).
        """
        if under is not None:
            require_in_tree(lambda _kind, code: self._records.get(code), under)
        return [
            {"code": code, "level": area_level(code), **self._records[code]}
            for code in self._children.get(under, [])
        ]


def require_in_tree(
    peek: Callable[[str, str], Any], code: Any, what: str = "area", **data: Any
) -> str:
    """``code`` if it is an area of the chain's tree, else UnknownArea naming it (as ``what``,
    with ``data`` for the error: an action names its argument).

    ``peek(kind, ident)`` reads a ledger record (``Records.peek``): the tree is the genesis's
    ``area`` records. A well-formed code the genesis never listed would pass every scope check
    of an account whose area contains it, and a report or a public page of it would answer
    zeros: a typo would look like an empty area.
    """
    area_level(code)  # a malformed code: UnknownArea naming it
    if peek("area", code) is None:
        raise UnknownArea(
            f"{what} {code} is not in this chain's area tree (genesis aid.areas)", **data
        )
    return str(code)
