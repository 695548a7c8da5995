"""Executor: ledger (``aid``) transactions on their own overlay, receipts, and the read-side index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aid import ledger
from aid.context import Context
from aid.indexes import index_keys
from aid.reads import history
from aid.state import record_key
from chain.block import EMPTY_ROOT, Block, BlockHeader, CommitCertificate, tx_root
from chain.crypto import KeyPair
from chain.gas import intrinsic_gas
from chain.statekeys import account_key
from chain.tx import Transaction, sign_tx
from node.executor import ExecutionResult, Executor
from node.genesis import validate_genesis
from storage.chainstore import ChainStore
from storage.db import P_INDEX, P_STATE
from tests.aid.helpers import ADMINS, COUNTY, VILLAGE, genesis_doc, key
from tests.blocks import block_after

CHAIN = "aid-exec"
VALIDATORS = [KeyPair.from_seed(bytes([80 + i]) * 32) for i in range(4)]
CLERK = key("clerk")


def genesis() -> dict[str, Any]:
    return {
        "chain_id": CHAIN,
        "time": 1_700_000_000_000,
        "validators": [{"id": v.public_hex, "name": f"v{i}"} for i, v in enumerate(VALIDATORS)],
        "accounts": {ADMINS["fin"].public_hex: 10**9},
        "aid": genesis_doc(),
    }


def open_store(path: Path) -> ChainStore:
    store = ChainStore.open(path)
    if not store.is_initialised():
        g = validate_genesis(genesis())
        store.init_genesis(g.doc, g.aid_records)
    return store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChainStore]:
    s = open_store(tmp_path / "db")
    yield s
    s.close()


class Signer:
    """Signs aid txs with the next nonce of each key."""

    def __init__(self) -> None:
        self.nonces: dict[str, int] = {}

    def __call__(self, k: KeyPair, action: str, gas: int = 0, **args: Any) -> Transaction:
        nonce = self.nonces.get(k.public_hex, 0)
        self.nonces[k.public_hex] = nonce + 1
        payload: dict[str, Any] = {"action": action, "args": args}
        if gas:
            payload["gas"] = gas
        return sign_tx(k, CHAIN, nonce, "aid", payload)


def next_block(store: ChainStore, txs: list[Transaction], dt_ms: int = 1_000) -> Block:
    """The block after the store's head holding ``txs``, ``dt_ms`` later."""
    return block_after(
        store, txs, VALIDATORS[0].public_hex, receipts_root=EMPTY_ROOT, time=store.head_time + dt_ms
    )


def commit(
    store: ChainStore,
    txs: list[Transaction],
    dt_ms: int = 1_000,
    executor: Executor | None = None,
) -> ExecutionResult:
    block = next_block(store, txs, dt_ms)
    result = (executor or Executor(store)).execute(block)
    store.commit_block(block, CommitCertificate(block.height, block.hash, 0, ()), result)
    return result


def new_id(tx: Transaction, kind: str) -> str:
    return Context("", 0, 0, tx.hash).new_id(kind)


def grant_txs(sign: Signer, account: KeyPair, role: str, area: str, org: str) -> list[Transaction]:
    propose = sign(
        ADMINS["fin"],
        "role.propose",
        account=account.public_hex,
        role=role,
        area=area,
        org=org,
        change="grant",
        as_admin_of="fin",
    )
    proposal = new_id(propose, "proposal")
    return [
        propose,
        sign(ADMINS["office"], "role.approve", proposal=proposal, as_admin_of="office"),
        sign(ADMINS["audit"], "role.approve", proposal=proposal, as_admin_of="audit"),
    ]


def test_genesis_writes_the_ledgers_areas_orgs_and_policy(store: ChainStore) -> None:
    assert store.get_state(record_key("policy", "current"))["governance_quorum"] == 3
    assert store.get_state(record_key("area", COUNTY)) == {"name": "County A"}
    assert store.get_state(record_key("org", "bank"))["kind"] == "bank"


def test_a_governed_grant_commits_with_receipts_history_and_index(store: ChainStore) -> None:
    sign = Signer()
    txs = grant_txs(sign, CLERK, "village_registrar", VILLAGE, "village")
    result = commit(store, txs)
    assert [r["ok"] for r in result.receipts] == [True, True, True]
    first = result.receipts[0]
    assert set(first) == {
        "ok",
        "error",
        "error_type",
        "error_data",
        "events",
        "touched",
        "gas_used",
    }
    proposal = new_id(txs[0], "proposal")
    assert first["touched"] == [f"proposal/{proposal}"] and first["gas_used"] == 0
    assert f"grants/{CLERK.public_hex}" in result.receipts[2]["touched"]
    grants = store.get_state(record_key("grants", CLERK.public_hex))
    assert grants == {"grants": [["village_registrar", VILLAGE, "village"]]}
    with store.read_view() as view:
        rows = history(view, "proposal", proposal).items
        assert [(r["height"], r["tx_index"], r["tx"]) for r in rows] == [
            (1, i, t.hash) for i, t in enumerate(txs)
        ]
        record = store.get_state(record_key("proposal", proposal))
        for k in index_keys("proposal", proposal, record):
            assert view.scan(k, None, 1) == [(k, None)]
        # the proposal's status moved within the block: only its final key is indexed
        assert [k for k, _ in view.scan("proposal/status/", None, 10)] == [
            f"proposal/status/{record['status']}/{proposal}"
        ]


