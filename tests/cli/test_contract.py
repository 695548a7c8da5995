"""``aidchain contract check`` and ``run``: output and exit codes."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli.contract import register
from cli.main import main

ROOT = Path(__file__).resolve().parents[2]

GOOD = """
def init():
    storage["n"] = 0

def bump(by=1):
    require(by > 0, "by must be positive")
    storage["n"] = storage.get("n", 0) + by
    emit("bumped", n=storage["n"])
    return (storage["n"], ctx.sender)

def divide(a, b):
    return a // b
"""

BAD = """import os

def f(x):
    return x / 2

class A:
    pass
"""


@pytest.fixture()
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.py"
    path.write_text(GOOD)
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["contract", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_check_ok(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "check", str(good))
    assert code == 0
    assert "ok" in out and "bump" in out


def test_check_reports_every_problem_with_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.py"
    path.write_text(BAD)
    code, out, _ = run_cli(capsys, "check", str(path))
    assert code == 1
    lines = out.strip().splitlines()
    assert lines[0] == f"{path}:1:0: import is not allowed"
    assert any(line.startswith(f"{path}:4:11: '/' is not allowed") for line in lines)
    assert any(line.startswith(f"{path}:6:0: class is not allowed") for line in lines)
    slash = next(i for i, line in enumerate(lines) if ":4:11: '/'" in line)
    assert lines[slash + 1] == (
        "    hint: floats are not allowed: amounts are integers in fen; use // and %"
    )


def test_check_hints_for_floats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "float.py"
    path.write_text("def pay():\n    return 12.5\n")
    code, out, _ = run_cli(capsys, "check", str(path))
    assert code == 1
    assert out.splitlines() == [
        f"{path}:2:11: float literals are not allowed (money is integer fen)",
        "    hint: floats are not allowed: amounts are integers in fen (1 yuan = 100 fen)",
    ]


def test_check_unreadable_file_is_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "check", str(tmp_path / "missing.py"))
    assert code == 2 and "cannot read" in err


def test_run_prints_one_json_object(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sender = "ab" * 32
    code, out, _ = run_cli(
        capsys,
        "run",
        str(good),
        "bump",
        "--args",
        '{"by": 5}',
        "--storage",
        '{"n": 10, "other": [1]}',
        "--sender",
        sender,
    )
    assert code == 0
    result = json.loads(out)
    assert set(result) == {"ok", "result", "error", "gas_used", "events", "storage"}
    assert result["ok"] is True and result["error"] is None
    assert result["result"] == [15, sender]  # tuples print as arrays
    assert result["storage"] == {"n": 15, "other": [1]}
    assert result["events"][0]["name"] == "bumped" and result["events"][0]["fields"] == {"n": 15}
    assert result["gas_used"] > 0


@pytest.mark.parametrize(
    ("method", "args", "error_type"),
    [
        ("divide", '{"a": 1, "b": 0}', "ZeroDivisionError"),
        ("bump", '{"by": 0}', "RequireFailed"),
        ("bump", '{"nope": 1}', "TypeError"),
        ("missing", "{}", "NoSuchMethod"),
    ],
)
def test_run_failure_exit_code_and_error(
    good: Path, capsys: pytest.CaptureFixture[str], method: str, args: str, error_type: str
) -> None:
    code, out, _ = run_cli(
        capsys, "run", str(good), method, "--args", args, "--storage", '{"n": 1}'
    )
    assert code == 1
    result = json.loads(out)
    assert result["ok"] is False and result["result"] is None
    assert result["error"]["type"] == error_type and isinstance(result["error"]["message"], str)
    assert result["storage"] == {"n": 1}


def test_run_out_of_gas(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "loop.py"
    path.write_text("def spin():\n    while True:\n        pass\n")
    code, out, _ = run_cli(capsys, "run", str(path), "spin", "--gas", "5000")
    result = json.loads(out)
    assert code == 1 and result["error"]["type"] == "OutOfGas" and result["gas_used"] == 5000


def test_run_invalid_contract_is_validation_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.py"
    path.write_text(BAD)
    code, out, _ = run_cli(capsys, "run", str(path), "f")
    assert code == 1 and json.loads(out)["error"]["type"] == "ValidationError"


@pytest.mark.parametrize(
    "extra",
    [
        ["--args", "[1]"],
        ["--args", "{bad"],
        ["--args", '{"x": 1.5}'],
        ["--storage", "3"],
        ["--sender", "xyz"],
        ["--gas", "0"],
        ["--gas", "999999999999"],
    ],
)
def test_run_bad_options_are_usage_errors(
    good: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    code, out, err = run_cli(capsys, "run", str(good), "bump", *extra)
    assert code == 2 and out == "" and err.startswith("error:")


def test_register_adds_all_commands() -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    for argv in (
        ["contract", "check", "f"],
        ["contract", "run", "f", "m"],
        ["contract", "deploy", "f", "--key", "k"],
        ["contract", "call", "a" * 64, "m", "--key", "k", "--wait"],
        ["contract", "query", "a" * 64, "m", "--args", "{}"],
    ):
        args = parser.parse_args(argv)
        assert callable(args.func)


def test_module_entry_point(good: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cli", "contract", "run", str(good), "bump"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["result"][0] == 1
