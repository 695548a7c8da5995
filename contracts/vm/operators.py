"""Operators on contract values: arithmetic, comparisons and subscripts, metered.

Each helper charges for size-dependent work *before* doing it (growing a sequence or an int,
walking containers for a deep comparison) and then lets CPython do the work, so results keep
CPython's semantics. The compiler emits native operators instead whenever the operands are
known to be small ints; these helpers are the general case.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from types import GeneratorType
from typing import Any

from contracts.vm import gas
from contracts.vm.errors import LimitExceeded, Unsupported, worded
from contracts.vm.primitives import (
    MAX_INT_BITS,
    SMALL_INT,
    Primitives,
    unsupported_operands,
)
from contracts.vm.sets import SET_TYPES, ContractSet, SetBase
from contracts.vm.values import DictItems, DictKeys, DictValues, type_name, walk

NATIVE_MUL_BOUND = 2**31  # a product of two ints below this is a small int: no check needed
SEQUENCES = (str, list, tuple)
CONTAINERS = frozenset({list, tuple, dict, DictKeys, DictValues, DictItems, *SET_TYPES})


def arithmetic(p: Primitives) -> dict[str, Any]:
    """+ - * // % ** | & ^ unary - +, their in-place forms, and the VM's own failures."""
    helpers: dict[str, Any] = {
        "_oog": p.out_of_gas,
        "_deep": p.too_deep,
        "_bigr": p.checked_big_int,
    }
    helpers.update(additive(p))
    helpers.update(multiplicative(p))
    helpers.update(powers(p))
    helpers.update(bitwise(p, helpers["_sub"]))
    return helpers


def additive(p: Primitives) -> dict[str, Any]:
    """+ and - (binary, unary and ``+=`` on lists)."""
    checked_big_int = p.checked_big_int
    new_seq = p.new_seq
    size_of = p.size_of
    sized = p.sized
    set_ops = p.set_ops

    def add(a: Any, b: Any) -> Any:
        if type(a) is int and type(b) is int:
            r = a + b
            if -SMALL_INT < r < SMALL_INT:
                return r
            return checked_big_int(r)
        ta = type(a)
        if ta is str and type(b) is str:
            n = len(a) + len(b)
            if n > 64:
                new_seq(n, str)
            return a + b
        if ta is type(b) and ta in SEQUENCES:
            new_seq(len(a) + len(b), ta)
            return a + b
        if isinstance(a, int) and isinstance(b, int):
            return checked_big_int(a + b)
        if ta in SEQUENCES or isinstance(a, int):
            return a + b  # raises CPython's TypeError without allocating
        raise unsupported_operands("+", a, b)

    def sub(a: Any, b: Any) -> Any:
        if isinstance(a, int) and isinstance(b, int):
            r = a - b
            if -SMALL_INT < r < SMALL_INT:
                return r
            return checked_big_int(r)
        if isinstance(a, SetBase) and isinstance(b, SetBase):
            return set_ops["_set_sub"](a, b)
        raise unsupported_operands("-", a, b)

    def neg(a: Any) -> Any:
        if isinstance(a, int):
            return -a
        raise worded(TypeError, f"bad operand type for unary -: '{type_name(a)}'")

    def pos(a: Any) -> Any:
        if isinstance(a, int):
            return +a
        raise worded(TypeError, f"bad operand type for unary +: '{type_name(a)}'")

    def iadd(a: Any, b: Any) -> Any:
        if type(a) is list:
            b = sized(b)
            n = size_of(b)
            new_seq(len(a) + n, list)
            a.extend(b)
            return a
        return add(a, b)

    return {"_add": add, "_sub": sub, "_neg": neg, "_pos": pos, "_iadd": iadd}


