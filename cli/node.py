"""``aidchain node start``: run one validator in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from node.config import load_config


def cmd_node_start(args: argparse.Namespace) -> int:
    # Imported here: the daemon loads LevelDB and the peer/RPC servers, which no other command
    # needs, so `aidchain status` and friends start without them.
    from node.daemon import run_node, setup_logging

    cfg = load_config(args.config)
    context = setup_logging(cfg)
    return asyncio.run(run_node(cfg, context))


def cmd_node_reindex(args: argparse.Namespace) -> int:
    from node.reindex import reindex

    summary = reindex(load_config(args.config))
    print(json.dumps(summary.to_dict()))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    nodep = subparsers.add_parser("node", help="run a node").add_subparsers(
        dest="sub", required=True
    )
    p = nodep.add_parser("start", help="run one node in the foreground")
    p.add_argument("--config", required=True, type=Path)
    p.set_defaults(func=cmd_node_start)
    p = nodep.add_parser(
        "reindex",
        help="rebuild the ledger index and statistics from the stored blocks (node stopped)",
    )
    p.add_argument("--config", required=True, type=Path)
    p.set_defaults(func=cmd_node_reindex)
