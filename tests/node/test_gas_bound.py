"""The block gas bound: what the primary proposes never costs more than the replicas accept.

Ledger actions declare no gas unless they run rules, so before intrinsic gas a block of
thousands of them cost nothing against the block gas limit and could take longer to execute
than the replicas' timeouts. These tests pin the accounting both sides share.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from aid.cycles import MAX_BATCH_HOUSEHOLDS
from aid.ledger import ACTIONS
from chain import limits
from chain.block import EMPTY_ROOT, Block, BlockHeader, tx_root
from chain.crypto import KeyPair
from chain.gas import block_gas, intrinsic_gas
from chain.tx import Transaction, make_transfer, sign_tx
from node.executor import Executor
from node.mempool import Mempool
from storage.chainstore import ChainStore

CHAIN = "gas-bound"
KEYS = [KeyPair.from_seed(bytes([40 + i]) * 32) for i in range(6)]


def test_every_priced_action_is_a_ledger_action() -> None:
    priced = {*limits.INTRINSIC_GAS_AID_ACTIONS, *limits.INTRINSIC_GAS_AID_PER_ITEM}
    assert priced <= set(ACTIONS)
    assert limits.MAX_AID_ITEMS == MAX_BATCH_HOUSEHOLDS


def aid(
    key: KeyPair, nonce: int, action: str, args: dict[str, object], gas: int = 0
) -> Transaction:
    payload: dict[str, object] = {"action": action, "args": args}
    if gas:
        payload["gas"] = gas
    return sign_tx(key, CHAIN, nonce, "aid", payload)


def test_ledger_actions_cost_gas_by_action_items_and_bytes() -> None:
    k = KEYS[0]
    approve = aid(k, 0, "cycle.approve", {"cycle": "c"})
    assert intrinsic_gas(approve) == limits.INTRINSIC_GAS_AID + approve.size
    batch = aid(k, 0, "batch.create", {"cycle": "c"})
    assert intrinsic_gas(batch) == limits.INTRINSIC_GAS_AID_ACTIONS["batch.create"] + batch.size
    add = aid(k, 0, "cycle.add", {"cycle": "c", "households": ["h1", "h2", "h3"]}, gas=50_000)
    per_item = limits.INTRINSIC_GAS_AID_PER_ITEM["cycle.add"][1]
    assert intrinsic_gas(add) == limits.INTRINSIC_GAS_AID + 3 * per_item + add.size
    assert block_gas(add) == intrinsic_gas(add) + 50_000
    # more items than the ledger handles cost no more (it refuses them before any work);
    # a malformed list costs none
    many = aid(k, 0, "cycle.add", {"cycle": "c", "households": ["h"] * 600})
    assert intrinsic_gas(many) == limits.INTRINSIC_GAS_AID + 500 * per_item + many.size
    odd = aid(k, 0, "cycle.add", {"cycle": "c", "households": "h1"})
    assert intrinsic_gas(odd) == limits.INTRINSIC_GAS_AID + odd.size
    assert intrinsic_gas(many) <= limits.MAX_INTRINSIC_GAS


@st.composite
def tx_mix(draw: st.DrawFn) -> list[Transaction]:
    """Each key's txs in nonce order: transfers, contract calls and ledger actions of any size."""
    out = []
    for key in KEYS:
        for nonce in range(draw(st.integers(0, 6))):
            kind = draw(st.sampled_from(["transfer", "call", "apply", "add", "batch"]))
            if kind == "transfer":
                out.append(make_transfer(key, CHAIN, nonce, KEYS[0].public_hex, 1))
            elif kind == "call":
                gas = draw(st.integers(1, limits.MAX_CALL_GAS))
                payload = {"contract": "ab" * 32, "method": "m", "args": {}, "gas": gas}
                out.append(sign_tx(key, CHAIN, nonce, "call", payload))
            elif kind == "apply":
                sealed = "x" * draw(st.integers(0, 4_000))
                out.append(aid(key, nonce, "household.apply", {"sealed": sealed}))
            else:
                households = ["h"] * draw(st.integers(0, 600))
                action = "cycle.add" if kind == "add" else "batch.create"
                out.append(
                    aid(key, nonce, action, {"households": households}, draw(st.integers(0, 10**6)))
                )
    return out


@settings(max_examples=40, deadline=None)
@given(txs=tx_mix(), limit=st.integers(limits.MIN_BLOCK_GAS_LIMIT, 4 * limits.MIN_BLOCK_GAS_LIMIT))
def test_a_proposal_never_exceeds_the_bound_and_every_replica_accepts_it(
    tmp_path_factory: object, txs: list[Transaction], limit: int
) -> None:
    pool = Mempool(CHAIN, lambda _a: 0, max_txs=1_000, max_per_sender=100, nonce_window=64)
    for tx in txs:
        pool.add(tx)
    proposal = pool.proposable(limits.MAX_BLOCK_TXS, limits.MAX_BLOCK_BYTES, max_gas=limit).txs
    assert sum(block_gas(tx) for tx in proposal) <= limit
    if txs:
        assert proposal  # the first tx of some sender always fits: the limit holds a maximal one
    store = _store(tmp_path_factory)
    try:
        header = BlockHeader(
            1,
            store.head_hash,
            tx_root(proposal),
            len(proposal),
            store.state_root,
            EMPTY_ROOT,
            2,
            KEYS[0].public_hex,
            0,
        )
        block = Block(header, tuple(proposal))
        assert Executor(store, block_gas_limit=limit).validate_block_txs(block) is None
    finally:
        store.close()


def _store(factory: object) -> ChainStore:
    path = Path(factory.mktemp("db"))  # type: ignore[attr-defined]
    store = ChainStore.open(path / "db")
    store.init_genesis(
        {
            "chain_id": CHAIN,
            "time": 1,
            "validators": [{"id": KEYS[0].public_hex, "name": "v"}],
            "accounts": {k.public_hex: 10**9 for k in KEYS},
        }
    )
    return store
