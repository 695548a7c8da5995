"""Signing, checking and sending one ledger action: what every command that acts shares.

``send_action`` signs with the sender's next nonce, has the node simulate the action first
(``aid_check``, so a refusal comes back at once with the ledger's reason, before anything enters
the mempool), estimates its gas from that check when none is given, sends it, and with ``wait``
returns its receipt. The ledger commands of ``aidchain aid``, the household and bank commands
and ``aidchain audit`` all send through it.
"""

from __future__ import annotations

import argparse
from typing import Any

from chain import limits
from chain.crypto import KeyPair
from cli.common import (
    EXIT_UNREACHABLE,
    CliError,
    add_rpc_option,
    print_json,
    rpc_call,
    wait_committed,
)
from node.aidclient import CREATES, SignedTx, aid_tx
from rpc.client import RpcClient, RpcError, RpcTransportError
from rpc.client.account import estimated_gas

LEDGER_REFUSED = -32020  # the one JSON-RPC code of every ledger refusal (docs/ledger.md)


def send_options(p: argparse.ArgumentParser) -> None:
    """The options of every command that sends an action: the key, the node, --wait, --no-check."""
    p.add_argument("--key", required=True, help="the signer's key file")
    add_rpc_option(p)
    p.add_argument("--wait", action="store_true", help="wait for the block and print the receipt")
    p.add_argument(
        "--no-check", action="store_true", help="skip the aid_check simulation before sending"
    )


async def _chain_and_nonce(url: str, key: KeyPair) -> tuple[str, int]:
    status = await rpc_call(url, "node_status")
    account = await rpc_call(url, "account_get", address=key.public_hex)
    return str(status["chain_id"]), int(account["next_nonce"])


class LedgerRefused(CliError):
    """``aid_check`` refused the action: exit 1 with the ledger's reason and message."""

    def __init__(self, reason: str | None, message: str, argument: str | None) -> None:
        super().__init__(f"refused ({reason}): {message}")
        self.argument = argument  # the argument the refusal names (bad_args), if any


async def check_action(url: str, tx: SignedTx) -> dict[str, Any]:
    """``aid_check``: a refusal raises ``LedgerRefused``."""
    try:
        async with RpcClient(url) as client:
            return dict(await client.call("aid_check", tx=tx.tx))
    except RpcError as exc:
        if exc.code == LEDGER_REFUSED:
            data = exc.data if isinstance(exc.data, dict) else {}
            argument = data.get("argument")
            named = argument if isinstance(argument, str) else None
            raise LedgerRefused(exc.reason, exc.message, named) from None
        raise CliError(f"aid_check failed: {exc.message}") from None
    except RpcTransportError as exc:
        raise CliError(f"cannot reach node at {url}: {exc}", EXIT_UNREACHABLE) from None


async def send_action(
    url: str,
    key: KeyPair,
    action: str,
    args: dict[str, Any],
    *,
    gas: int | None = None,
    wait: bool = False,
    check: bool = True,
    echo: bool = True,
) -> dict[str, Any]:
    """Sign, check, send; returns what was (with ``echo``) printed; a failed receipt exits 1.

    Without ``gas`` the check doubles as an estimate, as wallets estimate a fee: the action is
    checked with the most gas a call may have, then signed again declaring what its rules used
    plus headroom (none for an action that runs no rules). A clerk need not know that
    ``cycle.add`` runs the program's rules contract, nor guess what it costs.
    """
    chain_id, nonce = await _chain_and_nonce(url, key)
    if gas is None and check:
        probe = aid_tx(key, chain_id, nonce, action, args, limits.MAX_CALL_GAS)
        gas = estimated_gas(int((await check_action(url, probe)).get("gas_used", 0)))
        tx = aid_tx(key, chain_id, nonce, action, args, gas)
    else:
        tx = aid_tx(key, chain_id, nonce, action, args, gas or 0)
        if check:
            await check_action(url, tx)
    await rpc_call(url, "tx_send", tx=tx.tx)
    out: dict[str, Any] = {"hash": tx.hash, "status": "pending"}
    if action in CREATES:
        out["id"] = tx.new_id(CREATES[action])
    receipt: dict[str, Any] = {"ok": True}
    if wait:
        info = await wait_committed(url, tx.hash)
        receipt = info.get("receipt") or {}
        out.update(status="committed", height=info.get("height"), receipt=receipt)
    if echo:
        print_json(out)
    if not receipt.get("ok"):
        raise CliError(f"{action} failed ({receipt.get('error_type')}): {receipt.get('error')}")
    return out
