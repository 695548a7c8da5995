"""Contract values: the closed set of types, metered walks, JSON crossing, str()/repr()/format.

Contract code only ever holds ``int bool str None list tuple dict range`` and dict views. Any
operation the host would perform recursively (comparison, hashing, repr, JSON) is preceded by an
iterative walk here that charges gas per node and refuses nesting deeper than MAX_VALUE_DEPTH,
so the host never recurses deeply and never spends unmetered time.
"""

from __future__ import annotations

import json
from types import GeneratorType
from typing import Any

import msgspec

from chain.encoding import canonical_unchecked
from contracts.vm import gas
from contracts.vm.errors import InvalidValue, LimitExceeded, Unsupported, worded
from contracts.vm.formats import check_format_spec, parse_format
from contracts.vm.gas import Meter
from contracts.vm.sets import SET_TYPES

DictKeys: type = type({}.keys())
DictValues: type = type({}.values())
DictItems: type = type({}.items())
LAZY_NAMES = frozenset({"enumerate", "zip", "reversed"})
CONTAINERS = (list, tuple, dict, DictKeys, DictValues, DictItems, *SET_TYPES)
SCALARS = (int, str, bool, type(None), range)
# The standard library's encoder with these settings DEFINES a value's text (and so its gas);
# msgspec (through chain.encoding's encoder) writes the same text, and reads it back the same,
# several times faster. Every use of msgspec below falls back to the standard library wherever
# msgspec refuses, so each value gets exactly the text, copy or error it always got.
_json_decode = json.JSONDecoder().decode
_json_encode = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
).encode
_fast_decode = msgspec.json.Decoder().decode
# what msgspec raises where the standard library decides instead: a lone surrogate (not
# UTF-8), an integer past sys.get_int_max_str_digits() (the same bound in both), NaN tokens
_FAST_REFUSALS = (msgspec.EncodeError, msgspec.DecodeError, UnicodeError, ValueError, TypeError)


def type_name(value: Any) -> str:
    """The name CPython gives the value's type (lazy iterators by their builtin's name)."""
    t = type(value)
    if t is GeneratorType:
        name: str = value.gi_code.co_name
        return name if name in LAZY_NAMES else "generator"
    return t.__name__


MAX_SHOWN_CHARS = 60  # characters of a value quoted in an error message


def short_text(value: Any) -> str:
    """A short, deterministic rendering of a value quoted in an error message (a missing key,
    a bad literal): scalars by repr, cut at MAX_SHOWN_CHARS; anything else by its type."""
    t = type(value)
    if t is str:
        shown = value[:MAX_SHOWN_CHARS]
        return repr(shown) + ("..." if len(value) > MAX_SHOWN_CHARS else "")
    if t is bool or value is None or (t is int and value.bit_length() <= 200):
        return repr(value)
    return f"a {type_name(value)}"


def walk(meter: Meter, value: Any) -> int:
    """Visit ``value`` iteratively, charging gas as it goes; return the gas it cost.

    Bounds the cost of any native recursive operation on the value (comparison, hashing, repr,
    JSON): GAS_WALK_CONTAINER per container visited (shared structure counts once per
    reference, like the native operation would see it), GAS_WALK_ITEM per element and one gas
    per SCAN_CHARS_PER_GAS characters of strings. Raises LimitExceeded past MAX_VALUE_DEPTH
    and OutOfGas as soon as the walk has cost more than the remaining gas.
    """
    t = type(value)
    if t is int or t is bool or value is None or t is range or t is GeneratorType:
        return 0
    if t is str:
        cost = len(value) // gas.SCAN_CHARS_PER_GAS
        meter.charge(cost)
        return cost
    total = 0
    charged = 0
    # (container, depth), or (gas of a run of strings, 0): a string costs its length when the
    # walk reaches it, and consecutive ones are reached together, so a run is pushed as one
    # entry (and a container's last run is added at once) -- the same charges at the same points
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        t = type(item)
        if t is list or t is tuple:
            children: Any = item
        elif t is int:  # never pushed as a child: a run of strings
            total += item
            continue
        elif t is dict:
            children = [*item.keys(), *item.values()]
        elif t is DictKeys or t is DictValues or t in SET_TYPES:
            children = list(item)
        elif t is DictItems:
            children = [part for pair in item for part in pair]
        elif t is range or t is GeneratorType:
            continue  # iterators compare by identity: nothing to walk
        else:
            raise InvalidValue(f"unexpected value of type {t.__name__}")
        if depth >= gas.MAX_VALUE_DEPTH:
            raise LimitExceeded(f"value nested deeper than {gas.MAX_VALUE_DEPTH} levels")
        total += gas.GAS_WALK_CONTAINER + gas.GAS_WALK_ITEM * len(children)
        if total - charged > 4096:
            meter.charge(total - charged)
            charged = total
        run = 0
        for child in children:
            ct = type(child)
            if ct is int or ct is bool or child is None:
                continue
            if ct is str:
                run += len(child) // gas.SCAN_CHARS_PER_GAS
                continue
            if run:
                stack.append((run, 0))
                run = 0
            stack.append((child, depth + 1))
        if run:
            total += run
    meter.charge(total - charged)
    return total


