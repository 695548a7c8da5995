"""Validate contract source against an explicit allow-list before anything runs.

Order matters for safety: the raw source is size- and nesting-checked with ``tokenize`` (pure
Python, iterative) *before* ``ast.parse`` so the host parser never sees input deep enough to blow
its stack; the parsed tree's depth is measured iteratively before the recursive allow-list walk.
Everything not explicitly allowed here is refused with its line and column.
"""

from __future__ import annotations

import ast
import io
import logging
import tokenize
from dataclasses import dataclass, field

from contracts.vm import gas
from contracts.vm.errors import RAISABLE, Problem, ValidationError
from contracts.vm.formats import check_format_spec, parse_format

log = logging.getLogger(__name__)

# Contracts are parsed with the Python 3.11 grammar on every validator (3.11 or 3.12), so a
# source is valid on all nodes or on none: newer syntax is refused even on a newer host.
PINNED_GRAMMAR = (3, 11)
NEWER_SYNTAX = "syntax error: {what} is Python 3.12 syntax; contracts use the Python 3.11 grammar"
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # 3.12+: f-strings are tokenized
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)

BUILTINS = frozenset(
    "len range min max sum abs sorted reversed enumerate zip any all int str bool list tuple "
    "dict isinstance divmod pow set frozenset".split()
)
HOST_FUNCTIONS = frozenset("require emit transfer call balance sha256".split())
TYPE_NAMES = frozenset("int str bool list tuple dict".split())
CTX_FIELDS = frozenset("sender height time tx_hash contract".split())
STORAGE_METHODS = frozenset({"get", "pop"})
STR_METHODS = frozenset(
    "lower upper strip lstrip rstrip split join startswith endswith replace find count index "
    "format isdigit isalpha isalnum isupper islower zfill ljust rjust center".split()
)
LIST_METHODS = frozenset("append extend pop insert remove index count sort reverse copy".split())
DICT_METHODS = frozenset("get keys values items pop setdefault update copy".split())
SET_METHODS = frozenset(
    "add discard remove pop clear copy update union intersection difference "
    "symmetric_difference issubset issuperset isdisjoint".split()
)
TUPLE_METHODS = frozenset({"index", "count"})
METHODS = STR_METHODS | LIST_METHODS | DICT_METHODS | TUPLE_METHODS | SET_METHODS
KEY_FUNCTION_TAKERS = frozenset({"sorted", "min", "max"})
FORBIDDEN_NAMES = frozenset(
    "eval exec compile open getattr setattr delattr hasattr type vars globals locals dir "
    "__import__ breakpoint input print id hash iter next object super memoryview float "
    "bytes bytearray complex classmethod staticmethod property exit quit help".split()
)
RESERVED = BUILTINS | HOST_FUNCTIONS | FORBIDDEN_NAMES | RAISABLE | {"storage", "ctx"}
THROWAWAY = "_"  # the one name starting with '_' a contract may bind and read

# the binary operators a contract may use, with their source symbols (the compiler writes these)
BINARY_OPERATORS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
}
_CMPOPS = (
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
)

# Hints for the refusals rule writers meet most, keyed by a fragment of the problem's message.
HINTS: tuple[tuple[str, str], ...] = (
    ("float literals", "floats are not allowed: amounts are integers in fen (1 yuan = 100 fen)"),
    ("'/' is not allowed", "floats are not allowed: amounts are integers in fen; use // and %"),
    (
        "import is not allowed",
        "the host API (storage, ctx, require, emit, transfer, call, "
        "balance, sha256) is always available; nothing else can be imported",
    ),
    ("try is not allowed", "there is no try/except: test the condition first (if, require)"),
    ("class is not allowed", "use a dict for a record and functions for behaviour"),
    ("'print' is not allowed", "use emit(name, **fields) to leave a record in the receipt"),
    (
        "names starting with '_'",
        "'_' alone is allowed as a throwaway; a leading '_' marks only private function names",
    ),
    ("is not defined", "define it first, or pass it in as a parameter"),
    ("only be called, not used as a value", "functions are not values: call it where needed"),
    ("'%' formatting", 'use an f-string: f"{amount} fen"'),
    ("lambda is only allowed", "write a top-level def and call it"),
    ("decorators", "remove the decorator; contracts are plain functions"),
    ("'*' arguments", "pass the items explicitly or as one list parameter"),
    ("Python 3.11", "validators parse the Python 3.11 grammar; write it the 3.11 way"),
)


