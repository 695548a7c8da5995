"""Every transaction admission accepts can be gossiped, proposed, committed, journaled and synced.

Transactions are generated at every limit (deepest nesting, largest encoding with the worst
characters for escaping, longest memo, largest amount/nonce/gas, largest contract source, any
unicode) and pushed through the real wire: canonical bytes of the daemon's envelopes (the depth
check included), parsed back and decoded.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain import limits
from chain.block import EMPTY_ROOT, Block, BlockHeader, tx_root
from chain.crypto import KeyPair
from chain.encoding import canonical, loads_strict
from chain.errors import EncodingError, MalformedTx
from chain.tx import Transaction, tx_from_dict
from chain.wire import (
    MAX_BLOCK_WIRE_BYTES,
    block_from_wire,
    block_to_wire,
    known_tx_from_wire,
    tx_from_wire,
    tx_to_wire,
)
from consensus.messages import (
    NewView,
    PrePrepare,
    ViewChange,
    decode_message,
    encode_message,
    make_new_view,
    make_pre_prepare,
    make_view_change,
)
from node.ports import consensus_envelope
from tests.consensus.helpers import CHAIN, Cluster
from tests.consensus.limit_txs import (
    MAX_ARGS_LEVELS,
    WORST_ESCAPES,
    deepest_call,
    largest_call,
    largest_deploy,
    longest_memo,
    nested,
)
from tests.consensus.test_messages import KS, block, prepared

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=limits.MAX_MEMO_CHARS)


def sender(seed: int) -> KeyPair:
    return KeyPair.from_seed(hashlib.sha256(f"limits-{seed}".encode()).digest())


@st.composite
def limit_txs(draw: st.DrawFn) -> list[Transaction]:
    """One to four transactions from distinct senders, each at some limit."""
    kinds = draw(
        st.lists(st.sampled_from(["deep", "large", "memo", "deploy"]), min_size=1, max_size=4)
    )
    text = draw(TEXT)
    out = []
    for i, kind in enumerate(kinds):
        key = sender(draw(st.integers(0, 10**6)) * 8 + i)
        if kind == "deep":
            out.append(deepest_call(key, CHAIN, limits.MAX_NONCE, text))
        elif kind == "large":
            chars = draw(st.sampled_from([WORST_ESCAPES, text or "x"]))
            out.append(largest_call(key, CHAIN, 0, chars))
        elif kind == "memo":
            out.append(longest_memo(key, CHAIN, limits.MAX_NONCE, text))
        else:
            out.append(largest_deploy(key, CHAIN, 0, text))
    return out


def through_the_wire(envelope: dict[str, Any]) -> dict[str, Any]:
    data = canonical(envelope)  # what node.peers sends: depth- and float-checked
    assert len(data) <= limits.DEFAULT_PEER_MAX_MESSAGE_BYTES
    out = loads_strict(data)
    assert isinstance(out, dict)
    return out


def test_admission_is_the_only_depth_limit() -> None:
    key = sender(1)
    deepest = deepest_call(key, CHAIN, 0)
    too_deep = {
        **deepest.to_dict(),
        "payload": {**deepest.payload, "args": nested(MAX_ARGS_LEVELS, [0])},
    }
    with pytest.raises(MalformedTx):
        tx_from_dict(too_deep)  # one level deeper is refused at admission
    # nested as an object, the deepest admissible tx would not fit in a PRE-PREPARE (finding 1)
    pp = make_pre_prepare(KS[0], CHAIN, 0, block_with([deepest]))
    legacy = {"k": "c", "m": {**encode_message(pp), "block": pp.block.to_dict()}}
    with pytest.raises(EncodingError):
        canonical(legacy)
    through_the_wire(consensus_envelope(pp))  # as a canonical string it does


def block_with(txs: list[Transaction]) -> Block:
    template = block(1, ntx=1)
    header = BlockHeader(
        1,
        template.header.prev_hash,
        tx_root(txs),
        len(txs),
        template.header.state_root,
        EMPTY_ROOT,
        template.header.time,
        template.header.proposer,
        0,
    )
    return Block(header, tuple(txs))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(limit_txs())
def test_a_transaction_at_any_limit_round_trips_as_its_canonical_string(
    txs: list[Transaction],
) -> None:
    for tx in txs:
        wire = tx_to_wire(tx)
        assert wire.encode("utf-8") == canonical(tx.to_dict())
        assert tx_from_wire(wire) == tx
        assert known_tx_from_wire(wire, {tx.signature: tx}) is tx
    gossip = through_the_wire({"k": "txs", "txs": [tx_to_wire(t) for t in txs]})
    assert [tx_from_wire(raw) for raw in gossip["txs"]] == txs


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(limit_txs())
def test_a_transaction_at_any_limit_is_proposed_committed_journaled_and_synced(
    txs: list[Transaction],
) -> None:
    c = Cluster()
    for node in c.nodes.values():
        node.validator.nonces.update({t.sender: t.nonce for t in txs})
    c.offer(txs)
    c.tick(200)
    blocks = {tuple(b.hash for b, _ in n.blocks) for n in c.nodes.values()}
    assert len(blocks) == 1
    node = next(iter(c.nodes.values()))
    committed = [t for b, _ in node.blocks for t in b.txs]
    assert committed == txs
    for record in node.journal:
        canonical(record)  # every journal record (blocks included) is canonical JSON
    for b, cert in node.blocks:  # a state-sync response carries them
        resp = through_the_wire(
            {
                "k": "sync_resp",
                "id": 1,
                "blocks": [{"block": block_to_wire(b), "cert": cert.to_dict()}],
            }
        )
        assert block_from_wire(resp["blocks"][0]["block"]) == b
        assert len(canonical(block_to_wire(b))) <= MAX_BLOCK_WIRE_BYTES
    pub = next(iter(c.nodes))
    c.restart(pub)  # the journal (with the prepared block bodies) restores
    assert c.nodes[pub].replica.height == len(node.blocks)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(limit_txs())
def test_a_view_change_and_new_view_carry_a_block_of_limit_transactions(
    txs: list[Transaction],
) -> None:
    b = block_with(txs)
    p = prepared(1, b.hash, view=0)
    vc = make_view_change(KS[1], CHAIN, 1, 0, None, p, b)
    back = decode_message(through_the_wire(consensus_envelope(vc))["m"])
    assert isinstance(back, ViewChange) and back.block == b
    vcs = tuple(make_view_change(k, CHAIN, 1, 0, None, p, None) for k in KS[1:4])
    nv = make_new_view(KS[1], CHAIN, 1, vcs, make_pre_prepare(KS[1], CHAIN, 1, b))
    back_nv = decode_message(through_the_wire(consensus_envelope(nv))["m"])
    assert isinstance(back_nv, NewView) and back_nv.pre_prepare is not None
    assert back_nv.pre_prepare.block == b
    assert isinstance(back_nv.pre_prepare, PrePrepare)
