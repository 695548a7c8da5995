"""The attack suite: every escape or resource attack is refused at check time or stopped at run
time with a VM error, quickly and without large host allocations."""

from __future__ import annotations

import resource
import time

import pytest

from contracts.runtime import run_local
from contracts.vm.checker import check_source
from contracts.vm.errors import Problem

GAS = 1_000_000
TIME_LIMIT_S = 3.0  # CPU seconds of this process (time.process_time): load elsewhere cannot fail it
VM_STOPS = {"OutOfGas", "LimitExceeded", "Unsupported"}


def fn(body: str, *extra: str) -> str:
    lines = "\n".join("    " + line for line in body.splitlines())
    return "def main():\n" + lines + "\n" + "".join("\n" + e + "\n" for e in extra)


# (id, source, substring expected in the first problem's message)
REFUSED: list[tuple[str, str, str]] = [
    ("dunder_class", fn("return ().__class__"), "'_'"),
    ("dunder_mro", fn("return [].__class__.__mro__"), "'_'"),
    ("dunder_method_call", fn("return 'a'.__len__()"), "'_'"),
    ("format_attr_const", fn("return '{0.__class__}'.format(1)"), "attribute and index access"),
    ("format_index_const", fn("return '{0[0]}'.format([1])"), "attribute and index access"),
    ("format_nested_const", fn("return '{0:{1}}'.format(1, 5)"), "nested"),
    ("fstring_nested_spec", fn("w = 5\nreturn f'{1:{w}}'"), "nested fields"),
    ("fstring_huge_width", fn("return f'{1:>1000000000}'"), "width"),
    ("fstring_ascii_conv", fn("return f'{1!a}'"), "conversions"),
    ("fstring_float_type", fn("return f'{1:f}'"), "format spec"),
    ("import", "import os\n" + fn("return 1"), "import"),
    ("import_from", "from os import path\n" + fn("return 1"), "import"),
    ("import_in_function", fn("import os\nreturn 1"), "import"),
    ("dunder_import", fn("return __import__('os')"), "'_'"),
    ("eval", fn("return eval('1')"), "not allowed"),
    ("exec", fn("exec('x = 1')"), "not allowed"),
    ("compile", fn("return compile('1', 'f', 'eval')"), "not allowed"),
    ("open", fn("return open('/etc/passwd')"), "not allowed"),
    ("getattr", fn("return getattr(1, 'real')"), "not allowed"),
    ("setattr", fn("setattr(1, 'x', 2)"), "not allowed"),
    ("type", fn("return type(1)"), "not allowed"),
    ("vars", fn("return vars()"), "not allowed"),
    ("globals", fn("return globals()"), "not allowed"),
    ("locals", fn("return locals()"), "not allowed"),
    ("print", fn("print(1)"), "not allowed"),
    ("id", fn("return id(1)"), "not allowed"),
    ("hash", fn("return hash('a')"), "not allowed"),
    ("iter_next", fn("return next(iter([1]))"), "not allowed"),
    ("builtin_as_value", fn("f = len\nreturn f([1])"), "only be called"),
    ("function_as_value", fn("return helper", "def helper():\n    return 1"), "only be called"),
    ("lambda_as_value", fn("f = lambda x: x\nreturn 1"), "lambda"),
    ("gi_frame", fn("g = [1]\nreturn g.gi_frame"), "not allowed"),
    ("tb_frame", fn("x = 1\nreturn x.tb_frame"), "not allowed"),
    ("f_globals_via_method", fn("return 'a'.f_globals()"), "not allowed"),
    ("yield", fn("yield 1"), "yield"),
    ("try", fn("try:\n    x = 1\nexcept Exception:\n    pass\nreturn 1"), "try"),
    ("raise_from", fn("raise ValueError('x') from None"), "from"),
    ("raise_bare", fn("raise"), "bare"),
    ("raise_other_class", fn("raise SystemExit(1)"), "builtin exception class"),
    ("raise_value", fn("e = 3\nraise e"), "builtin exception class"),
    ("raise_two_args", fn("raise ValueError('a', 'b')"), "at most one"),
    ("exception_as_value", fn("return ValueError"), "only be raised"),
    ("exception_assigned", fn("ValueError = 1"), "reserved"),
    ("underscore_dunder", fn("__ = 1"), "'_'"),
    ("with", fn("with x:\n    pass"), "with"),
    ("class", "class A:\n    pass\n" + fn("return 1"), "class"),
    ("global", fn("global x\nx = 1"), "global"),
    ("nonlocal_nested_def", fn("def inner():\n    return 1\nreturn inner()"), "module level"),
    ("async", "async def main():\n    return 1\n", "async"),
    ("await", fn("return await x"), "await"),
    ("decorator", "@staticmethod\ndef main():\n    return 1\n", "decorators"),
    ("float_literal", fn("return 1.5"), "float"),
    ("true_division", fn("return 1 / 2"), "'/'"),
    ("walrus", fn("return (y := 1)"), "':='"),
    ("starred_call", fn("return max(*[1, 2])"), "'*'"),
    ("kwargs_call", fn("return dict(**{'a': 1})"), "'**'"),
    ("bitwise", fn("return 1 << 100000"), "not allowed"),
    ("matmul", fn("return [1] @ [2]"), "not allowed"),
    ("is_int", fn("return 1 is 1"), "'is'"),
    ("underscore_name", fn("_x = 1\nreturn _x"), "'_'"),
    ("storage_as_value", fn("s = storage\nreturn s"), "storage"),
    ("storage_dunder", fn("return storage.__dict__"), "'_'"),
    ("storage_keys", fn("return storage.keys()"), "storage has no method"),
    ("ctx_as_value", fn("c = ctx\nreturn c"), "ctx"),
    ("ctx_unknown_field", fn("return ctx.frame"), "ctx has no field"),
    ("ctx_dunder", fn("return ctx.__class__"), "ctx has no field"),
    ("method_not_allowed", fn("return 'a'.encode()"), "not allowed"),
    ("attribute_value", fn("x = [1]\nreturn x.append"), "only method calls"),
    ("type_attribute", fn("return str.join('', ['a'])"), "only be called"),
    ("printf_format", fn("return '%s' % (1,)"), "printf"),
    ("bytes_literal", fn("return b'x'"), "bytes"),
    ("assign_builtin", fn("len = 5\nreturn len"), "reserved"),
    ("isinstance_type", fn("return isinstance(1, type)"), "isinstance"),
    ("undefined_name", fn("return nothing"), "not defined"),
    ("break_outside_loop", fn("break"), "outside a loop"),
    ("slice_assign", fn("x = [1, 2]\nx[0:1] = [5]\nreturn x"), "slice"),
    ("del_name", fn("x = 1\ndel x\nreturn 1"), "del"),
    ("module_statement", "x = [i for i in range(3)]\n" + fn("return 1"), "literals"),
    ("module_call", "len([1])\n" + fn("return 1"), "module level"),
    ("mutable_default", "def main(x=[]):\n    return x\n", "defaults"),
    ("varargs", "def main(*args):\n    return args\n", "*args"),
    ("match", fn("match 1:\n    case 1:\n        pass"), "match"),
    ("giant_int_literal", fn("return " + "9" * 1500), "larger than"),
    ("deep_parens", fn("return " + "(" * 200 + "1" + ")" * 200), "brackets nested"),
    ("deep_lists", fn("return " + "[" * 100 + "]" * 100), "brackets nested"),
    (
        "deep_blocks",
        "def main():\n"
        + "".join(" " * (i + 1) + "if 1:\n" for i in range(40))
        + " " * 41
        + "pass\n",
        "nested deeper",
    ),
    ("long_operator_chain", fn("return " + "1+" * 3000 + "1"), "tokens"),
    ("long_source", fn("x = 1\n" * 20_000), "bytes"),
    ("nul_byte", "def main():\n    return '\x00'\n", "NUL"),
    ("syntax_error", "def main(:\n    pass\n", "syntax"),
    ("deep_unary", fn("return " + "-" * 200 + "1"), "nested deeper"),
    ("deep_not", fn("return " + "not " * 200 + "1"), "nested deeper"),
    ("lambda_default", fn("return sorted([1], key=lambda x=1: x)"), "plain positional"),
    ("builtins_name", fn("return __builtins__"), "'_'"),
    ("builtins_subscript", fn("return __builtins__['eval']('1')"), "only named functions"),
    ("subclasses_walk", fn("return [].__class__.__base__.__subclasses__()"), "'_'"),
    ("fstring_dunder", fn("x = 1\nreturn f'{x.__class__}'"), "'_'"),
    ("format_auto_attr", fn("return '{.__class__}'.format(1)"), "attribute and index access"),
    ("format_named_attr", fn("return '{a.real}'.format(a=1)"), "attribute and index access"),
    ("format_builtin", fn("return format(1, 'x')"), "not defined"),
    ("lambda_code", fn("return sorted([1], key=(lambda x: x).__code__)"), "'_'"),
    ("builtin_self", fn("return sorted.__self__"), "'_'"),
    ("method_object", fn("m = storage.get\nreturn m"), "only method calls"),
    ("ctx_sender_dunder", fn("return ctx.sender.__class__"), "'_'"),
    ("unicode_underscore", fn("\uff3fx = 1\nreturn 1"), "syntax error"),
    ("key_builtin_value", fn("return sorted([1], key=len)"), "only be called"),
    ("key_function_value", fn("return sorted([1], key=main)"), "only be called"),
]


