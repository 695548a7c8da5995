"""``aidchain bench``: committed tx/s and latency against a running local cluster."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from cli.common import EXIT_FAILED, EXIT_OK
from node.bench import run_bench


def cmd_bench(args: argparse.Namespace) -> int:
    report = asyncio.run(
        run_bench(
            Path(args.dir),
            txs=args.txs,
            clients=args.clients,
            timeout_s=args.timeout,
            rate=args.rate,
        )
    )
    print(report.render())
    return EXIT_OK if report.ok else EXIT_FAILED


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "bench", help="measure committed tx/s and latency against a running cluster"
    )
    p.add_argument("--dir", required=True, type=Path)
    p.add_argument("--txs", type=int, default=10_000)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="offered load in tx/s across all clients (0 = as fast as possible)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="give up waiting for commits after this many seconds",
    )
    p.set_defaults(func=cmd_bench)
