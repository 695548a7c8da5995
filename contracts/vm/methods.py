"""Methods of contract values by name (``_M_<name>``), dispatched on the receiver's exact type.

``str_methods``, ``list_methods``, ``dict_methods`` and the set tables (``sets.py``) each give a
table {method name: {receiver type: implementation}}; ``methods`` merges them into one
dispatcher per name, and ``fast_paths`` adds the few shapes the compiler emits directly for the
hottest calls (``append`` and ``get`` of one argument, ``str(x)``, ``s += t``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contracts.vm import gas
from contracts.vm.errors import LimitExceeded, worded
from contracts.vm.primitives import SMALL_INT, Primitives, no_attribute
from contracts.vm.values import str_format, vm_str

Table = dict[str, dict[type, Callable[..., Any]]]


def methods(
    p: Primitives, b_sorted: Callable[..., list[Any]], pairs: Callable[[Any], Any]
) -> dict[str, Any]:
    """Every method helper, by the names the compiler emits."""
    tables, receiver_checked = str_methods(p)
    for group in (list_methods(p, b_sorted), dict_methods(p, pairs), p.set_tables):
        for name, by_type in group.items():
            tables.setdefault(name, {}).update(by_type)
    helpers = {
        "_M_" + name: dispatcher(name, table, receiver_checked) for name, table in tables.items()
    }
    helpers.update(fast_paths(p, helpers["_M_append"], helpers["_M_get"]))
    return helpers


def str_only(impl: Callable[..., Any], name: str) -> Callable[..., Any]:
    def method(obj: Any, *args: Any, **kwargs: Any) -> Any:
        if type(obj) is not str:
            raise no_attribute(obj, name)
        return impl(obj, *args, **kwargs)

    return method


def dispatcher(
    name: str, table: dict[type, Callable[..., Any]], receiver_checked: set[Callable[..., Any]]
) -> Callable[..., Any]:
    if set(table) == {str}:  # only str has it: no table look-up
        impl = table[str]
        return impl if impl in receiver_checked else str_only(impl, name)

    def dispatch(obj: Any, *args: Any, **kwargs: Any) -> Any:
        impl = table.get(type(obj))
        if impl is None:
            raise no_attribute(obj, name)
        return impl(obj, *args, **kwargs)

    return dispatch


# str methods costing one pass over the receiver and its str arguments, plus this many bytes
# per character of result (a case change may triple a character's UTF-8 size)
SCANNED = {
    "lower": 3,
    "upper": 3,
    "strip": 1,
    "lstrip": 1,
    "rstrip": 1,
    "startswith": 0,
    "endswith": 0,
    "find": 0,
    "isdigit": 0,
    "isalpha": 0,
    "isalnum": 0,
    "isupper": 0,
    "islower": 0,
    "count": 0,
    "index": 0,
}
PADDED = ("zfill", "ljust", "rjust", "center")  # the result is max(width, len) characters


def str_methods(p: Primitives) -> tuple[Table, set[Callable[..., Any]]]:
    """The str methods, and those of them that check their receiver themselves."""
    scan = scanning(p)
    pad = padding(p.new_seq)
    specials = str_specials(p)
    table: Table = {name: {str: impl} for name, impl in specials.items()}
    receiver_checked: set[Callable[..., Any]] = {specials["split"], specials["format"]}
    for name, factor in SCANNED.items():
        table[name] = {str: scan(getattr(str, name), factor)}
        receiver_checked.add(table[name][str])
    for name in PADDED:
        table[name] = {str: pad(getattr(str, name))}
    return table, receiver_checked


def scanning(p: Primitives) -> Callable[[Callable[..., Any], int], Callable[..., Any]]:
    charge = p.charge
    alloc = p.alloc

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

        return method

    return scan


def padding(new_seq: Callable[[int, type], None]) -> Callable[[Callable[..., str]], Any]:
    """ljust/rjust/center/zfill: charged for the result of max(width, len) characters."""

    def padded(native: Callable[..., str]) -> Callable[..., str]:
        def method(s: str, width: Any, *fill: Any) -> str:
            if type(width) is int and width > len(s):
                new_seq(width, str)
            return native(s, width, *fill)

        return method

    return padded


def str_specials(p: Primitives) -> dict[str, Callable[..., Any]]:
    """split, join, replace and format: charged by what they build. split and format take
    ``*args``, so they check their receiver themselves (a wrong receiver is reported before any
    argument error, as by the str-only wrapper the others get)."""
    meter = p.meter
    charge = p.charge
    alloc = p.alloc
    new_seq = p.new_seq
    materialize = p.materialize

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

    return {"split": s_split, "join": s_join, "replace": s_replace, "format": s_format}


def list_methods(p: Primitives, b_sorted: Callable[..., list[Any]]) -> Table:
    """The list methods (and tuple's count and index)."""
    charge = p.charge
    alloc = p.alloc
    new_seq = p.new_seq
    size_of = p.size_of
    sized = p.sized
    scan_cost = p.scan_cost

    def l_copy(lst: list[Any], /) -> list[Any]:
        new_seq(len(lst), list)
        return lst.copy()

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

    return {
        "copy": {list: l_copy},
        "count": {list: searching(list.count), tuple: searching(tuple.count)},
        "index": {list: searching(list.index), tuple: searching(tuple.index)},
        "append": {list: l_append},
        "extend": {list: l_extend},
        "pop": {list: l_shift(list.pop)},
        "insert": {list: l_insert},
        "remove": {list: searching(list.remove)},
        "sort": {list: l_sort},
        "reverse": {list: l_shift(list.reverse)},
    }


def dict_methods(p: Primitives, pairs: Callable[[Any], Any]) -> Table:
    """The dict methods."""
    alloc = p.alloc
    check_len = p.check_len
    check_new_key = p.check_new_key
    check_key = p.check_key

    def d_copy(d: dict[Any, Any], /) -> dict[Any, Any]:
        alloc(48 * len(d))
        return d.copy()

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

    return {
        "copy": {dict: d_copy},
        "pop": {dict: d_pop},
        "get": {dict: d_get},
        "keys": {dict: view(dict.keys)},
        "values": {dict: view(dict.values)},
        "items": {dict: view(dict.items)},
        "setdefault": {dict: d_setdefault},
        "update": {dict: d_update},
    }


def fast_paths(
    p: Primitives, dispatch_append: Callable[..., Any], dispatch_get: Callable[..., Any]
) -> dict[str, Any]:
    """Direct paths for the commonest calls; anything else goes to the dispatchers."""
    meter = p.meter
    new_seq = p.new_seq

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

    return {
        "_M_append": fast_append,
        "_M_get": fast_get,
        "_append1": append1,
        "_toolong": too_long,
        "_sgrow": str_grow,
        "_get2": get2,
        "_str1": str1,
    }
