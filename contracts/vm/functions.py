"""The builtin functions contracts may call (``len`` and ``range`` are CPython's own).

Each charges for what it walks, copies or builds before doing it, then lets CPython do the work.
Grouped by what they do: ``extremes`` (min, max), ``iteration`` (sum, sorted, the lazy
iterators, any, all), ``numbers`` (int, abs, divmod, bool) and ``containers`` (str, list,
tuple, dict).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice
from types import GeneratorType
from typing import Any

from contracts.vm import gas
from contracts.vm.errors import LimitExceeded, worded
from contracts.vm.iterators import lazy_enumerate, lazy_reversed, lazy_zip
from contracts.vm.primitives import MISSING, SMALL_INT, Primitives, unsupported_operands
from contracts.vm.values import short_text, type_name, vm_str, walk

HOMOGENEOUS = ({int}, {str})  # element types for which native min/max/sorted are exact
SUM_CHUNK = 1024  # items of a lazy iterator sum() takes at a time
TWO_INTS_MINMAX_GAS = gas.GAS_WALK_CONTAINER + (gas.GAS_WALK_ITEM + 1) * 2  # as int_args


def builtin_functions(p: Primitives, add: Callable[[Any, Any], Any]) -> dict[str, Any]:
    """All of them, by the names the compiler emits (``_b_<name>``, and ``_pairs``)."""
    helpers = extremes(p)
    helpers.update(iteration(p, add))
    helpers.update(numbers(p))
    helpers.update(containers(p))
    return helpers


def extremes(p: Primitives) -> dict[str, Any]:
    """min() and max(): a walk of the keys and one comparison per item."""
    meter = p.meter
    charge = p.charge
    out_of_gas = p.out_of_gas
    materialize = p.materialize

    def minmax(
        name: str, fn: Callable[..., Any], args: tuple[Any, ...], key: Any, default: Any
    ) -> Any:
        if not args:
            raise worded(TypeError, f"{name} expected at least 1 argument, got 0")
        if len(args) == 1:
            items = materialize(args[0])
        else:
            if default is not MISSING:
                raise worded(
                    TypeError,
                    f"Cannot specify a default for {name}() with multiple positional arguments",
                )
            items = list(args)
        if not items:
            if default is not MISSING:
                return default
            raise worded(ValueError, f"{name}() arg is an empty sequence")
        keys = items if key is None else [key(item) for item in items]
        walk(meter, keys)
        charge(len(items))
        if key is None and set(map(type, items)) in HOMOGENEOUS:
            return fn(items)
        return items[fn(range(len(items)), key=keys.__getitem__)]

    def int_args(args: tuple[Any, ...], key: Any, default: Any) -> bool:
        """``min(a, b, ...)`` of plain ints: charged as minmax would (the walk of the list of
        keys, one per item), without building it."""
        if len(args) < 2 or key is not None or default is not MISSING:
            return False
        for arg in args:
            if type(arg) is not int:
                return False
        charge(gas.GAS_WALK_CONTAINER + (gas.GAS_WALK_ITEM + 1) * len(args))
        return True

    def b_min(*args: Any, key: Any = None, default: Any = MISSING) -> Any:
        if len(args) == 2 and type(args[0]) is int and type(args[1]) is int:
            if key is None and default is MISSING:  # int_args, inlined for the common case
                meter.g -= TWO_INTS_MINMAX_GAS
                if meter.g < 0:
                    out_of_gas()
                return min(args)
        if int_args(args, key, default):
            return min(args)
        return minmax("min", min, args, key, default)

    def b_max(*args: Any, key: Any = None, default: Any = MISSING) -> Any:
        if len(args) == 2 and type(args[0]) is int and type(args[1]) is int:
            if key is None and default is MISSING:
                meter.g -= TWO_INTS_MINMAX_GAS
                if meter.g < 0:
                    out_of_gas()
                return max(args)
        if int_args(args, key, default):
            return max(args)
        return minmax("max", max, args, key, default)

    return {"_b_min": b_min, "_b_max": b_max}


def iteration(p: Primitives, add: Callable[[Any, Any], Any]) -> dict[str, Any]:
    """sum(), sorted(), reversed(), enumerate(), zip(), any() and all()."""
    meter = p.meter
    charge = p.charge
    checked_big_int = p.checked_big_int
    size_of = p.size_of
    materialize = p.materialize

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
        if key is None and set(map(type, items)) in HOMOGENEOUS:
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

    return {
        "_b_sum": b_sum,
        "_b_sorted": b_sorted,
        "_b_reversed": b_reversed,
        "_b_enumerate": b_enumerate,
        "_b_zip": b_zip,
        "_b_any": b_any,
        "_b_all": b_all,
    }


def numbers(p: Primitives) -> dict[str, Any]:
    """int(), abs(), divmod() and bool()."""
    charge = p.charge
    checked_big_int = p.checked_big_int
    charge_big_product = p.charge_big_product

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

    def b_abs(x: Any, /) -> Any:
        if isinstance(x, int):
            return abs(x)
        raise worded(TypeError, f"bad operand type for abs(): '{type_name(x)}'")

    def b_divmod(a: Any, b: Any, /) -> tuple[Any, Any]:
        if isinstance(a, int) and isinstance(b, int):
            if not (-SMALL_INT < a < SMALL_INT and -SMALL_INT < b < SMALL_INT):
                charge_big_product(a, b)
            return divmod(a, b)
        raise unsupported_operands("divmod()", a, b)

    def b_bool(*args: Any) -> bool:
        return bool(*args)

    return {"_b_int": b_int, "_b_abs": b_abs, "_b_divmod": b_divmod, "_b_bool": b_bool}


def containers(p: Primitives) -> dict[str, Any]:
    """str(), list(), tuple() and dict(); ``_pairs`` checks dict() and update() sources."""
    meter = p.meter
    alloc = p.alloc
    check_len = p.check_len
    materialize = p.materialize
    check_new_key = p.check_new_key

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

    return {
        "_b_str": b_str,
        "_b_list": b_list,
        "_b_tuple": b_tuple,
        "_b_dict": b_dict,
        "_pairs": pairs,
    }
