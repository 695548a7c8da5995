"""``aidchain genesis new|show``: genesis documents for a real network of agencies."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from aid.state import record_key
from chain import limits
from cli.common import EXIT_OK, UsageError, print_json
from node.genesis import Genesis, build_genesis, load_genesis


def _pairs(items: list[str], what: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        left, sep, right = item.partition("=")
        if not sep or not left or not right:
            raise UsageError(f"{what} must look like LEFT=RIGHT, got {item!r}")
        out.append((left, right))
    return out


def _aid_section(path: Path | None) -> dict[str, Any] | None:
    """The ledger's genesis section from ``--aid FILE`` (checked with the whole genesis)."""
    if path is None:
        return None
    try:
        section = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read --aid {path}: {exc}") from None
    if not isinstance(section, dict):
        raise UsageError(f"--aid {path} must hold a JSON object: {{policy, areas, orgs}}")
    return section


def _ledger_summary(genesis: Genesis) -> dict[str, Any] | None:
    """What each agency checks before comparing hashes: its organisation, admins and key."""
    aid = genesis.doc.get("aid")
    if aid is None:
        return None
    return {
        "areas": len(aid["areas"]),
        "orgs": [
            {k: org[k] for k in ("id", "kind", "area", "admins", "enc_key")} for org in aid["orgs"]
        ],
        "policy": genesis.aid_records[record_key("policy", "current")],  # defaults filled in
    }


def cmd_genesis_new(args: argparse.Namespace) -> int:
    if args.out.exists() and not args.force:
        raise UsageError(f"{args.out} exists; use --force to overwrite it")
    accounts: dict[str, int] = {}
    for addr, amount in _pairs(args.account, "--account"):
        if not amount.isdigit():
            raise UsageError(f"--account balance must be an integer number of fen: {amount!r}")
        accounts[addr] = int(amount)
    genesis = build_genesis(
        args.chain_id,
        _pairs(args.validator, "--validator"),
        accounts,
        args.time if args.time is not None else int(time.time() * 1000),
        block_gas_limit=args.block_gas_limit,
        aid=_aid_section(args.aid),
    )
    args.out.write_text(
        json.dumps(genesis.doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(json.dumps({"file": str(args.out), "chain_id": genesis.chain_id, "hash": genesis.hash}))
    return EXIT_OK


def cmd_genesis_show(args: argparse.Namespace) -> int:
    genesis = load_genesis(args.genesis)
    names = genesis.validator_names
    print_json(
        {
            "chain_id": genesis.chain_id,
            "hash": genesis.hash,
            "time": genesis.doc["time"],
            "validators": [{"name": names[v], "id": v} for v in genesis.validators],
            "accounts": len(genesis.doc["accounts"]),
            "total_supply": sum(genesis.doc["accounts"].values()),
            "block_gas_limit": genesis.block_gas_limit,
            "ledger": _ledger_summary(genesis),
        }
    )
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:
    gen = subparsers.add_parser(
        "genesis", help="genesis documents for a real network"
    ).add_subparsers(dest="sub", required=True)
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
        help="most gas (intrinsic plus declared, docs/transactions.md) of one block "
        f"(default {limits.DEFAULT_BLOCK_GAS_LIMIT:_}; at least {limits.MIN_BLOCK_GAS_LIMIT:_})",
    )
    p.add_argument(
        "--aid",
        type=Path,
        metavar="FILE",
        help="the ledger's section, a JSON object {policy, areas, orgs} (docs/operations.md)",
    )
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_genesis_new)
    p = gen.add_parser(
        "show", help="validate a genesis.json and print its hash for out-of-band comparison"
    )
    p.add_argument("genesis", type=Path)
    p.set_defaults(func=cmd_genesis_show)
