"""Compile a checked contract module to instrumented Python source.

Only trees that passed ``checker.validate`` reach this module, so every construct here is on the
allow-list. Control flow, locals and calls between contract functions stay native (that is where
the speed comes from); every operation on values goes through a metered helper from
``builtins.make_helpers`` unless the operands are statically known to be ints, in which case the
native operator is emitted with an inline size check. Gas: each block charges the AST nodes of
its statements on entry; each function call charges GAS_CALL and counts call depth.

All names the compiler introduces start with ``_`` -- a prefix contract code cannot use.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from contracts.vm import gas
from contracts.vm.checker import BINARY_OPERATORS, BUILTINS, HOST_FUNCTIONS, CheckedModule
from contracts.vm.specialize import is_leaf, numeric_params

_HELPER_OPS = {
    ast.Add: "_add",
    ast.Sub: "_sub",
    ast.Mult: "_mul",
    ast.FloorDiv: "_floordiv",
    ast.Mod: "_mod",
    ast.Pow: "_pow",
    ast.BitOr: "_or",
    ast.BitAnd: "_and",
    ast.BitXor: "_xor",
}
_AUG_HELPERS = {
    **_HELPER_OPS,
    ast.Add: "_iadd",
    ast.Mult: "_imul",
    ast.Sub: "_isub",
    ast.BitOr: "_ior",
    ast.BitAnd: "_iand",
    ast.BitXor: "_ixor",
}
_CMP_HELPERS = {
    ast.Eq: "_eq",
    ast.NotEq: "_ne",
    ast.Lt: "_lt",
    ast.LtE: "_le",
    ast.Gt: "_gt",
    ast.GtE: "_ge",
    ast.In: "_in",
    ast.NotIn: "_notin",
}
_CMP_NATIVE = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
}
# str methods without arguments whose helper charges 0 gas for a receiver shorter than
# _FREE_STR_LEN characters: the scan is < SCAN_CHARS_PER_GAS characters and the result (at most
# 3 bytes per character for a case change) is < ALLOC_BYTES_PER_GAS bytes
_FREE_STR_LEN = 11
_FREE_SHORT_STR_METHODS = frozenset(
    "upper lower strip lstrip rstrip isdigit isalpha isalnum isupper islower".split()
)
_INT_OPS = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod)
# & | ^ of ints: never wider than an operand; free when both are small (see the helper)
_BIT_OPS = (ast.BitAnd, ast.BitOr, ast.BitXor)
_INT_RESULT_OPS = (*_INT_OPS, *_BIT_OPS)
# int operations whose native form charges exactly what the helper charges for any ints; the
# others (* // %) are native only where the operands are known as ints from + - * // % alone in
# the general body (Frame.baseline), so neither specialization nor & | ^ inference changes gas
_EXACT_INT_OPS = (ast.Add, ast.Sub, *_BIT_OPS)


LOCATION_MARK = "  #@"  # ends every generated line: "  #@<line>:<col>" of the contract source


def tagged(lines: list[str], where: tuple[int, int]) -> list[str]:
    """Mark the lines not yet marked with the contract location they were compiled from."""
    mark = f"{LOCATION_MARK}{where[0]}:{where[1]}"
    return [line if LOCATION_MARK in line else line + mark for line in lines]


def node_cost(node: ast.AST) -> int:
    """AST nodes of one statement, not counting the statements nested in its blocks."""
    count = 0
    stack: list[ast.AST] = [node]
    while stack:
        item = stack.pop()
        count += 1
        for name, value in ast.iter_fields(item):
            if isinstance(item, ast.stmt) and name in ("body", "orelse"):
                continue
            if isinstance(value, ast.AST):
                stack.append(value)
            elif isinstance(value, list):
                stack.extend(v for v in value if isinstance(v, ast.AST))
    return count * gas.GAS_NODE


def _is_singleton_const(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and (node.value is None or type(node.value) is bool)


def function_name(name: str) -> str:
    """Python name of a contract function: private ``_f`` becomes ``_fn__f`` so it can never
    collide with the compiler's own ``_``-prefixed helpers."""
    return "_fn_" + name if name.startswith("_") else name


def _is_int_expr(node: ast.expr, ints: set[str], ops: tuple[type, ...] = _INT_RESULT_OPS) -> bool:
    if isinstance(node, ast.Constant):
        return type(node.value) is int
    if isinstance(node, ast.Name):
        return node.id in ints
    if isinstance(node, ast.BinOp):
        return (
            isinstance(node.op, ops)
            and _is_int_expr(node.left, ints, ops)
            and _is_int_expr(node.right, ints, ops)
        )
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, (ast.USub, ast.UAdd)) and _is_int_expr(node.operand, ints, ops)
    if isinstance(node, ast.IfExp):
        return _is_int_expr(node.body, ints, ops) and _is_int_expr(node.orelse, ints, ops)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        if name in ("len", "abs", "int"):
            return True
        if name in ("min", "max") and len(node.args) >= 2 and not node.keywords:
            return all(_is_int_expr(a, ints, ops) for a in node.args)
    return False


@dataclass(slots=True)
class _Binding:
    name: str
    kind: str  # "value" | "aug" | "for" | "unknown"
    expr: ast.expr | None = None
    op: ast.operator | None = None