def to_json(meter: Meter, value: Any, what: str) -> Any:
    """A fresh plain-JSON copy of a contract value (tuples become lists); refuses anything else."""
    walk(meter, value)
    return _to_json(value, what, 0)


def _to_json(value: Any, what: str, depth: int) -> Any:
    t = type(value)
    if t is int or t is str or t is bool or value is None:
        return value
    if depth >= gas.MAX_VALUE_DEPTH:
        raise LimitExceeded(f"{what} nested deeper than {gas.MAX_VALUE_DEPTH} levels")
    if t is list or t is tuple:
        return [_to_json(v, what, depth + 1) for v in value]
    if t is dict:
        out = {}
        for k, v in value.items():
            if type(k) is not str:
                raise InvalidValue(f"{what} is not JSON: dict keys must be str, not {type_name(k)}")
            out[k] = _to_json(v, what, depth + 1)
        return out
    raise InvalidValue(f"{what} is not JSON: cannot convert a {type_name(value)}")


def encode(value: Any) -> str:
    """Canonical JSON text of a plain JSON value (as chain.encoding, returned as str).

    Plain means what storage, events and results hold after ``to_json``: dicts with str keys,
    lists, tuples, str, int, bool, None. For those msgspec's sorted encoder writes the standard
    library's text byte for byte (tests/contracts/test_values_json.py checks it on arbitrary
    values); what it refuses, the standard library writes or refuses as before.
    """
    try:
        return canonical_unchecked(value).decode("utf-8")  # the chain's one msgspec encoder
    except _FAST_REFUSALS:
        return str(_json_encode(value))


def decode(text: str) -> Any:
    """The value of JSON ``text`` as the standard library reads it; msgspec when it can."""
    try:
        return _fast_decode(text.encode("utf-8"))
    except _FAST_REFUSALS:
        return _json_decode(text)


# id(value) -> (value, walk gas, canonical text): from_json's work on a value, to redo cheaply
Converted = dict[int, tuple[Any, int, str]]


def from_json(meter: Meter, value: Any, what: str, memo: Converted | None = None) -> Any:
    """Copy a JSON value coming from outside (args, storage) into a fresh contract value.

    With ``memo``, a value converted before (the same object, which the caller promises not to
    have changed) is charged exactly what its walk and allocation cost the first time, without
    walking and encoding it again: a ledger action asks the same rules several questions about
    one household. The walk's charges only ever add up, so charging their sum at once runs out
    of gas exactly when the walk would have.
    """
    if type(value) in (int, str, bool) or value is None:
        if type(value) is int and value.bit_length() > gas.MAX_INT_BITS:
            raise LimitExceeded(f"{what}: integer larger than {gas.MAX_INT_BITS} bits")
        return value
    known = None if memo is None else memo.get(id(value))
    if known is not None and known[0] is value:
        _, cost, text = known
        meter.charge(cost)
    else:
        try:
            cost = walk(meter, value)
            # the standard library's text: msgspec writes it for plain JSON, and anything else a
            # walked value can hold (non-str keys, sets, dict views, ...) it refuses, so the
            # standard library writes or refuses that as before (``encode``)
            text = encode(value)
        except (TypeError, ValueError) as exc:
            raise InvalidValue(f"{what} is not JSON: {exc}") from None
        if memo is not None:
            memo[id(value)] = (value, cost, text)
    meter.alloc(len(text))
    return decode(text)


