"""Offline proof verification: a real proof verifies; any change to any field is caught."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.block import (
    EMPTY_ROOT,
    Block,
    BlockHeader,
    CommitCertificate,
    commit_signing_bytes,
    receipt_bytes,
    receipts_root,
    tx_root,
)
from chain.crypto import KeyPair
from chain.encoding import canonical, loads_strict
from chain.errors import EncodingError
from chain.merkle import leaf_hash
from chain.proof import ProofError, VerifiedProof, build_proof, verify_proof
from chain.tx import Transaction, make_transfer, sign_tx

CHAIN = "proof-chain"
VALS = [KeyPair.from_seed(hashlib.sha256(f"proof-val-{i}".encode()).digest()) for i in range(4)]
OUTSIDER = KeyPair.from_seed(hashlib.sha256(b"proof-outsider").digest())
ALICE = KeyPair.from_seed(hashlib.sha256(b"proof-alice").digest())
GENESIS = {
    "chain_id": CHAIN,
    "time": 1,
    "validators": [{"id": v.public_hex, "name": f"v{i}"} for i, v in enumerate(VALS)],
    "accounts": {},
}


def certify(block: Block, signers: list[KeyPair], view: int = 0) -> CommitCertificate:
    msg = commit_signing_bytes(CHAIN, view, block.height, block.hash)
    sigs = tuple(sorted((k.public_hex, k.sign(msg)) for k in signers))
    return CommitCertificate(block.height, block.hash, view, sigs)


def txs_of(count: int) -> list[Transaction]:
    out = [make_transfer(ALICE, CHAIN, n, VALS[0].public_hex, 1 + n, "rice") for n in range(count)]
    out.append(sign_tx(ALICE, CHAIN, count, "aid", {"action": "household.enroll", "args": {}}))
    return out


def receipts_for(txs: list[Transaction]) -> list[dict[str, Any]]:
    return [
        {"ok": i % 2 == 0, "error": None if i % 2 == 0 else "refused", "events": [{"n": i}]}
        for i, _ in enumerate(txs)
    ]


def chain_of(count: int) -> tuple[Block, list[dict[str, Any]], BlockHeader, CommitCertificate]:
    """Block 5 with ``count + 1`` txs, its receipts, block 6 anchoring them, 6's certificate."""
    txs = txs_of(count)
    receipts = receipts_for(txs)
    header = BlockHeader(
        5, "aa" * 32, tx_root(txs), len(txs), "bb" * 32, EMPTY_ROOT, 50, VALS[0].public_hex, 0
    )
    block = Block(header, tuple(txs))
    nxt = BlockHeader(
        6,
        block.hash,
        EMPTY_ROOT,
        0,
        "cc" * 32,
        receipts_root(txs, receipts),
        60,
        VALS[1].public_hex,
        1,
    )
    return block, receipts, nxt, certify(Block(nxt, ()), VALS[:3], view=1)


def proof_for(index: int = 1, count: int = 4) -> dict[str, Any]:
    block, receipts, nxt, cert = chain_of(count)
    return build_proof(CHAIN, block, receipts, index, nxt, cert)


def test_a_proof_verifies_and_says_what_it_proves() -> None:
    block, receipts, nxt, cert = chain_of(4)
    for index in range(len(block.txs)):
        got = verify_proof(build_proof(CHAIN, block, receipts, index, nxt, cert), GENESIS)
        assert got == VerifiedProof(
            tx_hash=block.txs[index].hash,
            height=5,
            receipt=receipts[index],
            block_hash=block.hash,
            index=index,
            tx=block.txs[index].to_dict(),
        )


@settings(max_examples=25, deadline=None)
@given(count=st.integers(0, 20), data=st.data())
def test_every_position_of_every_block_size_verifies(count: int, data: st.DataObject) -> None:
    block, receipts, nxt, cert = chain_of(count)
    index = data.draw(st.integers(0, count))
    assert (
        verify_proof(build_proof(CHAIN, block, receipts, index, nxt, cert), GENESIS).index == index
    )