@pytest.mark.parametrize(
    ("source", "expected"), [(s, e) for _, s, e in REFUSED], ids=[i for i, _, _ in REFUSED]
)
def test_refused_at_check_time(source: str, expected: str) -> None:
    start = time.process_time()
    module, problems = check_source(source)
    assert module is None
    assert problems and all(isinstance(p, Problem) and p.line >= 1 for p in problems)
    assert any(expected in p.message for p in problems), problems
    assert time.process_time() - start < TIME_LIMIT_S


# (id, source, acceptable error types)
STOPPED: list[tuple[str, str, set[str]]] = [
    ("huge_exponent", fn("return 10 ** 10 ** 9"), {"LimitExceeded"}),
    ("huge_exponent_var", fn("e = 100000\nreturn 2 ** e"), {"LimitExceeded"}),
    ("repeated_squaring", fn("x = 3\nwhile True:\n    x = x * x"), {"LimitExceeded"}),
    ("repeated_doubling", fn("x = 3\nwhile True:\n    x = x + x"), {"LimitExceeded", "OutOfGas"}),
    ("big_string_mul", fn("return 'x' * 10 ** 10"), VM_STOPS),
    ("big_list_mul", fn("return [0] * 10 ** 9"), VM_STOPS),
    ("big_tuple_mul", fn("return (0, 1) * 10 ** 9"), VM_STOPS),
    ("big_imul", fn("x = [0]\nx *= 10 ** 9\nreturn 1"), VM_STOPS),
    ("string_doubling", fn("s = 'x'\nwhile True:\n    s = s + s"), VM_STOPS),
    ("list_doubling", fn("s = [1]\nwhile True:\n    s += s"), VM_STOPS),
    ("big_join", fn("return ','.join(['x' * 1000] * 100000)"), VM_STOPS),
    ("big_replace", fn("s = 'a' * 100000\nreturn s.replace('', 'b' * 1000)"), VM_STOPS),
    ("big_format_width", fn("return '{:>99999}'.format(1)"), VM_STOPS),
    ("format_attr_runtime", fn("t = '{0.__class__}'\nreturn t.format(1)"), {"Unsupported"}),
    ("format_index_runtime", fn("t = '{0[0]}'\nreturn t.format([1])"), {"Unsupported"}),
    ("printf_runtime", fn("t = '%s'\nreturn t % (1,)"), {"Unsupported"}),
    ("negative_power", fn("return 2 ** -1"), {"Unsupported"}),
    ("deep_recursion", fn("return f(0)", "def f(n):\n    return f(n + 1)"), {"RecursionError"}),
    (
        "mutual_recursion",
        fn("return f(0)", "def f(n):\n    return g(n)\ndef g(n):\n    return f(n)"),
        {"RecursionError"},
    ),
    (
        "recursion_through_sort_key",
        fn("return f(0)", "def f(n):\n    return sorted([1], key=lambda x: f(n + 1))"),
        {"RecursionError"},
    ),
    (
        "recursion_through_comprehension",
        fn("return f(0)", "def f(n):\n    return [f(n + 1) for i in range(1)]"),
        {"RecursionError"},
    ),
    ("infinite_while", fn("while True:\n    pass"), {"OutOfGas"}),
    ("infinite_for_range", fn("for i in range(10 ** 18):\n    pass"), {"OutOfGas"}),
    ("self_extending_loop", fn("xs = [1]\nfor x in xs:\n    xs.append(x)"), {"OutOfGas"}),
    (
        "dict_mutation_during_iteration",
        fn("d = {'a': 1}\nfor k in d:\n    d[k + 'x'] = 1"),
        {"RuntimeError"},
    ),
    (
        "deep_list_compare",
        fn("x = []\ny = []\nfor i in range(5000):\n    x = [x]\n    y = [y]\nreturn x == y"),
        {"LimitExceeded"},
    ),
    (
        "deep_list_str",
        fn("x = []\nfor i in range(5000):\n    x = [x]\nreturn str(x)"),
        {"LimitExceeded"},
    ),
    (
        "deep_list_result",
        fn("x = []\nfor i in range(5000):\n    x = [x]\nreturn x"),
        {"LimitExceeded"},
    ),
    (
        "deep_tuple_hash",
        fn("t = ()\nfor i in range(5000):\n    t = (t,)\nd = {}\nd[t] = 1"),
        {"Unsupported"},
    ),
    (
        "deep_tuple_lookup",
        fn("t = ()\nfor i in range(5000):\n    t = (t,)\nreturn {'a': 1}.get(t)"),
        {"LimitExceeded"},
    ),
    (
        "deep_tuple_in_dict",
        fn("t = ()\nfor i in range(5000):\n    t = (t,)\nreturn t in {}"),
        {"LimitExceeded"},
    ),
    (
        "deep_fstring",
        fn("x = []\nfor i in range(5000):\n    x = [x]\nreturn f'{x}'"),
        {"LimitExceeded"},
    ),
    (
        "deep_sort_keys",
        fn("x = []\nfor i in range(1000):\n    x = [x]\nreturn sorted([x, x])"),
        {"LimitExceeded"},
    ),
    (
        "deep_storage_write",
        fn("x = []\nfor i in range(1000):\n    x = [x]\nstorage['a'] = x"),
        {"LimitExceeded"},
    ),
    ("cyclic_list_str", fn("x = []\nx.append(x)\nreturn str(x)"), {"LimitExceeded"}),
    (
        "cyclic_list_compare",
        fn("x = []\nx.append(x)\ny = []\ny.append(y)\nreturn x == y"),
        {"LimitExceeded"},
    ),
    (
        "exponential_dag_compare",
        fn("x = [1]\ny = [1]\nfor i in range(30):\n    x = [x, x]\n    y = [y, y]\nreturn x == y"),
        {"OutOfGas"},
    ),
    (
        "exponential_dag_in",
        fn("x = [1]\nfor i in range(25):\n    x = [x, x]\nreturn [1] in [x]"),
        {"OutOfGas"},
    ),
    ("sum_huge_range", fn("return sum(range(10 ** 18))"), VM_STOPS),
    ("all_huge_range", fn("return all(range(1, 10 ** 18))"), VM_STOPS),
    ("in_huge_range", fn("return 'a' in range(10 ** 18)"), VM_STOPS),
    ("list_huge_range", fn("return list(range(10 ** 9))"), VM_STOPS),
    ("sorted_huge_range", fn("return sorted(range(10 ** 8))"), VM_STOPS),
    ("zip_huge", fn("return list(zip(range(10 ** 9), range(10 ** 9)))"), VM_STOPS),
    ("zip_returned", fn("return zip(range(10 ** 9), range(10 ** 9))"), {"InvalidValue"}),
    ("enumerate_endless", fn("for i, x in enumerate(range(10 ** 12)):\n    pass"), {"OutOfGas"}),
    ("reversed_drain", fn("return sum(reversed(range(10 ** 12)))"), VM_STOPS),
    ("zip_text", fn("return str(zip([1], [2]))"), {"Unsupported"}),
    ("lazy_in_endless", fn("return -1 in enumerate(range(10 ** 12))"), {"OutOfGas"}),
    ("huge_int_parse", fn("return int('9' * 5000)"), {"LimitExceeded"}),
    ("huge_slice", fn("return list(range(10 ** 12))[::1]"), VM_STOPS),
    ("big_storage_value", fn("storage['a'] = 'x' * 300000"), {"LimitExceeded"}),
    ("big_result", fn("return 'x' * 100000"), {"LimitExceeded"}),
    ("big_event", fn("emit('e', data='x' * 100000)"), {"LimitExceeded"}),
    ("many_events", fn("for i in range(1000):\n    emit('e', i=i)"), {"LimitExceeded"}),
    ("long_storage_key", fn("storage['k' * 1000] = 1"), {"LimitExceeded"}),
    (
        "string_scan_loop",
        fn("s = 'a' * 500000\nn = 0\nwhile True:\n    n += s.count('b')"),
        {"OutOfGas"},
    ),
    (
        "string_compare_loop",
        fn("a = 'a' * 500000\nb = 'a' * 500000\nwhile a == b:\n    pass"),
        {"OutOfGas"},
    ),
    ("list_in_loop", fn("xs = list(range(100000))\nwhile -1 not in xs:\n    pass"), {"OutOfGas"}),
    ("insert_front_loop", fn("xs = []\nwhile True:\n    xs.insert(0, 1)"), VM_STOPS),
    ("bigint_loop", fn("x = 2 ** 4000\nwhile True:\n    y = x * x // x"), VM_STOPS),
    (
        "bigint_mod_loop",
        fn("x = 2 ** 4000 - 1\ny = 2 ** 3000 + 1\nwhile True:\n    z = x % y"),
        {"OutOfGas"},
    ),
    ("str_of_int_loop", fn("x = 2 ** 4000\nwhile True:\n    s = str(x)"), {"OutOfGas"}),
    ("append_forever", fn("xs = []\nwhile True:\n    xs.append(0)"), VM_STOPS),
    ("dict_grow_forever", fn("d = {}\ni = 0\nwhile True:\n    d[i] = i\n    i += 1"), VM_STOPS),
    (
        "str_dict_grow_forever",
        fn("d = {}\ni = 0\nwhile True:\n    d[str(i)] = i\n    i += 1"),
        VM_STOPS,
    ),
    (
        "list_index_store_loop",
        fn("xs = [0] * 10\ni = 0\nwhile True:\n    xs[i % 10] = xs\n    i += 1"),
        {"OutOfGas"},
    ),
    ("aug_subscript_growth", fn("d = {'s': 'x'}\nwhile True:\n    d['s'] += d['s']"), VM_STOPS),
    (
        "hash_flood_big_ints",
        fn("d = {}\nfor i in range(100000):\n    d[i * (2 ** 61 - 1)] = i"),
        {"Unsupported"},
    ),
    (
        "hash_flood_tuples",
        fn("d = {}\nfor i in range(100000):\n    d[(i, 7)] = i"),
        {"Unsupported"},
    ),
    ("tuple_key_display", fn("return {(1, 2): 3}"), {"Unsupported"}),
    ("tuple_key_setdefault", fn("d = {}\nd.setdefault((1,), 0)"), {"Unsupported"}),
    ("tuple_key_dict_call", fn("return dict([((1,), 2)])"), {"Unsupported"}),
    ("range_key", fn("d = {}\nd[range(3)] = 1"), {"Unsupported"}),
    ("huge_key_error", fn("k = 'x' * 500000\nreturn {}[k]"), {"KeyError"}),
    ("genexp_endless", fn("return sum(x for x in range(10 ** 12))"), {"OutOfGas"}),
    ("genexp_any_endless", fn("return any(x < 0 for x in range(10 ** 12))"), {"OutOfGas"}),
    ("genexp_drain", fn("return list(x for x in range(10 ** 12))"), VM_STOPS),
    (
        "genexp_chain",
        fn("g = (x for x in [1])\nfor i in range(10000):\n    g = (x for x in g)\nreturn list(g)"),
        {"RecursionError"},
    ),
    (
        "enumerate_chain",
        fn("g = [1]\nfor i in range(10000):\n    g = enumerate(g)\nreturn list(g)"),
        {"RecursionError"},
    ),
    ("set_from_huge_range", fn("return set(range(10 ** 9))"), VM_STOPS),
    ("setcomp_endless", fn("return {x for x in range(10 ** 12)}"), VM_STOPS),
    ("set_grow_forever", fn("s = set()\ni = 0\nwhile True:\n    s.add(i)\n    i += 1"), VM_STOPS),
    ("set_union_growing", fn("s = {0}\nwhile True:\n    s = s | {len(s)}"), VM_STOPS),
    ("set_union_loop", fn("s = {1}\nwhile True:\n    s = s | {1}"), VM_STOPS),
    ("set_tuple_element", fn("return {(1, 2)}"), {"Unsupported"}),
    ("set_big_int_element", fn("s = set()\ns.add(2 ** 61 * 3)"), {"Unsupported"}),
    ("zfill_huge", fn("return 'x'.zfill(10 ** 9)"), VM_STOPS),
    ("ljust_loop", fn("s = 'x'\nwhile True:\n    s = s.ljust(len(s) * 2)"), VM_STOPS),
    ("pow_mod_huge", fn("while True:\n    x = pow(3, 2 ** 4000, 2 ** 4000 + 1)"), {"OutOfGas"}),
    ("list_copy_loop", fn("xs = [0] * 100000\nwhile True:\n    ys = xs.copy()"), VM_STOPS),
    (
        "dict_or_loop",
        fn("d = {str(i): i for i in range(10000)}\nwhile True:\n    e = d | d"),
        VM_STOPS,
    ),
    ("raise_huge_message", fn("raise ValueError('x' * 900000)"), {"ValueError"}),
]


