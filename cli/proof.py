"""``aidchain tx prove`` and ``aidchain verify``: fetch a transaction's proof, check one offline.

``verify`` needs no node at all: it trusts only the genesis file it is given (its chain id and
validator set) and exits 0 with what the proof establishes, or 1 with the check that failed.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from chain.encoding import loads_strict
from chain.errors import EncodingError
from chain.proof import ProofError, verify_proof
from cli.common import EXIT_OK, CliError, UsageError, add_rpc_option, print_json, rpc_call
from node.genesis import load_genesis

MAX_PROOF_FILE_BYTES = 16 * 1024 * 1024  # a full block's proof is well under a megabyte


def cmd_tx_prove(args: argparse.Namespace) -> int:
    print_json(asyncio.run(rpc_call(args.rpc, "tx_proof", hash=args.hash)))
    return EXIT_OK


def _read_proof(path: Path) -> Any:
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_PROOF_FILE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    if len(raw) > MAX_PROOF_FILE_BYTES:
        raise CliError(f"{path} is larger than {MAX_PROOF_FILE_BYTES} bytes: not a proof")
    try:
        return loads_strict(raw)
    except EncodingError as exc:
        raise CliError(f"proof does NOT verify (malformed): {exc.message}") from None


def cmd_verify(args: argparse.Namespace) -> int:
    genesis = load_genesis(args.genesis).doc
    doc = _read_proof(args.proof)
    try:
        proven = verify_proof(doc, genesis)
    except ProofError as exc:
        raise CliError(f"proof does NOT verify ({exc.reason}): {exc.message}") from None
    receipt = proven.receipt
    print_json(
        {
            "verified": True,
            "chain_id": genesis["chain_id"],
            "tx_hash": proven.tx_hash,
            "height": proven.height,
            "index": proven.index,
            "block_hash": proven.block_hash,
            "receipt_ok": receipt.get("ok"),
            "receipt_error": receipt.get("error"),
            "receipt": receipt,
        }
    )
    return EXIT_OK


def register_tx(tx: argparse._SubParsersAction) -> None:
    """``tx prove`` in the ``tx`` group (cli/chain.py builds the group)."""
    p = tx.add_parser("prove", help="fetch a committed transaction's proof (JSON on stdout)")
    p.add_argument("hash", help="the transaction hash (64 hex)")
    add_rpc_option(p)
    p.set_defaults(func=cmd_tx_prove)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "verify", help="check a transaction proof offline against a genesis file"
    )
    p.add_argument("proof", type=Path, help="the proof JSON (from `aidchain tx prove`)")
    p.add_argument("--genesis", required=True, type=Path, help="the chain's genesis.json")
    p.set_defaults(func=cmd_verify)
