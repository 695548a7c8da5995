"""``set`` and ``frozenset`` for contracts: CPython's API, iterating in insertion order.

CPython's sets iterate in hash order, which for strings depends on the per-process hash seed,
so two nodes could walk the same set differently. These are backed by a dict instead (insertion
ordered, like every other contract container) and admit the same elements as new dict keys
(str, bool, None, ints below 2**60: no hash flooding). Comparison, ``in`` and ``len`` follow
CPython; only the iteration order (and so ``str()`` and ``pop()``) differs from CPython, and is
the same on every node. The classes are named ``set``/``frozenset`` so CPython's own messages
("unhashable type: 'set'") read the same as under CPython.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from contracts.vm import gas
from contracts.vm.errors import LimitExceeded, worded
from contracts.vm.gas import Meter

KEY_INT = 2**60  # ints below this never collide as keys (see primitives.check_new_key)
SAFE_ELEMENT_TYPES = frozenset({str, int, bool, type(None)})
BYTES_PER_ELEMENT = 48  # a dict entry and its key reference, charged before inserting
GAS_SET_BUILD = 20  # building a set value (display, constructor, copy, operator result)


class SetBase:
    """Shared read-only behaviour of both set types; ``items`` maps element -> None."""

    __slots__ = ("items",)

    def __init__(self, items: dict[Any, None]) -> None:
        self.items = items

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, element: Any) -> bool:
        return element in self.items

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SetBase):
            return NotImplemented
        return self.items.keys() == other.items.keys()

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, SetBase):
            return NotImplemented
        return self.items.keys() != other.items.keys()

    def __le__(self, other: object) -> bool:
        if not isinstance(other, SetBase):
            return NotImplemented
        return self.items.keys() <= other.items.keys()

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, SetBase):
            return NotImplemented
        return self.items.keys() < other.items.keys()

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, SetBase):
            return NotImplemented
        return self.items.keys() >= other.items.keys()

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, SetBase):
            return NotImplemented
        return self.items.keys() > other.items.keys()

    def __repr__(self) -> str:
        inner = ", ".join(map(repr, self.items))
        if type(self) is ContractSet:
            return "{" + inner + "}" if inner else "set()"
        return "frozenset({" + inner + "})" if inner else "frozenset()"

    __hash__ = None  # type: ignore[assignment]


class ContractSet(SetBase):
    __slots__ = ()


class ContractFrozenSet(SetBase):
    __slots__ = ()

    def __hash__(self) -> int:  # type: ignore[override]  # order-independent, as in CPython
        return hash(frozenset(self.items))


ContractSet.__name__ = ContractSet.__qualname__ = "set"
ContractFrozenSet.__name__ = ContractFrozenSet.__qualname__ = "frozenset"
SET_TYPES = (ContractSet, ContractFrozenSet)


@dataclass(frozen=True, slots=True)
class SetBuilders:
    """Making new set values, bound to one meter: everything else builds on these."""

    reserve_new: Callable[[int], None]
    build: Callable[[type, Iterable[Any], int], Any]
    elements_of: Callable[[Any], list[Any]]
    new_set: Callable[..., ContractSet]


def set_builders(
    meter: Meter,
    check_new_key: Callable[[Any], None],
    materialize: Callable[[Any], list[Any]],
) -> SetBuilders:
    def reserve_new(n: int) -> None:
        meter.charge(GAS_SET_BUILD)
        meter.alloc(BYTES_PER_ELEMENT * n)
        if n > gas.MAX_ITEMS:
            raise LimitExceeded(f"set longer than {gas.MAX_ITEMS} items")

    def build(kind: type, elements: Iterable[Any], n: int) -> Any:
        reserve_new(n)
        if type(elements) is not list:
            elements = list(elements)
        kinds = set(map(type, elements))
        if kinds <= SAFE_ELEMENT_TYPES and (
            int not in kinds or all(-KEY_INT < e < KEY_INT for e in elements if type(e) is int)
        ):
            return kind(dict.fromkeys(elements))  # every element is an allowed key
        items: dict[Any, None] = {}
        for element in elements:
            check_new_key(element)
            items[element] = None
        return kind(items)

    def elements_of(iterable: Any) -> list[Any]:
        if isinstance(iterable, SetBase):
            return list(iterable.items)
        return materialize(iterable)

    def new_set(*args: Any) -> ContractSet:
        if len(args) > 1:
            raise worded(TypeError, f"set expected at most 1 argument, got {len(args)}")
        if not args:
            return ContractSet({})
        elements = elements_of(args[0])
        return build(ContractSet, elements, len(elements))

    return SetBuilders(reserve_new, build, elements_of, new_set)


def set_mutators(
    meter: Meter, check_new_key: Callable[[Any], None], builders: SetBuilders
) -> dict[str, Callable[..., Any]]:
    """The methods that change a ``set`` in place (and ``copy``), by method name."""
    elements_of = builders.elements_of

    def add(s: ContractSet, element: Any, /) -> None:
        if element not in s.items:
            check_new_key(element)
            if len(s.items) >= gas.MAX_ITEMS:
                raise LimitExceeded(f"set longer than {gas.MAX_ITEMS} items")
            meter.alloc(BYTES_PER_ELEMENT)
            s.items[element] = None

    def discard(s: ContractSet, element: Any, /) -> None:
        s.items.pop(element, None)

    def remove(s: ContractSet, element: Any, /) -> None:
        if element not in s.items:
            raise KeyError(element)
        del s.items[element]

    def pop(s: ContractSet, /) -> Any:
        if not s.items:
            raise worded(KeyError, "pop from an empty set")
        element = next(iter(s.items))
        del s.items[element]
        return element

    def clear(s: ContractSet, /) -> None:
        s.items.clear()

    def copy(s: SetBase, /) -> Any:
        builders.reserve_new(len(s.items))
        return type(s)(dict(s.items))

    def update(s: ContractSet, *others: Any) -> None:
        for other in others:
            for element in elements_of(other):
                add(s, element)

    return {
        "add": add,
        "discard": discard,
        "remove": remove,
        "pop": pop,
        "clear": clear,
        "copy": copy,
        "update": update,
    }


def set_algebra(
    meter: Meter, builders: SetBuilders, mutators: dict[str, Callable[..., Any]]
) -> dict[str, Callable[..., Any]]:
    """Union, intersection, differences and the subset tests, by method name."""
    build, elements_of, new_set = builders.build, builders.elements_of, builders.new_set
    add, copy = mutators["add"], mutators["copy"]

    def as_set(other: Any) -> SetBase:
        return other if isinstance(other, SetBase) else new_set(other)

    def union(s: SetBase, *others: Any) -> Any:
        out = copy(s)
        for other in others:
            for element in elements_of(other):
                add(out, element)
        return out

    def intersection(s: SetBase, *others: Any) -> Any:
        keep = list(s.items)
        meter.charge(len(keep) * len(others) // 4)
        for other in others:
            wanted = as_set(other)
            keep = [e for e in keep if e in wanted.items]
        return build(type(s), keep, len(keep))

    def difference(s: SetBase, *others: Any) -> Any:
        keep = list(s.items)
        meter.charge(len(keep) * len(others) // 4)
        for other in others:
            unwanted = as_set(other)
            keep = [e for e in keep if e not in unwanted.items]
        return build(type(s), keep, len(keep))

    def symmetric_difference(s: SetBase, other: Any, /) -> Any:
        theirs = as_set(other)
        meter.charge((len(s.items) + len(theirs.items)) // 4)
        keep = [e for e in s.items if e not in theirs.items]
        keep += [e for e in theirs.items if e not in s.items]
        return build(type(s), keep, len(keep))

    def issubset(s: SetBase, other: Any, /) -> bool:
        theirs = as_set(other)
        meter.charge(len(s.items) // 4)
        return s.items.keys() <= theirs.items.keys()

    def issuperset(s: SetBase, other: Any, /) -> bool:
        theirs = as_set(other)
        meter.charge(len(theirs.items) // 4)
        return s.items.keys() >= theirs.items.keys()

    def isdisjoint(s: SetBase, other: Any, /) -> bool:
        theirs = as_set(other)
        meter.charge(min(len(s.items), len(theirs.items)) // 4)
        return s.items.keys().isdisjoint(theirs.items.keys())

    return {
        "union": union,
        "intersection": intersection,
        "difference": difference,
        "symmetric_difference": symmetric_difference,
        "issubset": issubset,
        "issuperset": issuperset,
        "isdisjoint": isdisjoint,
    }


def binary(method: Callable[..., Any]) -> Callable[[Any, Any], Any]:
    """``a | b`` etc.: both operands must be sets (CPython refuses a list operand)."""

    def operate(a: SetBase, b: Any) -> Any:
        if not isinstance(b, SetBase):
            return NotImplemented
        return method(a, b)

    return operate


MUTATING = frozenset({"add", "discard", "remove", "pop", "clear", "update"})  # set only


def set_helpers(
    meter: Meter,
    check_new_key: Callable[[Any], None],
    materialize: Callable[[Any], list[Any]],
) -> tuple[dict[str, Any], dict[str, dict[type, Callable[..., Any]]]]:
    """(helpers by generated name, method tables by method name) for one meter."""
    builders = set_builders(meter, check_new_key, materialize)
    mutators = set_mutators(meter, check_new_key, builders)
    algebra = set_algebra(meter, builders, mutators)
    build = builders.build

    def new_frozenset(*args: Any) -> ContractFrozenSet:
        if len(args) > 1:
            raise worded(TypeError, f"frozenset expected at most 1 argument, got {len(args)}")
        if args and type(args[0]) is ContractFrozenSet:
            return args[0]
        elements = builders.elements_of(args[0]) if args else []
        return build(ContractFrozenSet, elements, len(elements))

    def display(elements: tuple[Any, ...] | list[Any]) -> ContractSet:
        return build(ContractSet, elements, len(elements))

    kinds: dict[bool, tuple[type, ...]] = {True: SET_TYPES[:1], False: SET_TYPES}
    tables: dict[str, dict[type, Callable[..., Any]]] = {
        name: dict.fromkeys(kinds[name in MUTATING], impl)
        for name, impl in {**mutators, **algebra}.items()
    }
    helpers: dict[str, Any] = {
        "_b_set": builders.new_set,
        "_b_frozenset": new_frozenset,
        "_mkset": display,
        "_set_or": binary(algebra["union"]),
        "_set_and": binary(algebra["intersection"]),
        "_set_sub": binary(algebra["difference"]),
        "_set_xor": binary(algebra["symmetric_difference"]),
        "_setadd": mutators["add"],
        "_mkset_list": display,
    }
    return helpers, tables