def multiplicative(p: Primitives) -> dict[str, Any]:
    """* // and %, charged by operand size; ``*=`` on lists."""
    checked_big_int = p.checked_big_int
    charge_big_product = p.charge_big_product
    new_seq = p.new_seq

    def mul(a: Any, b: Any) -> Any:
        ta, tb = type(a), type(b)
        if (
            ta is int
            and tb is int
            and -NATIVE_MUL_BOUND < a < NATIVE_MUL_BOUND
            and -NATIVE_MUL_BOUND < b < NATIVE_MUL_BOUND
        ):
            return a * b
        if isinstance(a, int) and isinstance(b, int):
            if a.bit_length() + b.bit_length() > MAX_INT_BITS + 1:
                raise LimitExceeded(f"integer larger than {MAX_INT_BITS} bits")
            charge_big_product(a, b)
            return checked_big_int(a * b)
        if ta in SEQUENCES and isinstance(b, int):
            new_seq(len(a) * max(b, 0), ta)
            return a * b
        if tb in SEQUENCES and isinstance(a, int):
            new_seq(len(b) * max(a, 0), tb)
            return a * b
        raise worded(
            TypeError, f"unsupported operand type(s) for *: '{ta.__name__}' and '{tb.__name__}'"
        )

    def floordiv(a: Any, b: Any) -> Any:
        if type(a) is int and type(b) is int and -SMALL_INT < a < SMALL_INT and b:
            if -SMALL_INT < b < SMALL_INT:
                return a // b
        if isinstance(a, int) and isinstance(b, int):
            if not (-SMALL_INT < a < SMALL_INT and -SMALL_INT < b < SMALL_INT):
                charge_big_product(a, b)
            return a // b
        raise unsupported_operands("//", a, b)

    def mod(a: Any, b: Any) -> Any:
        if type(a) is int and type(b) is int and -SMALL_INT < a < SMALL_INT and b:
            if -SMALL_INT < b < SMALL_INT:
                return a % b
        if isinstance(a, int) and isinstance(b, int):
            if not (-SMALL_INT < a < SMALL_INT and -SMALL_INT < b < SMALL_INT):
                charge_big_product(a, b)
            return a % b
        if type(a) is str:
            raise Unsupported("printf-style '%' formatting is not supported; use f-strings")
        raise unsupported_operands("%", a, b)

    def imul(a: Any, b: Any) -> Any:
        if type(a) is list and isinstance(b, int):
            new_seq(len(a) * max(b, 0), list)
            a *= b
            return a
        return mul(a, b)

    return {
        "_mul": mul,
        "_floordiv": floordiv,
        "_mod": mod,
        "_imul": imul,
    }