def hint_for(message: str) -> str:
    return next((hint for fragment, hint in HINTS if fragment in message), "")


@dataclass(slots=True)
class _Scope:
    names: set[str]
    parent: _Scope | None = None

    def has(self, name: str) -> bool:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.names:
                return True
            scope = scope.parent
        return False


@dataclass(slots=True)
class CheckedModule:
    """A module that passed the checker: the tree plus what the compiler needs to know."""

    tree: ast.Module
    functions: dict[str, ast.FunctionDef] = field(default_factory=dict)
    constants: dict[str, ast.expr] = field(default_factory=dict)

    @property
    def public(self) -> list[str]:
        """Entry points: top-level functions whose names do not start with '_'."""
        return [name for name in self.functions if not name.startswith("_")]


def _precheck(source: str) -> list[Problem]:
    """Size, encoding, bracket/indent depth and line length, before the host parser runs."""
    if not isinstance(source, str):
        return [Problem(1, 0, "source must be a string")]
    try:
        size = len(source.encode("utf-8"))
    except UnicodeEncodeError:
        return [Problem(1, 0, "source is not valid UTF-8 text")]
    if size > gas.MAX_SOURCE_BYTES:
        return [Problem(1, 0, f"source is {size} bytes; the limit is {gas.MAX_SOURCE_BYTES}")]
    if "\x00" in source:
        line = source[: source.index("\x00")].count("\n") + 1
        return [Problem(line, 0, "source contains a NUL character")]
    depth = indent = line_tokens = 0
    fstrings: list[str] = []  # delimiters of the f-strings being tokenized (3.12+ hosts)
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if _FSTRING_START is not None and (fstrings or tok.type == _FSTRING_START):
                problem = _fstring_token(tok, fstrings)
                if problem:
                    return [problem]
                line_tokens += 1 if fstrings == [] and tok.type == _FSTRING_END else 0
                continue
            line_tokens += 1
            if tok.type == tokenize.OP and tok.string in "([{":
                depth += 1
                if depth > gas.MAX_BRACKET_DEPTH:
                    return [
                        Problem(
                            tok.start[0],
                            tok.start[1],
                            f"brackets nested deeper than {gas.MAX_BRACKET_DEPTH}",
                        )
                    ]
            elif tok.type == tokenize.OP and tok.string in ")]}":
                depth = max(0, depth - 1)
            elif tok.type == tokenize.INDENT:
                indent += 1
                if indent > gas.MAX_INDENT_DEPTH:
                    return [
                        Problem(
                            tok.start[0], 0, f"blocks nested deeper than {gas.MAX_INDENT_DEPTH}"
                        )
                    ]
            elif tok.type == tokenize.DEDENT:
                indent -= 1
            elif tok.type == tokenize.NEWLINE:
                line_tokens = 0
            if line_tokens > gas.MAX_LINE_TOKENS:
                return [
                    Problem(
                        tok.start[0],
                        tok.start[1],
                        f"statement longer than {gas.MAX_LINE_TOKENS} tokens",
                    )
                ]
    except (tokenize.TokenError, SyntaxError) as exc:
        lineno = exc.args[1][0] if len(exc.args) > 1 and isinstance(exc.args[1], tuple) else 1
        return [Problem(int(lineno or 1), 0, f"syntax error: {exc.args[0]}")]
    return []


def _delimiter(text: str) -> str:
    body = text.lstrip("rRbBuUfF")
    return body[:3] if body[:3] in ("'''", '"""') else body[:1]


