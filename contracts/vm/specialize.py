"""What the compiler may assume about a contract function before it compiles it.

Two questions, both answered from the checked AST alone (so every node compiles the same code):

- ``is_leaf``: can the function's own frame go uncounted in the VM call depth? The depth only
  matters to code that runs *inside* the frame and checks it: other contract functions (they
  count themselves), and lazy iterators and generators (they count a frame while they advance,
  see ``iterators.py``). A leaf reaches none of them: it names no contract function, no host
  ``call``, builds no generator or lazy iterator and iterates nothing but ``range(...)`` (any
  other value could be a generator handed in by its caller). An exception ends the whole transaction, so a leaf only
  has to check the depth on entry, not count it.
- ``numeric_params``: the parameters used as numbers and never as containers; the compiler
  compiles the body a second time assuming they hold ints, behind a type check on entry.
"""

from __future__ import annotations

import ast

# Builtins and host functions that never iterate their arguments nor run contract code.
_LEAF_CALLS = frozenset(
    "len abs int str bool isinstance divmod pow range require sha256 balance".split()
)
_MINMAX = frozenset({"min", "max"})  # iterate only their single argument
# Methods that never iterate an argument (``join``, ``extend``, ``update`` and the set
# methods do).
_LEAF_METHODS = frozenset(
    "lower upper strip lstrip rstrip startswith endswith find replace isdigit isalpha isalnum "
    "isupper islower zfill ljust rjust center split count index format append get pop insert "
    "copy keys values items setdefault".split()
)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp)
_ITERATING = (ast.GeneratorExp, ast.Starred)


def _over_range(node: ast.expr) -> bool:
    """``range(...)``: iterating it runs no contract code and no generator."""
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range"
    )


def _iterates_unknown(node: ast.AST) -> bool:
    """A loop or comprehension over anything but ``range(...)`` (it could be a generator)."""
    if isinstance(node, ast.For):
        return not _over_range(node.iter)
    if isinstance(node, _COMPREHENSIONS):
        return not all(_over_range(gen.iter) for gen in node.generators)
    return isinstance(node, _ITERATING)


_ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_NUMERIC_CALLS = frozenset({"range", "divmod", "pow", "abs"})
_ITERATING_CALLS = frozenset(
    "len sorted list tuple dict set frozenset sum any all enumerate zip reversed".split()
)


def _is_leaf_call(node: ast.Call) -> bool:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr in _LEAF_METHODS
    if isinstance(func, ast.Name):
        if func.id in _MINMAX:
            return len(node.args) >= 2
        return func.id in _LEAF_CALLS
    return False


def _unpacks(node: ast.AST) -> bool:
    """An assignment to a tuple or list target iterates its value (a literal of the same
    length is only a tuple of values)."""
    if not isinstance(node, ast.Assign):
        return False
    value = node.value
    for target in node.targets:
        if isinstance(target, (ast.Tuple, ast.List)) and not (
            isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts)
        ):
            return True
    return False


def is_leaf(fn: ast.FunctionDef, functions: set[str]) -> bool:
    raised = {id(node.exc) for node in ast.walk(fn) if isinstance(node, ast.Raise)}
    for node in ast.walk(fn):
        if node is fn or id(node) in raised:  # ``raise ValueError(...)`` only builds a message
            continue
        if _iterates_unknown(node) or _unpacks(node):
            return False
        if isinstance(node, ast.Name) and node.id in functions:
            return False
        if isinstance(node, ast.Call) and not _is_leaf_call(node):
            return False
        if isinstance(node, ast.Compare) and any(
            isinstance(op, (ast.In, ast.NotIn)) for op in node.ops
        ):
            return False
    return True


def _names(node: ast.AST | None, params: set[str]) -> set[str]:
    """``node`` itself when it is the bare name of a parameter."""
    if isinstance(node, ast.Name) and node.id in params:
        return {node.id}
    return set()


def _uses(node: ast.AST, params: set[str]) -> tuple[set[str], set[str]]:
    """Parameters in a number's place, and parameters in a container's place, in ``node``."""
    numeric: set[str] = set()
    container: set[str] = set()
    if isinstance(node, ast.BinOp):
        numeric |= _names(node.left, params) | _names(node.right, params)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        numeric |= _names(node.operand, params)
    elif isinstance(node, ast.AugAssign):
        numeric |= _names(node.value, params) | _names(node.target, params)
    elif isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
        for index, op in enumerate(node.ops):
            left, right = operands[index], operands[index + 1]
            pair = _names(left, params) | _names(right, params)
            if isinstance(op, _ORDERING) and not (_is_str(left) or _is_str(right)):
                numeric |= pair
            elif isinstance(op, (ast.In, ast.NotIn)):
                container |= _names(operands[index + 1], params)
    elif isinstance(node, ast.Subscript):
        container |= _names(node.value, params)
        numeric |= _names(node.slice, params)
    elif isinstance(node, (ast.For, ast.comprehension)):
        container |= _names(node.iter, params)
    elif isinstance(node, ast.Attribute):
        container |= _names(node.value, params)
    elif isinstance(node, ast.Call):
        named = set().union(*(_names(arg, params) for arg in node.args))
        name = node.func.id if isinstance(node.func, ast.Name) else ""
        if name in _NUMERIC_CALLS or (name in _MINMAX and len(node.args) >= 2):
            numeric |= named
        elif name in _ITERATING_CALLS or name in _MINMAX:
            container |= named
    return numeric, container


def _is_str(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is str


def numeric_params(fn: ast.FunctionDef, params: set[str]) -> set[str]:
    """Parameters used in a number's place somewhere and never in a container's place."""
    numeric: set[str] = set()
    container: set[str] = set()
    for node in ast.walk(fn):
        as_number, as_container = _uses(node, params)
        numeric |= as_number
        container |= as_container
    return numeric - container