# --- str() and repr() -----------------------------------------------------------------------
def _str_bound(s: str) -> int:
    return len(s) + 2 if s.isascii() and s.isprintable() else 10 * len(s) + 2


def _repr_bound(meter: Meter, value: Any) -> int:
    """Upper bound of len(repr(value)); also enforces depth and charges the walk."""
    walk(meter, value)
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        t = type(item)
        if t is str:
            total += _str_bound(item)
        elif t is int:
            bits = item.bit_length()
            total += bits // 3 + 2
            if bits > 64:
                meter.charge((bits // 64) ** 2 // 4)
        elif t is bool or item is None:
            total += 5
        elif t is range:
            total += (
                64
                + (item.start.bit_length() + item.stop.bit_length() + item.step.bit_length()) // 3
            )
        elif t is dict:
            total += 2 + 4 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif t is DictItems:
            total += 16 + 6 * len(item)
            stack.extend(part for pair in item for part in pair)
        elif t is GeneratorType:
            # CPython prints a memory address: never the same on two nodes
            raise Unsupported(f"a {type_name(item)} object has no deterministic text form")
        else:
            total += 16 + 2 * len(item)
            stack.extend(item)
    return total


def vm_repr(meter: Meter, value: Any) -> str:
    t = type(value)
    if t is int:
        return vm_str(meter, value)
    meter.alloc(_repr_bound(meter, value))
    return repr(value)


def vm_str(meter: Meter, value: Any) -> str:
    t = type(value)
    if t is str:
        return value
    if t is int:
        bits = value.bit_length()
        meter.alloc(bits // 3 + 2)
        meter.charge((bits // 64) ** 2 // 4)  # int -> str is quadratic in CPython
        return str(value)
    if t is bool or value is None:
        return str(value)
    return vm_repr(meter, value)


# --- format specs and str.format --------------------------------------------------------------
def format_value(meter: Meter, value: Any, conversion: str | None, spec: str) -> str:
    """One f-string / str.format field: conversion, then a validated format spec."""
    if conversion == "r":
        value = vm_repr(meter, value)
    elif conversion == "s":
        value = vm_str(meter, value)
    elif conversion is not None:
        raise Unsupported(f"conversion !{conversion} is not supported")
    if not spec:
        return vm_str(meter, value)
    problem = check_format_spec(spec)
    if problem:
        raise Unsupported(problem)
    t = type(value)
    if t is int or t is bool or t is str:
        size = (len(value) if t is str else value.bit_length()) + len(spec)
        digits = "".join(c if c.isdigit() else " " for c in spec).split()
        size += max((int(d) for d in digits), default=0)
        meter.alloc(size * 2)
        return format(value, spec)
    raise worded(TypeError, f"unsupported format string passed to {t.__name__}.__format__")


def str_format(meter: Meter, template: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    meter.charge(len(template) // gas.SCAN_CHARS_PER_GAS)
    try:
        fields = parse_format(template)
    except ValueError as exc:
        if "not allowed" in str(exc) or "not supported" in str(exc) or "not a position" in str(exc):
            raise Unsupported(f"str.format: {exc}") from None
        raise
    parts: list[str] = []
    auto = 0
    manual = False
    for literal, name, conversion, spec in fields:
        parts.append(literal)
        if name is None:
            continue
        if name == "":
            if manual:
                raise worded(
                    ValueError,
                    "cannot switch from manual field specification to automatic field numbering",
                )
            if auto >= len(args):
                raise worded(
                    IndexError, f"Replacement index {auto} out of range for positional args tuple"
                )
            value = args[auto]
            auto += 1
        elif name.isdigit():
            if auto:
                raise worded(
                    ValueError,
                    "cannot switch from automatic field numbering to manual field specification",
                )
            manual = True
            index = int(name)
            if index >= len(args):
                raise worded(
                    IndexError, f"Replacement index {index} out of range for positional args tuple"
                )
            value = args[index]
        else:
            if name not in kwargs:
                raise KeyError(name)
            value = kwargs[name]
        parts.append(format_value(meter, value, conversion, spec))
    total = sum(len(p) for p in parts)
    meter.alloc(total)
    if total > gas.MAX_STR_CHARS:
        raise LimitExceeded(f"string longer than {gas.MAX_STR_CHARS} characters")
    return "".join(parts)