def _fstring_token(tok: tokenize.TokenInfo, fstrings: list[str]) -> Problem | None:
    """On a 3.12+ host, walk an f-string's tokens the way 3.11 sees it: one token, no brackets,
    and refuse what only the 3.12 grammar accepts (PEP 701)."""
    where = (tok.start[0], tok.start[1])
    if tok.type == _FSTRING_START:
        delimiter = _delimiter(tok.string)
        if any(delimiter in outer or outer in delimiter for outer in fstrings):
            what = "an f-string nested in one with the same quotes"
            return Problem(*where, NEWER_SYNTAX.format(what=what), hint_for("Python 3.11"))
        fstrings.append(delimiter)
    elif tok.type == _FSTRING_END:
        fstrings.pop()
    elif tok.type == tokenize.STRING and any(outer in tok.string for outer in fstrings):
        what = "a string reusing the enclosing f-string's quotes"
        return Problem(*where, NEWER_SYNTAX.format(what=what), hint_for("Python 3.11"))
    elif tok.type == tokenize.COMMENT:
        what = "a comment inside an f-string"
        return Problem(*where, NEWER_SYNTAX.format(what=what), hint_for("Python 3.11"))
    elif tok.type != getattr(tokenize, "FSTRING_MIDDLE", None) and "\\" in tok.string:
        what = "a backslash inside an f-string expression"
        return Problem(*where, NEWER_SYNTAX.format(what=what), hint_for("Python 3.11"))
    return None


def _tree_shape(tree: ast.AST) -> tuple[int, int, ast.AST | None]:
    """(node count, max depth, deepest node) measured iteratively."""
    count = 0
    deepest: tuple[int, ast.AST | None] = (0, None)
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > deepest[0]:
            deepest = (depth, node)
        if count > gas.MAX_AST_NODES or depth > gas.MAX_EXPR_DEPTH:
            break
        for child in ast.iter_child_nodes(node):
            stack.append((child, depth + 1))
    return count, deepest[0], deepest[1]


def parse(source: str) -> tuple[ast.Module | None, list[Problem]]:
    problems = _precheck(source)
    if problems:
        return None, problems
    try:
        tree = ast.parse(source, mode="exec", feature_version=PINNED_GRAMMAR)
    except SyntaxError as exc:
        return None, [
            Problem(exc.lineno or 1, max(0, (exc.offset or 1) - 1), f"syntax error: {exc.msg}")
        ]
    except (ValueError, RecursionError, MemoryError) as exc:
        return None, [Problem(1, 0, f"source too complex to parse: {type(exc).__name__}")]
    count, depth, node = _tree_shape(tree)
    if count > gas.MAX_AST_NODES:
        return None, [Problem(1, 0, f"source has more than {gas.MAX_AST_NODES} syntax nodes")]
    if depth > gas.MAX_EXPR_DEPTH:
        line = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0)
        return None, [Problem(line, col, f"code nested deeper than {gas.MAX_EXPR_DEPTH} levels")]
    return tree, []