def _bindings(body: list[ast.stmt]) -> list[_Binding]:
    out: list[_Binding] = []

    def unknown(target: ast.expr) -> None:
        if isinstance(target, ast.Name):
            out.append(_Binding(target.id, "unknown"))
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                unknown(elt)

    stack = list(body)
    while stack:
        stmt = stack.pop()
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    out.append(_Binding(target.id, "value", stmt.value))
                elif (
                    isinstance(target, (ast.Tuple, ast.List))
                    and isinstance(stmt.value, (ast.Tuple, ast.List))
                    and len(target.elts) == len(stmt.value.elts)
                    and all(isinstance(e, ast.Name) for e in target.elts)
                ):
                    for elt, value in zip(target.elts, stmt.value.elts, strict=True):
                        assert isinstance(elt, ast.Name)
                        out.append(_Binding(elt.id, "value", value))
                else:
                    unknown(target)
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            if stmt.value is not None:
                out.append(_Binding(stmt.target.id, "value", stmt.value))
        elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
            out.append(_Binding(stmt.target.id, "aug", stmt.value, stmt.op))
        elif isinstance(stmt, ast.For):
            if isinstance(stmt.target, ast.Name):
                out.append(_Binding(stmt.target.id, "for", stmt.iter))
            else:
                unknown(stmt.target)
        for name in ("body", "orelse"):
            stack.extend(getattr(stmt, name, []) or [])
    return out


def infer_ints(
    bindings: list[_Binding],
    params: set[str],
    outer: set[str],
    ops: tuple[type, ...] = _INT_RESULT_OPS,
) -> set[str]:
    """Local names that only ever hold ints (fixed point over all their bindings)."""
    names = {b.name for b in bindings}
    ints = (outer - names - params) | (names - params)
    changed = True
    while changed:
        changed = False
        for b in bindings:
            if b.name not in ints:
                continue
            if b.kind == "value":
                ok = b.expr is not None and _is_int_expr(b.expr, ints, ops)
            elif b.kind == "aug":
                ok = (
                    isinstance(b.op, ops) and b.expr is not None and _is_int_expr(b.expr, ints, ops)
                )
            elif b.kind == "for":
                ok = (
                    isinstance(b.expr, ast.Call)
                    and isinstance(b.expr.func, ast.Name)
                    and b.expr.func.id == "range"
                )
            else:
                ok = False
            if not ok:
                ints.discard(b.name)
                changed = True
    return ints


@dataclass(slots=True)
class _Frame:
    """Per generated-function state: known ints, hoisted nested defs, temp counter."""

    ints: set[str]
    hoisted: list[str] = field(default_factory=list)
    temps: int = 0
    # the ints known from + - * // % alone in the general body, where * // % may be native
    # (None: no restriction, as in module constants)
    baseline: set[str] | None = None

    def general(self, ints: set[str]) -> set[str] | None:
        """The general body's counterpart of ``ints`` derived in a nested scope."""
        return None if self.baseline is None else ints & self.baseline


