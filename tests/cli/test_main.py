"""``cli.main``: every command group is wired in, and errors become the documented exit codes."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from chain.crypto import KeyPair
from chain.keyfile import save_key
from cli.common import DEFAULT_RPC, LOCAL_RPC
from cli.main import COMMANDS, GROUPS, build_parser, main

ROOT = Path(__file__).resolve().parents[2]


def closed_port_url() -> str:
    """A loopback URL nothing listens on (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.mark.parametrize(
    "argv",
    [
        ["cluster", "init", "--dir", "d"],
        ["cluster", "up", "--dir", "d"],
        ["node", "start", "--config", "c.json"],
        ["genesis", "new", "--chain-id", "c", "--out", "g.json"],
        ["genesis", "show", "g.json"],
        ["keys", "new", "--out", "k.json"],
        ["tx", "transfer", "--key", "k", "--to", "a" * 64, "--amount", "1"],
        ["tx", "get", "h"],
        ["tx", "prove", "h"],
        ["verify", "p.json", "--genesis", "g.json"],
        ["status"],
        ["account", "a" * 64],
        ["block", "latest"],
        ["bench", "--dir", "d"],
        ["contract", "check", "f.py"],
        ["sim", "--seeds", "1"],
    ],
)
def test_every_command_group_is_registered(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert callable(args.func)


def test_default_rpc_is_node0_of_a_local_cluster() -> None:
    assert LOCAL_RPC == "http://127.0.0.1:26600/"
    assert DEFAULT_RPC.startswith("http")


def test_unreachable_node_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--rpc", closed_port_url()]) == 3
    assert "cannot reach node" in capsys.readouterr().err


def test_bad_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["node", "start", "--config", str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().err.startswith("error:")


def test_key_file_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "me.key"
    assert main(["keys", "new", "--out", str(key)]) == 0
    assert main(["keys", "new", "--out", str(key)]) == 2  # refuses to overwrite
    key.chmod(0o644)
    argv = ["tx", "transfer", "--key", str(key), "--to", "b" * 64, "--amount", "1"]
    assert main([*argv, "--rpc", closed_port_url()]) == 2
    assert "chmod 600" in capsys.readouterr().err


@pytest.mark.parametrize(("to", "amount"), [("not-hex", "1"), ("b" * 64, "0"), ("b" * 64, "-5")])
def test_bad_transfer_is_usage_error_before_any_rpc(
    tmp_path: Path, to: str, amount: str, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "me.key"
    save_key(key, KeyPair.generate())
    argv = ["tx", "transfer", "--key", str(key), "--to", to, "--amount", amount]
    assert main([*argv, "--rpc", closed_port_url()]) == 2  # 3 would mean it tried the node
    assert capsys.readouterr().err.startswith("error:")


def test_module_and_help_run_as_a_user_would() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cli", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    for group in ("cluster", "node", "genesis", "keys", "tx", "bench", "contract", "sim"):
        assert group in proc.stdout
    assert "exit codes" in proc.stdout


def test_a_reader_that_goes_away_stops_the_cli_quietly(tmp_path: Path) -> None:
    """`aidchain ... | head` must not end in a BrokenPipeError traceback."""
    script = (
        "import sys, types\n"
        "from cli import main as m\n"
        "def spew(args):\n"
        "    for i in range(100000):\n"
        "        print('line', i)\n"
        "    return 0\n"
        "g = types.ModuleType('spewgroup')\n"
        "g.register = lambda sub: sub.add_parser('spew').set_defaults(func=spew)\n"
        "sys.modules['spewgroup'] = g\n"
        "m.GROUPS = (*m.GROUPS, 'spewgroup')\n"
        "sys.exit(m.main(['spew']))\n"
    )
    proc = subprocess.run(
        f'{sys.executable} -c "{script}" | head -1',
        shell=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.stdout == "line 0\n"
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(action.choices)


def test_the_command_map_names_the_group_that_defines_each_command() -> None:
    """main() builds the parser of one group only, found in COMMANDS: the map must be exact."""
    assert set(COMMANDS.values()) == set(GROUPS)
    for group in GROUPS:
        mapped = {command for command, owner in COMMANDS.items() if owner == group}
        assert _commands(build_parser((group,))) == mapped, group
    assert _commands(build_parser()) == set(COMMANDS)


def test_a_command_loads_its_own_group_and_help_loads_them_all() -> None:
    heavy = ("cli.aid", "cli.bench", "cli.sim", "contracts.runtime", "consensus.simulator")
    script = (
        "import sys\n"
        "from cli.main import parser_for\n"
        "parser_for(sys.argv[1:])\n"
        f"print(' '.join(m for m in {heavy!r} if m in sys.modules))\n"
    )

    def loaded(*argv: str) -> list[str]:
        proc = subprocess.run(
            [sys.executable, "-c", script, *argv],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.split()

    assert loaded("status") == []
    assert loaded("tx", "prove", "ab" * 32) == []
    assert loaded("aid", "get", "household", "x") == ["cli.aid"]
    assert loaded("--help") == list(heavy)  # help and unknown commands list every command
    assert loaded("no-such-command") == list(heavy)
