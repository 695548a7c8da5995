"""``aidchain tx|status|account|block``: write to and read the chain through a node's JSON-RPC."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from chain.crypto import is_pubkey_hex
from chain.errors import AidchainError
from chain.keyfile import load_key
from chain.tx import check_amount
from cli import proof
from cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    add_rpc_option,
    print_json,
    rpc_call,
    send_signed,
)


def cmd_tx_transfer(args: argparse.Namespace) -> int:
    if not is_pubkey_hex(args.to):
        raise UsageError("--to must be a 64-hex public key")
    try:
        check_amount(args.amount)
    except AidchainError as exc:
        raise UsageError(exc.message) from None
    key = load_key(args.key)
    payload: dict[str, Any] = {"to": args.to, "amount": args.amount}
    if args.memo:
        payload["memo"] = args.memo
    return asyncio.run(
        send_signed(args.rpc, key, "transfer", payload, wait=args.wait, dry_run=args.dry_run)
    )


def cmd_tx_get(args: argparse.Namespace) -> int:
    info = asyncio.run(rpc_call(args.rpc, "tx_get", hash=args.hash))
    print_json(info)
    return EXIT_OK if info is not None else EXIT_FAILED


def cmd_status(args: argparse.Namespace) -> int:
    print_json(asyncio.run(rpc_call(args.rpc, "node_status")))
    return EXIT_OK


def cmd_account(args: argparse.Namespace) -> int:
    print_json(asyncio.run(rpc_call(args.rpc, "account_get", address=args.address)))
    return EXIT_OK


def cmd_block(args: argparse.Namespace) -> int:
    height: int | str = "latest" if args.height == "latest" else int(args.height)
    info = asyncio.run(rpc_call(args.rpc, "block_get", height=height))
    print_json(info)
    return EXIT_OK if info is not None else EXIT_FAILED


def _register_tx(subparsers: argparse._SubParsersAction) -> None:
    tx = subparsers.add_parser("tx", help="transactions").add_subparsers(dest="sub", required=True)
    p = tx.add_parser("transfer", help="sign and send a transfer")
    p.add_argument("--key", required=True, type=Path, help="sender's key file")
    p.add_argument("--to", required=True, help="recipient's 64-hex public key")
    p.add_argument("--amount", required=True, type=int, help="fen (integer)")
    p.add_argument("--memo", default="", help="free text, at most 256 characters")
    add_rpc_option(p)
    p.add_argument("--wait", action="store_true", help="wait until committed and print the receipt")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the signed JSON-RPC request instead of sending it",
    )
    p.set_defaults(func=cmd_tx_transfer)
    p = tx.add_parser("get", help="look up a transaction by hash")
    p.add_argument("hash")
    add_rpc_option(p)
    p.set_defaults(func=cmd_tx_get)
    proof.register_tx(tx)


def register(subparsers: argparse._SubParsersAction) -> None:
    _register_tx(subparsers)
    p = subparsers.add_parser("status", help="a node's status")
    add_rpc_option(p)
    p.set_defaults(func=cmd_status)
    p = subparsers.add_parser("account", help="an account's balance and nonce")
    p.add_argument("address")
    add_rpc_option(p)
    p.set_defaults(func=cmd_account)
    p = subparsers.add_parser("block", help="a block by height or 'latest'")
    p.add_argument("height")
    add_rpc_option(p)
    p.set_defaults(func=cmd_block)