def powers(p: Primitives) -> dict[str, Any]:
    """** and pow(), charged by the size of the result before computing it."""
    meter = p.meter
    charge = p.charge
    out_of_gas = p.out_of_gas
    checked_big_int = p.checked_big_int

    def pow_(a: Any, b: Any) -> Any:
        if type(a) is int and type(b) is int and b >= 2 and a.bit_length() * b < 64:
            # the general case below charges exactly this for a result below 2**64
            if a.bit_length() > 1:  # not 0, 1 or -1, which cost nothing
                meter.g -= b.bit_length()
                if meter.g < 0:
                    out_of_gas()
            return a**b
        if isinstance(a, int) and isinstance(b, int):
            if b < 0:
                raise Unsupported("a negative exponent gives a float; money is integer fen")
            if a in (0, 1, -1) or b in (0, 1):
                return a**b
            if (a.bit_length() - 1) * b >= MAX_INT_BITS:
                raise LimitExceeded(f"integer larger than {MAX_INT_BITS} bits")
            bits = a.bit_length() * b
            charge((bits // 64 + 1) ** 2 // 4 + b.bit_length())
            return checked_big_int(a**b)
        raise worded(
            TypeError,
            f"unsupported operand type(s) for ** or pow(): '{type_name(a)}' and '{type_name(b)}'",
        )

    def b_pow(base: Any, exp: Any, mod: Any = None, /) -> Any:
        if mod is None:
            return pow_(base, exp)
        if type(base) in (int, bool) and type(exp) in (int, bool) and type(mod) in (int, bool):
            limbs = mod.bit_length() // 64 + 1
            charge(limbs * limbs * max(1, exp.bit_length()) // 2 + base.bit_length() // 64)
            return pow(base, exp, mod)
        raise worded(
            TypeError,
            "unsupported operand type(s) for pow(): "
            f"'{type_name(base)}', '{type_name(exp)}', '{type_name(mod)}'",
        )

    return {"_pow": pow_, "_b_pow": b_pow}


def bitwise(p: Primitives, sub: Callable[[Any, Any], Any]) -> dict[str, Any]:
    """| & ^ on ints, sets and dicts, and the in-place forms that change a set or dict."""
    charge = p.charge
    alloc = p.alloc
    check_len = p.check_len
    check_new_key = p.check_new_key
    set_ops = p.set_ops

    def operator_for(symbol: str, native: Callable[[Any, Any], Any], on_sets: str) -> Any:
        """``|``, ``&``, ``^``: ints (the result is never wider than an operand), sets, and
        ``dict | dict`` (a merged copy)."""

        def operate(a: Any, b: Any) -> Any:
            if isinstance(a, int) and isinstance(b, int):
                if not (-SMALL_INT < a < SMALL_INT and -SMALL_INT < b < SMALL_INT):
                    charge(max(a.bit_length(), b.bit_length()) // gas.BIGINT_BITS_PER_GAS)
                return native(a, b)
            if isinstance(a, SetBase) and isinstance(b, SetBase):
                return set_ops[on_sets](a, b)
            if symbol == "|" and type(a) is dict and type(b) is dict:
                alloc(48 * (len(a) + len(b)))
                for k in b:
                    check_new_key(k)
                out = a | b
                check_len(len(out), dict)
                return out
            raise unsupported_operands(symbol, a, b)

        return operate

    def in_place(operate: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        """``s |= t`` changes the set (or dict) itself, as in CPython."""

        def update(a: Any, b: Any) -> Any:
            result = operate(a, b)
            if type(a) is ContractSet:
                a.items.clear()
                a.items.update(result.items)
                return a
            if type(a) is dict:
                a.update(result)
                return a
            return result

        return update

    bitwise_or = operator_for("|", operator.or_, "_set_or")
    bitwise_and = operator_for("&", operator.and_, "_set_and")
    bitwise_xor = operator_for("^", operator.xor, "_set_xor")
    return {
        "_or": bitwise_or,
        "_and": bitwise_and,
        "_xor": bitwise_xor,
        "_isub": in_place(sub),
        "_ior": in_place(bitwise_or),
        "_iand": in_place(bitwise_and),
        "_ixor": in_place(bitwise_xor),
    }


def comparisons(p: Primitives) -> dict[str, Any]:
    """== != < <= > >= in, charging for what the native comparison walks."""
    meter = p.meter
    charge = p.charge
    size_of = p.size_of
    scan_cost = p.scan_cost
    check_key = p.check_key

    def compare_slow(a: Any, b: Any, op: Callable[[Any, Any], Any]) -> Any:
        ta, tb = type(a), type(b)
        if ta is str and tb is str:
            charge(min(len(a), len(b)) // gas.SCAN_CHARS_PER_GAS)
        elif ta in CONTAINERS and tb in CONTAINERS:
            walk(meter, a)  # only container vs container recurses natively
            walk(meter, b)
        return op(a, b)

    def make_compare(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def compare(a: Any, b: Any) -> Any:
            if type(a) is int and type(b) is int:
                return op(a, b)
            return compare_slow(a, b, op)

        return compare

    def contains(x: Any, c: Any) -> bool:
        tc = type(c)
        if tc is dict or tc is DictKeys:
            check_key(x)
            return x in c
        if tc is str:
            if type(x) is str:
                charge((len(c) + len(x)) // gas.SCAN_CHARS_PER_GAS)
                return x in c
            raise worded(
                TypeError, f"'in <string>' requires string as left operand, not {type_name(x)}"
            )
        if tc is list or tc is tuple or tc is DictValues or tc is DictItems:
            scan_cost(x, c)
            return x in c
        if tc is range:
            if type(x) is not int and type(x) is not bool:
                charge(size_of(c))
            return x in c
        if tc in SET_TYPES:
            check_key(x)
            return x in c.items
        if tc is GeneratorType:  # consumes up to the first match, as CPython does
            tx = type(x)
            if tx is int or tx is str or tx is bool or x is None:
                return x in c  # each step is charged by the iterator; a scalar never recurses
            for item in c:
                if compare_slow(item, x, operator.eq):
                    return True
            return False
        raise worded(TypeError, f"argument of type '{tc.__name__}' is not iterable")

    def not_contains(x: Any, c: Any) -> bool:
        return not contains(x, c)

    return {
        "_eq": make_compare(operator.eq),
        "_ne": make_compare(operator.ne),
        "_lt": make_compare(operator.lt),
        "_le": make_compare(operator.le),
        "_gt": make_compare(operator.gt),
        "_ge": make_compare(operator.ge),
        "_in": contains,
        "_notin": not_contains,
    }


def subscripts(p: Primitives) -> dict[str, Any]:
    """x[k], x[k] = v, del x[k], slices and dict displays with checked keys."""
    meter = p.meter
    charge = p.charge
    alloc = p.alloc
    new_seq = p.new_seq
    check_new_key = p.check_new_key
    check_key = p.check_key

    def getitem(x: Any, k: Any) -> Any:
        tk = type(k)
        if tk is int or tk is str:
            return x[k]
        if type(x) is dict:
            check_key(k)
        return x[k]

    def setitem(x: Any, k: Any, v: Any) -> None:
        if type(x) is dict:
            if type(k) is str and len(x) < gas.MAX_ITEMS:
                meter.mem += 64  # an entry plus its value's object, roughly
                x[k] = v
                return
            check_new_key(k)
            if len(x) >= gas.MAX_ITEMS and k not in x:
                raise LimitExceeded(f"dict longer than {gas.MAX_ITEMS} items")
            alloc(64)
        x[k] = v

    def delitem(x: Any, k: Any) -> None:
        if type(x) is list:
            charge(len(x) // 64)
        elif type(x) is dict:
            check_key(k)
        del x[k]

    def getslice(x: Any, lo: Any, hi: Any, step: Any) -> Any:
        t = type(x)
        if t is list or t is tuple or t is str:
            n = len(range(*slice(lo, hi, step).indices(len(x))))
            new_seq(n, t)
        return x[lo:hi:step]

    def mkdict(pairs_: tuple[tuple[Any, Any], ...]) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for k, v in pairs_:
            setitem(out, k, v)
        return out

    return {"_gi": getitem, "_si": setitem, "_di": delitem, "_gs": getslice, "_mkdict": mkdict}
