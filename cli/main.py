"""The ``aidchain`` command line.

Exit codes: 0 success; 1 the operation failed (RPC error, transaction rejected or failed, timeout);
2 bad usage, configuration or key file; 3 the node could not be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from chain import limits
from chain.crypto import KeyPair, is_pubkey_hex
from chain.errors import AidchainError
from cli import contract as contract_cli
from cli import sim as sim_cli

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
DEFAULT_RPC = os.environ.get("AIDCHAIN_RPC", "http://127.0.0.1:26600/")
WAIT_TIMEOUT_S = 60.0


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False))


# --- cluster ---------------------------------------------------------------------------------------
def cmd_cluster_init(args: argparse.Namespace) -> int:
    from node.cluster import init_cluster

    manifest = init_cluster(
        args.dir,
        nodes=args.nodes,
        base_port=args.base_port,
        accounts=args.accounts,
        force=args.force,
    )
    print(f"initialised cluster {manifest['chain_id']} in {args.dir}:")
    for node in manifest["nodes"]:
        print(f"  {node['name']}  {node['rpc_url']}  {node['config']}")
    print(f"  {len(manifest['accounts'])} funded accounts in {args.dir}/accounts/")
    return EXIT_OK


def cmd_cluster_up(args: argparse.Namespace) -> int:
    from node.cluster import up

    return up(args.dir, restart=args.restart)


# --- node ------------------------------------------------------------------------------------------
def cmd_node_start(args: argparse.Namespace) -> int:
    from node.config import load_config
    from node.daemon import run_node, setup_logging

    cfg = load_config(args.config)
    context = setup_logging(cfg)
    return asyncio.run(run_node(cfg, context))


# --- genesis -------------------------------------------------------------------------------------
def _pairs(items: list[str], what: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        left, sep, right = item.partition("=")
        if not sep or not left or not right:
            raise CliError(f"{what} must look like LEFT=RIGHT, got {item!r}", EXIT_USAGE)
        out.append((left, right))
    return out


def cmd_genesis_new(args: argparse.Namespace) -> int:
    from node.genesis import build_genesis

    if args.out.exists() and not args.force:
        raise CliError(f"{args.out} exists; use --force to overwrite it", EXIT_USAGE)
    accounts: dict[str, int] = {}
    for addr, amount in _pairs(args.account, "--account"):
        if not amount.isdigit():
            raise CliError(
                f"--account balance must be an integer number of fen: {amount!r}", EXIT_USAGE
            )
        accounts[addr] = int(amount)
    genesis = build_genesis(
        args.chain_id,
        _pairs(args.validator, "--validator"),
        accounts,
        args.time if args.time is not None else int(time.time() * 1000),
        block_gas_limit=args.block_gas_limit,
    )
    args.out.write_text(
        json.dumps(genesis.doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(json.dumps({"file": str(args.out), "chain_id": genesis.chain_id, "hash": genesis.hash}))
    return EXIT_OK


def cmd_genesis_show(args: argparse.Namespace) -> int:
    from node.genesis import load_genesis

    genesis = load_genesis(args.genesis)
    names = genesis.validator_names
    _print_json(
        {
            "chain_id": genesis.chain_id,
            "hash": genesis.hash,
            "time": genesis.doc["time"],
            "validators": [{"name": names[v], "id": v} for v in genesis.validators],
            "accounts": len(genesis.doc["accounts"]),
            "total_supply": sum(genesis.doc["accounts"].values()),
            "block_gas_limit": genesis.block_gas_limit,
        }
    )
    return EXIT_OK


# --- keys ------------------------------------------------------------------------------------------
def cmd_keys_new(args: argparse.Namespace) -> int:
    from node.keys import save_key

    key = KeyPair.generate()
    save_key(args.out, key, overwrite=args.force)
    print(json.dumps({"public_key": key.public_hex, "file": str(args.out)}))
    return EXIT_OK


# --- RPC helpers -------------------------------------------------------------------------------------
async def _rpc(url: str, method: str, /, **params: Any) -> Any:
    from rpc.client import RpcClient, RpcError, RpcTransportError

    try:
        async with RpcClient(url) as client:
            return await client.call(method, **params)
    except RpcError as exc:
        reason = f" ({exc.reason})" if exc.reason else ""
        raise CliError(f"{method} failed: {exc.message}{reason}") from None
    except RpcTransportError as exc:
        raise CliError(f"cannot reach node at {url}: {exc}", EXIT_UNREACHABLE) from None


async def wait_committed(url: str, tx_hash: str, timeout: float = WAIT_TIMEOUT_S) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        info = await _rpc(url, "tx_get", hash=tx_hash)
        if info is not None and info.get("status") == "committed":
            return dict(info)
        if time.monotonic() > deadline:
            raise CliError(f"transaction {tx_hash} not committed within {timeout:.0f}s")
        await asyncio.sleep(0.1)


async def send_signed(
    url: str,
    key: KeyPair,
    tx_type: str,
    payload: dict[str, Any],
    *,
    wait: bool,
    dry_run: bool = False,
) -> int:
    """Sign a transaction with the sender's next nonce, submit it, optionally wait for commit."""
    from chain.tx import sign_tx

    status = await _rpc(url, "node_status")
    account = await _rpc(url, "account_get", address=key.public_hex)
    tx = sign_tx(key, status["chain_id"], account["next_nonce"], tx_type, payload)
    if dry_run:
        _print_json(
            {"jsonrpc": "2.0", "id": 1, "method": "tx_send", "params": {"tx": tx.to_dict()}}
        )
        return EXIT_OK
    result = await _rpc(url, "tx_send", tx=tx.to_dict())
    if not wait:
        _print_json({"hash": result["hash"], "status": "pending"})
        return EXIT_OK
    info = await wait_committed(url, result["hash"])
    _print_json(info)
    receipt = info.get("receipt") or {}
    return EXIT_OK if receipt.get("ok") else EXIT_FAILED


