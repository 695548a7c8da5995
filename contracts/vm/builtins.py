"""The namespace compiled contract code runs against: every metered helper, by the name the
compiler emits.

``make_helpers(meter)`` assembles closures over one meter (reused transaction after transaction
by the runtime) from named groups: ``primitives`` (charging, size checks, materializing, key
checks) shared by ``operators`` (arithmetic, comparisons, subscripts), ``text_helpers`` below
(f-strings, raise, assert), ``functions`` (the builtins) and ``methods``. Each helper charges for
size-dependent work *before* doing it and then lets CPython do the actual work, so results keep
CPython's semantics. Errors are CPython's own exception classes with plain-text messages.
"""

from __future__ import annotations

from typing import Any

from contracts.vm import gas
from contracts.vm.errors import ContractRaised
from contracts.vm.functions import builtin_functions
from contracts.vm.gas import Meter
from contracts.vm.methods import methods
from contracts.vm.operators import arithmetic, comparisons, subscripts
from contracts.vm.primitives import SMALL_INT, Primitives, primitives
from contracts.vm.values import format_value, vm_str


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
