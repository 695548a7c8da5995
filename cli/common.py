"""Plumbing every command group shares: exit codes, the default node URL, errors, RPC, signing.

Key files are read with ``chain.keyfile.load_key``; its ``KeyFileError`` exits 2 like bad usage.

A command raises ``CliError`` (or ``UsageError``) with a message for the operator; ``cli.main``
is the one place that turns it, and every other exception it knows, into an exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import Any

from aid.reads import MAX_PAGE
from chain.crypto import KeyPair
from chain.encoding import loads_strict
from chain.errors import EncodingError
from chain.tx import sign_tx
from node.cluster import DEFAULT_BASE_PORT
from rpc.client import RpcClient, RpcError, RpcTransportError

EXIT_OK = 0  # the operation succeeded
EXIT_FAILED = 1  # RPC error, transaction rejected or failed, contract refused, timeout
EXIT_USAGE = 2  # bad usage, configuration or key file
EXIT_UNREACHABLE = 3  # the node could not be reached
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT

LOCAL_RPC = f"http://127.0.0.1:{DEFAULT_BASE_PORT}/"  # node0 of a cluster from `cluster init`
DEFAULT_RPC = os.environ.get("AIDCHAIN_RPC", LOCAL_RPC)
WAIT_TIMEOUT_S = 60.0
WAIT_POLL_S = 0.1


def add_rpc_option(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--rpc URL``, the node a command talks to: one definition, so every command's help says
    the same thing about the default."""
    parser.add_argument(
        "--rpc",
        default=DEFAULT_RPC,
        metavar="URL",
        help=f"the node's JSON-RPC URL (default: $AIDCHAIN_RPC, else {LOCAL_RPC})",
    )
    return parser


class CliError(Exception):
    """A command could not do what was asked; ``code`` is the process exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


class UsageError(CliError):
    """Bad command-line input (unreadable file, malformed option): exit code 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_USAGE)


def json_object(text: str | None, option: str) -> dict[str, Any]:
    """The JSON object given to ``option`` ({} when absent); anything else is a usage error."""
    if text is None:
        return {}
    try:
        value = loads_strict(text)
    except EncodingError as exc:
        raise UsageError(f"{option}: {exc.message}") from None
    if not isinstance(value, dict):
        raise UsageError(f"{option} must be a JSON object")
    return value


def print_json(obj: Any, *, indent: int | None = 2) -> None:
    """Print one JSON document on stdout (``indent=None``: a single line)."""
    print(json.dumps(obj, indent=indent, ensure_ascii=False))


async def rpc_call(url: str, method: str, /, **params: Any) -> Any:
    """One JSON-RPC call; an RPC error exits 1, an unreachable node exits 3."""
    try:
        async with RpcClient(url) as client:
            return await client.call(method, **params)
    except RpcError as exc:
        reason = f" ({exc.reason})" if exc.reason else ""
        raise CliError(f"{method} failed: {exc.message}{reason}") from None
    except RpcTransportError as exc:
        raise CliError(f"cannot reach node at {url}: {exc}", EXIT_UNREACHABLE) from None


async def list_all(url: str, kind: str, filters: dict[str, str]) -> list[dict[str, Any]]:
    """Every entity of one ``aid_list`` listing, page after page (``MAX_PAGE`` each)."""
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"kind": kind, "filters": filters, "limit": MAX_PAGE}
        if cursor:
            params["cursor"] = cursor
        page = await rpc_call(url, "aid_list", **params)
        out += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return out


async def wait_committed(url: str, tx_hash: str, timeout: float = WAIT_TIMEOUT_S) -> dict[str, Any]:
    """Poll ``tx_get`` until the transaction is in a committed block, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        info = await rpc_call(url, "tx_get", hash=tx_hash)
        if info is not None and info.get("status") == "committed":
            return dict(info)
        if time.monotonic() > deadline:
            raise CliError(f"transaction {tx_hash} not committed within {timeout:.0f}s")
        await asyncio.sleep(WAIT_POLL_S)


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
    status = await rpc_call(url, "node_status")
    account = await rpc_call(url, "account_get", address=key.public_hex)
    tx = sign_tx(key, status["chain_id"], account["next_nonce"], tx_type, payload)
    if dry_run:
        print_json({"jsonrpc": "2.0", "id": 1, "method": "tx_send", "params": {"tx": tx.to_dict()}})
        return EXIT_OK
    result = await rpc_call(url, "tx_send", tx=tx.to_dict())
    if not wait:
        print_json({"hash": result["hash"], "status": "pending"})
        return EXIT_OK
    info = await wait_committed(url, result["hash"])
    print_json(info)
    receipt = info.get("receipt") or {}
    return EXIT_OK if receipt.get("ok") else EXIT_FAILED
