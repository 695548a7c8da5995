"""``aidchain cluster init|up``: a local multi-node cluster for trying the chain on one machine."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.common import EXIT_OK
from node.cluster import DEFAULT_BASE_PORT, LOCAL_AID_POLICY, init_cluster, up

# `cluster init` option -> aid.policy key (seconds of block time)
POLICY_OPTIONS = ("notice_period_s", "stage_deadline_s", "proposal_ttl_s", "idle_fund_age_s")


def cmd_cluster_init(args: argparse.Namespace) -> int:
    manifest = init_cluster(
        args.dir,
        nodes=args.nodes,
        base_port=args.base_port,
        accounts=args.accounts,
        force=args.force,
        aid_policy={key: getattr(args, key) for key in POLICY_OPTIONS},
    )
    print(f"initialised cluster {manifest['chain_id']} in {args.dir}:")
    for node in manifest["nodes"]:
        print(f"  {node['name']}  {node['rpc_url']}  {node['config']}")
    print(f"  {len(manifest['accounts'])} funded accounts in {args.dir}/accounts/")
    print(f"  ledger registry key and organisation encryption keys in {args.dir}/aid/ (0600)")
    return EXIT_OK


def cmd_cluster_up(args: argparse.Namespace) -> int:
    return up(args.dir, restart=args.restart)


def register(subparsers: argparse._SubParsersAction) -> None:
    cluster = subparsers.add_parser("cluster", help="local multi-node clusters").add_subparsers(
        dest="sub", required=True
    )
    p = cluster.add_parser("init", help="write genesis, node configs and keys, funded accounts")
    p.add_argument("--dir", required=True, type=Path)
    p.add_argument("--nodes", type=int, default=4)
    p.add_argument(
        "--base-port",
        type=int,
        default=DEFAULT_BASE_PORT,
        help="node i uses P+2i (RPC) and P+2i+1 (p2p); 0 = pick free ports",
    )
    p.add_argument("--accounts", type=int, default=10)
    p.add_argument("--force", action="store_true", help="overwrite an existing directory")
    for key in POLICY_OPTIONS:
        p.add_argument(
            "--" + key.replace("_", "-"),
            dest=key,
            type=int,
            default=LOCAL_AID_POLICY[key],
            help=f"ledger policy {key}, seconds of block time (default %(default)s; "
            "a real network uses days)",
        )
    p.set_defaults(func=cmd_cluster_init)
    p = cluster.add_parser("up", help="start every node as its own process and supervise them")
    p.add_argument("--dir", required=True, type=Path)
    p.add_argument(
        "--restart", action="store_true", help="restart a node that exits (at most 5 times)"
    )
    p.set_defaults(func=cmd_cluster_up)
