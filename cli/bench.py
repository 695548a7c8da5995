"""``aidchain bench``: committed tx/s and latency against a running local cluster.

``--workload transfers`` (the default) sends plain transfers; ``ledger`` sets up and measures
ledger actions (node/benchledger.py); ``both`` runs transfers then the ledger workload with the
same options and prints the two side by side.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from cli.common import EXIT_FAILED, EXIT_OK
from node.bench import TRANSPORTS, BenchReport, run_bench
from node.benchledger import STREAMS, run_ledger_bench

WORKLOADS = ("transfers", "ledger", "both")


async def _run(args: argparse.Namespace) -> list[BenchReport]:
    options = {
        "txs": args.txs,
        "clients": args.clients,
        "timeout_s": args.timeout,
        "rate": args.rate,
        "transport": args.transport,
    }
    reports = []
    if args.workload in ("transfers", "both"):
        reports.append(await run_bench(Path(args.dir), **options))
    if args.workload in ("ledger", "both"):
        actions = tuple(args.actions or STREAMS)
        reports.append(await run_ledger_bench(Path(args.dir), actions=actions, **options))
    return reports


def comparison(transfers: BenchReport, ledger: BenchReport) -> str:
    share = ledger.tps / transfers.tps * 100 if transfers.tps else 0.0
    return (
        f"side by side: transfers {transfers.tps:.0f} committed tx/s, ledger "
        f"{ledger.tps:.0f} committed tx/s ({share:.0f}% of transfers)"
    )


def cmd_bench(args: argparse.Namespace) -> int:
    reports = asyncio.run(_run(args))
    print("\n".join(r.render() for r in reports))
    if len(reports) == 2:
        print(comparison(*reports))
    return EXIT_OK if all(r.ok for r in reports) else EXIT_FAILED


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "bench", help="measure committed tx/s and latency against a running cluster"
    )
    p.add_argument("--dir", required=True, type=Path)
    p.add_argument(
        "--workload",
        choices=WORKLOADS,
        default="transfers",
        help="plain transfers, ledger actions (registrations, entitlements, approvals, bank "
        "reports, after an untimed set-up), or both side by side",
    )
    p.add_argument(
        "--actions",
        nargs="+",
        choices=STREAMS,
        help="the ledger workload's streams to measure (default: all four, --txs/4 each)",
    )
    p.add_argument("--txs", type=int, default=10_000)
    p.add_argument(
        "--transport",
        choices=TRANSPORTS,
        default="ws",
        help="how each client sends its batches: a message on its own WebSocket (default), "
        "or an HTTP POST each",
    )
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