class Compiler:
    def __init__(self, module: CheckedModule) -> None:
        self.module = module
        self.frames: list[_Frame] = []
        self.serial = 0
        self.where = (1, 0)  # contract (line, col) of the statement being compiled

    # --- helpers ------------------------------------------------------------------------------
    @property
    def frame(self) -> _Frame:
        return self.frames[-1]

    def temp(self, prefix: str) -> str:
        self.frame.temps += 1
        return f"_{prefix}{self.frame.temps}"

    def fresh(self, prefix: str) -> str:
        self.serial += 1
        return f"_{prefix}{self.serial}"

    @staticmethod
    def tick(cost: int, indent: str) -> list[str]:
        if cost <= 0:
            return []
        return [f"{indent}_m.g -= {cost}", f"{indent}if _m.g < 0: _oog()"]

    # --- module -------------------------------------------------------------------------------
    def compile_module(self) -> str:
        lines: list[str] = []
        self.frames.append(_Frame(set()))
        module_cost = 0
        for name, value in self.module.constants.items():
            module_cost += node_cost(value) + 1
            where = (value.lineno, value.col_offset)
            lines += tagged([f"{name} = {self.expr(value)}"], where)
        self.frames.pop()
        lines = tagged(self.tick(module_cost, ""), (1, 0)) + lines
        for fn in self.module.functions.values():
            lines.extend(self.function(fn))
        return "\n".join(lines) + "\n"

    def function(self, fn: ast.FunctionDef) -> list[str]:
        """A contract function: gas and call depth on entry, then its body -- twice when some
        parameters are used as numbers: once assuming they hold ints (behind a type check on
        entry), once for anything else. Both charge the same gas."""
        params = [a.arg for a in fn.args.args] + [a.arg for a in fn.args.kwonlyargs]
        bindings = _bindings(fn.body)
        generic = infer_ints(bindings, set(params), set())
        # what was known without & | ^ results and specialization: * // % stay native only there
        known = infer_ints(bindings, set(params), set(), _INT_OPS)
        numeric = numeric_params(fn, set(params))
        assumed = infer_ints(bindings, set(params) - numeric, numeric)
        guarded = [p for p in params if p in numeric and p in assumed]
        leaf = is_leaf(fn, set(self.module.functions))
        indent = "    " if leaf else "        "
        cost = gas.GAS_CALL + sum(node_cost(s) for s in fn.body)
        lines = [f"def {function_name(fn.name)}({self.parameters(fn.args)}):"]
        lines += self.tick(cost, "    ")
        if leaf:  # see specialize.is_leaf: the frame is checked, not counted
            lines.append(f"    if _m.d >= {gas.MAX_CALL_DEPTH}: _deep()")
        else:
            lines += ["    _m.d += 1", f"    if _m.d > {gas.MAX_CALL_DEPTH}: _deep()", "    try:"]
        if guarded:
            checks = " and ".join(f"_type({p}) is _int" for p in guarded)
            lines.append(f"{indent}if {checks}:")
            lines += self.body(fn.body, assumed, indent + "    ", baseline=known)
            lines.append(f"{indent}else:")
            lines += self.body(fn.body, generic, indent + "    ", baseline=known)
        else:
            lines += self.body(fn.body, generic, indent, baseline=known)
        if not leaf:
            lines += ["    finally:", "        _m.d -= 1"]
        return tagged(lines, (fn.lineno, fn.col_offset))

    def parameters(self, args: ast.arguments) -> str:
        """The parameter list; defaults are immutable literals (checked)."""
        self.frames.append(_Frame(set()))
        parts: list[str] = []
        n_plain = len(args.args) - len(args.defaults)
        for index, arg in enumerate(args.args):
            if index >= n_plain:
                parts.append(f"{arg.arg}={self.expr(args.defaults[index - n_plain])}")
            else:
                parts.append(arg.arg)
        if args.kwonlyargs:
            parts.append("*")
            for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
                parts.append(arg.arg if default is None else f"{arg.arg}={self.expr(default)}")
        self.frames.pop()
        return ", ".join(parts)

    def body(
        self,
        body: list[ast.stmt],
        ints: set[str],
        indent: str,
        baseline: set[str] | None = None,
    ) -> list[str]:
        """A function body with the nested functions it needs defined first."""
        self.frames.append(_Frame(ints, baseline=baseline))
        lines = self.block(body, indent, tick=False)
        frame = self.frames.pop()
        return [indent + line for line in frame.hoisted] + lines

    # --- statements ---------------------------------------------------------------------------
    def block(
        self, body: list[ast.stmt], indent: str, tick: bool = True, extra: int = 0
    ) -> list[str]:
        lines: list[str] = []
        if tick:
            cost = self.tick(sum(node_cost(s) for s in body) + extra, indent)
            lines += tagged(cost, (body[0].lineno, body[0].col_offset)) if body else cost
        for stmt in body:
            where = self.where = (stmt.lineno, stmt.col_offset)
            lines += tagged(self.stmt(stmt, indent), where)
        if not lines:
            lines.append(indent + "pass")
        return lines

    def stmt(self, stmt: ast.stmt, ind: str) -> list[str]:
        if isinstance(stmt, ast.Assign):
            return self.assign(stmt.targets, stmt.value, ind)
        if isinstance(stmt, ast.AnnAssign):
            if stmt.value is None:
                return [ind + "pass"]
            return self.assign([stmt.target], stmt.value, ind)
        if isinstance(stmt, ast.AugAssign):
            return self.augassign(stmt, ind)
        if isinstance(stmt, ast.For):
            lines = [f"{ind}for {self.for_target(stmt.target)} in {self.expr(stmt.iter)}:"]
            lines += self.block(stmt.body, ind + "    ", extra=node_cost(stmt.target) + 1)
            if stmt.orelse:
                lines += [ind + "else:", *self.block(stmt.orelse, ind + "    ")]
            return lines
        if isinstance(stmt, ast.While):
            lines = [f"{ind}while {self.expr(stmt.test)}:"]
            lines += self.block(stmt.body, ind + "    ", extra=node_cost(stmt.test))
            if stmt.orelse:
                lines += [ind + "else:", *self.block(stmt.orelse, ind + "    ")]
            return lines
        if isinstance(stmt, ast.If):
            lines = [f"{ind}if {self.expr(stmt.test)}:"]
            lines += self.block(stmt.body, ind + "    ")
            if stmt.orelse:
                lines += [ind + "else:", *self.block(stmt.orelse, ind + "    ")]
            return lines
        if isinstance(stmt, ast.Return):
            return [ind + ("return" if stmt.value is None else f"return {self.expr(stmt.value)}")]
        if isinstance(stmt, ast.Expr):
            if isinstance(stmt.value, ast.Constant):
                return [ind + "pass"]
            if self.is_append(stmt.value):
                return self.append_stmt(stmt.value, ind)
            return [ind + self.expr(stmt.value)]
        if isinstance(stmt, ast.Pass):
            return [ind + "pass"]
        if isinstance(stmt, ast.Break):
            return [ind + "break"]
        if isinstance(stmt, ast.Continue):
            return [ind + "continue"]
        if isinstance(stmt, ast.Assert):
            msg = "" if stmt.msg is None else self.expr(stmt.msg)
            return [f"{ind}if not {self.expr(stmt.test)}: _assert_fail({msg})"]
        if isinstance(stmt, ast.Raise):
            exc = stmt.exc
            if isinstance(exc, ast.Call):
                assert isinstance(exc.func, ast.Name)
                message = ", " + self.expr(exc.args[0]) if exc.args else ""
                return [f"{ind}raise _raised({exc.func.id!r}{message})"]
            assert isinstance(exc, ast.Name)
            return [f"{ind}raise _raised({exc.id!r})"]
        if isinstance(stmt, ast.Delete):
            lines = []
            for target in stmt.targets:
                assert isinstance(target, ast.Subscript)
                if self.is_storage(target.value):
                    lines.append(f"{ind}_s_del({self.expr(target.slice)})")
                else:
                    lines.append(f"{ind}_di({self.expr(target.value)}, {self.expr(target.slice)})")
            return lines
        raise AssertionError(f"checker let through {type(stmt).__name__}")

    def is_append(self, node: ast.expr) -> bool:
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "append"
            and not self.is_storage(node.func.value)
            and len(node.args) == 1
            and not node.keywords
        )

    def append_stmt(self, call: ast.expr, ind: str) -> list[str]:
        """``xs.append(x)`` as a statement: appended natively (what ``_append1`` does, and the
        same accounting) when the receiver is a list below the item limit."""
        assert isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
        obj, item = self.temp("o"), self.temp("a")
        return [
            f"{ind}{obj} = {self.expr(call.func.value)}",
            f"{ind}{item} = {self.expr(call.args[0])}",
            f"{ind}if _type({obj}) is _list and _len({obj}) < {gas.MAX_ITEMS}:",
            f"{ind}    _m.mem += 8",
            f"{ind}    {obj}.append({item})",
            f"{ind}else:",
            f"{ind}    _append1({obj}, {item})",
        ]

    @staticmethod
    def is_storage(node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id == "storage"

    def for_target(self, node: ast.expr) -> str:
        if isinstance(node, ast.Name):
            return node.id
        assert isinstance(node, (ast.Tuple, ast.List))
        return "(" + "".join(self.for_target(e) + ", " for e in node.elts) + ")"

    @staticmethod
    def names_only(node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return True
        if isinstance(node, (ast.Tuple, ast.List)):
            return all(Compiler.names_only(e) for e in node.elts)
        return False

    def assign(self, targets: list[ast.expr], value: ast.expr, ind: str) -> list[str]:
        code = self.expr(value)
        if len(targets) == 1 and isinstance(targets[0], ast.Name):
            return [f"{ind}{targets[0].id} = {code}"]
        if len(targets) == 1 and self.names_only(targets[0]):
            return [f"{ind}{self.for_target(targets[0])} = {code}"]
        tmp = self.temp("v")
        lines = [f"{ind}{tmp} = {code}"]
        for target in targets:
            lines += self.store(target, tmp, ind)
        return lines

    def store(self, target: ast.expr, source: str, ind: str) -> list[str]:
        if isinstance(target, ast.Name):
            return [f"{ind}{target.id} = {source}"]
        if isinstance(target, ast.Subscript):
            if self.is_storage(target.value):
                return [f"{ind}_s_store({self.expr(target.slice)}, {source})"]
            obj, key = self.temp("o"), self.temp("k")
            return [
                f"{ind}{obj} = {self.expr(target.value)}",
                f"{ind}{key} = {self.expr(target.slice)}",
                *self.setitem(ind, obj, key, source),
            ]
        assert isinstance(target, (ast.Tuple, ast.List))
        names = [self.temp("u") for _ in target.elts]
        lines = [f"{ind}({''.join(n + ', ' for n in names)}) = {source}"]
        for elt, name in zip(target.elts, names, strict=True):
            lines += self.store(elt, name, ind)
        return lines

    def augassign(self, stmt: ast.AugAssign, ind: str) -> list[str]:
        target = stmt.target
        if isinstance(target, ast.Name):
            if self.native_int_op(stmt.op, target, stmt.value):
                return [f"{ind}{target.id} = {self.int_binop(stmt.op, target, stmt.value)}"]
            helper = _AUG_HELPERS[type(stmt.op)]
            name = target.id
            if isinstance(stmt.op, (ast.Add, ast.Sub)):
                # CPython order: load the target (the bare name raises if unbound), evaluate
                # the value, then operate. str += str stays native so CPython can grow the
                # string in place; it is still charged as a full copy.
                value = self.temp("t")
                sym = BINARY_OPERATORS[type(stmt.op)]
                lines = [f"{ind}{name}", f"{ind}{value} = {self.expr(stmt.value)}"]
                arith = (
                    f"{name} = (_r if _type({name}) is _int and _type({value}) is _int and "
                    f"-_L < (_r := {name} {sym} {value}) < _L else {helper}({name}, {value}))"
                )
                if isinstance(stmt.op, ast.Add):
                    return [
                        *lines,
                        f"{ind}if _type({value}) is _str and _type({name}) is _str:",
                        f"{ind}    _sgrow({name}, {value})",
                        f"{ind}    {name} += {value}",
                        f"{ind}else:",
                        f"{ind}    {arith}",
                    ]
                return [*lines, ind + arith]
            return [f"{ind}{name} = {helper}({name}, {self.expr(stmt.value)})"]
        assert isinstance(target, ast.Subscript)
        helper = _AUG_HELPERS[type(stmt.op)]
        key = self.temp("k")
        if self.is_storage(target.value):
            return [
                f"{ind}{key} = {self.expr(target.slice)}",
                f"{ind}_s_store({key}, {helper}(_s_load({key}), {self.expr(stmt.value)}))",
            ]
        obj, old, value = self.temp("o"), self.temp("t"), self.temp("v")
        if isinstance(stmt.op, (ast.Add, ast.Sub)):
            sym = BINARY_OPERATORS[type(stmt.op)]
            result = (
                f"(_r if _type({old}) is _int and _type({value}) is _int and "
                f"-_L < (_r := {old} {sym} {value}) < _L else {helper}({old}, {value}))"
            )
        else:
            result = f"{helper}({old}, {value})"
        # CPython order: object, key, current item, value, operation, store
        return [
            f"{ind}{obj} = {self.expr(target.value)}",
            f"{ind}{key} = {self.expr(target.slice)}",
            f"{ind}{old} = ({obj}[{key}] if _type({key}) in _FK else _gi({obj}, {key}))",
            f"{ind}{value} = {self.expr(stmt.value)}",
            *self.setitem(ind, obj, key, result),
        ]

    @staticmethod
    def setitem(ind: str, obj: str, key: str, value: str) -> list[str]:
        """Store natively when it cannot grow anything (list index, existing str dict key)."""
        return [
            f"{ind}if (_type({obj}) is _list and _type({key}) is _int) or "
            f"(_type({obj}) is _dict and _type({key}) is _str and {key} in {obj}):",
            f"{ind}    {obj}[{key}] = {value}",
            f"{ind}else:",
            f"{ind}    _si({obj}, {key}, {value})",
        ]

    # --- expressions --------------------------------------------------------------------------
    def expr(self, node: ast.expr) -> str:
        method = getattr(self, "e_" + type(node).__name__)
        return method(node)

    def e_Constant(self, node: ast.Constant) -> str:
        return repr(node.value)

    def e_Name(self, node: ast.Name) -> str:
        return node.id

    def is_int(self, node: ast.expr) -> bool:
        return _is_int_expr(node, self.frame.ints)

    def int_binop(self, op: ast.operator, left: ast.expr, right: ast.expr) -> str:
        """Both operands are known ints: native operator plus the cheapest sufficient check."""
        a, b = self.expr(left), self.expr(right)
        sym = BINARY_OPERATORS[type(op)]
        if isinstance(op, (ast.Add, ast.Sub, ast.Mult)):
            return f"(_r if -_L < (_r := {a} {sym} {b}) < _L else _bigr(_r))"
        helper = _HELPER_OPS[type(op)]
        if isinstance(op, _BIT_OPS):
            if not (self.is_simple(left) and self.is_simple(right)):
                x, y = self.temp("x"), self.temp("y")  # both evaluated once, in order
                return (
                    f"(({x} {sym} {y}) if ((({x} := {a}) or True) and -_L < ({y} := {b}) < _L "
                    f"and -_L < {x} < _L) else {helper}({x}, {y}))"
                )
            bounds = " and ".join(
                f"-_L < {code} < _L"
                for node, code in ((left, a), (right, b))
                if not self.small_int(node)
            )
            if not bounds:
                return f"({a} {sym} {b})"
            return f"(({a} {sym} {b}) if {bounds} else {helper}({a}, {b}))"
        # // and % never grow; only a big divisor makes them costly (O(len(a) * len(b)))
        if (
            isinstance(right, ast.Constant)
            and type(right.value) is int
            and abs(right.value) < gas.SMALL_INT
        ):
            return f"({a} {sym} {b})"
        if isinstance(right, ast.Name):
            return f"((_a {sym} {b}) if ((_a := {a}) or True) and -_L < {b} < _L else {helper}(_a, {b}))"
        return f"{helper}({a}, {b})"

    @staticmethod
    def is_simple(node: ast.expr) -> bool:
        """Evaluating it twice is harmless: a name or an int/str constant."""
        return isinstance(node, ast.Name) or (
            isinstance(node, ast.Constant) and type(node.value) in (int, str)
        )

    def int_guard(self, nodes: list[ast.expr]) -> str:
        """``_type(x) is _int and ...`` for the operands not already known to be ints."""
        checks = [f"_type({self.expr(n)}) is _int" for n in nodes if not self.is_int(n)]
        return " and ".join(checks) or "True"

    def native_int_op(self, op: ast.operator, left: ast.expr, right: ast.expr) -> bool:
        """Both operands are known ints and ``int_binop`` charges what the general body's code
        would (see _EXACT_INT_OPS)."""
        if not (isinstance(op, _INT_RESULT_OPS) and self.is_int(left) and self.is_int(right)):
            return False
        baseline = self.frame.baseline
        return (
            baseline is None
            or isinstance(op, _EXACT_INT_OPS)
            or (_is_int_expr(left, baseline, _INT_OPS) and _is_int_expr(right, baseline, _INT_OPS))
        )

    def e_BinOp(self, node: ast.BinOp) -> str:
        left, right = node.left, node.right
        if self.native_int_op(node.op, left, right):
            return self.int_binop(node.op, left, right)
        helper = _HELPER_OPS[type(node.op)]
        a, b = self.expr(left), self.expr(right)
        if isinstance(node.op, _BIT_OPS) and self.small_int(right):  # X & C: X checked once
            sym = BINARY_OPERATORS[type(node.op)]
            return (
                f"((_t {sym} {b}) if _type(_t := {a}) is _int and -_L < _t < _L "
                f"else {helper}(_t, {b}))"
            )
        if (
            type(node.op) in _INT_OPS
            and self.is_simple(left)
            and self.is_simple(right)
            and not (isinstance(left, ast.Constant) and type(left.value) is str)
            and not (isinstance(right, ast.Constant) and type(right.value) is str)
        ):
            guard = self.int_guard([left, right])
            sym = BINARY_OPERATORS[type(node.op)]
            if isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
                return (
                    f"(_r if {guard} and -_L < (_r := {a} {sym} {b}) < _L else {helper}({a}, {b}))"
                )
            return f"(({a} {sym} {b}) if {guard} and -_L < {b} < _L else {helper}({a}, {b}))"
        if isinstance(node.op, ast.Add) and self.short_str(left):  # "prefix" + X
            return f"(({a} + _t) if _type(_t := {b}) is _str and _len(_t) <= 64 else _add({a}, _t))"
        if isinstance(node.op, ast.Add) and self.short_str(right):  # X + "suffix"
            return f"((_t + {b}) if _type(_t := {a}) is _str and _len(_t) <= 64 else _add(_t, {b}))"
        if type(node.op) in _INT_OPS:
            sym = BINARY_OPERATORS[type(node.op)]
            grows = isinstance(node.op, (ast.Add, ast.Sub, ast.Mult))
            if self.small_int(right):  # X op C: one type check on X, evaluated once
                if grows:
                    return (
                        f"(_r if _type(_t := {a}) is _int and -_L < (_r := _t {sym} {b}) < _L "
                        f"else {helper}(_t, {b}))"
                    )
                return f"((_t {sym} {b}) if _type(_t := {a}) is _int else {helper}(_t, {b}))"
            if self.small_int(left) and grows:  # C op X
                return (
                    f"(_r if _type(_t := {b}) is _int and -_L < (_r := {a} {sym} _t) < _L "
                    f"else {helper}({a}, _t))"
                )
        return f"{helper}({a}, {b})"

    @staticmethod
    def short_str(node: ast.expr) -> bool:
        """A str literal short enough that concatenating it with a <= 64-char str is free."""
        return isinstance(node, ast.Constant) and type(node.value) is str and len(node.value) <= 64

    @staticmethod
    def small_int(node: ast.expr) -> bool:
        return (
            isinstance(node, ast.Constant)
            and type(node.value) is int
            and abs(node.value) < gas.SMALL_INT
        )

    def e_UnaryOp(self, node: ast.UnaryOp) -> str:
        operand = self.expr(node.operand)
        if isinstance(node.op, ast.Not):
            return f"(not {operand})"
        if self.is_int(node.operand):
            return f"({'-' if isinstance(node.op, ast.USub) else '+'}{operand})"
        return f"{'_neg' if isinstance(node.op, ast.USub) else '_pos'}({operand})"

    def e_BoolOp(self, node: ast.BoolOp) -> str:
        op = " and " if isinstance(node.op, ast.And) else " or "
        return "(" + op.join(self.expr(v) for v in node.values) + ")"

    def e_IfExp(self, node: ast.IfExp) -> str:
        return f"({self.expr(node.body)} if {self.expr(node.test)} else {self.expr(node.orelse)})"

    def against_constant(
        self, op: ast.cmpop, left: str, right: str, left_node: ast.expr, right_node: ast.expr
    ) -> str | None:
        """``X < C`` (or ``C < X``) with C a small int or a str shorter than SCAN_CHARS_PER_GAS:
        native once X has C's type (the helper would charge nothing), else the helper."""
        if type(op) not in _CMP_NATIVE:
            return None
        sym, helper = _CMP_NATIVE[type(op)], _CMP_HELPERS[type(op)]
        for const, other in ((right_node, "left"), (left_node, "right")):
            if self.small_int_literal(const):
                kind = "_int"
            elif self.short_scan_str(const):
                kind = "_str"
            else:
                continue
            if other == "left":
                return f"((_t {sym} {right}) if _type(_t := {left}) is {kind} else {helper}(_t, {right}))"
            return (
                f"(({left} {sym} _t) if _type(_t := {right}) is {kind} else {helper}({left}, _t))"
            )
        return None

    def small_int_literal(self, node: ast.expr) -> bool:
        """A small int constant, negative ones (``-1`` is a unary minus) included."""
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            node = node.operand
        return self.small_int(node)

    @staticmethod
    def short_scan_str(node: ast.expr) -> bool:
        return (
            isinstance(node, ast.Constant)
            and type(node.value) is str
            and len(node.value) < gas.SCAN_CHARS_PER_GAS
        )

    def compare_one(
        self,
        op: ast.cmpop,
        left: str,
        right: str,
        right_node: ast.expr,
        left_node: ast.expr | None = None,
    ) -> str:
        if left_node is not None:
            fast = self.against_constant(op, left, right, left_node, right_node)
            if fast is not None:
                return fast
        if isinstance(op, (ast.Is, ast.IsNot)):
            return f"({left} {'is' if isinstance(op, ast.Is) else 'is not'} {right})"
        if self.is_storage(right_node):
            return f"({'' if isinstance(op, ast.In) else 'not '}_s_has({left}))"
        return f"{_CMP_HELPERS[type(op)]}({left}, {right})"

    def e_Compare(self, node: ast.Compare) -> str:
        operands = [node.left, *node.comparators]
        if all(self.is_int(o) for o in operands) and all(
            type(op) in _CMP_NATIVE for op in node.ops
        ):
            text = self.expr(node.left)
            for op, right in zip(node.ops, node.comparators, strict=True):
                text += f" {_CMP_NATIVE[type(op)]} {self.expr(right)}"
            return f"({text})"
        if len(node.ops) == 1:
            right = node.comparators[0]
            op = node.ops[0]
            if type(op) in _CMP_NATIVE and self.is_simple(node.left) and self.is_simple(right):
                sym = _CMP_NATIVE[type(op)]
                a, b = self.expr(node.left), self.expr(right)
                if isinstance(op, (ast.Eq, ast.NotEq)) and (
                    isinstance(node.left, ast.Constant) or isinstance(right, ast.Constant)
                ):
                    # == against a scalar literal is O(len(literal)) whatever the other side is
                    return f"({a} {sym} {b})"
                if self.short_scan_str(node.left) or self.short_scan_str(right):
                    fast = self.against_constant(op, a, b, node.left, right)
                    assert fast is not None
                    return fast
                guard = self.int_guard([node.left, right])
                return f"(({a} {sym} {b}) if {guard} else {_CMP_HELPERS[type(op)]}({a}, {b}))"
            if type(op) in _CMP_NATIVE:
                left = node.left
                sym = _CMP_NATIVE[type(op)]
                helper = _CMP_HELPERS[type(op)]
                if isinstance(op, (ast.Eq, ast.NotEq)) and (
                    self.is_scalar_literal(left)
                    or self.is_scalar_literal(right)
                    or _is_singleton_const(left)
                    or _is_singleton_const(right)
                    or self.small_int_literal(left)
                    or self.small_int_literal(right)
                ):
                    return f"({self.expr(left)} {sym} {self.expr(right)})"
                fast = self.against_constant(op, self.expr(left), self.expr(right), left, right)
                if fast is not None:
                    return fast
                # both operands evaluated once, in order; two ints compare natively
                x, y = self.temp("x"), self.temp("y")
                return (
                    f"(({x} {sym} {y}) if ((({x} := {self.expr(left)}) or True) and "
                    f"(({y} := {self.expr(right)}) or True) and _type({x}) is _int and "
                    f"_type({y}) is _int) else {helper}({x}, {y}))"
                )
            if isinstance(op, (ast.In, ast.NotIn)) and self.is_scalar_literal(right):
                sym = "in" if isinstance(op, ast.In) else "not in"
                return f"({self.expr(node.left)} {sym} {self.expr(right)})"
            if isinstance(op, (ast.In, ast.NotIn)) and not self.is_storage(right):
                return self.membership(op, node.left, right)
            right_code = "" if self.is_storage(right) else self.expr(right)
            return self.compare_one(node.ops[0], self.expr(node.left), right_code, right)
        parts = []
        left_code = self.expr(node.left)
        left_node = node.left
        for index, (op, right) in enumerate(zip(node.ops, node.comparators, strict=True)):
            code = self.expr(right)
            if index < len(node.ops) - 1:
                tmp = self.temp("c")
                parts.append(
                    self.compare_one(op, left_code, f"({tmp} := {code})", right, left_node)
                )
                left_code = tmp
            else:
                parts.append(self.compare_one(op, left_code, code, right, left_node))
            left_node = right
        return "(" + " and ".join(parts) + ")"

    def membership(self, op: ast.cmpop, left: ast.expr, right: ast.expr) -> str:
        """``x in c``: native when it costs nothing -- a str key in a dict, or a str in a str
        shorter than SCAN_CHARS_PER_GAS together (the helper would charge 0 gas for both)."""
        x, c = self.temp("x"), self.temp("c")
        sym = "in" if isinstance(op, ast.In) else "not in"
        helper = _CMP_HELPERS[type(op)]
        free = (
            f"_type({x}) is _str and (_type({c}) is _dict or "
            f"(_type({c}) is _str and _len({x}) + _len({c}) < {gas.SCAN_CHARS_PER_GAS}))"
        )
        return (
            f"(({x} {sym} {c}) if ((({x} := {self.expr(left)}) or True) and "
            f"(({c} := {self.expr(right)}) or True) and {free}) else {helper}({x}, {c}))"
        )

    @staticmethod
    def is_scalar_literal(node: ast.expr) -> bool:
        """A str constant or a tuple of int/str/None constants: ``x in`` it costs O(literal)."""
        if isinstance(node, ast.Constant):
            return type(node.value) is str
        return isinstance(node, ast.Tuple) and all(
            isinstance(e, ast.Constant) and type(e.value) in (int, str, type(None))
            for e in node.elts
        )

    def e_List(self, node: ast.List) -> str:
        return "[" + ", ".join(self.expr(e) for e in node.elts) + "]"

    def e_Tuple(self, node: ast.Tuple) -> str:
        return "(" + "".join(self.expr(e) + ", " for e in node.elts) + ")"

    def e_Dict(self, node: ast.Dict) -> str:
        keys = [k for k in node.keys if k is not None]
        if all(
            isinstance(k, ast.Constant)
            and (type(k.value) is str or (type(k.value) is int and abs(k.value) < 2**60))
            for k in keys
        ):
            items = ", ".join(
                f"{self.expr(k)}: {self.expr(v)}" for k, v in zip(keys, node.values, strict=True)
            )
            return "{" + items + "}"
        pairs = "".join(
            f"({self.expr(k)}, {self.expr(v)}), " for k, v in zip(keys, node.values, strict=True)
        )
        return f"_mkdict(({pairs}))"

    def e_Subscript(self, node: ast.Subscript) -> str:
        if self.is_storage(node.value):
            return f"_s_load({self.expr(node.slice)})"
        value = self.expr(node.value)
        if isinstance(node.slice, ast.Slice):
            parts = [
                "None" if p is None else self.expr(p)
                for p in (node.slice.lower, node.slice.upper, node.slice.step)
            ]
            return f"_gs({value}, {', '.join(parts)})"
        # int/str keys never make the host recurse or scan: index natively
        key_node = node.slice
        if self.is_int(key_node) or (
            isinstance(key_node, ast.Constant) and type(key_node.value) in (int, str)
        ):
            return f"{value}[{self.expr(key_node)}]"
        if isinstance(node.value, ast.Name) and isinstance(key_node, ast.Name):
            key = key_node.id
            return f"({value}[{key}] if _type({key}) in _FK else _gi({value}, {key}))"
        obj, key = self.temp("o"), self.temp("k")
        return (
            f"({obj}[{key}] if (({obj} := {value}) or True) and "
            f"_type({key} := {self.expr(node.slice)}) in _FK else _gi({obj}, {key}))"
        )

    def e_Attribute(self, node: ast.Attribute) -> str:
        assert isinstance(node.value, ast.Name) and node.value.id == "ctx"
        return f"_ctx_{node.attr}"

    def e_JoinedStr(self, node: ast.JoinedStr) -> str:
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(repr(value.value))
                continue
            assert isinstance(value, ast.FormattedValue)
            conversion = "None" if value.conversion == -1 else repr(chr(value.conversion))
            spec = ""
            if value.format_spec is not None:
                assert isinstance(value.format_spec, ast.JoinedStr)
                spec = "".join(
                    str(p.value) for p in value.format_spec.values if isinstance(p, ast.Constant)
                )
            parts.append(f"_fv({self.expr(value.value)}, {conversion}, {spec!r})")
        return "_fstr(" + ", ".join(parts) + ")"

    def args(self, node: ast.Call) -> list[str]:
        out = [self.expr(a) for a in node.args]
        for kw in node.keywords:
            if isinstance(kw.value, ast.Lambda):
                out.append(f"{kw.arg}={self.lambda_(kw.value)}")
            else:
                out.append(f"{kw.arg}={self.expr(kw.value)}")
        return out

    def e_Call(self, node: ast.Call) -> str:
        func = node.func
        if isinstance(func, ast.Attribute):
            if self.is_storage(func.value):
                return f"_s_{func.attr}({', '.join(self.args(node))})"
            if func.attr == "append" and len(node.args) == 1 and not node.keywords:
                return f"_append1({self.expr(func.value)}, {self.expr(node.args[0])})"
            if func.attr == "get" and len(node.args) in (1, 2) and not node.keywords:
                receiver = self.expr(func.value)
                get_args = [self.expr(a) for a in node.args]
                default = get_args[1] if len(get_args) == 2 else "None"
                return f"_get2({receiver}, {get_args[0]}, {default})"
            if func.attr in _FREE_SHORT_STR_METHODS and not node.args and not node.keywords:
                recv = self.temp("s")  # a short receiver costs 0 gas in the helper too
                return (
                    f"({recv}.{func.attr}() if _type({recv} := {self.expr(func.value)}) is _str "
                    f"and _len({recv}) < {_FREE_STR_LEN} else _M_{func.attr}({recv}))"
                )
            return f"_M_{func.attr}({', '.join([self.expr(func.value), *self.args(node)])})"
        assert isinstance(func, ast.Name)
        name = func.id
        if name == "isinstance":
            spec = node.args[1]
            types = spec.elts if isinstance(spec, ast.Tuple) else [spec]
            names = "".join(f"_T_{t.id}, " for t in types if isinstance(t, ast.Name))
            return f"_isinstance({self.expr(node.args[0])}, ({names}))"
        if name == "str" and len(node.args) == 1 and not node.keywords:
            return f"_str1({self.expr(node.args[0])})"
        args = ", ".join(self.args(node))
        if name in self.module.functions:
            return f"{function_name(name)}({args})"
        if name in HOST_FUNCTIONS:
            return f"_h_{name}({args})"
        assert name in BUILTINS
        return f"_b_{name}({args})"

    # --- nested scopes (hoisted to the top of the enclosing generated function) ----------------
    def lambda_(self, node: ast.Lambda) -> str:
        params = [a.arg for a in node.args.args]
        name = self.fresh("lam")
        outer = self.frame.ints - set(params)
        self.frames.append(_Frame(outer, baseline=self.frame.general(outer)))
        body = self.expr(node.body)
        inner = self.frames.pop()
        lines = [f"def {name}({', '.join(params)}):"]
        lines += self.tick(gas.GAS_CALL + node_cost(node.body), "    ")
        lines += ["    " + h for h in inner.hoisted]
        lines.append(f"    return {body}")
        self.frame.hoisted.extend(tagged(lines, self.where))
        return name

    def comprehension(
        self, node: ast.ListComp | ast.DictComp | ast.GeneratorExp | ast.SetComp
    ) -> str:
        lazy = isinstance(node, ast.GeneratorExp)
        name = self.fresh("gen" if lazy else "comp")
        targets: set[str] = set()
        bindings: list[_Binding] = []
        for gen in node.generators:
            bindings += _bindings([ast.For(target=gen.target, iter=gen.iter, body=[], orelse=[])])
        targets = {b.name for b in bindings}
        first_iter = self.expr(node.generators[0].iter)
        ints = infer_ints(bindings, set(), self.frame.ints - targets)
        baseline = self.frame.baseline
        if baseline is not None:
            baseline = infer_ints(bindings, set(), baseline - targets, _INT_OPS)
        self.frames.append(_Frame(ints, baseline=baseline))
        enter = ["_m.d += 1", f"if _m.d > {gas.MAX_CALL_DEPTH}: _deep()"]
        body: list[str] = [
            f"def {name}(_it):",
            f"    {enter[0]}"
            if lazy
            else "    _res = [] "
            if isinstance(node, (ast.ListComp, ast.SetComp))
            else "    _res = {}",
        ]
        if lazy:
            body.append(f"    {enter[1]}")
        ind = "    "
        for index, gen in enumerate(node.generators):
            iterable = "_it" if index == 0 else self.expr(gen.iter)
            body.append(f"{ind}for {self.for_target(gen.target)} in {iterable}:")
            ind += "    "
            cost = node_cost(gen.target) + 1 + sum(node_cost(c) for c in gen.ifs)
            if index == len(node.generators) - 1:
                cost += (
                    node_cost(node.key) + node_cost(node.value)
                    if isinstance(node, ast.DictComp)
                    else node_cost(node.elt)
                )
            body += self.tick(cost, ind)
            for cond in gen.ifs:
                body.append(f"{ind}if not {self.expr(cond)}: continue")
        if isinstance(node, ast.GeneratorExp):
            # a running generator counts as a frame of the call depth (see iterators.py)
            body.append(f"{ind}_y = {self.expr(node.elt)}")
            body.append(f"{ind}_m.d -= 1")
            body.append(f"{ind}yield _y")
            body += [ind + line for line in enter]
        elif isinstance(node, (ast.ListComp, ast.SetComp)):  # a set is built from the list
            body.append(f"{ind}_res.append({self.expr(node.elt)})")
            body.append(f"{ind}if _len(_res) > {gas.MAX_ITEMS}: _toolong()")
        else:
            body.append(f"{ind}_si(_res, {self.expr(node.key)}, {self.expr(node.value)})")
        if isinstance(node, ast.SetComp):
            body.append("    return _mkset_list(_res)")
        else:
            body.append("    _m.d -= 1" if lazy else "    return _res")
        inner = self.frames.pop()
        lines = body[:2] + ["    " + h for h in inner.hoisted] + body[2:]
        self.frame.hoisted.extend(tagged(lines, self.where))
        if lazy:  # CPython takes iter() of the first iterable when the expression is evaluated
            return f"{name}(_iter({first_iter}))"
        return f"{name}({first_iter})"

    def e_ListComp(self, node: ast.ListComp) -> str:
        return self.comprehension(node)

    def e_DictComp(self, node: ast.DictComp) -> str:
        return self.comprehension(node)

    def e_GeneratorExp(self, node: ast.GeneratorExp) -> str:
        return self.comprehension(node)

    def e_SetComp(self, node: ast.SetComp) -> str:
        return self.comprehension(node)

    def e_Set(self, node: ast.Set) -> str:
        return "_mkset((" + "".join(self.expr(e) + ", " for e in node.elts) + "))"


def compile_module(module: CheckedModule) -> str:
    """Python source for a checked module (executed by ``machine.Program``)."""
    return Compiler(module).compile_module()
