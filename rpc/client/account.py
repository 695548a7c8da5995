"""An account that signs and sends: nonces tracked locally, named ledger actions.

``Account`` fetches its next nonce from the node once (``account_get.next_nonce``, which counts
the node's pending transactions from it), then counts locally, so a loop of sends costs one RPC
each. Sends from one ``Account`` are serialised (sign, send, count), so nonces are never skipped
or reused by this process. A nonce error (another process signed with the same key) resyncs
from the node and signs again once; any other refusal leaves the nonce unspent and the next send
resyncs. Each send retries the *same* signed transaction on a transport error, ``mempool_full``
or ``busy``: ``tx_send`` is idempotent (a known transaction, pending or committed, answers its
hash again), so a retry can never make a second transaction.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

from chain import limits
from chain.tx import Transaction
from rpc.client.errors import NonceError, RpcError, RpcTransportError
from rpc.client.receipt import Committed
from rpc.client.signer import Signer, new_id

# gas a rules contract needs (docs/ledger.md "JSON-RPC"): ~2,460 (demo) to ~4,180 per household
CYCLE_ADD_GAS_PER_HOUSEHOLD = 5_000
CYCLE_SUBMIT_GAS = 100_000
# An estimate's headroom: what the rules use can grow between the check and the block (a rules
# contract reads the state the block leaves it), so the sender declares a fifth more.
GAS_HEADROOM_DIV = 5


def estimated_gas(used: int) -> int:
    """The gas to declare for an action whose check used ``used``: 0 when it runs no rules."""
    if used <= 0:
        return 0
    return min(limits.MAX_CALL_GAS, used + used // GAS_HEADROOM_DIV + 1)


class Node(Protocol):
    """What an account needs of the client (``rpc.client.sdk.Client`` implements it)."""

    async def call(self, method: str, /, *args: Any, **kwargs: Any) -> Any: ...
    async def chain_id(self) -> str: ...
    async def get_account(self, address: str) -> dict[str, Any]: ...
    async def send_tx(self, tx: Transaction) -> str: ...
    async def wait_for_receipt(
        self, tx_hash: str, timeout: float = ..., *, check: bool = ...
    ) -> Committed: ...


@dataclass(frozen=True, slots=True)
class Sent:
    """A transaction the node admitted to its mempool; ``wait()`` for its receipt."""

    tx: Transaction
    client: Node

    @property
    def hash(self) -> str:
        return self.tx.hash

    def new_id(self, kind: str, n: int = 0) -> str:
        """The id of the ``kind`` entity this ledger action creates (before it commits)."""
        return new_id(self.tx.hash, kind, n)

    async def wait(self, timeout: float = 60.0, *, check: bool = True) -> Committed:
        """The committed receipt; TxFailed if it failed (``check=False`` returns it anyway)."""
        return await self.client.wait_for_receipt(self.tx.hash, timeout, check=check)


def paid(entitlement: str, amount: int, bank_ref: str) -> dict[str, Any]:
    """A ``payment.report`` row: the bank paid ``amount`` fen (the exact issued amount)."""
    return {"entitlement": entitlement, "outcome": "paid", "amount": amount, "bank_ref": bank_ref}


def failed(entitlement: str, amount: int, code: str) -> dict[str, Any]:
    """A ``payment.report`` row: the payment failed; ``code`` e.g. ``account_closed``."""
    return {"entitlement": entitlement, "outcome": "failed", "amount": amount, "code": code}


def returned(entitlement: str, amount: int, code: str) -> dict[str, Any]:
    """A ``payment.report`` row: a paid amount came back (a reversal)."""
    return {"entitlement": entitlement, "outcome": "returned", "amount": amount, "code": code}


class Account:
    """``acct = client.account(Signer.from_key_file("bank.key"))``; ``await acct.aid(...)``."""

    def __init__(self, client: Node, signer: Signer) -> None:
        self.client = client
        self.signer = signer
        self._nonce: int | None = None  # the next nonce to use; None = ask the node
        self._lock = asyncio.Lock()

    @property
    def address(self) -> str:
        return self.signer.address

    async def next_nonce(self) -> int:
        """The nonce the next transaction will carry (fetched once, then counted)."""
        if self._nonce is None:
            info = await self.client.get_account(self.address)
            self._nonce = int(info["next_nonce"])
        return self._nonce

    def resync(self) -> None:
        """Forget the local nonce; the next send asks the node."""
        self._nonce = None

    async def sign(self, tx_type: str, payload: dict[str, Any]) -> Transaction:
        """Sign with the next nonce without sending or counting it (e.g. for ``aid_check``)."""
        chain_id = await self.client.chain_id()
        return self.signer.sign(chain_id, await self.next_nonce(), tx_type, payload)

    async def send(self, tx_type: str, payload: dict[str, Any]) -> Sent:
        """Sign with the next nonce and send; the node's refusal is raised as RpcError."""
        async with self._lock:
            tx = await self.sign(tx_type, payload)
            try:
                await self.client.send_tx(tx)
            except NonceError:
                self.resync()
                tx = await self.sign(tx_type, payload)
                await self._send_counted(tx)
            except (RpcError, RpcTransportError):
                self.resync()  # not admitted (or unknown after every retry): ask next time
                raise
            else:
                self._nonce = tx.nonce + 1
            return Sent(tx, self.client)

    async def _send_counted(self, tx: Transaction) -> None:
        try:
            await self.client.send_tx(tx)
        except (RpcError, RpcTransportError):
            self.resync()
            raise
        self._nonce = tx.nonce + 1

    # --- transaction types --------------------------------------------------------------------------

    async def transfer(self, to: str, amount: int, memo: str = "") -> Sent:
        payload: dict[str, Any] = {"to": to, "amount": amount}
        if memo:
            payload["memo"] = memo
        return await self.send("transfer", payload)

    async def aid(self, action: str, args: dict[str, Any] | None = None, *, gas: int = 0) -> Sent:
        """Send one ledger action (docs/ledger.md "Actions"); ``gas`` for actions running rules."""
        return await self.send("aid", _aid_payload(action, args or {}, gas))

    async def check(self, action: str, args: dict[str, Any] | None = None, *, gas: int = 0) -> Any:
        """Would this action be accepted now? ``aid_check``: LedgerRefusedError says why not."""
        tx = await self.sign("aid", _aid_payload(action, args or {}, gas))
        return await self.client.call("aid_check", tx=tx.to_dict())

    async def estimate_gas(self, action: str, args: dict[str, Any] | None = None) -> int:
        """The gas to declare for ``action``: checked with the most a call may have, what its
        rules used plus a fifth (0 if it runs none). LedgerRefusedError if it is refused."""
        answer = await self.check(action, args, gas=limits.MAX_CALL_GAS)
        return estimated_gas(int(answer.get("gas_used", 0)))

    # --- named ledger actions (the common ones; ``aid`` sends any) -----------------------------------

    async def household_apply(self, args: dict[str, Any]) -> Sent:
        """``household.apply`` with arguments built client side (commitments, sealed data:
        ``node.aidclient.household_args``); ``sent.new_id("household")`` is the new id."""
        return await self.aid("household.apply", args)

    async def household_review(self, household: str, stage: str) -> Sent:
        """``stage``: ``village``, ``township`` (after the public notice) or ``county``."""
        return await self.aid("household.review", {"household": household, "stage": stage})

    async def cycle_create(self, program: str, period: str) -> Sent:
        return await self.aid("cycle.create", {"program": program, "period": period})

    async def cycle_add(self, cycle: str, households: list[str], *, gas: int | None = None) -> Sent:
        if gas is None:
            gas = CYCLE_ADD_GAS_PER_HOUSEHOLD * len(households)
        return await self.aid("cycle.add", {"cycle": cycle, "households": households}, gas=gas)

    async def cycle_submit(self, cycle: str, *, gas: int = CYCLE_SUBMIT_GAS) -> Sent:
        return await self.aid("cycle.submit", {"cycle": cycle}, gas=gas)

    async def cycle_approve(
        self, cycle: str, decision: str = "approve", reason: str | None = None
    ) -> Sent:
        """Approve (or ``decision="reject"`` with a ``reason``) the cycle's open stage."""
        args: dict[str, Any] = {"cycle": cycle, "decision": decision}
        if reason is not None:
            args["reason"] = reason
        return await self.aid("cycle.approve", args)

    async def batch_create(self, cycle: str, bank: str, count: int, total: int) -> Sent:
        """Send an approved cycle to ``bank``; ``count``/``total`` must match exactly."""
        args = {"cycle": cycle, "bank": bank, "count": count, "total": total}
        return await self.aid("batch.create", args)

    async def payment_report(self, batch: str, results: list[dict[str, Any]]) -> Sent:
        """Report outcomes (rows from ``paid``/``failed``/``returned``, at most 500 a report)."""
        return await self.aid("payment.report", {"batch": batch, "results": results})


def _aid_payload(action: str, args: dict[str, Any], gas: int) -> dict[str, Any]:
    payload: dict[str, Any] = {"action": action, "args": args}
    if gas:
        payload["gas"] = gas
    return payload