def cmd_tx_transfer(args: argparse.Namespace) -> int:
    from chain.tx import check_amount
    from node.keys import load_key

    if not is_pubkey_hex(args.to):
        raise CliError("--to must be a 64-hex public key", EXIT_USAGE)
    try:
        check_amount(args.amount)
    except AidchainError as exc:
        raise CliError(exc.message, EXIT_USAGE) from None
    key = load_key(args.key)
    payload: dict[str, Any] = {"to": args.to, "amount": args.amount}
    if args.memo:
        payload["memo"] = args.memo
    return asyncio.run(
        send_signed(args.rpc, key, "transfer", payload, wait=args.wait, dry_run=args.dry_run)
    )


def cmd_tx_get(args: argparse.Namespace) -> int:
    info = asyncio.run(_rpc(args.rpc, "tx_get", hash=args.hash))
    _print_json(info)
    return EXIT_OK if info is not None else EXIT_FAILED


def cmd_status(args: argparse.Namespace) -> int:
    _print_json(asyncio.run(_rpc(args.rpc, "node_status")))
    return EXIT_OK


def cmd_account(args: argparse.Namespace) -> int:
    _print_json(asyncio.run(_rpc(args.rpc, "account_get", address=args.address)))
    return EXIT_OK


def cmd_block(args: argparse.Namespace) -> int:
    height: int | str = "latest" if args.height == "latest" else int(args.height)
    info = asyncio.run(_rpc(args.rpc, "block_get", height=height))
    _print_json(info)
    return EXIT_OK if info is not None else EXIT_FAILED


