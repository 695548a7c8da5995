"""The ``aidchain`` command line: parser assembly and the one place errors become exit codes.

Exit codes: 0 success; 1 the operation failed (RPC error, transaction rejected or failed, timeout);
2 bad usage, configuration or key file; 3 the node could not be reached.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from chain.errors import AidchainError, ConfigError, KeyFileError
from cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    LOCAL_RPC,
    CliError,
)
from rpc.client import RpcTransportError

# The group (a module with a ``register(subparsers)``) that defines each top-level command, in
# the order `aidchain --help` lists them. A command imports its own group only: all twelve pull
# in the contract VM, the bench and the simulator, ~0.25 s more for every command (`aidchain
# status` starts in 0.36 s instead of 0.64). tests/cli/test_main.py checks this map against what
# each group registers.
COMMANDS = {
    "cluster": "cli.cluster",
    "node": "cli.node",
    "genesis": "cli.genesis",
    "keys": "cli.keys",
    "tx": "cli.chain",
    "status": "cli.chain",
    "account": "cli.chain",
    "block": "cli.chain",
    "aid": "cli.aid",
    "audit": "cli.audit",
    "demo": "cli.demo",
    "bench": "cli.bench",
    "contract": "cli.contract",
    "sim": "cli.sim",
    "verify": "cli.proof",
}
GROUPS = tuple(dict.fromkeys(COMMANDS.values()))  # each group once, in that order


def build_parser(groups: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of ``groups``' commands (every group's by default)."""
    parser = argparse.ArgumentParser(
        prog="aidchain",
        description="aidchain: a permissioned PBFT blockchain node for traceable disbursement of "
        "poverty-alleviation funds.",
        epilog="exit codes: 0 ok; 1 the operation failed; 2 bad usage, config or key file; "
        f"3 node unreachable. RPC defaults to $AIDCHAIN_RPC or {LOCAL_RPC}.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in GROUPS if groups is None else groups:
        importlib.import_module(name).register(sub)
    return parser


def parser_for(argv: Sequence[str]) -> argparse.ArgumentParser:
    """Only the group of the command ``argv`` starts with; every group for anything else
    (``--help``, no command, an unknown one), so help and errors list every command."""
    group = COMMANDS.get(argv[0]) if argv else None
    return build_parser(None if group is None else (group,))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parser_for(argv).parse_args(argv)
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except AidchainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, ConfigError | KeyFileError) else EXIT_FAILED
    except RpcTransportError as exc:
        print(f"error: cannot reach node: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (`aidchain ... | head`): stop quietly, as Unix tools do; point
        # stdout at /dev/null so the interpreter's final flush does not raise again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
