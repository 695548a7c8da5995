"""The ``aidchain`` command line: parser assembly and the one place errors become exit codes.

Exit codes: 0 success; 1 the operation failed (RPC error, transaction rejected or failed, timeout);
2 bad usage, configuration or key file; 3 the node could not be reached.
"""

from __future__ import annotations

import argparse
import os
import sys

from chain.errors import AidchainError, ConfigError, KeyFileError
from cli import aid, audit, bench, chain, cluster, contract, demo, genesis, keys, node, proof, sim
from cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    LOCAL_RPC,
    CliError,
)
from rpc.client import RpcTransportError

# Command groups in the order `aidchain --help` lists them.
GROUPS = (cluster, node, genesis, keys, chain, aid, audit, demo, bench, contract, sim, proof)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aidchain",
        description="aidchain: a permissioned PBFT blockchain node for traceable disbursement of "
        "poverty-alleviation funds.",
        epilog="exit codes: 0 ok; 1 the operation failed; 2 bad usage, config or key file; "
        f"3 node unreachable. RPC defaults to $AIDCHAIN_RPC or {LOCAL_RPC}.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
