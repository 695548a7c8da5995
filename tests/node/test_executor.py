"""Executor: transfers, failed transfers, nonces, determinism, block validation, contract dispatch."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain import limits
from chain.block import EMPTY_ROOT, Block, CommitCertificate, receipts_root
from chain.crypto import KeyPair
from chain.encoding import canonical
from chain.errors import ContractError, InvalidBlock
from chain.gas import block_gas, intrinsic_gas
from chain.statekeys import account_key, storage_key
from chain.tx import Transaction, make_transfer, sign_tx, tx_from_dict
from node.executor import ExecutionResult, Executor, compute_state_root
from node.mempool import Mempool
from storage.chainstore import ChainStore
from tests.blocks import block_after

CHAIN = "exec-chain"
KEYS = [KeyPair.from_seed(bytes([65 + i]) * 32) for i in range(4)]
A, B, C, D = KEYS
VALIDATOR = KeyPair.from_seed(b"v" * 32)
GENESIS = {
    "chain_id": CHAIN,
    "time": 1_000,
    "validators": [{"id": VALIDATOR.public_hex, "name": "v0"}],
    "accounts": {A.public_hex: 1_000, B.public_hex: 50, C.public_hex: 0},
}


def open_store(path: Path) -> ChainStore:
    store = ChainStore.open(path)
    store.init_genesis(GENESIS)
    return store


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = open_store(tmp_path / "db")
    yield s
    s.close()


def block_of(store: ChainStore, txs: list[Transaction] | tuple[Transaction, ...]) -> Block:
    return block_after(store, txs, VALIDATOR.public_hex, receipts_root=EMPTY_ROOT)


def commit(store: ChainStore, executor: Executor, block: Block) -> ExecutionResult:
    result = executor.execute(block)
    store.commit_block(block, CommitCertificate(block.height, block.hash, 0, ()), result)
    return result


def pay(key: KeyPair, nonce: int, to: KeyPair, amount: int) -> Transaction:
    return make_transfer(key, CHAIN, nonce, to.public_hex, amount)


def test_transfer_moves_funds_and_creates_the_recipient(store: ChainStore) -> None:
    ex = Executor(store)
    block = block_of(store, [pay(A, 0, B, 100), pay(A, 1, D, 7)])
    result = ex.execute(block)
    assert result.receipts == [
        {
            "ok": True,
            "error": None,
            "events": [
                {"name": "transfer", "from": A.public_hex, "to": B.public_hex, "amount": 100}
            ],
        },
        {
            "ok": True,
            "error": None,
            "events": [{"name": "transfer", "from": A.public_hex, "to": D.public_hex, "amount": 7}],
        },
    ]
    assert result.writes == {
        account_key(A.public_hex): {"balance": 893, "nonce": 2},
        account_key(B.public_hex): {"balance": 150, "nonce": 0},
        account_key(D.public_hex): {"balance": 7, "nonce": 0},
    }
    pairs = [[k, result.writes[k]] for k in sorted(result.writes)]
    expected_root = hashlib.sha256(bytes.fromhex(store.state_root) + canonical(pairs)).hexdigest()
    assert result.state_root == expected_root == compute_state_root(store.state_root, result.writes)
    # the bytes encoded once for the roots are what the store keeps
    assert result.write_bytes == {
        k: canonical(v) for k, v in result.writes.items() if v is not None
    }
    assert result.receipt_bytes == tuple(canonical(r) for r in result.receipts)
    assert result.receipts_root == receipts_root(block.txs, result.receipts)
    assert store.account(A.public_hex) == (1_000, 0)  # execute never writes
    commit(store, ex, block)
    assert store.account(A.public_hex) == (893, 2)
    assert store.account(D.public_hex) == (7, 0)
    assert store.state_root == result.state_root


def test_insufficient_balance_fails_and_only_bumps_the_nonce(store: ChainStore) -> None:
    ex = Executor(store)
    result = commit(
        store, ex, block_of(store, [pay(B, 0, A, 51), pay(C, 0, A, 1), pay(B, 1, A, 50)])
    )
    assert result.receipts[0] == {
        "ok": False,
        "error": "insufficient balance: has 50, needs 51",
        "events": [],
    }
    assert result.receipts[1] == {
        "ok": False,
        "error": "insufficient balance: has 0, needs 1",
        "events": [],
    }
    assert result.receipts[2]["ok"] is True
    assert store.account(B.public_hex) == (0, 2)
    assert store.account(C.public_hex) == (0, 1)
    assert store.account(A.public_hex) == (1_050, 0)


def test_unfunded_sender_gets_an_account_with_its_nonce(store: ChainStore) -> None:
    result = commit(store, Executor(store), block_of(store, [pay(D, 0, A, 1)]))
    assert result.receipts[0]["ok"] is False
    assert store.account(D.public_hex) == (0, 1)


def test_self_transfer_keeps_the_balance(store: ChainStore) -> None:
    result = commit(store, Executor(store), block_of(store, [pay(A, 0, A, 400)]))
    assert result.receipts[0]["ok"] is True
    assert store.account(A.public_hex) == (1_000, 1)


def test_execution_is_deterministic_across_nodes(tmp_path: Path) -> None:
    s1, s2 = open_store(tmp_path / "n1"), open_store(tmp_path / "n2")
    try:
        txs = [pay(A, 0, B, 10), pay(B, 0, C, 60), pay(A, 1, C, 5), pay(C, 0, D, 3)]
        e1, e2 = Executor(s1), Executor(s2)
        block = block_of(s1, txs)
        first = e1.execute(block)
        assert e1.execute(block) == first  # same block, same store -> same result
        assert e2.execute(block_of(s2, txs)) == first
        commit(s1, e1, block)
        commit(s2, e2, block_of(s2, txs))
        nxt = [pay(A, 2, D, 1), pay(B, 1, A, 1)]
        r1, r2 = commit(s1, e1, block_of(s1, nxt)), commit(s2, e2, block_of(s2, nxt))
        assert r1 == r2 and s1.state_root == s2.state_root and s1.head_hash == s2.head_hash
        assert r1.state_root != first.state_root  # roots chain through blocks
    finally:
        s1.close()
        s2.close()


def test_execute_refuses_a_block_with_wrong_nonce_or_chain(store: ChainStore) -> None:
    ex = Executor(store)
    with pytest.raises(InvalidBlock, match="nonce"):
        ex.execute(block_of(store, [pay(A, 1, B, 1)]))
    other = make_transfer(A, "other-chain", 0, B.public_hex, 1)
    with pytest.raises(InvalidBlock, match="chain"):
        ex.execute(block_of(store, [other]))


def tampered(tx: Transaction) -> Transaction:
    obj = tx.to_dict()
    obj["signature"] = ("0" if obj["signature"][0] != "0" else "1") + obj["signature"][1:]
    return tx_from_dict(obj)


def _validation_cases() -> list[tuple[str, list[Transaction], str | None]]:
    return [
        ("valid run of nonces", [pay(A, 0, B, 1), pay(B, 0, A, 1), pay(A, 1, B, 1)], None),
        ("empty block", [], None),
        ("nonce too high", [pay(A, 1, B, 1)], "expected 0"),
        ("nonce gap", [pay(A, 0, B, 1), pay(A, 2, B, 1)], "expected 1"),
        ("nonce reused", [pay(A, 0, B, 1), pay(A, 0, B, 2)], "expected 1"),
        ("bad signature", [tampered(pay(A, 0, B, 1))], "bad signature"),
        ("balance not checked", [pay(C, 0, A, 10**6)], None),
    ]


@pytest.mark.parametrize(
    ("name", "txs", "reason"), _validation_cases(), ids=[c[0] for c in _validation_cases()]
)
def test_validate_block_txs(
    store: ChainStore, name: str, txs: list[Transaction], reason: str | None
) -> None:
    got = Executor(store).validate_block_txs(block_of(store, txs))
    if reason is None:
        assert got is None, name
    else:
        assert got is not None and reason in got, (name, got)


def test_validate_uses_committed_nonces(store: ChainStore) -> None:
    ex = Executor(store)
    commit(store, ex, block_of(store, [pay(A, 0, B, 1)]))
    assert ex.validate_block_txs(block_of(store, [pay(A, 0, B, 1)])) is not None
    assert ex.validate_block_txs(block_of(store, [pay(A, 1, B, 1)])) is None


@dataclass
class Memo:
    """A signature memo that says what it is told to, and records what it is told."""

    known: bool
    asked: list[Transaction] = field(default_factory=list)
    noted: list[Transaction] = field(default_factory=list)

    def verified(self, tx: Transaction) -> bool:
        self.asked.append(tx)
        return self.known

    def note_verified(self, tx: Transaction) -> None:
        self.noted.append(tx)


def test_validate_skips_signatures_the_memo_holds_and_notes_the_ones_it_checks(
    store: ChainStore,
) -> None:
    ex = Executor(store)
    bad = tampered(pay(A, 0, B, 1))
    trusting = Memo(known=True)
    assert ex.validate_block_txs(block_of(store, [bad]), trusting) is None
    assert trusting.asked == [bad] and trusting.noted == []
    assert ex.validate_block_txs(block_of(store, [bad]), Memo(known=False)) is not None
    good = pay(A, 0, B, 1)
    fresh = Memo(known=False)
    assert ex.validate_block_txs(block_of(store, [good]), fresh) is None
    assert fresh.noted == [good]


def test_a_pending_txs_body_with_another_signature_is_checked(store: ChainStore) -> None:
    """A primary re-signing nothing, only swapping the signature of a tx backups hold, is caught.

    The hash covers the body only; a memo keyed by it alone let such a block commit, and its
    inclusion proof would never verify.
    """
    ex = Executor(store)
    genuine = pay(A, 0, B, 1)
    mempool = Mempool(store.chain_id, lambda sender: store.account(sender)[1])
    assert mempool.add(genuine)
    forged = tampered(genuine)
    assert forged.hash == genuine.hash
    assert "bad signature" in (ex.validate_block_txs(block_of(store, [forged]), mempool) or "")
    assert ex.validate_block_txs(block_of(store, [genuine]), mempool) is None


# --- contract dispatch through an injected fake runtime ------------------------------------------


@dataclass(frozen=True, slots=True)
class FakeContext:
    height: int
    time: int
    tx_hash: str


@dataclass
class FakeResult:
    ok: bool
    error: str | None = None
    address: str | None = None
    events: list[Any] = field(default_factory=list)

    def to_receipt(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "error": self.error,
            "error_type": None if self.ok else "fail",
            "gas_used": 42,
            "events": self.events,
            "result": None,
            "address": self.address,
        }


class FakeRuntime:
    CallContext = FakeContext

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def deploy(
        self,
        state: Any,
        *,
        sender: str,
        nonce: int,
        source: str,
        init: dict[str, Any],
        gas: int,
        ctx: FakeContext,
    ) -> FakeResult:
        self.calls.append(
            (
                "deploy",
                {
                    "sender": sender,
                    "nonce": nonce,
                    "source": source,
                    "init": init,
                    "gas": gas,
                    "ctx": ctx,
                },
            )
        )
        address = hashlib.sha256(f"{sender}{nonce}".encode()).hexdigest()
        state.set(
            f"code/{address}",
            {"source": source, "deployer": sender, "height": ctx.height, "tx": ctx.tx_hash},
        )
        return FakeResult(True, address=address)

    def call(
        self,
        state: Any,
        *,
        sender: str,
        contract: str,
        method: str,
        args: dict[str, Any],
        gas: int,
        ctx: FakeContext,
    ) -> FakeResult:
        self.calls.append(
            (
                "call",
                {
                    "sender": sender,
                    "contract": contract,
                    "method": method,
                    "args": args,
                    "gas": gas,
                    "ctx": ctx,
                },
            )
        )
        counter = storage_key(contract, "n")
        state.set(counter, (state.get(counter) or 0) + 1)
        if method == "boom":
            raise ContractError("contract said no")
        if method == "crash":
            raise ZeroDivisionError("bug")
        if method == "fail":
            return FakeResult(False, error="failed on purpose")
        if method == "float":
            state.set(counter, 1.5)
        if method == "mutate":  # mutating a read value in place must not leak on failure
            state.get(account_key(sender))["balance"] = 10**9
            return FakeResult(False, error="mutated then failed")
        if method == "corrupt":
            state.set(account_key(sender), {"balance": -5, "nonce": 0})
        if method == "spend":  # the contract may move the sender's money; the nonce bump keeps it
            acct = state.get(account_key(sender))
            state.set(
                account_key(sender), {"balance": acct["balance"] - 10, "nonce": acct["nonce"]}
            )
        return FakeResult(True, events=[{"name": "called", "method": method}])


def test_deploy_and_call_dispatch_to_the_runtime(store: ChainStore) -> None:
    runtime = FakeRuntime()
    ex = Executor(store, contracts=runtime)
    deploy = sign_tx(A, CHAIN, 0, "deploy", {"source": "def f(): pass", "init": {"x": 1}})
    block = block_of(store, [deploy])
    result = commit(store, ex, block)
    kind, kwargs = runtime.calls[0]
    address = result.receipts[0]["address"]
    assert kind == "deploy" and kwargs["gas"] == limits.DEFAULT_CALL_GAS
    assert kwargs["init"] == {"x": 1} and kwargs["nonce"] == 0 and kwargs["sender"] == A.public_hex
    assert kwargs["ctx"] == FakeContext(height=1, time=block.header.time, tx_hash=deploy.hash)
    assert result.receipts[0]["ok"] is True and result.receipts[0]["gas_used"] == 42
    assert store.get_state(f"code/{address}")["source"] == "def f(): pass"  # type: ignore[index]
    assert store.account(A.public_hex) == (1_000, 1)

    def call(nonce: int, method: str) -> Transaction:
        return sign_tx(
            A,
            CHAIN,
            nonce,
            "call",
            {"contract": address, "method": method, "args": {"a": 1}, "gas": 500},
        )

    methods = ["inc", "fail", "boom", "crash", "float", "spend", "corrupt", "mutate", "inc"]
    result = commit(store, ex, block_of(store, [call(1 + i, m) for i, m in enumerate(methods)]))
    oks = [r["ok"] for r in result.receipts]
    assert oks == [True, False, False, False, False, True, False, False, True]
    assert result.receipts[6]["error_type"] == "bad_state_write"
    assert result.receipts[1]["error"] == "failed on purpose"
    assert result.receipts[2]["error"] == "contract said no"
    assert result.receipts[2]["error_type"] == "contract_error"
    assert result.receipts[3]["error_type"] == "internal"
    assert result.receipts[4]["ok"] is False  # a non-canonical write fails the tx, not the node
    assert all(c[1]["gas"] == 500 and c[1]["args"] == {"a": 1} for c in runtime.calls[1:])
    # only the successful calls' writes survive; every call bumped the nonce
    assert store.get_state(storage_key(address, "n")) == 3
    assert store.account(A.public_hex) == (990, 1 + len(methods))


def test_real_runtime_is_imported_lazily(
    store: ChainStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    runtime = FakeRuntime()
    imported: list[str] = []

    def fake_import(name: str) -> Any:
        imported.append(name)
        return runtime

    monkeypatch.setattr(importlib, "import_module", fake_import)
    ex = Executor(store)
    commit(store, ex, block_of(store, [pay(A, 0, B, 1)]))
    assert imported == []  # transfers never touch the contract runtime
    deploy = sign_tx(A, CHAIN, 1, "deploy", {"source": "x = 1"})
    result = ex.execute(block_of(store, [deploy]))
    assert imported == ["contracts.runtime"] and result.receipts[0]["ok"] is True


# --- property: transfers conserve money and count nonces -----------------------------------------

transfers = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(1, 400)), max_size=25
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=transfers)
def test_transfers_conserve_supply(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[int, int, int]]
) -> None:
    store = open_store(tmp_path_factory.mktemp("prop") / "db")
    try:
        ex = Executor(store)
        nonces = [0, 0, 0, 0]
        txs = []
        for s, r, amount in ops:
            txs.append(pay(KEYS[s], nonces[s], KEYS[r], amount))
            nonces[s] += 1
        block = block_of(store, txs)
        assert ex.validate_block_txs(block) is None
        result = commit(store, ex, block)
        assert len(result.receipts) == len(txs)
        accounts = [store.account(k.public_hex) for k in KEYS]
        assert sum(b for b, _ in accounts) == sum(GENESIS["accounts"].values())  # type: ignore[attr-defined]
        assert [n for _, n in accounts] == nonces
        assert all(b >= 0 for b, _ in accounts)
    finally:
        store.close()


def _call(key: KeyPair, nonce: int, gas: int) -> Transaction:
    payload = {"contract": "ab" * 32, "method": "m", "args": {}, "gas": gas}
    return sign_tx(key, CHAIN, nonce, "call", payload)


def test_validate_refuses_a_block_over_the_gas_limit(store: ChainStore) -> None:
    at_limit = [_call(A, 0, limits.MAX_CALL_GAS), _call(B, 0, 10), pay(A, 1, B, 1)]
    cost = sum(block_gas(tx) for tx in at_limit)
    assert cost == limits.MAX_CALL_GAS + 10 + sum(intrinsic_gas(tx) for tx in at_limit)
    ex = Executor(store, block_gas_limit=cost)
    assert ex.validate_block_txs(block_of(store, at_limit)) is None
    over = [_call(A, 0, limits.MAX_CALL_GAS), _call(B, 0, 11), pay(A, 1, B, 1)]
    reason = ex.validate_block_txs(block_of(store, over))
    assert reason == f"block transactions cost {cost + 1} gas, more than {cost}"


def test_transfers_cost_their_intrinsic_gas(store: ChainStore) -> None:
    txs = [pay(A, i, B, 1) for i in range(3)]
    each = limits.INTRINSIC_GAS_TRANSFER + limits.GAS_PER_TX_BYTE * txs[0].size
    assert [block_gas(tx) for tx in txs] == [each] * 3
    assert (
        Executor(store, block_gas_limit=3 * each).validate_block_txs(block_of(store, txs)) is None
    )
    too_small = Executor(store, block_gas_limit=3 * each - 1)
    assert "gas" in (too_small.validate_block_txs(block_of(store, txs)) or "")


def test_an_undeclared_gas_counts_as_the_default_call_gas(store: ChainStore) -> None:
    payload = {"contract": "ab" * 32, "method": "m", "args": {}}
    txs = [sign_tx(A, CHAIN, i, "call", payload) for i in range(11)]
    assert all(tx.gas_limit == limits.DEFAULT_CALL_GAS for tx in txs)
    ex = Executor(store, block_gas_limit=sum(block_gas(tx) for tx in txs[:10]))
    assert ex.validate_block_txs(block_of(store, txs[:10])) is None
    assert "gas" in (ex.validate_block_txs(block_of(store, txs)) or "")


def test_the_default_block_gas_limit_holds_a_maximal_call(store: ChainStore) -> None:
    ex = Executor(store)
    assert ex.block_gas_limit == limits.DEFAULT_BLOCK_GAS_LIMIT >= limits.MIN_BLOCK_GAS_LIMIT
    calls = [_call(A, i, limits.MAX_CALL_GAS) for i in range(2)]
    assert block_gas(calls[0]) <= limits.MAX_CALL_GAS + limits.MAX_INTRINSIC_GAS
    assert ex.validate_block_txs(block_of(store, calls[:1])) is None
    assert ex.validate_block_txs(block_of(store, calls)) is not None