@pytest.mark.parametrize(
    ("source", "expected"), [(s, e) for _, s, e in STOPPED], ids=[i for i, _, _ in STOPPED]
)
def test_stopped_at_run_time(source: str, expected: set[str]) -> None:
    module, problems = check_source(source)
    assert module is not None, problems
    start = time.process_time()
    result, _ = run_local(source, "main", {}, gas=GAS)
    elapsed = time.process_time() - start
    assert not result.ok
    assert result.error is not None and result.error["type"] in expected, result.error
    assert elapsed < TIME_LIMIT_S
    assert 0 < result.gas_used <= GAS


def test_attack_suite_memory_is_bounded() -> None:
    """Run every run-time attack again and check the process' peak RSS barely moved."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    for _, source, _ in STOPPED:
        run_local(source, "main", {}, gas=GAS)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 256


def test_errors_carry_only_plain_data() -> None:
    result, _ = run_local(fn("return {}['missing']"), "main", {}, gas=GAS)
    # CPython's own wording changes between versions; receipts must not: the VM names the key
    assert result.error == {"type": "KeyError", "message": "key not found: 'missing'"}
    receipt = result.to_receipt()
    assert all(isinstance(v, (str, int, bool, list, dict, type(None))) for v in receipt.values())
    assert receipt["error_location"] == {
        "function": "main",
        "line": 2,
        "col": 4,
        "trace": [{"function": "main", "line": 2, "col": 4}],
    }


def test_cpython_error_messages_are_version_independent() -> None:
    """Receipts carry a fixed text per error class, never the interpreter's own wording."""
    cases = {
        "return 1 // 0": ("ZeroDivisionError", "division or modulo by zero"),
        "return [1][5]": ("IndexError", "list index out of range"),
        "return 1 + 'a'": ("TypeError", "unsupported operand type(s) for +: 'int' and 'str'"),
        "return int('x')": ("ValueError", "invalid literal for int(): 'x'"),
        "return f(1)|def f(a, b):\n    return a": (
            "TypeError",
            "f() missing required argument(s): 'b'",
        ),
        "return f(1, c=2)|def f(a):\n    return a": (
            "TypeError",
            "f() got an unexpected keyword argument 'c'",
        ),
        "return min([1], foo=2)": ("TypeError", "min() got an unexpected keyword argument 'foo'"),
        "return [1] < 'a'": (
            "TypeError",
            "'<' not supported between instances of 'list' and 'str'",
        ),
        "return storage['nothing']": ("KeyError", "storage has no key 'nothing'"),
        "return {'a': 1}['b' * 100]": ("KeyError", "key not found: '" + "b" * 60 + "'..."),
        "d = {'a': 1}\nfor k in d:\n    d['b'] = 2": (
            "RuntimeError",
            "dictionary changed size during iteration",
        ),
        "assert 1 == 2, 'custom text'": ("AssertionError", "custom text"),
    }
    for text, expected in cases.items():
        body, _, helper = text.partition("|")
        result, _ = run_local(fn(body, helper), "main", {}, gas=GAS)
        assert (result.error["type"], result.error["message"]) == expected, text  # type: ignore[index]


