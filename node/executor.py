"""Block execution: turn a committed (or proposed) block into state writes, receipts and a root.

``execute`` only reads the store; the daemon hands its result to ``ChainStore.commit_block``,
which writes everything in one batch. Execution is deterministic: it depends only on the block and
the committed state, iterates in block order, and the state root hashes the writes sorted by key.

Native transfers are handled here. ``deploy``/``call`` go to the contract runtime
(``contracts.runtime``, imported lazily, injectable for tests), which gets a per-transaction
overlay that is merged into the block overlay only when the transaction succeeds. ``aid`` txs
go to the disbursement ledger (``aid.ledger.execute``) the same way; a refused action
(``LedgerError``) leaves a failed receipt and nothing else, and any other exception from the
ledger is a bug that stops the node. The entities the ledger touched give the block's edits of
the read-side index (``aid.indexes``), stored in the block's batch with everything else.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aid.context import Context
from aid.errors import LedgerError
from aid.indexes import history_key, index_delta
from aid.ledger import END_BLOCK_ACTION, Outcome
from aid.ledger import end_block as ledger_end_block
from aid.ledger import execute as ledger_execute
from aid.rules import ContractRules
from aid.state import PREFIX as AID_PREFIX
from aid.state import json_copy, record_key
from aid.stats import STATS, stats_delta
from chain import limits
from chain.block import Block, receipts_root_of_bytes
from chain.encoding import canonical, canonical_pairs, canonical_unchecked
from chain.errors import AidchainError, EncodingError, InvalidBlock
from chain.statekeys import account_key
from chain.tx import Transaction
from storage.chainstore import ChainStore
from storage.index import NO_INDEX_CHANGES, IndexChanges
from storage.stats import NO_STATS_CHANGES, StatsChanges

log = logging.getLogger(__name__)

_MISSING = object()
END_BLOCK_TX_INDEX = 99_999  # history index of the end-of-block sweep: after any tx (< 2,000)


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    writes: dict[str, Any | None]  # state key -> new JSON value (None = delete)
    receipts: list[dict[str, Any]]  # one per tx, in block order
    state_root: str
    receipts_root: str  # chain.block.receipts_root of ``receipts``; the next header carries it
    index: IndexChanges = NO_INDEX_CHANGES  # the ledger's read-side index (not in the root)
    stats: StatsChanges = NO_STATS_CHANGES  # the ledger's statistics counters (not in the root)
    # the end-of-block sweep's events (escalations): in no receipt and no root, stored beside
    # the block's index so ``events`` subscribers get them live and on replay
    end_block_events: tuple[dict[str, Any], ...] = ()
    # canonical bytes, encoded once for the roots and kept by the store: every written value
    # (not the deleted keys), and every receipt in block order
    write_bytes: dict[str, bytes] | None = None
    receipt_bytes: tuple[bytes, ...] | None = None


def compute_state_root(prev_root: str, writes: dict[str, Any | None]) -> str:
    """sha256(prev_root bytes + canonical([[key, value], ...] sorted by key))."""
    return state_root_and_bytes(prev_root, writes)[0]


def state_root_and_bytes(
    prev_root: str, writes: dict[str, Any | None]
) -> tuple[str, dict[str, bytes]]:
    """``compute_state_root`` and the canonical bytes of every value written (not deleted).

    The store keeps exactly those bytes, so each value is encoded once per block.
    """
    keys = sorted(writes)
    encoded, values = canonical_pairs([(key, writes[key]) for key in keys])
    root = hashlib.sha256(bytes.fromhex(prev_root) + encoded).hexdigest()
    return root, {k: v for k, v in zip(keys, values, strict=True) if writes[k] is not None}


class BlockState:
    """The block overlay: reads fall through to the committed store, writes stay in memory.

    Committed values are decoded once per block and shared (``_read``): a block's actions read
    the same organisations, grants, policy, programs and rules code over and over, and the
    committed state cannot change while the block executes. Nothing may mutate a value this
    returns; ``TxState`` and the ledger's ``Records`` hand out private copies.
    """

    __slots__ = ("_read", "_store", "writes")

    def __init__(self, store: ChainStore) -> None:
        self._store = store
        self._read: dict[str, Any | None] = {}  # committed value of each key read, None = absent
        self.writes: dict[str, Any | None] = {}

    def get(self, key: str) -> Any | None:
        value = self.writes.get(key, _MISSING)
        if value is _MISSING:
            value = self._read.get(key, _MISSING)
            if value is _MISSING:
                value = self._read[key] = self._store.get_state(key)
        return value

    def set(self, key: str, value: Any) -> None:
        self.writes[key] = value

    def delete(self, key: str) -> None:
        self.writes[key] = None

    def committed(self, key: str) -> Any | None:
        """The value at ``key`` before this block (shared, as ``get``'s): what the read side
        diffs against. Most keys a block wrote it read first, so they are decoded already."""
        value = self._read.get(key, _MISSING)
        if value is _MISSING:
            value = self._read[key] = self._store.get_state(key)
        return value


class StateReader(Protocol):
    def get(self, key: str) -> Any | None: ...


class SignatureMemo(Protocol):
    """Signatures this node already verified (the mempool's memo), so each is checked once."""

    def verified(self, tx: Transaction) -> bool: ...

    def note_verified(self, tx: Transaction) -> None: ...


class TxState:
    """One transaction's overlay over the block overlay (or a read view); merged only on success."""

    __slots__ = ("_parent", "writes")

    def __init__(self, parent: StateReader) -> None:
        self._parent = parent
        self.writes: dict[str, Any | None] = {}

    def get(self, key: str) -> Any | None:
        # a copy: a runtime that mutates what it read must not leak into the block on failure
        return json_copy(self.shared(key))

    def shared(self, key: str) -> Any | None:
        """The value itself, not a copy: only for readers that copy (or never mutate) it."""
        value = self.writes.get(key, _MISSING)
        if value is _MISSING:
            value = self._parent.get(key)
        return value

    def set(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError("state keys must be strings")
        self.writes[key] = value

    def delete(self, key: str) -> None:
        self.writes[key] = None


class LedgerState:
    """A transaction overlay as the ledger sees it: reads are not copied, because the ledger's
    ``Records`` copies every record it reads; writes go to the overlay. Halves the copying of
    every record a ledger action reads (the rules contract keeps the copying ``TxState``).
    """

    __slots__ = ("delete", "get", "set")

    def __init__(self, tx_state: TxState) -> None:
        self.get = tx_state.shared
        self.set = tx_state.set
        self.delete = tx_state.delete


ACCOUNT_PREFIX = account_key("")


def _is_account(value: Any) -> bool:
    """Accounts must stay {"balance": int >= 0, "nonce": int >= 0}; transfers rely on it."""
    return (
        isinstance(value, dict)
        and set(value) == {"balance", "nonce"}
        and all(type(v) is int and v >= 0 for v in value.values())
    )


@dataclass(frozen=True, slots=True)
class AidRun:
    """An accepted ledger action: what it did and the rules gas it burned."""

    outcome: Outcome
    gas_used: int


def run_aid(
    state: TxState, tx: Transaction, height: int, time_ms: int, rules: ContractRules | None = None
) -> AidRun:
    """Run ``tx``'s ledger action on ``state``; raises LedgerError when the ledger refuses.

    Its program's rules (if the action runs any) execute read-only over the same overlay, out
    of the tx's declared gas (``rules``, made here unless the caller wants to read its gas
    after a refusal). Shared by block execution and ``aid_check`` (a simulation).
    """
    payload = tx.payload
    if rules is None:
        rules = ContractRules(state, gas=tx.gas_limit, height=height, time_ms=time_ms)
    ctx = Context(signer=tx.sender, height=height, time_ms=time_ms, tx_hash=tx.hash)
    outcome = ledger_execute(LedgerState(state), ctx, payload["action"], payload["args"], rules)
    return AidRun(outcome, rules.gas_used)


def aid_receipt(run: AidRun) -> dict[str, Any]:
    return {
        "ok": True,
        "error": None,
        "error_type": None,
        "error_data": None,
        "events": list(run.outcome.events),
        "touched": list(run.outcome.touched),
        "gas_used": run.gas_used,
    }


def _failed_aid_receipt(exc: LedgerError, gas_used: int) -> dict[str, Any]:
    return {
        "ok": False,
        "error": exc.message,
        "error_type": exc.reason,
        "error_data": dict(exc.data) or None,
        "events": [],
        "touched": [],
        "gas_used": gas_used,  # rules that ran before the refusal still burned it
    }


def _failed_contract_receipt(error: str, error_type: str) -> dict[str, Any]:
    return {
        "ok": False,
        "error": error,
        "error_type": error_type,
        "error_location": None,
        "gas_used": 0,
        "events": [],
        "result": None,
        "address": None,
    }


class _LedgerTouches:
    """The block's accepted ledger actions: which entities they touched, at which tx."""

    __slots__ = ("_entries", "history", "touched")

    def __init__(self) -> None:
        self.touched: dict[str, None] = {}  # "kind/id", first-touched order
        self.history: list[tuple[str, Any]] = []
        # one (never mutated) history value per action: the store encodes each object once
        self._entries: dict[str, dict[str, Any]] = {}

    def add(self, height: int, index: int, tx: Transaction, receipt: dict[str, Any]) -> None:
        if not receipt["ok"]:
            return
        action = tx.payload["action"]
        entry = self._entries.get(action)
        if entry is None:
            entry = self._entries[action] = {"action": action}  # hash: aid.reads.history_step
        for ref in receipt["touched"]:
            self.touched[ref] = None
            kind, ident = ref.split("/", 1)
            self.history.append((history_key(kind, ident, height, index), entry))

    def add_end_block(self, height: int, outcome: Outcome) -> None:
        """The sweep's touches; its history entries sort after every tx of the block."""
        for ref in outcome.touched:
            self.touched[ref] = None
            kind, ident = ref.split("/", 1)
            key = history_key(kind, ident, height, END_BLOCK_TX_INDEX)
            self.history.append((key, {"tx": None, "action": END_BLOCK_ACTION}))

    def changes(
        self, before: Callable[[str], Any | None], after: Callable[[str], Any | None]
    ) -> IndexChanges:
        """Index edits: ``before`` reads the committed state, ``after`` the block's overlay."""
        if not self.touched:
            return NO_INDEX_CHANGES
        deletes, puts = index_delta(
            list(self.touched),
            lambda kind, ident: before(record_key(kind, ident)),
            lambda kind, ident: after(record_key(kind, ident)),
        )
        return IndexChanges(tuple(deletes), (*((k, None) for k in puts), *self.history))


class Executor:
    """Validates and executes blocks against one store.

    ``execute`` is pure Python over store reads and may run for as long as the block's gas
    allows, so the daemon calls it on a worker thread; ``block_gas_limit`` (from the genesis)
    bounds that time by refusing blocks whose gas (``chain.gas.block_gas``: each transaction's
    intrinsic gas plus its declared gas) is larger.
    """

    def __init__(
        self,
        store: ChainStore,
        contracts: Any = None,
        *,
        block_gas_limit: int = limits.DEFAULT_BLOCK_GAS_LIMIT,
        read_side: bool = True,
    ) -> None:
        self._store = store
        self._read_side_kept = read_side  # False: no index or statistics ([node] read_side)
        self._contracts = contracts
        self.block_gas_limit = block_gas_limit

    # --- validation before voting for a block ----------------------------------------------------
    def validate_block_txs(self, block: Block, memo: SignatureMemo | None = None) -> str | None:
        """None if every tx may be included at this height, else why not (balance not checked).

        Only the rules that need the committed state or the genesis are here; the ones a block
        settles alone (size, count, chain id, duplicates, tx_root) are ``chain.validity``'s,
        which the replica checks first. A signature ``memo`` already holds is not checked again,
        and one checked here goes into it.
        """
        txs = block.txs
        gas = sum(tx.block_gas for tx in txs)
        if gas > self.block_gas_limit:
            return f"block transactions cost {gas} gas, more than {self.block_gas_limit}"
        next_nonce: dict[str, int] = {}
        for index, tx in enumerate(txs):
            expected = next_nonce.get(tx.sender)
            if expected is None:
                expected = self._store.account(tx.sender)[1]
            if tx.nonce != expected:
                return f"tx {index} from {tx.sender[:12]} has nonce {tx.nonce}, expected {expected}"
            next_nonce[tx.sender] = expected + 1
            if memo is None or not memo.verified(tx):
                if not tx.verify_signature():
                    return f"tx {index} ({tx.hash[:12]}) has a bad signature"
                if memo is not None:
                    memo.note_verified(tx)
        return None

    # --- execution --------------------------------------------------------------------------------
    def execute(self, block: Block) -> ExecutionResult:
        """Execute ``block`` on top of the committed state; reads the store, writes nothing."""
        chain_id = self._store.chain_id
        overlay = BlockState(self._store)
        receipts: list[dict[str, Any]] = []
        receipt_bytes: list[bytes] = []
        ledger = _LedgerTouches()
        for index, tx in enumerate(block.txs):
            if tx.chain_id != chain_id:
                raise InvalidBlock(f"tx {tx.hash[:12]} is for chain {tx.chain_id!r}")
            acct = overlay.get(account_key(tx.sender))
            nonce = 0 if acct is None else acct["nonce"]
            if tx.nonce != nonce:
                raise InvalidBlock(
                    f"tx {tx.hash[:12]} has nonce {tx.nonce}, sender's nonce is {nonce}"
                )
            if tx.type == "aid":
                receipt, encoded = self._aid(overlay, block, tx)
                ledger.add(block.height, index, tx, receipt)
            else:
                if tx.type == "transfer":
                    receipt = self._transfer(overlay, tx)
                else:
                    receipt = self._contract(overlay, block, tx)
                encoded = canonical_unchecked(receipt)
            receipts.append(receipt)
            receipt_bytes.append(encoded)
            # every included tx bumps its sender's nonce, whatever the outcome
            key = account_key(tx.sender)
            acct = overlay.get(key)
            if acct is None:
                overlay.set(key, {"balance": 0, "nonce": tx.nonce + 1})
            else:
                overlay.set(key, {"balance": acct["balance"], "nonce": tx.nonce + 1})
        end_block_events = self._end_block(overlay, block, ledger)
        writes = overlay.writes
        try:
            root, write_bytes = state_root_and_bytes(self._store.state_root, writes)
        except EncodingError as exc:
            raise InvalidBlock(
                f"execution produced a non-canonical state value: {exc.message}"
            ) from None
        index_changes, stats_changes = self._read_side(overlay, ledger)
        return ExecutionResult(
            writes,
            receipts,
            root,
            receipts_root_of_bytes(block.txs, receipt_bytes),
            index_changes,
            stats_changes,
            end_block_events,
            write_bytes,
            tuple(receipt_bytes),
        )

    @staticmethod
    def _end_block(
        overlay: BlockState, block: Block, ledger: _LedgerTouches
    ) -> tuple[dict[str, Any], ...]:
        """The ledger's deadline sweep (escalations) after the block's transactions; its events."""
        tx_state = TxState(overlay)
        outcome = ledger_end_block(LedgerState(tx_state), block.height, block.header.time)
        overlay.writes.update(tx_state.writes)
        ledger.add_end_block(block.height, outcome)
        return outcome.events

    def _read_side(
        self, overlay: BlockState, ledger: _LedgerTouches
    ) -> tuple[IndexChanges, StatsChanges]:
        """The block's edits of the read-side index and of the statistics (outside the root)."""
        if not self._read_side_kept:
            return NO_INDEX_CHANGES, NO_STATS_CHANGES
        before = overlay.committed  # both read the records as they were before the block
        return ledger.changes(before, overlay.get), self._stats(overlay, before)

    def _stats(self, overlay: BlockState, before: Callable[[str], Any | None]) -> StatsChanges:
        """New absolute values of the counters this block moves (aid.stats), read once each.

        Every ledger record the block wrote counts, not only the ones its actions reported as
        touched (a payment report also rewrites its program). The committed value of each key is
        read here, while the block's batch is being built; blocks commit one at a time, so no
        other write can land between this read and the batch that stores the sum.
        """
        changed = []
        for key in overlay.writes:
            if key.startswith(AID_PREFIX):
                kind, _, ident = key[len(AID_PREFIX) :].partition("/")
                if kind in STATS:
                    changed.append((kind, ident))
        if not changed:
            return NO_STATS_CHANGES
        deltas = stats_delta(
            changed,
            lambda kind, ident: before(f"{AID_PREFIX}{kind}/{ident}"),
            lambda kind, ident: overlay.get(f"{AID_PREFIX}{kind}/{ident}"),
        )
        keys = sorted(deltas)
        values = []
        for key, old in zip(keys, self._store.get_stats(keys), strict=True):
            value = old + deltas[key]
            assert value >= 0, f"statistics counter {key} would be {value}: run node reindex"
            values.append((key, value))
        return StatsChanges(tuple(values))

    @staticmethod
    def _aid(overlay: BlockState, block: Block, tx: Transaction) -> tuple[dict[str, Any], bytes]:
        """One ledger action on its own overlay: kept whole on success, dropped on refusal.

        Returns the receipt and its canonical bytes (checking that it has them encodes it).

        Only a LedgerError is a refusal. Anything else the ledger raises is a bug in a state
        machine every node runs identically; it propagates, and the node stops (CRITICAL)
        rather than commit a state nobody can explain.
        """
        tx_state = TxState(overlay)
        time_ms = block.header.time
        rules = ContractRules(tx_state, gas=tx.gas_limit, height=block.height, time_ms=time_ms)
        try:
            run = run_aid(tx_state, tx, block.height, time_ms, rules)
        except LedgerError as exc:
            receipt = _failed_aid_receipt(exc, rules.gas_used)
            try:
                return receipt, canonical(receipt)
            except EncodingError:  # error data that is not JSON: keep the reason and message
                receipt["error_data"] = None
            return receipt, canonical(receipt)
        receipt = aid_receipt(run)
        encoded = canonical(receipt)  # stored and hashed: events that are not JSON are a bug
        overlay.writes.update(tx_state.writes)
        return receipt, encoded

    @staticmethod
    def _transfer(overlay: BlockState, tx: Transaction) -> dict[str, Any]:
        amount: int = tx.payload["amount"]
        to: str = tx.payload["to"]
        skey = account_key(tx.sender)
        sender = overlay.get(skey)
        balance = 0 if sender is None else sender["balance"]
        if balance < amount:
            return {
                "ok": False,
                "error": f"insufficient balance: has {balance}, needs {amount}",
                "events": [],
            }
        assert sender is not None  # balance >= amount > 0
        overlay.set(skey, {"balance": balance - amount, "nonce": sender["nonce"]})
        rkey = account_key(to)
        recipient = overlay.get(rkey)
        if recipient is None:
            overlay.set(rkey, {"balance": amount, "nonce": 0})
        else:
            overlay.set(
                rkey, {"balance": recipient["balance"] + amount, "nonce": recipient["nonce"]}
            )
        return {
            "ok": True,
            "error": None,
            "events": [{"name": "transfer", "from": tx.sender, "to": to, "amount": amount}],
        }

    def _runtime(self) -> Any:
        if self._contracts is None:
            # lazy: transfers never need the contract VM
            self._contracts = importlib.import_module("contracts.runtime")
        return self._contracts

    def _contract(self, overlay: BlockState, block: Block, tx: Transaction) -> dict[str, Any]:
        payload = tx.payload
        gas = payload.get("gas", limits.DEFAULT_CALL_GAS)
        tx_state = TxState(overlay)
        try:
            runtime = self._runtime()
            ctx = runtime.CallContext(height=block.height, time=block.header.time, tx_hash=tx.hash)
            if tx.type == "deploy":
                result = runtime.deploy(
                    tx_state,
                    sender=tx.sender,
                    nonce=tx.nonce,
                    source=payload["source"],
                    init=payload.get("init", {}),
                    gas=gas,
                    ctx=ctx,
                )
            elif tx.type == "call":
                result = runtime.call(
                    tx_state,
                    sender=tx.sender,
                    contract=payload["contract"],
                    method=payload["method"],
                    args=payload.get("args", {}),
                    gas=gas,
                    ctx=ctx,
                )
            else:
                return _failed_contract_receipt(f"unknown transaction type {tx.type!r}", "bad_type")
            receipt = dict(result.to_receipt())
            canonical(receipt)  # a receipt is stored and hashed: it must be canonical JSON
            for key, value in tx_state.writes.items():
                canonical(value)
                if key.startswith(ACCOUNT_PREFIX) and not _is_account(value):
                    return _failed_contract_receipt(
                        f"contract wrote a malformed account record at {key!r}", "bad_state_write"
                    )
        except AidchainError as exc:
            return _failed_contract_receipt(exc.message, exc.reason)
        except Exception as exc:  # a runtime bug must fail the tx, not halt every node
            log.exception("contract runtime raised on tx %s", tx.hash[:12])
            return _failed_contract_receipt(
                f"contract runtime error: {type(exc).__name__}", "internal"
            )
        if receipt.get("ok") is True:
            overlay.writes.update(tx_state.writes)
        return receipt
