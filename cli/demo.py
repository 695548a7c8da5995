"""``aidchain demo load``: the fictional demo county, loaded into a running cluster.

The load goes through the real transaction path (node/demo.py); it refuses a chain that already
holds ledger data, so running it twice says so instead of registering every household twice.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from aid.demo_county import COUNTY_NAME
from cli.common import EXIT_OK, CliError, UsageError, print_json
from node.cluster import load_cluster, wait_ready
from node.demo import DemoError, load_demo

DEFAULT_HOUSEHOLDS = 3_000
MAX_HOUSEHOLDS = 50_000  # the demo county's ID sequence space, far above any demo
DEFAULT_SEED = 2026
READY_WAIT_S = 120.0


def cmd_demo_load(args: argparse.Namespace) -> int:
    if not 1 <= args.households <= MAX_HOUSEHOLDS:
        raise UsageError(f"--households must be in 1..{MAX_HOUSEHOLDS}")
    info = load_cluster(args.dir)
    url = args.rpc or info.rpc_urls[0]
    started = time.monotonic()
    try:
        asyncio.run(wait_ready(info.rpc_urls, timeout_s=args.ready_timeout))
        summary = asyncio.run(load_demo(info, url, households=args.households, seed=args.seed))
    except TimeoutError as exc:
        raise CliError(str(exc)) from None
    except DemoError as exc:
        raise CliError(f"demo load stopped: {exc.message}") from None
    result = summary.to_dict()
    result["county"] = COUNTY_NAME
    result["seconds"] = round(time.monotonic() - started, 1)
    result["clerk_keys"] = str(info.root / "aid" / "demo")
    print_json(result)
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser("demo", help="the fictional demo county").add_subparsers(
        dest="sub", required=True
    )
    p = demo.add_parser("load", help="load the demo county through real transactions")
    p.add_argument("--dir", required=True, type=Path, help="the cluster directory")
    p.add_argument("--households", type=int, default=DEFAULT_HOUSEHOLDS)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="the county's data seed")
    p.add_argument("--rpc", help="the node to send through (default: the cluster's node0)")
    p.add_argument(
        "--ready-timeout",
        type=float,
        default=READY_WAIT_S,
        help="seconds to wait for every node to answer first",
    )
    p.set_defaults(func=cmd_demo_load)