def cmd_bench(args: argparse.Namespace) -> int:
    from node.bench import run_bench

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aidchain",
        description="aidchain: a permissioned PBFT blockchain node for traceable disbursement of "
        "poverty-alleviation funds.",
        epilog="exit codes: 0 ok; 1 the operation failed; 2 bad usage, config or key file; "
        "3 node unreachable. RPC defaults to $AIDCHAIN_RPC or http://127.0.0.1:26600/.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    cluster = sub.add_parser("cluster", help="local multi-node clusters").add_subparsers(
        dest="sub", required=True
    )
    p = cluster.add_parser("init", help="write genesis, node configs and keys, funded accounts")
    p.add_argument("--dir", required=True, type=Path)
    p.add_argument("--nodes", type=int, default=4)
    p.add_argument(
        "--base-port",
        type=int,
        default=26600,
        help="node i uses P+2i (RPC) and P+2i+1 (p2p); 0 = pick free ports",
    )
    p.add_argument("--accounts", type=int, default=10)
    p.add_argument("--force", action="store_true", help="overwrite an existing directory")
    p.set_defaults(func=cmd_cluster_init)
    p = cluster.add_parser("up", help="start every node as its own process and supervise them")
    p.add_argument("--dir", required=True, type=Path)
    p.add_argument(
        "--restart", action="store_true", help="restart a node that exits (at most 5 times)"
    )
    p.set_defaults(func=cmd_cluster_up)

    nodep = sub.add_parser("node", help="run a node").add_subparsers(dest="sub", required=True)
    p = nodep.add_parser("start", help="run one node in the foreground")
    p.add_argument("--config", required=True, type=Path)
    p.set_defaults(func=cmd_node_start)

    gen = sub.add_parser("genesis", help="genesis documents for a real network").add_subparsers(
        dest="sub", required=True
    )
    p = gen.add_parser("new", help="write a genesis.json from the validators' public keys")
    p.add_argument("--chain-id", required=True)
    p.add_argument(
        "--validator",
        action="append",
        default=[],
        metavar="NAME=PUBKEY",
        help="one per validator (at least 4), in primary order",
    )
    p.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="PUBKEY=FEN",
        help="initial balance of an account",
    )
    p.add_argument("--time", type=int, help="genesis time, ms since the epoch (default: now)")
    p.add_argument(
        "--block-gas-limit",
        type=int,
        default=limits.DEFAULT_BLOCK_GAS_LIMIT,
        help="most declared gas of the contract transactions in one block "
        f"(default {limits.DEFAULT_BLOCK_GAS_LIMIT:_}; at least {limits.MAX_CALL_GAS:_})",
    )
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_genesis_new)
    p = gen.add_parser(
        "show", help="validate a genesis.json and print its hash for out-of-band comparison"
    )
    p.add_argument("genesis", type=Path)
    p.set_defaults(func=cmd_genesis_show)

    keys = sub.add_parser("keys", help="key files").add_subparsers(dest="sub", required=True)
    p = keys.add_parser("new", help="create an ed25519 key file (mode 0600)")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_keys_new)

    tx = sub.add_parser("tx", help="transactions").add_subparsers(dest="sub", required=True)
    p = tx.add_parser("transfer", help="sign and send a transfer")
    p.add_argument("--key", required=True, type=Path, help="sender's key file")
    p.add_argument("--to", required=True, help="recipient's 64-hex public key")
    p.add_argument("--amount", required=True, type=int, help="fen (integer)")
    p.add_argument("--memo", default="", help="free text, at most 256 characters")
    p.add_argument("--rpc", default=DEFAULT_RPC, help="node JSON-RPC URL")
    p.add_argument("--wait", action="store_true", help="wait until committed and print the receipt")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the signed JSON-RPC request instead of sending it",
    )
    p.set_defaults(func=cmd_tx_transfer)
    p = tx.add_parser("get", help="look up a transaction by hash")
    p.add_argument("hash")
    p.add_argument("--rpc", default=DEFAULT_RPC)
    p.set_defaults(func=cmd_tx_get)

    p = sub.add_parser("status", help="a node's status")
    p.add_argument("--rpc", default=DEFAULT_RPC)
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("account", help="an account's balance and nonce")
    p.add_argument("address")
    p.add_argument("--rpc", default=DEFAULT_RPC)
    p.set_defaults(func=cmd_account)
    p = sub.add_parser("block", help="a block by height or 'latest'")
    p.add_argument("height")
    p.add_argument("--rpc", default=DEFAULT_RPC)
    p.set_defaults(func=cmd_block)

    p = sub.add_parser("bench", help="measure committed tx/s and latency against a running cluster")
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

    contract_cli.register(sub)
    sim_cli.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except AidchainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE if exc.reason in ("bad_config", "bad_key_file") else EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from rpc.client import RpcTransportError

        if isinstance(exc, RpcTransportError):
            print(f"error: cannot reach node: {exc}", file=sys.stderr)
            return EXIT_UNREACHABLE
        raise


if __name__ == "__main__":
    sys.exit(main())
