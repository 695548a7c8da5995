"""The checker: allow-list decisions, problem positions, and what the compiler relies on."""

from __future__ import annotations

import pytest

from contracts.runtime import run_local
from contracts.vm.checker import check_source, validate
from contracts.vm.errors import ValidationError
from contracts.vm.machine import load


def problems_of(source: str) -> list[tuple[int, int, str]]:
    module, problems = check_source(source)
    assert module is None
    return [(p.line, p.col, p.message) for p in problems]


def test_all_problems_reported_in_order_with_positions() -> None:
    source = (
        "import os\n\ndef f(x):\n    y = 1.5\n    return x / 2\n\ndef g():\n    return 1 << 2\n"
    )
    found = problems_of(source)
    assert [(line, col) for line, col, _ in found] == [(1, 0), (4, 8), (5, 11), (8, 11)]
    assert "float" in found[1][2] and "'/'" in found[2][2] and "LShift" in found[3][2]


def test_validate_raises_with_problems() -> None:
    with pytest.raises(ValidationError) as info:
        validate("def f():\n    return eval('1')\n")
    assert info.value.problems[0].line == 2
    assert info.value.error_type == "ValidationError"
    assert "eval" in info.value.message


def test_private_functions_are_callable_but_not_public() -> None:
    source = "def _double(x):\n    return 2 * x\n\ndef main(x):\n    return _double(x)\n"
    program = load(source)
    assert program.functions == ("main",)
    assert run_local(source, "main", {"x": 21}, gas=100_000)[0].result == 42
    assert "def _fn__double(" in program.python
    assert "dunder" not in program.python
    assert problems_of("def __init__():\n    return 1\n")[0][2].startswith(
        "function names starting with '__'"
    )
    assert "only be called" in problems_of(source + "\ndef h():\n    return _double\n")[0][2]


def test_locals_may_shadow_function_names() -> None:
    source = "def g():\n    return 1\n\ndef main():\n    g = 5\n    return g\n"
    assert run_local(source, "main", {}, gas=100_000)[0].result == 5


def test_duplicate_definitions_and_parameters() -> None:
    assert "defined twice" in problems_of("def f():\n    pass\n\ndef f():\n    pass\n")[0][2]
    assert "duplicate parameter" in problems_of("def f(a, a):\n    pass\n")[0][2]
    assert "repeated" in problems_of("def f():\n    return dict(a=1, a=2)\n")[0][2]


def test_module_constants_and_docstrings() -> None:
    source = '"""doc"""\nA = 5\nB = (1, "x", -2)\nC = {"k": [1, 2]}\n\ndef main():\n    """d"""\n    return A, B, C["k"]\n'
    assert run_local(source, "main", {}, gas=100_000)[0].result == [5, [1, "x", -2], [1, 2]]


def test_annotations_are_ignored() -> None:
    source = "def main(x: int = 3) -> int:\n    y: int = x + 1\n    z: str\n    return y\n"
    assert run_local(source, "main", {}, gas=100_000)[0].result == 4


def test_known_int_fast_path_still_checks_sizes() -> None:
    source = (
        "def main(n):\n    x = 3\n    for i in range(n):\n        x = x * x\n    return x > 0\n"
    )
    assert run_local(source, "main", {"n": 5}, gas=100_000)[0].result is True
    result = run_local(source, "main", {"n": 20}, gas=1_000_000)[0]
    assert result.error is not None and result.error["type"] == "LimitExceeded"


def test_int_inference_does_not_capture_non_ints() -> None:
    source = (
        "def main():\n    x = 0\n    x += True\n    y = 1\n    y = 'a' if False else y\n"
        "    z = 2\n    for z in ['p']:\n        pass\n    return x, y + 1, z\n"
    )
    assert run_local(source, "main", {}, gas=100_000)[0].result == [1, 2, "p"]


def test_is_only_with_singletons() -> None:
    assert run_local(
        "def main(x=None):\n    return x is None, True is not False\n", "main", {}, gas=10_000
    )[0].result == [True, True]
    assert "'is'" in problems_of("def f(a, b):\n    return a is b\n")[0][2]


def test_raw_source_limits_checked_before_parsing() -> None:
    deep = "def f():\n    return " + "[" * 5000 + "]" * 5000 + "\n"
    assert "brackets" in problems_of(deep)[0][2]
    long_line = "def f():\n    return " + "+".join(["1"] * 2000) + "\n"
    assert "tokens" in problems_of(long_line)[0][2]
    assert "bytes" in problems_of("#" * 40_000)[0][2]
    assert "syntax error" in problems_of("def f(:\n")[0][2]
    assert "UTF-8" in problems_of("def f():\n    return '\ud800'\n")[0][2]


NEWER_THAN_311 = {
    "fstring_same_quotes": "def main(x):\n    return f'{x['a']}'\n",
    "fstring_nested_same_quotes": "def main(x):\n    return f'{f'{x}'}'\n",
    "fstring_backslash": "def main(x):\n    return f'{\"\\n\".join(x)}'\n",
    "fstring_comment": "def main(x):\n    return f'{x # no\n}'\n",
    "type_parameters": "def main[T](x):\n    return x\n",
    "type_statement": "type X = int\ndef main(x):\n    return x\n",
}


@pytest.mark.parametrize("source", NEWER_THAN_311.values(), ids=NEWER_THAN_311.keys())
def test_syntax_newer_than_the_pinned_grammar_is_refused(source: str) -> None:
    """Refused on a 3.11 and on a 3.12 host alike, so validity never depends on the version."""
    problems = problems_of(source)
    assert problems and problems[0][0] >= 1


def test_receipts_do_not_carry_the_parsers_wording() -> None:
    result, _ = run_local("def main(:\n    pass\n", "main", {}, gas=100_000)
    assert result.error == {
        "type": "ValidationError",
        "message": "contract refused: syntax error (run `aidchain contract check` for details)",
    }
    assert result.location is None


def test_valid_fstrings_of_311_still_pass() -> None:
    source = 'def main(x):\n    return f\'{x!r:>5} {"a"}\' + f"""{\'b\'}"""\n'
    assert run_local(source, "main", {"x": 1}, gas=100_000)[0].result == "    1 ab"