def test_namespace_has_no_builtins() -> None:
    """Even the generated code has no builtins: only the VM's helpers are reachable."""
    from contracts.vm.machine import load

    program = load(fn("return 1"))
    namespace = program.instantiate({})
    assert namespace["__builtins__"] == {}


def test_attacks_stay_bounded_at_the_maximum_gas() -> None:
    """With the largest gas a transaction may carry, every attack still ends quickly."""
    from chain.limits import MAX_CALL_GAS

    for ident, source, expected in STOPPED:
        # CPU time of this process, not wall time: other load on the machine must not fail it
        start = time.process_time()
        result, _ = run_local(source, "main", {}, gas=MAX_CALL_GAS)
        elapsed = time.process_time() - start
        assert result.error is not None, ident
        assert result.error["type"] in expected | {"OutOfGas"}, (ident, result.error)
        assert elapsed < TIME_LIMIT_S, (ident, elapsed)


LEAF_AT_DEPTH = """
def leaf(x):
    total = 0
    for i in range(x):
        total += i & 1
    return total - len([i for i in range(x)]) + x

def down(n):
    if n == 0:
        return leaf(3)
    return down(n - 1)

def main(n):
    return down(n)
"""


@pytest.mark.parametrize(("n", "ok"), [(61, True), (62, False)])
def test_leaf_frames_meet_the_depth_limit_like_counted_frames(n: int, ok: bool) -> None:
    """A leaf (here looping over range) checks the depth instead of counting its frame:
    main + down(n)...down(0) is n + 2 frames, so the leaf is frame n + 3 and must fail exactly
    past MAX_CALL_DEPTH (64)."""
    result, _ = run_local(LEAF_AT_DEPTH, "main", {"n": n}, gas=GAS)
    if ok:
        assert result.ok and result.result == 1
    else:
        assert result.error is not None and result.error["type"] == "RecursionError"
