"""Metered implementations of every operator, builtin and method a contract can use.

``make_helpers(meter)`` returns the namespace the compiled code runs against: closures over one
meter (reused transaction after transaction by the runtime), assembled from named groups --
``primitives`` (charging, size checks, materializing, key checks) shared by ``arithmetic``,
``comparisons``, ``subscripts``, ``text_helpers``, ``builtin_functions`` and ``methods``. Each helper charges for size-dependent work *before* doing it (allocation,
scanning, deep comparison) and then lets CPython do the actual work, so results keep CPython's
semantics. Errors are CPython's own exception classes with plain-text messages.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from types import GeneratorType
from typing import Any

from contracts.vm import gas
from contracts.vm.errors import (
    CallDepthExceeded,
    ContractRaised,
    LimitExceeded,
    OutOfGas,
    Unsupported,
    worded,
)
from contracts.vm.gas import Meter
from contracts.vm.iterators import lazy_enumerate, lazy_reversed, lazy_zip
from contracts.vm.sets import SET_TYPES, ContractSet, SetBase, set_helpers
from contracts.vm.values import (
    DictItems,
    DictKeys,
    DictValues,
    format_value,
    short_text,
    str_format,
    type_name,
    vm_str,
    walk,
)

_MISSING: Any = object()
SMALL_INT = gas.SMALL_INT  # ints strictly inside +-SMALL_INT are never size-checked
NATIVE_MUL_BOUND = 2**31  # a product of two ints below this is a small int: no check needed
MAX_INT_BITS = gas.MAX_INT_BITS
_SEQS = (str, list, tuple)
_HOMOGENEOUS = ({int}, {str})  # element types for which native min/max/sorted are exact
SUM_CHUNK = 1024  # items of a lazy iterator sum() takes at a time
TWO_INTS_MINMAX_GAS = gas.GAS_WALK_CONTAINER + (gas.GAS_WALK_ITEM + 1) * 2  # as int_args
KEY_INT = 2**60  # ints usable as new dict keys: hash(k) == k, so no two collide
_CONTAINERS = frozenset({list, tuple, dict, DictKeys, DictValues, DictItems, *SET_TYPES})


def _unsupported_operands(op: str, a: Any, b: Any) -> Exception:
    return worded(
        TypeError, f"unsupported operand type(s) for {op}: '{type_name(a)}' and '{type_name(b)}'"
    )


def no_attribute(obj: Any, name: str) -> Exception:
    return worded(AttributeError, f"'{type_name(obj)}' object has no attribute '{name}'")


@dataclass(slots=True)
class Primitives:
    """The metering primitives every group of helpers shares, bound to one meter."""

    meter: Any
    charge: Any
    alloc: Any
    out_of_gas: Any
    too_deep: Any
    checked_big_int: Any
    charge_big_product: Any
    check_len: Any
    new_seq: Any
    size_of: Any
    drain: Any
    sized: Any
    materialize: Any
    scan_cost: Any
    check_new_key: Any
    check_key: Any
    set_ops: Any
    set_tables: Any


def make_helpers(meter: Meter) -> dict[str, Any]:
    """All helpers bound to one meter, keyed by the names the compiler emits."""
    p = primitives(meter)
    helpers: dict[str, Any] = {**NATIVE_NAMES, **p.set_ops}
    helpers.update(arithmetic(p))
    helpers.update(comparisons(p))
    helpers.update(subscripts(p))
    helpers.update(text_helpers(p))
    helpers.update(builtin_functions(p, helpers["_add"]))
    helpers.update(methods(p, helpers["_b_sorted"], helpers["_pairs"]))
    return helpers


def primitives(meter: Meter) -> Primitives:
    """Charging, size checks, materializing and key checks, used by all the helpers."""
    charge = meter.charge
    alloc = meter.alloc

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

    set_ops, set_tables = set_helpers(meter, check_new_key, materialize)
    return Primitives(
        meter=meter,
        charge=charge,
        alloc=alloc,
        out_of_gas=out_of_gas,
        too_deep=too_deep,
        checked_big_int=checked_big_int,
        charge_big_product=charge_big_product,
        check_len=check_len,
        new_seq=new_seq,
        size_of=size_of,
        drain=drain,
        sized=sized,
        materialize=materialize,
        scan_cost=scan_cost,
        check_new_key=check_new_key,
        check_key=check_key,
        set_ops=set_ops,
        set_tables=set_tables,
    )


def arithmetic(p: Primitives) -> dict[str, Any]:
    """+ - * // % ** | & ^ unary - +, and their in-place forms."""
    meter = p.meter
    charge = p.charge
    alloc = p.alloc
    out_of_gas = p.out_of_gas
    too_deep = p.too_deep
    checked_big_int = p.checked_big_int
    charge_big_product = p.charge_big_product
    check_len = p.check_len
    new_seq = p.new_seq
    size_of = p.size_of
    sized = p.sized
    check_new_key = p.check_new_key
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
        if ta is type(b) and ta in _SEQS:
            new_seq(len(a) + len(b), ta)
            return a + b
        if isinstance(a, int) and isinstance(b, int):
            return checked_big_int(a + b)
        if ta in _SEQS or isinstance(a, int):
            return a + b  # raises CPython's TypeError without allocating
        raise _unsupported_operands("+", a, b)

    def sub(a: Any, b: Any) -> Any:
        if isinstance(a, int) and isinstance(b, int):
            r = a - b
            if -SMALL_INT < r < SMALL_INT:
                return r
            return checked_big_int(r)
        if isinstance(a, SetBase) and isinstance(b, SetBase):
            return set_ops["_set_sub"](a, b)
        raise _unsupported_operands("-", a, b)

    def bitwise(symbol: str, native: Callable[[Any, Any], Any], on_sets: str) -> Any:
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
            raise _unsupported_operands(symbol, a, b)

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
        if ta in _SEQS and isinstance(b, int):
            new_seq(len(a) * max(b, 0), ta)
            return a * b
        if tb in _SEQS and isinstance(a, int):
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
        raise _unsupported_operands("//", a, b)

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
        raise _unsupported_operands("%", a, b)

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

    def imul(a: Any, b: Any) -> Any:
        if type(a) is list and isinstance(b, int):
            new_seq(len(a) * max(b, 0), list)
            a *= b
            return a
        return mul(a, b)

    bitwise_or = bitwise("|", operator.or_, "_set_or")
    bitwise_and = bitwise("&", operator.and_, "_set_and")
    bitwise_xor = bitwise("^", operator.xor, "_set_xor")
    return {
        "_oog": out_of_gas,
        "_deep": too_deep,
        "_bigr": checked_big_int,
        "_add": add,
        "_sub": sub,
        "_mul": mul,
        "_floordiv": floordiv,
        "_mod": mod,
        "_pow": pow_,
        "_b_pow": b_pow,
        "_neg": neg,
        "_pos": pos,
        "_or": bitwise_or,
        "_and": bitwise_and,
        "_xor": bitwise_xor,
        "_iadd": iadd,
        "_imul": imul,
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
        elif ta in _CONTAINERS and tb in _CONTAINERS:
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


def text_helpers(p: Primitives) -> dict[str, Any]:
    """f-strings, raise and assert."""
    meter = p.meter
    new_seq = p.new_seq

    def fstring(*parts: str) -> str:
        total = sum(map(len, parts))
        if total > 64:
            new_seq(total, str)
        return "".join(parts)

    def fvalue(value: Any, conversion: str | None, spec: str) -> str:
        if conversion is None and not spec:
            t = type(value)
            if t is str:
                return value
            if t is int and -SMALL_INT < value < SMALL_INT:
                return str(value)
        return format_value(meter, value, conversion, spec)

    def raised(class_name: str, *message: Any) -> ContractRaised:
        text = vm_str(meter, message[0]) if message else ""
        return ContractRaised(class_name, text[: gas.MAX_ERROR_MESSAGE_CHARS])

    def assert_fail(*message: Any) -> None:
        if message:
            raise AssertionError(vm_str(meter, message[0]))
        raise AssertionError()

    return {"_fstr": fstring, "_fv": fvalue, "_raised": raised, "_assert_fail": assert_fail}


def builtin_functions(p: Primitives, add: Callable[[Any, Any], Any]) -> dict[str, Any]:
    """The builtins contracts may call (len and range are CPython's own)."""
    meter = p.meter
    charge = p.charge
    out_of_gas = p.out_of_gas
    alloc = p.alloc
    checked_big_int = p.checked_big_int
    charge_big_product = p.charge_big_product
    check_len = p.check_len
    size_of = p.size_of
    materialize = p.materialize
    check_new_key = p.check_new_key

    def minmax(
        name: str, fn: Callable[..., Any], args: tuple[Any, ...], key: Any, default: Any
    ) -> Any:
        if not args:
            raise worded(TypeError, f"{name} expected at least 1 argument, got 0")
        if len(args) == 1:
            items = materialize(args[0])
        else:
            if default is not _MISSING:
                raise worded(
                    TypeError,
                    f"Cannot specify a default for {name}() with multiple positional arguments",
                )
            items = list(args)
        if not items:
            if default is not _MISSING:
                return default
            raise worded(ValueError, f"{name}() arg is an empty sequence")
        keys = items if key is None else [key(item) for item in items]
        walk(meter, keys)
        charge(len(items))
        if key is None and set(map(type, items)) in _HOMOGENEOUS:
            return fn(items)
        return items[fn(range(len(items)), key=keys.__getitem__)]

    def int_args(args: tuple[Any, ...], key: Any, default: Any) -> bool:
        """``min(a, b, ...)`` of plain ints: charged as minmax would (the walk of the list of
        keys, one per item), without building it."""
        if len(args) < 2 or key is not None or default is not _MISSING:
            return False
        for arg in args:
            if type(arg) is not int:
                return False
        charge(gas.GAS_WALK_CONTAINER + (gas.GAS_WALK_ITEM + 1) * len(args))
        return True

    def b_min(*args: Any, key: Any = None, default: Any = _MISSING) -> Any:
        if len(args) == 2 and type(args[0]) is int and type(args[1]) is int:
            if key is None and default is _MISSING:  # int_args, inlined for the common case
                meter.g -= TWO_INTS_MINMAX_GAS
                if meter.g < 0:
                    out_of_gas()
                return min(args)
        if int_args(args, key, default):
            return min(args)
        return minmax("min", min, args, key, default)

    def b_max(*args: Any, key: Any = None, default: Any = _MISSING) -> Any:
        if len(args) == 2 and type(args[0]) is int and type(args[1]) is int:
            if key is None and default is _MISSING:
                meter.g -= TWO_INTS_MINMAX_GAS
                if meter.g < 0:
                    out_of_gas()
                return max(args)
        if int_args(args, key, default):
            return max(args)
        return minmax("max", max, args, key, default)

    def b_sum(iterable: Any, /, start: Any = 0) -> Any:
        if type(start) is str:
            raise worded(TypeError, "sum() can't sum strings [use ''.join(seq) instead]")
        total = start
        if type(iterable) is GeneratorType:  # summed in chunks as it goes, never materialized
            while chunk := list(islice(iterable, SUM_CHUNK)):
                total = b_sum(chunk, total)
            return total
        items = materialize(iterable)
        if type(start) is int and set(map(type, items)) <= {int}:
            charge(len(items) // 4)
            r = sum(items, start)
            return r if -SMALL_INT < r < SMALL_INT else checked_big_int(r)
        if type(start) is str:
            raise worded(TypeError, "sum() can't sum strings [use ''.join(seq) instead]")
        for item in items:
            total = add(total, item)
        return total

    def b_sorted(iterable: Any, /, *, key: Any = None, reverse: Any = False) -> list[Any]:
        items = materialize(iterable)
        keys = items if key is None else [key(item) for item in items]
        walk(meter, keys)
        n = len(items)
        charge(n * max(1, n.bit_length()) // 2)
        if key is None and set(map(type, items)) in _HOMOGENEOUS:
            return sorted(items, reverse=reverse)
        order = sorted(range(n), key=keys.__getitem__, reverse=reverse)
        return [items[i] for i in order]

    def b_reversed(seq: Any, /) -> Any:
        return lazy_reversed(meter, reversed(seq), gas.GAS_ITER_STEP)

    def b_enumerate(iterable: Any, start: Any = 0) -> Any:
        return lazy_enumerate(meter, enumerate(iterable, start), gas.GAS_ITER_STEP)

    def b_zip(*iterables: Any, strict: Any = False) -> Any:
        native = zip(*iterables, strict=strict)
        return lazy_zip(meter, native, gas.GAS_ITER_STEP * max(1, len(iterables)))

    def scanned(iterable: Any) -> Any:
        """Charge a full pass over a sized iterable; lazy iterators charge per step."""
        if type(iterable) is not GeneratorType:
            charge(size_of(iterable) // 4)
        return iterable

    def b_any(iterable: Any, /) -> bool:
        return any(scanned(iterable))

    def b_all(iterable: Any, /) -> bool:
        return all(scanned(iterable))

    def b_int(*args: Any, **kwargs: Any) -> int:
        if len(args) == 1 and not kwargs and type(args[0]) is str and len(args[0]) < 16:
            # below 16 characters the checks below charge nothing and the int is small
            try:
                return int(args[0])
            except ValueError:
                raise worded(
                    ValueError, f"invalid literal for int(): {short_text(args[0])}"
                ) from None
        if args and type(args[0]) is str:
            text = args[0]
            charge(len(text) // gas.SCAN_CHARS_PER_GAS)
            digits = len(text.strip().replace("_", "").lstrip("+-"))
            if digits > gas.MAX_INT_DIGITS:
                raise LimitExceeded(f"int() of more than {gas.MAX_INT_DIGITS} digits")
            charge((digits // 19) ** 2 // 2)  # str -> int is quadratic in CPython
        if args and type(args[0]) is not int and not isinstance(args[0], (int, str)):
            raise worded(
                TypeError,
                f"int() argument must be a string, a bytes-like object or a real number, "
                f"not '{type_name(args[0])}'",
            )
        try:
            r = int(*args, **kwargs)
        except ValueError:
            if args and type(args[0]) is str:
                raise worded(
                    ValueError, f"invalid literal for int(): {short_text(args[0])}"
                ) from None
            raise
        return r if -SMALL_INT < r < SMALL_INT else checked_big_int(r)

    def b_str(*args: Any) -> str:
        if len(args) == 1:
            x = args[0]
            t = type(x)
            if t is str:
                return x
            if t is int and -SMALL_INT < x < SMALL_INT:
                return str(x)
        if not args:
            return ""
        if len(args) > 1:
            raise worded(TypeError, "str() takes at most 1 argument in contracts")
        return vm_str(meter, args[0])

    def b_list(*args: Any) -> list[Any]:
        if not args:
            return []
        if len(args) > 1:
            raise worded(TypeError, f"list expected at most 1 argument, got {len(args)}")
        return materialize(args[0])

    def b_tuple(*args: Any) -> tuple[Any, ...]:
        if not args:
            return ()
        if len(args) > 1:
            raise worded(TypeError, f"tuple expected at most 1 argument, got {len(args)}")
        if type(args[0]) is tuple:
            return args[0]
        return tuple(materialize(args[0]))

    def pairs(source: Any) -> Any:
        if type(source) is dict:
            alloc(48 * len(source))
            return source
        items = materialize(source)
        alloc(48 * len(items))
        for pair in items:
            if type(pair) in (tuple, list) and len(pair) == 2:
                check_new_key(pair[0])
        return items

    def b_dict(*args: Any, **kwargs: Any) -> dict[Any, Any]:
        if len(args) > 1:
            raise worded(TypeError, f"dict expected at most 1 argument, got {len(args)}")
        out = dict(pairs(args[0])) if args else {}
        alloc(48 * len(kwargs))
        out.update(kwargs)
        check_len(len(out), dict)
        return out

    def b_abs(x: Any, /) -> Any:
        if isinstance(x, int):
            return abs(x)
        raise worded(TypeError, f"bad operand type for abs(): '{type_name(x)}'")

    def b_divmod(a: Any, b: Any, /) -> tuple[Any, Any]:
        if isinstance(a, int) and isinstance(b, int):
            if not (-SMALL_INT < a < SMALL_INT and -SMALL_INT < b < SMALL_INT):
                charge_big_product(a, b)
            return divmod(a, b)
        raise _unsupported_operands("divmod()", a, b)

    def b_bool(*args: Any) -> bool:
        return bool(*args)

    return {
        "_b_min": b_min,
        "_b_max": b_max,
        "_b_sum": b_sum,
        "_b_abs": b_abs,
        "_b_sorted": b_sorted,
        "_b_reversed": b_reversed,
        "_b_enumerate": b_enumerate,
        "_b_zip": b_zip,
        "_b_any": b_any,
        "_b_all": b_all,
        "_b_int": b_int,
        "_b_str": b_str,
        "_b_bool": b_bool,
        "_b_list": b_list,
        "_b_tuple": b_tuple,
        "_b_dict": b_dict,
        "_b_divmod": b_divmod,
        "_pairs": pairs,
    }


def methods(
    p: Primitives, b_sorted: Callable[..., list[Any]], pairs: Callable[[Any], Any]
) -> dict[str, Any]:
    """Methods by name (``_M_<name>``), dispatched on the receiver's exact type."""
    meter = p.meter
    charge = p.charge
    alloc = p.alloc
    check_len = p.check_len
    new_seq = p.new_seq
    size_of = p.size_of
    sized = p.sized
    materialize = p.materialize
    scan_cost = p.scan_cost
    check_new_key = p.check_new_key
    check_key = p.check_key
    set_tables = p.set_tables
    receiver_checked: set[Callable[..., Any]] = set()

    def scan(native: Callable[..., Any], factor: int) -> Callable[..., Any]:
        """A str method costing one pass over the receiver and its string arguments, plus
        ``factor`` bytes per character of result. It checks its receiver itself, so a method
        only str has is called directly, not through a dispatcher (the hot path of string code).
        """
        name = native.__name__

        def method(obj: Any, *args: Any, **kwargs: Any) -> Any:
            if type(obj) is not str:
                raise no_attribute(obj, name)
            size = len(obj)
            scanned = size
            for arg in args:
                if type(arg) is str:
                    scanned += len(arg)
            if factor:
                alloc(factor * size)
            if scanned >= gas.SCAN_CHARS_PER_GAS:
                charge(scanned // gas.SCAN_CHARS_PER_GAS)
            return native(obj, *args, **kwargs)

        receiver_checked.add(method)
        return method

    def str_only(impl: Callable[..., Any], name: str) -> Callable[..., Any]:
        def method(obj: Any, *args: Any, **kwargs: Any) -> Any:
            if type(obj) is not str:
                raise no_attribute(obj, name)
            return impl(obj, *args, **kwargs)

        return method

    def s_split(s: str, *args: Any, **kwargs: Any) -> list[str]:
        if type(s) is not str:
            raise no_attribute(s, "split")
        alloc(32 * len(s) + 64)
        return s.split(*args, **kwargs)

    def s_join(sep: str, iterable: Any, /) -> str:
        if type(iterable) is list:  # charged as materialize charges, without the copy
            items = iterable
            new_seq(len(items), list)
        else:
            items = materialize(iterable)
        charge(gas.GAS_SCAN_ITEM * len(items))  # each item is type-checked and copied
        if set(map(type, items)) <= {str}:
            new_seq(sum(map(len, items)) + len(sep) * max(0, len(items) - 1), str)
        return sep.join(items)

    def s_replace(s: str, old: Any, new: Any, count: Any = -1, /) -> str:
        if type(old) is str and type(new) is str and type(count) is int:
            charge(len(s) // gas.SCAN_CHARS_PER_GAS)
            hits = s.count(old)
            if count >= 0:
                hits = min(hits, count)
            new_seq(len(s) + hits * (len(new) - len(old)), str)
        return s.replace(old, new, count)

    def s_format(s: str, *args: Any, **kwargs: Any) -> str:
        if type(s) is not str:
            raise no_attribute(s, "format")
        return str_format(meter, s, args, kwargs)

    def padding(native: Callable[..., str]) -> Callable[..., str]:
        """ljust/rjust/center/zfill: the result is max(width, len) characters."""

        def method(s: str, width: Any, *fill: Any) -> str:
            if type(width) is int and width > len(s):
                new_seq(width, str)
            return native(s, width, *fill)

        return method

    # variadic, so a wrong receiver is reported before any argument error, as by the wrapper
    receiver_checked.update((s_split, s_format))

    def l_copy(lst: list[Any], /) -> list[Any]:
        new_seq(len(lst), list)
        return lst.copy()

    def d_copy(d: dict[Any, Any], /) -> dict[Any, Any]:
        alloc(48 * len(d))
        return d.copy()

    def l_append(lst: list[Any], item: Any, /) -> None:
        if len(lst) >= gas.MAX_ITEMS:
            raise LimitExceeded(f"list longer than {gas.MAX_ITEMS} items")
        alloc(8)
        lst.append(item)

    def l_extend(lst: list[Any], iterable: Any, /) -> None:
        iterable = sized(iterable)
        n = size_of(iterable)
        new_seq(len(lst) + n, list)
        lst.extend(iterable)

    def l_shift(native: Callable[..., Any]) -> Callable[..., Any]:
        def method(lst: list[Any], *args: Any) -> Any:
            charge(len(lst) // 64)
            return native(lst, *args)

        return method

    def l_insert(lst: list[Any], index: Any, item: Any, /) -> None:
        if len(lst) >= gas.MAX_ITEMS:
            raise LimitExceeded(f"list longer than {gas.MAX_ITEMS} items")
        charge(len(lst) // 64)
        alloc(8)
        lst.insert(index, item)

    def searching(native: Callable[..., Any]) -> Callable[..., Any]:
        """remove/index/count: compare the argument with every element."""

        def method(seq: Any, value: Any, *args: Any) -> Any:
            scan_cost(value, seq)
            return native(seq, value, *args)

        return method

    def l_sort(lst: list[Any], /, *, key: Any = None, reverse: Any = False) -> None:
        lst[:] = b_sorted(lst, key=key, reverse=reverse)

    def d_get(d: dict[Any, Any], k: Any, default: Any = None, /) -> Any:
        check_key(k)
        return d.get(k, default)

    def d_pop(d: dict[Any, Any], k: Any, *default: Any) -> Any:
        check_key(k)
        return d.pop(k, *default)

    def d_setdefault(d: dict[Any, Any], k: Any, default: Any = None, /) -> Any:
        check_key(k)
        if k not in d:
            check_new_key(k)
            if len(d) >= gas.MAX_ITEMS:
                raise LimitExceeded(f"dict longer than {gas.MAX_ITEMS} items")
            alloc(48)
        return d.setdefault(k, default)

    def d_update(d: dict[Any, Any], *args: Any, **kwargs: Any) -> None:
        if len(args) > 1:
            raise worded(TypeError, f"update expected at most 1 argument, got {len(args)}")
        if args:
            d.update(pairs(args[0]))
        alloc(48 * len(kwargs))
        d.update(kwargs)
        check_len(len(d), dict)

    def view(native: Callable[..., Any]) -> Callable[..., Any]:
        def method(d: dict[Any, Any]) -> Any:
            return native(d)

        return method

    tables: dict[str, dict[type, Callable[..., Any]]] = {
        "lower": {str: scan(str.lower, 3)},
        "upper": {str: scan(str.upper, 3)},
        "strip": {str: scan(str.strip, 1)},
        "lstrip": {str: scan(str.lstrip, 1)},
        "rstrip": {str: scan(str.rstrip, 1)},
        "split": {str: s_split},
        "join": {str: s_join},
        "startswith": {str: scan(str.startswith, 0)},
        "endswith": {str: scan(str.endswith, 0)},
        "replace": {str: s_replace},
        "find": {str: scan(str.find, 0)},
        "format": {str: s_format},
        "isdigit": {str: scan(str.isdigit, 0)},
        "isalpha": {str: scan(str.isalpha, 0)},
        "isalnum": {str: scan(str.isalnum, 0)},
        "isupper": {str: scan(str.isupper, 0)},
        "islower": {str: scan(str.islower, 0)},
        "zfill": {str: padding(str.zfill)},
        "ljust": {str: padding(str.ljust)},
        "rjust": {str: padding(str.rjust)},
        "center": {str: padding(str.center)},
        "copy": {list: l_copy, dict: d_copy},
        "count": {
            str: scan(str.count, 0),
            list: searching(list.count),
            tuple: searching(tuple.count),
        },
        "index": {
            str: scan(str.index, 0),
            list: searching(list.index),
            tuple: searching(tuple.index),
        },
        "append": {list: l_append},
        "extend": {list: l_extend},
        "pop": {list: l_shift(list.pop), dict: d_pop},
        "insert": {list: l_insert},
        "remove": {list: searching(list.remove)},
        "sort": {list: l_sort},
        "reverse": {list: l_shift(list.reverse)},
        "get": {dict: d_get},
        "keys": {dict: view(dict.keys)},
        "values": {dict: view(dict.values)},
        "items": {dict: view(dict.items)},
        "setdefault": {dict: d_setdefault},
        "update": {dict: d_update},
    }

    def dispatcher(name: str, table: dict[type, Callable[..., Any]]) -> Callable[..., Any]:
        if set(table) == {str}:  # only str has it: no table look-up
            impl = table[str]
            return impl if impl in receiver_checked else str_only(impl, name)

        def dispatch(obj: Any, *args: Any, **kwargs: Any) -> Any:
            impl = table.get(type(obj))
            if impl is None:
                raise no_attribute(obj, name)
            return impl(obj, *args, **kwargs)

        return dispatch

    def fast_append(obj: Any, *args: Any, **kwargs: Any) -> None:
        if type(obj) is list and len(args) == 1 and not kwargs and len(obj) < gas.MAX_ITEMS:
            meter.mem += 8
            obj.append(args[0])
            return None
        return dispatch_append(obj, *args, **kwargs)

    def append1(obj: Any, item: Any) -> None:
        if type(obj) is list and len(obj) < gas.MAX_ITEMS:
            meter.mem += 8
            obj.append(item)
            return None
        return dispatch_append(obj, item)

    def str_grow(a: str, b: str) -> None:
        """Charge ``a += b`` on strings as a full copy (in-place growth is not guaranteed)."""
        n = len(a) + len(b)
        if n > 64:
            new_seq(n, str)

    def get2(obj: Any, k: Any, default: Any) -> Any:
        if type(obj) is dict and type(k) is str:
            return obj.get(k, default)
        return dispatch_get(obj, k, default)

    def str1(x: Any) -> str:
        t = type(x)
        if t is str:
            return x
        if t is int and -SMALL_INT < x < SMALL_INT:
            return str(x)
        return vm_str(meter, x)

    def too_long() -> None:
        raise LimitExceeded(f"list longer than {gas.MAX_ITEMS} items")

    def fast_get(obj: Any, *args: Any, **kwargs: Any) -> Any:
        if type(obj) is dict and 1 <= len(args) <= 2 and not kwargs and type(args[0]) is str:
            return obj.get(*args)
        return dispatch_get(obj, *args, **kwargs)

    for name, by_type in set_tables.items():
        tables.setdefault(name, {}).update(by_type)
    helpers = {"_M_" + name: dispatcher(name, table) for name, table in tables.items()}
    dispatch_append = helpers["_M_append"]
    dispatch_get = helpers["_M_get"]
    helpers["_M_append"] = fast_append
    helpers["_M_get"] = fast_get
    helpers["_append1"] = append1
    helpers["_toolong"] = too_long
    helpers["_sgrow"] = str_grow
    helpers["_get2"] = get2
    helpers["_str1"] = str1
    return helpers


# CPython objects the generated code uses directly (never reachable as contract values).
NATIVE_NAMES: dict[str, Any] = {
    "_L": SMALL_INT,
    "_type": type,
    "_list": list,
    "_dict": dict,
    "_FK": (int, str),
    "_int": int,
    "_str": str,
    "_len": len,
    "_iter": iter,
    "_isinstance": isinstance,
    "_b_len": len,
    "_b_range": range,
    "_T_int": int,
    "_T_str": str,
    "_T_bool": bool,
    "_T_list": list,
    "_T_tuple": tuple,
    "_T_dict": dict,
}
