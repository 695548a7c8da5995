"""The metering primitives every group of helpers shares, bound to one meter.

Charging, size checks, materializing lazy values and checking dict keys: each helper module
(``operators``, ``functions``, ``methods``, ``sets``) builds on these, so every size-dependent
cost is charged the same way, before the work is done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from types import GeneratorType
from typing import Any

from contracts.vm import gas
from contracts.vm.errors import CallDepthExceeded, LimitExceeded, OutOfGas, Unsupported, worded
from contracts.vm.gas import Meter
from contracts.vm.sets import set_helpers
from contracts.vm.values import DictItems, type_name, walk

MISSING: Any = object()  # "no argument given", where None is a valid argument
SMALL_INT = gas.SMALL_INT  # ints strictly inside +-SMALL_INT are never size-checked
MAX_INT_BITS = gas.MAX_INT_BITS
KEY_INT = 2**60  # ints usable as new dict keys: hash(k) == k, so no two collide


def unsupported_operands(op: str, a: Any, b: Any) -> Exception:
    return worded(
        TypeError, f"unsupported operand type(s) for {op}: '{type_name(a)}' and '{type_name(b)}'"
    )


def no_attribute(obj: Any, name: str) -> Exception:
    return worded(AttributeError, f"'{type_name(obj)}' object has no attribute '{name}'")


@dataclass(slots=True)
class Primitives:
    """The metering primitives every group of helpers shares, bound to one meter."""

    meter: Meter
    charge: Callable[[int], None]
    alloc: Callable[[int], None]
    out_of_gas: Callable[[], None]
    too_deep: Callable[[], None]
    checked_big_int: Callable[[int], int]
    charge_big_product: Callable[[int, int], None]
    check_len: Callable[[int, type], None]
    new_seq: Callable[[int, type], None]
    size_of: Callable[[Any], int]
    drain: Callable[[Any], list[Any]]
    sized: Callable[[Any], Any]
    materialize: Callable[[Any], list[Any]]
    scan_cost: Callable[[Any, Any], None]
    check_new_key: Callable[[Any], None]
    check_key: Callable[[Any], None]
    set_ops: dict[str, Any]
    set_tables: dict[str, dict[type, Callable[..., Any]]]


def primitives(meter: Meter) -> Primitives:
    """All the primitives for one meter."""
    limits = gas_limits(meter)
    sizing = sizes(meter, limits["out_of_gas"])
    keys = key_checks(meter)
    set_ops, set_tables = set_helpers(meter, keys["check_new_key"], sizing["materialize"])
    return Primitives(
        meter=meter,
        charge=meter.charge,
        alloc=meter.alloc,
        **limits,
        **sizing,
        **keys,
        set_ops=set_ops,
        set_tables=set_tables,
    )


def gas_limits(meter: Meter) -> dict[str, Any]:
    """Running out of gas or frames, and the cost of big ints."""
    charge = meter.charge

    def out_of_gas() -> None:
        raise OutOfGas(f"out of gas (limit {meter.limit})")

    def too_deep() -> None:
        raise CallDepthExceeded(
            f"maximum recursion depth exceeded ({gas.MAX_CALL_DEPTH} contract frames)"
        )

    def checked_big_int(r: int) -> int:
        bits = r.bit_length()
        if bits > MAX_INT_BITS:
            raise LimitExceeded(f"integer larger than {MAX_INT_BITS} bits")
        meter.g -= bits // gas.BIGINT_BITS_PER_GAS
        if meter.g < 0:
            out_of_gas()
        return r

    def charge_big_product(a: int, b: int) -> None:
        charge((a.bit_length() // 64 + 1) * (b.bit_length() // 64 + 1) // 2)

    return {
        "out_of_gas": out_of_gas,
        "too_deep": too_deep,
        "checked_big_int": checked_big_int,
        "charge_big_product": charge_big_product,
    }


def sizes(meter: Meter, out_of_gas: Callable[[], None]) -> dict[str, Any]:
    """Charging for new sequences before they are built, and materializing lazy values."""
    alloc = meter.alloc

    def check_len(n: int, t: type) -> None:
        if t is str:
            if n > gas.MAX_STR_CHARS:
                raise LimitExceeded(f"string longer than {gas.MAX_STR_CHARS} characters")
        elif n > gas.MAX_ITEMS:
            raise LimitExceeded(f"{t.__name__} longer than {gas.MAX_ITEMS} items")

    def new_seq(n: int, t: type) -> None:
        """Charge for a new str/list/tuple of n items before it is built (``alloc`` and
        ``check_len`` inlined: this runs for every sized result)."""
        nbytes = n if t is str else 8 * n
        meter.g -= nbytes // gas.ALLOC_BYTES_PER_GAS
        if meter.g < 0:
            out_of_gas()
        meter.mem += nbytes
        if meter.mem > gas.MAX_ALLOC_BYTES:
            raise LimitExceeded(f"memory limit exceeded ({gas.MAX_ALLOC_BYTES} bytes allocated)")
        check_len(n, t)

    def size_of(x: Any) -> int:
        try:
            return len(x)
        except OverflowError:
            return 2**62
        except TypeError:
            raise worded(TypeError, f"'{type_name(x)}' object is not iterable") from None

    def drain(it: Any) -> list[Any]:
        """All remaining items of a lazy iterator; each step is charged by the iterator."""
        items = list(islice(it, gas.MAX_ITEMS + 1))
        new_seq(len(items), list)
        return items

    def sized(x: Any) -> Any:
        """``x`` itself when it has a length, else its items (a lazy iterator, drained)."""
        return drain(x) if type(x) is GeneratorType else x

    def materialize(x: Any) -> list[Any]:
        if type(x) is GeneratorType:
            return drain(x)
        n = size_of(x)
        t = type(x)
        if t is DictItems or t is str:
            alloc(64 * n)  # a new tuple / str object per element
        new_seq(n, list)
        return list(x)

    return {
        "check_len": check_len,
        "new_seq": new_seq,
        "size_of": size_of,
        "drain": drain,
        "sized": sized,
        "materialize": materialize,
    }


def key_checks(meter: Meter) -> dict[str, Any]:
    """What a lookup or a comparison against every element costs, and which keys are allowed."""
    charge = meter.charge

    def scan_cost(x: Any, seq: Any) -> None:
        """Charge for comparing ``x`` with every element of ``seq`` (in/index/count/remove)."""
        tx = type(x)
        if tx is int or tx is bool or x is None:
            charge(gas.GAS_SCAN_ITEM * len(seq))  # a scalar never recurses into elements
        elif tx is str:
            charge(gas.GAS_SCAN_ITEM * len(seq) * (1 + len(x) // gas.SCAN_CHARS_PER_GAS))
        else:
            walk(meter, x)
            walk(meter, seq)

    def check_new_key(k: Any) -> None:
        """Keys that may be inserted into a dict: str, bool, None and ints below 2**60.

        Their hashes are either seeded (str) or distinct (small ints), so no contract can
        build a dict of colliding keys and make every lookup scan it (hash flooding): tuple
        and big-int hashes are public functions an attacker could collide at will.
        """
        t = type(k)
        if t is str or t is bool or k is None or (t is int and -KEY_INT < k < KEY_INT):
            return
        if t is int or t is tuple or t is range:
            raise Unsupported(
                f"dict keys must be str, bool, None or an int below 2**60, not {t.__name__}"
                + (" of this size" if t is int else "")
            )
        hash(k)  # raises CPython's TypeError("unhashable type: ...") for lists and dicts

    def check_key(k: Any) -> None:
        t = type(k)
        if t is str or t is int or t is bool or k is None or t is range:
            return
        if t is tuple:
            walk(meter, k)

    return {"scan_cost": scan_cost, "check_new_key": check_new_key, "check_key": check_key}