def leaves(obj: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every scalar in a JSON value (dict keys and list indexes)."""
    if isinstance(obj, dict):
        for key in obj:
            yield from leaves(obj[key], (*path, key))
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            yield from leaves(item, (*path, i))
    else:
        yield path


def flipped(value: Any) -> Any:
    """The same kind of value, changed by one character / one unit."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if value is None:
        return "x"
    assert isinstance(value, str) and value
    last = value[-1]
    swap = "0" if last != "0" else "1"  # stays hex when it was hex
    return value[:-1] + swap


def set_at(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        doc = doc[step]
    doc[path[-1]] = value


def get_at(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


PROOF = proof_for()
PATHS = list(leaves(PROOF))


def test_the_tamper_walk_covers_every_field() -> None:
    top = {p[0] for p in PATHS}
    assert top == set(PROOF)
    assert len(PATHS) > 45  # headers, both paths, every signature, tx and receipt members


@pytest.mark.parametrize("path", PATHS, ids=["/".join(map(str, p)) for p in PATHS])
def test_changing_any_field_fails_with_a_message(path: tuple[Any, ...]) -> None:
    doc = copy.deepcopy(PROOF)
    set_at(doc, path, flipped(get_at(doc, path)))
    with pytest.raises(ProofError) as info:
        verify_proof(doc, GENESIS)
    assert info.value.reason and info.value.message


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        (("chain_id",), "chain_id"),
        (("version",), "version"),
        (("tx_hash",), "tx_hash"),
        (("height",), "height"),
        (("index",), "tx_path"),
        (("tx_path", 0), "tx_path"),
        (("receipt_path", 1), "receipt_path"),
        (("receipt", "ok"), "receipt_path"),
        (("tx", "payload", "amount"), "tx_hash"),
        (("tx", "signature"), "tx_signature"),
        (("header", "tx_root"), "prev_link"),
        (("header", "state_root"), "prev_link"),
        (("next_header", "receipts_root"), "header_hash"),
        (("next_header", "prev_hash"), "header_hash"),
        (("certificate", "view"), "bad_signature"),
        (("certificate", "block_hash"), "bad_signature"),
        (("certificate", "signatures", 0, "signature"), "bad_signature"),
        (("certificate", "signatures", 2, "validator"), "not_a_validator"),
    ],
)
def test_the_message_names_what_did_not_match(path: tuple[Any, ...], reason: str) -> None:
    doc = copy.deepcopy(PROOF)
    set_at(doc, path, flipped(get_at(doc, path)))
    with pytest.raises(ProofError) as info:
        verify_proof(doc, GENESIS)
    assert info.value.reason == reason, info.value.message


def test_certificates_need_2f_plus_1_distinct_genesis_validators() -> None:
    block, receipts, nxt, _ = chain_of(2)
    anchor = Block(nxt, ())

    def reason_with(cert: CommitCertificate) -> str:
        with pytest.raises(ProofError) as info:
            verify_proof(build_proof(CHAIN, block, receipts, 0, nxt, cert), GENESIS)
        return info.value.reason

    assert reason_with(certify(anchor, VALS[:2], view=1)) == "no_quorum"
    assert reason_with(certify(anchor, [*VALS[:2], OUTSIDER], view=1)) == "not_a_validator"
    good = certify(anchor, VALS[:2], view=1)
    twice = CommitCertificate(6, anchor.hash, 1, (*good.signatures, good.signatures[0]))
    assert reason_with(twice) == "duplicate_signer"
    # the whole validator set signing is fine
    verify_proof(build_proof(CHAIN, block, receipts, 0, nxt, certify(anchor, VALS, 1)), GENESIS)


def test_only_the_genesis_is_trusted() -> None:
    other = {**GENESIS, "validators": [{"id": OUTSIDER.public_hex, "name": "x"}]}
    with pytest.raises(ProofError) as info:
        verify_proof(PROOF, other)
    assert info.value.reason == "not_a_validator"
    with pytest.raises(ProofError) as info:
        verify_proof(PROOF, {**GENESIS, "chain_id": "elsewhere"})
    assert info.value.reason == "chain_id"
    with pytest.raises(ProofError) as info:
        verify_proof(PROOF, {"chain_id": CHAIN})
    assert info.value.reason == "bad_genesis"


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.pop("receipt"),
        lambda d: d.update(extra=1),
        lambda d: d.update(tx_path="00"),
        lambda d: d.update(receipt_path=["zz"]),
        lambda d: d.update(receipt=[]),
        lambda d: d.update(index=-1),
        lambda d: d.update(header={}),
        lambda d: d.update(tx={"chain_id": CHAIN}),
        lambda d: d["receipt"].update(x=1.5),
        lambda d: d.update(certificate={"signatures": 5}),
    ],
)
def test_malformed_documents_are_refused_not_crashed_on(change: Any) -> None:
    doc = copy.deepcopy(PROOF)
    change(doc)
    with pytest.raises(ProofError):
        verify_proof(doc, GENESIS)
    with pytest.raises(ProofError) as info:
        verify_proof([doc], GENESIS)
    assert info.value.reason == "malformed"


@settings(max_examples=60, deadline=None)
@given(
    receipt=st.dictionaries(
        st.text(max_size=6),
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        max_size=5,
    )
)
def test_the_spliced_receipt_leaf_is_the_canonical_object(receipt: dict[str, Any]) -> None:
    tx = txs_of(0)[0]
    assert receipt_bytes(tx.hash, receipt) == canonical({"receipt": receipt, "tx": tx.hash})
    assert receipts_root([tx], [receipt]) == leaf_hash(receipt_bytes(tx.hash, receipt)).hex()


PROOF_TEXT = canonical(PROOF)


@settings(max_examples=400, deadline=None)
@given(at=st.integers(0, len(PROOF_TEXT) - 1), byte=st.integers(0, 255))
def test_changing_any_byte_of_the_saved_proof_fails(at: int, byte: int) -> None:
    """The file as saved: one byte anywhere, to anything else, and the proof is refused (as
    unreadable JSON, or by the verifier with a reason)."""
    if PROOF_TEXT[at] == byte:
        byte ^= 0x01
    text = PROOF_TEXT[:at] + bytes([byte]) + PROOF_TEXT[at + 1 :]
    try:
        doc = loads_strict(text)
    except EncodingError:
        return
    with pytest.raises(ProofError):
        verify_proof(doc, GENESIS)
