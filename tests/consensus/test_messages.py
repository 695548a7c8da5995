"""Encode/decode/verify round trips for every message type, and garbage rejection."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.block import EMPTY_ROOT, Block, BlockHeader, CommitCertificate, tx_root
from chain.encoding import canonical, loads_strict
from chain.wire import block_to_wire
from consensus.messages import (
    Commit,
    MessageError,
    PreparedCert,
    decode_message,
    encode_message,
    make_checkpoint,
    make_commit,
    make_new_view,
    make_pre_prepare,
    make_prepare,
    make_view_change,
    prepare_signing_bytes,
    verify_message,
)
from tests.consensus.helpers import CHAIN, GENESIS_HASH, GENESIS_ROOT, client_txs, keys

KS = keys(4)
VALS = [k.public_hex for k in KS]


def block(height: int = 1, view: int = 0, ntx: int = 2) -> Block:
    txs = tuple(client_txs(ntx))
    header = BlockHeader(
        height,
        GENESIS_HASH,
        tx_root(txs),
        len(txs),
        GENESIS_ROOT,
        EMPTY_ROOT,
        1000,
        VALS[view % 4],
        view,
    )
    return Block(header, txs)


def cert(height: int, block_hash: str, view: int = 0) -> CommitCertificate:
    sigs = [make_commit(k, CHAIN, view, height, block_hash) for k in KS[:3]]
    return CommitCertificate(
        height, block_hash, view, tuple(sorted((c.sender, c.signature) for c in sigs))
    )


def prepared(height: int, block_hash: str, view: int = 0) -> PreparedCert:
    sigs = [
        (k.public_hex, k.sign(prepare_signing_bytes(CHAIN, view, height, block_hash)))
        for k in KS[:3]
    ]
    return PreparedCert(view, height, block_hash, tuple(sorted(sigs)))


def all_messages() -> list[Any]:
    b1, b2 = block(1), block(2)
    pp = make_pre_prepare(KS[0], CHAIN, 0, b1)
    vc1 = make_view_change(KS[1], CHAIN, 1, 0, None, prepared(1, b1.hash), b1)
    vc2 = make_view_change(KS[2], CHAIN, 1, 1, cert(1, b1.hash), None, None)
    vc3 = make_view_change(KS[3], CHAIN, 1, 1, cert(1, b1.hash), None, None)
    nv = make_new_view(KS[1], CHAIN, 1, (vc1, vc2, vc3), make_pre_prepare(KS[1], CHAIN, 1, b2))
    return [
        pp,
        make_prepare(KS[1], CHAIN, 0, 1, b1.hash),
        make_commit(KS[2], CHAIN, 0, 1, b1.hash),
        make_checkpoint(KS[3], CHAIN, 16, b1.hash, GENESIS_ROOT),
        vc1,
        vc2,
        nv,
        make_new_view(KS[1], CHAIN, 1, (vc2, vc3, vc1), None),
    ]


@pytest.mark.parametrize("msg", all_messages(), ids=lambda m: type(m).__name__)
def test_round_trip_through_canonical_json(msg: Any) -> None:
    wire = canonical(encode_message(msg))
    back = decode_message(loads_strict(wire))
    assert back == msg
    assert encode_message(back) == encode_message(msg)
    assert verify_message(back, CHAIN, VALS)


@pytest.mark.parametrize("msg", all_messages(), ids=lambda m: type(m).__name__)
def test_signature_binds_chain_and_sender(msg: Any) -> None:
    assert not verify_message(msg, "other-chain", VALS)
    assert not verify_message(msg, CHAIN, [v for v in VALS if v != msg.sender])


def test_tampered_fields_fail_verification() -> None:
    msg = make_commit(KS[0], CHAIN, 0, 5, "aa" * 32)
    for field, value in (("view", 1), ("height", 6), ("block_hash", "bb" * 32)):
        obj = encode_message(msg)
        obj[field] = value
        assert not verify_message(decode_message(obj), CHAIN, VALS)
    obj = encode_message(msg)
    obj["sender"] = VALS[1]
    assert not verify_message(decode_message(obj), CHAIN, VALS)


def test_commit_signature_is_a_certificate_signature() -> None:
    b = block(1)
    c = cert(1, b.hash)
    c.verify(CHAIN, VALS)  # 3 Commit messages' signatures form a certificate


def test_pre_prepare_with_swapped_block_fails() -> None:
    pp = make_pre_prepare(KS[0], CHAIN, 0, block(1))
    obj = encode_message(pp)
    obj["block"] = block_to_wire(block(1, ntx=3))
    assert not verify_message(decode_message(obj), CHAIN, VALS)


GARBAGE: list[Any] = [
    None,
    1,
    "x",
    [],
    {},
    {"type": "nope"},
    {"type": "prepare"},
    {
        "type": "prepare",
        "view": -1,
        "height": 1,
        "block_hash": "aa" * 32,
        "sender": VALS[0],
        "signature": "00" * 64,
    },
    {
        "type": "prepare",
        "view": 2**60,
        "height": 1,
        "block_hash": "aa" * 32,
        "sender": VALS[0],
        "signature": "00" * 64,
    },
    {
        "type": "prepare",
        "view": True,
        "height": 1,
        "block_hash": "aa" * 32,
        "sender": VALS[0],
        "signature": "00" * 64,
    },
    {
        "type": "commit",
        "view": 0,
        "height": 1,
        "block_hash": "AA" * 32,
        "sender": VALS[0],
        "signature": "00" * 64,
    },
    {
        "type": "commit",
        "view": 0,
        "height": 1,
        "block_hash": "aa" * 32,
        "sender": VALS[0],
        "signature": "00",
    },
    {
        "type": "commit",
        "view": 0,
        "height": 1,
        "block_hash": "aa" * 32,
        "sender": VALS[0],
        "signature": "00" * 64,
        "x": 1,
    },
    {
        "type": "pre_prepare",
        "view": 0,
        "block": {"header": {}, "txs": []},
        "sender": VALS[0],
        "signature": "00" * 64,
    },
    {
        "type": "pre_prepare",
        "view": 0,
        "block": {"header": {}, "txs": [{}] * 5000},
        "sender": VALS[0],
        "signature": "00" * 64,
    },
    {
        "type": "new_view",
        "view": 1,
        "view_changes": [],
        "pre_prepare": None,
        "sender": VALS[0],
        "signature": "00" * 64,
    },
    {
        "type": "new_view",
        "view": 1,
        "view_changes": [{}] * 300,
        "pre_prepare": None,
        "sender": VALS[0],
        "signature": "00" * 64,
    },
    {
        "type": "view_change",
        "view": 1,
        "last_height": 3,
        "last_cert": None,
        "prepared": None,
        "block": None,
        "sender": VALS[0],
        "signature": "00" * 64,
    },
    {
        "type": "checkpoint",
        "height": 1,
        "block_hash": "aa" * 32,
        "state_root": 5,
        "sender": VALS[0],
        "signature": "00" * 64,
    },
]


@pytest.mark.parametrize("obj", GARBAGE)
def test_garbage_is_rejected_with_message_error(obj: Any) -> None:
    with pytest.raises(MessageError) as err:
        decode_message(obj)
    assert err.value.reason == "bad_message"


def test_view_change_block_must_match_prepared() -> None:
    b1 = block(1)
    vc = make_view_change(KS[1], CHAIN, 1, 0, None, prepared(1, b1.hash), b1)
    obj = encode_message(vc)
    obj["block"] = block_to_wire(block(1, ntx=1))
    with pytest.raises(MessageError):
        decode_message(obj)


def test_new_view_must_not_carry_blocks() -> None:
    nv = all_messages()[6]
    obj = encode_message(nv)
    obj["view_changes"][0]["block"] = block_to_wire(block(1))
    with pytest.raises(MessageError):
        decode_message(obj)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_arbitrary_json_never_crashes_decoder(obj: Any) -> None:
    try:
        decode_message(obj)
    except MessageError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(all_messages()), st.data())
def test_mutated_messages_decode_or_fail_cleanly(msg: Any, data: st.DataObject) -> None:
    obj = json.loads(json.dumps(encode_message(msg)))
    key = data.draw(st.sampled_from(sorted(obj)))
    obj[key] = data.draw(json_values)
    try:
        out = decode_message(obj)
    except MessageError:
        return
    if isinstance(out, Commit) and out == msg:
        return
    verify_message(out, CHAIN, VALS)  # must not raise


def test_known_transactions_are_reused_when_decoding_a_proposal() -> None:
    b = block(1, ntx=4)
    pp = make_pre_prepare(KS[0], CHAIN, 0, b)
    known = {tx.signature: tx for tx in b.txs[:3]}
    wire = loads_strict(canonical(encode_message(pp)))
    back = decode_message(wire, known_txs=known)
    assert back == pp and verify_message(back, CHAIN, VALS)
    assert back.block.txs[0] is b.txs[0]  # reused, not decoded again
    # a transaction that differs from the known one with its signature is decoded normally
    first = loads_strict(wire["block"]["txs"][0])
    wire["block"]["txs"][0] = canonical({**first, "nonce": 77}).decode()
    with pytest.raises(MessageError):
        decode_message(wire, known_txs=known)  # and the tx_root no longer matches