def _is_const_expr(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _is_const_expr(node.operand)
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_is_const_expr(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _is_const_expr(k) for k in node.keys) and all(
            _is_const_expr(v) for v in node.values
        )
    return False


def _is_immutable_const(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _is_immutable_const(node.operand)
    if isinstance(node, ast.Tuple):
        return all(_is_immutable_const(e) for e in node.elts)
    return False


def _is_singleton(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Constant)
        and node.value in (None, True, False)
        and (node.value is None or isinstance(node.value, bool))
    )


def assigned_names(body: list[ast.stmt]) -> set[str]:
    """Names bound by a function body (not descending into lambdas or comprehensions)."""
    out: set[str] = set()

    def targets(node: ast.expr) -> None:
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                targets(elt)

    stack: list[ast.stmt] = list(body)
    while stack:
        stmt = stack.pop()
        if isinstance(stmt, ast.Assign):
            for t in stmt.targets:
                targets(t)
        elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)):
            targets(stmt.target)
        elif isinstance(stmt, ast.For):
            targets(stmt.target)
        for name in ("body", "orelse"):
            stack.extend(getattr(stmt, name, []) or [])
    return out


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.functions: dict[str, ast.FunctionDef] = {}
        self.constants: dict[str, ast.expr] = {}
        self.loop_depth = 0

    def bad(self, node: ast.AST, message: str) -> None:
        line, col = getattr(node, "lineno", 1), getattr(node, "col_offset", 0)
        self.problems.append(Problem(line, col, message, hint_for(message)))

    # --- names ---------------------------------------------------------------------------
    def check_binding(self, node: ast.AST, name: str) -> None:
        if name == THROWAWAY:
            return
        if name.startswith("_"):
            self.bad(node, f"names starting with '_' are not allowed: {name!r}")
        elif name in RESERVED:
            self.bad(node, f"{name!r} is a reserved name and cannot be assigned or defined")

    def check_load(self, node: ast.Name, scope: _Scope | None) -> None:
        name = node.id
        if name in self.functions and not (scope is not None and scope.has(name)):
            self.bad(node, f"function {name!r} can only be called, not used as a value")
        elif name.startswith("_") and name != THROWAWAY:
            self.bad(node, f"names starting with '_' are not allowed: {name!r}")
        elif name in FORBIDDEN_NAMES:
            self.bad(node, f"{name!r} is not allowed in contracts")
        elif name in RAISABLE:
            self.bad(node, f'{name} can only be raised: raise {name}("message")')
        elif scope is not None and scope.has(name):
            return
        elif name in self.constants:
            return
        elif name in self.functions:
            self.bad(node, f"function {name!r} can only be called, not used as a value")
        elif name in BUILTINS or name in HOST_FUNCTIONS:
            self.bad(node, f"builtin {name!r} can only be called, not used as a value")
        elif name == "storage":
            self.bad(
                node,
                "storage can only be used as storage[key], storage.get/pop(...) or 'key in storage'",
            )
        elif name == "ctx":
            self.bad(node, "ctx can only be used as ctx.<field>")
        else:
            self.bad(node, f"name {name!r} is not defined")

    # --- module ----------------------------------------------------------------------------
    def module(self, tree: ast.Module) -> None:
        for index, stmt in enumerate(tree.body):
            if isinstance(stmt, ast.FunctionDef):
                if stmt.name in self.functions or stmt.name in self.constants:
                    self.bad(stmt, f"{stmt.name!r} is defined twice")
                if stmt.name.startswith("__"):
                    self.bad(
                        stmt, f"function names starting with '__' are not allowed: {stmt.name!r}"
                    )
                elif not stmt.name.startswith("_"):  # a single '_' marks a private function
                    self.check_binding(stmt, stmt.name)
                self.functions[stmt.name] = stmt
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                value = stmt.value
                if len(targets) != 1 or not isinstance(targets[0], ast.Name) or value is None:
                    self.bad(stmt, "module level assignments must be NAME = <constant literal>")
                    continue
                name = targets[0].id
                self.check_binding(stmt, name)
                if name in self.constants or name in self.functions:
                    self.bad(stmt, f"{name!r} is defined twice")
                if not _is_const_expr(value):
                    self.bad(
                        stmt,
                        "module level values must be literals (numbers, strings, lists, dicts, tuples)",
                    )
                else:
                    self.expr(value, None)
                self.constants[name] = value
            elif (
                index == 0
                and isinstance(stmt, ast.Expr)
                and isinstance(stmt.value, ast.Constant)
                and isinstance(stmt.value.value, str)
            ):
                continue  # module docstring
            else:
                self.bad(stmt, self.stmt_refusal(stmt, top=True))
        if len(self.functions) > gas.MAX_FUNCTIONS:
            self.bad(tree, f"more than {gas.MAX_FUNCTIONS} functions")
        for fn in self.functions.values():
            self.function(fn)

    def stmt_refusal(self, stmt: ast.stmt, top: bool = False) -> str:
        names = {
            ast.Import: "import is not allowed",
            ast.ImportFrom: "import is not allowed",
            ast.ClassDef: "class is not allowed",
            ast.Global: "global is not allowed",
            ast.Nonlocal: "nonlocal is not allowed",
            ast.Try: "try is not allowed",
            ast.With: "with is not allowed",
            ast.AsyncWith: "async is not allowed",
            ast.AsyncFor: "async is not allowed",
            ast.AsyncFunctionDef: "async is not allowed",
            ast.Match: "match is not allowed",
        }
        if type(stmt) in names:
            return names[type(stmt)]
        if isinstance(stmt, ast.FunctionDef):
            return "functions can only be defined at module level"
        if top:
            return "only functions, constants and a docstring are allowed at module level"
        return f"statement {type(stmt).__name__} is not allowed"

    def function(self, fn: ast.FunctionDef) -> None:
        if fn.decorator_list:
            self.bad(fn, "decorators are not allowed")
        args = fn.args
        if getattr(fn, "type_params", None):
            self.bad(fn, NEWER_SYNTAX.format(what="a type parameter list"))
        if args.vararg or args.kwarg or args.posonlyargs:
            self.bad(fn, "*args, **kwargs and positional-only parameters are not allowed")
        params: set[str] = set()
        for arg in args.args + args.kwonlyargs:
            self.check_binding(arg, arg.arg)
            if arg.arg in params:
                self.bad(arg, f"duplicate parameter {arg.arg!r}")
            params.add(arg.arg)
        for default in list(args.defaults) + [d for d in args.kw_defaults if d is not None]:
            if not _is_immutable_const(default):
                self.bad(
                    default,
                    "parameter defaults must be immutable literals (numbers, strings, None, tuples)",
                )
            else:
                self.expr(default, None)
        scope = _Scope(params | assigned_names(fn.body))
        self.loop_depth = 0
        self.block(fn.body, scope)

    # --- statements -----------------------------------------------------------------------
    def block(self, body: list[ast.stmt], scope: _Scope) -> None:
        for stmt in body:
            self.stmt(stmt, scope)

    def stmt(self, stmt: ast.stmt, scope: _Scope) -> None:
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                self.target(target, scope)
            self.expr(stmt.value, scope)
        elif isinstance(stmt, ast.AnnAssign):
            if not isinstance(stmt.target, ast.Name):
                self.bad(stmt, "annotated assignment must target a plain name")
            else:
                self.check_binding(stmt.target, stmt.target.id)
            if stmt.value is not None:
                self.expr(stmt.value, scope)
        elif isinstance(stmt, ast.AugAssign):
            if type(stmt.op) not in BINARY_OPERATORS:
                self.bad(stmt, self.op_refusal(stmt.op))
            if isinstance(stmt.target, ast.Name):
                self.check_binding(stmt.target, stmt.target.id)
            else:
                self.target(stmt.target, scope)
            self.expr(stmt.value, scope)
        elif isinstance(stmt, (ast.For, ast.While)):
            if isinstance(stmt, ast.For):
                self.for_target(stmt.target)
                self.expr(stmt.iter, scope)
            else:
                self.expr(stmt.test, scope)
            self.loop_depth += 1
            self.block(stmt.body, scope)
            self.loop_depth -= 1
            self.block(stmt.orelse, scope)
        elif isinstance(stmt, ast.If):
            self.expr(stmt.test, scope)
            self.block(stmt.body, scope)
            self.block(stmt.orelse, scope)
        elif isinstance(stmt, ast.Return):
            if stmt.value is not None:
                self.expr(stmt.value, scope)
        elif isinstance(stmt, ast.Expr):
            self.expr(stmt.value, scope)
        elif isinstance(stmt, ast.Pass):
            pass
        elif isinstance(stmt, (ast.Break, ast.Continue)):
            if self.loop_depth == 0:
                self.bad(stmt, f"'{type(stmt).__name__.lower()}' outside a loop")
        elif isinstance(stmt, ast.Raise):
            self.raise_(stmt, scope)
        elif isinstance(stmt, ast.Assert):
            self.expr(stmt.test, scope)
            if stmt.msg is not None:
                self.expr(stmt.msg, scope)
        elif isinstance(stmt, ast.Delete):
            for target in stmt.targets:
                if not isinstance(target, ast.Subscript):
                    self.bad(target, "del is only allowed on subscripts (del d[key])")
                else:
                    self.target(target, scope)
        else:
            self.bad(stmt, self.stmt_refusal(stmt))

    def raise_(self, stmt: ast.Raise, scope: _Scope) -> None:
        """``raise Name`` or ``raise Name(message)`` with a builtin exception class."""
        exc = stmt.exc
        usage = f'raise takes a builtin exception class ({", ".join(sorted(RAISABLE))}), e.g. raise ValueError("message")'
        if stmt.cause is not None:
            self.bad(stmt, "'raise ... from ...' is not allowed")
        if exc is None:
            self.bad(stmt, "a bare 'raise' is not allowed (there is no try/except)")
        elif isinstance(exc, ast.Name):
            if exc.id not in RAISABLE:
                self.bad(exc, usage)
        elif isinstance(exc, ast.Call) and isinstance(exc.func, ast.Name):
            if exc.func.id not in RAISABLE:
                self.bad(exc, usage)
            elif (
                exc.keywords
                or len(exc.args) > 1
                or any(isinstance(a, ast.Starred) for a in exc.args)
            ):
                self.bad(exc, "an exception takes at most one positional argument (its message)")
            else:
                for arg in exc.args:
                    self.expr(arg, scope)
        else:
            self.bad(exc, usage)

    def op_refusal(self, op: ast.AST) -> str:
        if isinstance(op, ast.Div):
            return "'/' is not allowed (money is integer fen); use '//'"
        return f"operator {type(op).__name__} is not allowed"

    def for_target(self, node: ast.expr) -> None:
        if isinstance(node, ast.Name):
            self.check_binding(node, node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                self.for_target(elt)
        else:
            self.bad(node, "loop variables must be names or tuples of names")

    def target(self, node: ast.expr, scope: _Scope) -> None:
        if isinstance(node, ast.Name):
            self.check_binding(node, node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            if not node.elts:
                self.bad(node, "empty assignment target")
            for elt in node.elts:
                self.target(elt, scope)
        elif isinstance(node, ast.Subscript):
            if isinstance(node.slice, ast.Slice):
                self.bad(node, "slice assignment and deletion are not allowed")
            if isinstance(node.value, ast.Name) and node.value.id == "storage":
                self.expr(node.slice, scope)
            else:
                self.expr(node.value, scope)
                self.expr(node.slice, scope)
        elif isinstance(node, ast.Starred):
            self.bad(node, "starred assignment is not allowed")
        elif isinstance(node, ast.Attribute):
            self.bad(node, "attribute assignment is not allowed")
        else:
            self.bad(node, f"cannot assign to {type(node).__name__}")

    # --- expressions ----------------------------------------------------------------------
    def expr(self, node: ast.expr, scope: _Scope | None) -> None:
        method = getattr(self, "e_" + type(node).__name__, None)
        if method is None:
            self.bad(node, self.expr_refusal(node))
            return
        method(node, scope)

    def expr_refusal(self, node: ast.expr) -> str:
        refusals = {
            "Yield": "yield is not allowed",
            "YieldFrom": "yield is not allowed",
            "Await": "await is not allowed",
            "NamedExpr": "':=' is not allowed",
            "Starred": "'*' unpacking is not allowed",
            "Lambda": "lambda is only allowed as the key= argument of sorted/min/max/list.sort",
            "Slice": "slices are only allowed inside subscripts",
        }
        return refusals.get(
            type(node).__name__, f"{type(node).__name__} expressions are not allowed"
        )

    def e_Constant(self, node: ast.Constant, scope: _Scope | None) -> None:
        value = node.value
        if isinstance(value, float):
            self.bad(node, "float literals are not allowed (money is integer fen)")
        elif isinstance(value, complex):
            self.bad(node, "complex literals are not allowed")
        elif isinstance(value, bytes):
            self.bad(node, "bytes literals are not allowed")
        elif value is Ellipsis:
            self.bad(node, "'...' is not allowed")
        elif (
            isinstance(value, int)
            and not isinstance(value, bool)
            and value.bit_length() > gas.MAX_INT_BITS
        ):
            self.bad(node, f"integer literal larger than {gas.MAX_INT_BITS} bits")

    def e_Name(self, node: ast.Name, scope: _Scope | None) -> None:
        self.check_load(node, scope)

    def e_BinOp(self, node: ast.BinOp, scope: _Scope | None) -> None:
        if type(node.op) not in BINARY_OPERATORS:
            self.bad(node, self.op_refusal(node.op))
        elif (
            isinstance(node.op, ast.Mod)
            and isinstance(node.left, (ast.Constant, ast.JoinedStr))
            and isinstance(getattr(node.left, "value", ""), str)
        ):
            self.bad(node, "printf-style '%' formatting is not allowed; use f-strings")
        self.expr(node.left, scope)
        self.expr(node.right, scope)

    def e_UnaryOp(self, node: ast.UnaryOp, scope: _Scope | None) -> None:
        if not isinstance(node.op, (ast.Not, ast.USub, ast.UAdd)):
            self.bad(node, f"operator {type(node.op).__name__} is not allowed")
        self.expr(node.operand, scope)

    def e_BoolOp(self, node: ast.BoolOp, scope: _Scope | None) -> None:
        for value in node.values:
            self.expr(value, scope)

    def e_IfExp(self, node: ast.IfExp, scope: _Scope | None) -> None:
        self.expr(node.test, scope)
        self.expr(node.body, scope)
        self.expr(node.orelse, scope)

    def e_Compare(self, node: ast.Compare, scope: _Scope | None) -> None:
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            if not isinstance(op, _CMPOPS):
                self.bad(node, f"comparison {type(op).__name__} is not allowed")
            if isinstance(op, (ast.Is, ast.IsNot)) and not (
                _is_singleton(right) or _is_singleton(left)
            ):
                self.bad(node, "'is' / 'is not' are only allowed with None, True or False")
            left = right
        self.expr(node.left, scope)
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(right, ast.Name) and right.id == "storage":
                if len(node.ops) != 1 or not isinstance(op, (ast.In, ast.NotIn)):
                    self.bad(right, "storage can only be tested with 'key in storage'")
            else:
                self.expr(right, scope)

    def e_List(self, node: ast.List, scope: _Scope | None) -> None:
        for elt in node.elts:
            self.expr(elt, scope)

    e_Tuple = e_List
    e_Set = e_List

    def e_Dict(self, node: ast.Dict, scope: _Scope | None) -> None:
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:
                self.bad(value, "'**' unpacking is not allowed")
            else:
                self.expr(key, scope)
            self.expr(value, scope)

    def e_Subscript(self, node: ast.Subscript, scope: _Scope | None) -> None:
        if isinstance(node.value, ast.Name) and node.value.id == "storage":
            if isinstance(node.slice, ast.Slice):
                self.bad(node, "storage cannot be sliced")
        else:
            self.expr(node.value, scope)
        if isinstance(node.slice, ast.Slice):
            for part in (node.slice.lower, node.slice.upper, node.slice.step):
                if part is not None:
                    self.expr(part, scope)
        else:
            self.expr(node.slice, scope)

    def e_Attribute(self, node: ast.Attribute, scope: _Scope | None) -> None:
        if isinstance(node.value, ast.Name) and node.value.id == "ctx":
            if node.attr not in CTX_FIELDS:
                self.bad(
                    node,
                    f"ctx has no field {node.attr!r} (fields: {', '.join(sorted(CTX_FIELDS))})",
                )
            return
        if node.attr.startswith("_"):
            self.bad(node, f"attributes starting with '_' are not allowed: {node.attr!r}")
        else:
            self.bad(node, f"attribute access {node.attr!r} is not allowed (only method calls)")

    def e_JoinedStr(self, node: ast.JoinedStr, scope: _Scope | None) -> None:
        for value in node.values:
            if isinstance(value, ast.Constant):
                continue
            if not isinstance(value, ast.FormattedValue):
                self.bad(value, "unsupported f-string part")
                continue
            if value.conversion not in (-1, ord("s"), ord("r")):
                self.bad(value, "only !s and !r conversions are allowed")
            spec = value.format_spec
            if spec is not None:
                parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
                if not all(isinstance(p, ast.Constant) and isinstance(p.value, str) for p in parts):
                    self.bad(value, "nested fields in a format spec are not allowed")
                else:
                    text = "".join(p.value for p in parts)  # type: ignore[attr-defined]
                    problem = check_format_spec(text)
                    if problem:
                        self.bad(value, problem)
            self.expr(value.value, scope)

    def comprehension(
        self,
        node: ast.ListComp | ast.DictComp | ast.GeneratorExp | ast.SetComp,
        scope: _Scope | None,
        elements: list[ast.expr],
    ) -> None:
        inner = _Scope(set(), scope)
        for gen in node.generators:
            if gen.is_async:
                self.bad(node, "async comprehensions are not allowed")
            self.expr(gen.iter, inner if gen is not node.generators[0] else scope)
            self.for_target(gen.target)
            names = assigned_names([ast.For(target=gen.target, iter=gen.iter, body=[], orelse=[])])
            inner.names |= names
            for cond in gen.ifs:
                self.expr(cond, inner)
        for elt in elements:
            self.expr(elt, inner)

    def e_ListComp(self, node: ast.ListComp, scope: _Scope | None) -> None:
        self.comprehension(node, scope, [node.elt])

    def e_DictComp(self, node: ast.DictComp, scope: _Scope | None) -> None:
        self.comprehension(node, scope, [node.key, node.value])

    def e_GeneratorExp(self, node: ast.GeneratorExp, scope: _Scope | None) -> None:
        self.comprehension(node, scope, [node.elt])

    def e_SetComp(self, node: ast.SetComp, scope: _Scope | None) -> None:
        self.comprehension(node, scope, [node.elt])

    def lambda_(self, node: ast.Lambda, scope: _Scope | None) -> None:
        args = node.args
        if args.vararg or args.kwarg or args.posonlyargs or args.kwonlyargs or args.defaults:
            self.bad(node, "lambda takes plain positional parameters only")
        names: set[str] = set()
        for arg in args.args:
            self.check_binding(arg, arg.arg)
            names.add(arg.arg)
        self.expr(node.body, _Scope(names, scope))

    def e_Call(self, node: ast.Call, scope: _Scope | None) -> None:
        func = node.func
        takes_key = False
        if isinstance(func, ast.Name):
            name = func.id
            if name in self.functions and not (scope is not None and scope.has(name)):
                pass
            elif name in FORBIDDEN_NAMES or name.startswith("_"):
                self.check_load(func, scope)
            elif (scope is not None and scope.has(name)) or name in self.constants:
                self.bad(func, f"{name!r} is not a function")
            elif name == "isinstance":
                self.isinstance_call(node, scope)
                return
            elif name in BUILTINS or name in HOST_FUNCTIONS:
                takes_key = name in KEY_FUNCTION_TAKERS
            else:
                self.bad(func, f"function {name!r} is not defined")
        elif isinstance(func, ast.Attribute):
            receiver = func.value
            if func.attr.startswith("_"):
                self.bad(func, f"attributes starting with '_' are not allowed: {func.attr!r}")
            elif isinstance(receiver, ast.Name) and receiver.id == "storage":
                if func.attr not in STORAGE_METHODS:
                    self.bad(func, f"storage has no method {func.attr!r} (methods: get, pop)")
            elif func.attr not in METHODS:
                self.bad(func, f"method {func.attr!r} is not allowed")
            else:
                self.expr(receiver, scope)
                takes_key = func.attr == "sort"
                if (
                    func.attr == "format"
                    and isinstance(receiver, ast.Constant)
                    and isinstance(receiver.value, str)
                ):
                    self.format_string(receiver, receiver.value)
        else:
            self.bad(node, "only named functions and methods can be called")
            return
        seen: set[str] = set()
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.bad(arg, "'*' arguments are not allowed")
            else:
                self.expr(arg, scope)
        for kw in node.keywords:
            if kw.arg is None:
                self.bad(kw.value, "'**' arguments are not allowed")
                continue
            if kw.arg.startswith("_"):
                self.bad(kw.value, f"keyword names starting with '_' are not allowed: {kw.arg!r}")
            if kw.arg in seen:
                self.bad(kw.value, f"keyword argument repeated: {kw.arg!r}")
            seen.add(kw.arg)
            if isinstance(kw.value, ast.Lambda) and takes_key and kw.arg == "key":
                self.lambda_(kw.value, scope)
            else:
                self.expr(kw.value, scope)

    def isinstance_call(self, node: ast.Call, scope: _Scope | None) -> None:
        if len(node.args) != 2 or node.keywords:
            self.bad(node, "isinstance takes exactly two positional arguments")
            return
        self.expr(node.args[0], scope)
        spec = node.args[1]
        types = spec.elts if isinstance(spec, ast.Tuple) else [spec]
        for t in types:
            if not (isinstance(t, ast.Name) and t.id in TYPE_NAMES):
                self.bad(t, f"isinstance types must be among {', '.join(sorted(TYPE_NAMES))}")

    def format_string(self, node: ast.AST, text: str) -> None:
        try:
            parse_format(text)
        except (ValueError, KeyError) as exc:
            self.bad(node, f"format string: {exc}")


def check_source(source: str) -> tuple[CheckedModule | None, list[Problem]]:
    """Check a contract; returns the module (None if refused) and every problem found."""
    tree, problems = parse(source)
    if tree is None:
        return None, problems
    checker = _Checker()
    try:
        checker.module(tree)
    except RecursionError:  # cannot happen under MAX_EXPR_DEPTH; never let it escape
        return None, [Problem(1, 0, "source too complex")]
    if checker.problems:
        return None, sorted(checker.problems, key=lambda p: (p.line, p.col))
    return CheckedModule(tree, checker.functions, checker.constants), []


def validate(source: str) -> CheckedModule:
    """Return the checked module or raise ValidationError listing every problem."""
    module, problems = check_source(source)
    if module is None:
        raise ValidationError(problems)
    return module