def test_a_refused_action_keeps_nothing_but_the_nonce(store: ChainStore) -> None:
    sign = Signer()
    bad = sign(ADMINS["office"], "role.approve", proposal="f" * 20, as_admin_of="office")
    wrong_org = sign(
        ADMINS["office"],
        "role.propose",
        account=CLERK.public_hex,
        role="allocator",
        area=COUNTY,
        org="fin",
        change="grant",
        as_admin_of="fin",  # the office's admin is not the finance bureau's
    )
    unknown = sign(ADMINS["office"], "no.such_action")
    result = commit(store, [bad, wrong_org, unknown])
    assert [r["error_type"] for r in result.receipts] == [
        "unknown_entity",
        "wrong_role",
        "unknown_action",
    ]
    assert all(not r["ok"] and r["touched"] == [] for r in result.receipts)
    assert result.receipts[0]["error_data"] == {"entity": "proposal"}
    assert set(result.writes) == {account_key(ADMINS["office"].public_hex)}
    assert result.writes[account_key(ADMINS["office"].public_hex)]["nonce"] == 3
    assert not result.index


def test_a_refusal_mid_block_leaves_the_others_alone(store: ChainStore) -> None:
    sign = Signer()
    grant = grant_txs(sign, CLERK, "village_registrar", VILLAGE, "village")
    proposal = new_id(grant[0], "proposal")
    twice = sign(ADMINS["office"], "role.approve", proposal=proposal, as_admin_of="office")
    other = grant_txs(sign, key("other"), "village_registrar", VILLAGE, "village")
    result = commit(store, [grant[0], grant[1], twice, grant[2], *other])
    assert [r["ok"] for r in result.receipts] == [True, True, False, True, True, True, True]
    assert result.receipts[2]["error_type"] in ("wrong_state", "wrong_role", "already_exists")
    assert store.get_state(record_key("grants", key("other").public_hex)) is not None
    assert store.get_state(record_key("grants", CLERK.public_hex)) is not None


def test_a_ledger_bug_is_not_a_refusal_it_propagates(
    store: ChainStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(action: Any) -> None:
        raise KeyError("a bug")

    monkeypatch.setitem(ledger.ACTIONS, "fund.receive", broken)
    tx = Signer()(ADMINS["fin"], "fund.receive")
    header = BlockHeader(
        1, store.head_hash, tx_root([tx]), 1, store.state_root, EMPTY_ROOT, 2, "00" * 32, 0
    )
    with pytest.raises(KeyError):
        Executor(store).execute(Block(header, (tx,)))


def test_rules_gas_comes_out_of_the_declared_gas_and_counts_in_the_block(store: ChainStore) -> None:
    tx = Signer()(CLERK, "cycle.add", gas=2_000_000, cycle="x", households=[])
    assert tx.gas_limit == 2_000_000
    header = BlockHeader(
        1, store.head_hash, tx_root([tx]), 1, store.state_root, EMPTY_ROOT, 2, "00" * 32, 0
    )
    block = Block(header, (tx,) * 1)
    ex = Executor(store, block_gas_limit=2_000_000)
    cost = 2_000_000 + intrinsic_gas(tx)
    assert f"cost {cost} gas" in (ex.validate_block_txs(block) or "")


def stored_index(store: ChainStore) -> set[str]:
    db = store._db  # the raw table, to compare it with what the state implies
    return {k.decode() for k, _ in db.iterate(P_INDEX) if not k.startswith(b"history/")}


def index_from_state(store: ChainStore) -> set[str]:
    out: set[str] = set()
    for raw, _ in store._db.iterate(P_STATE + b"aid/"):
        kind, ident = raw.decode().split("/", 1)
        out |= set(index_keys(kind, ident, store.get_state(record_key(kind, ident))))
    return out


def test_state_and_index_agree_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "db"
    store = open_store(path)
    sign = Signer()
    commit(store, grant_txs(sign, CLERK, "village_registrar", VILLAGE, "village"))
    commit(store, grant_txs(sign, key("other"), "village_registrar", VILLAGE, "village"))
    before = stored_index(store)
    store.close()
    store = open_store(path)
    try:
        assert stored_index(store) == before == index_from_state(store)
        # two proposals, each under its status and its account; two accounts' grants, each
        # under its area, role and organisation
        assert len(before) == 10
    finally:
        assert P_STATE != P_INDEX
        store.close()
