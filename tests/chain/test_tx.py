from __future__ import annotations

import pytest

from chain.block import (
    EMPTY_ROOT,
    Block,
    BlockHeader,
    CommitCertificate,
    block_from_dict,
    certificate_from_dict,
    commit_signing_bytes,
    tx_bytes,
    tx_root,
)
from chain.crypto import KeyPair, verify
from chain.encoding import canonical, sha256_hex
from chain.errors import BadSignature, InvalidBlock, InvalidCertificate, MalformedTx, TooLarge
from chain.tx import make_transfer, sign_tx, tx_from_dict, tx_verified_from_dict

ALICE = KeyPair.from_seed(bytes(range(32)))
BOB = KeyPair.from_seed(bytes(range(1, 33)))


def test_signature_covers_canonical_body_and_hash_is_sha256_of_it() -> None:
    tx = make_transfer(ALICE, "test", 0, BOB.public_hex, 250, "扶贫 payment")
    body = {k: v for k, v in tx.to_dict().items() if k != "signature"}
    assert tx.body_bytes == canonical(body)
    assert "扶贫".encode() in tx.body_bytes  # raw UTF-8, not \\u escapes
    assert tx.hash == sha256_hex(canonical(body))
    assert verify(ALICE.public_hex, canonical(body), tx.signature)
    assert tx_verified_from_dict(tx.to_dict()) == tx


def test_tampered_transaction_fails_signature() -> None:
    obj = make_transfer(ALICE, "test", 0, BOB.public_hex, 250).to_dict()
    obj["payload"]["amount"] = 251
    with pytest.raises(BadSignature):
        tx_verified_from_dict(obj)


def good() -> dict:
    return make_transfer(ALICE, "test", 3, BOB.public_hex, 10).to_dict()


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda o: o.pop("nonce"), MalformedTx),
        (lambda o: o.update(extra=1), MalformedTx),
        (lambda o: o.update(nonce=-1), MalformedTx),
        (lambda o: o.update(nonce=True), MalformedTx),
        (lambda o: o.update(nonce="1"), MalformedTx),
        (lambda o: o.update(sender="zz" * 32), MalformedTx),
        (lambda o: o.update(signature="00"), MalformedTx),
        (lambda o: o.update(type="mint"), MalformedTx),
        (lambda o: o.update(chain_id=""), MalformedTx),
        (lambda o: o["payload"].update(amount=0), MalformedTx),
        (lambda o: o["payload"].update(amount=2**53), MalformedTx),
        (lambda o: o["payload"].update(amount=1.5), MalformedTx),
        (lambda o: o["payload"].update(amount=True), MalformedTx),
        (lambda o: o["payload"].update(to="abc"), MalformedTx),
        (lambda o: o["payload"].update(memo="x" * 1000), MalformedTx),
        (lambda o: o["payload"].update(color="red"), MalformedTx),
        (lambda o: o.update(payload=[]), MalformedTx),
    ],
)
def test_malformed_transactions_are_refused(mutate, error) -> None:  # type: ignore[no-untyped-def]
    obj = good()
    mutate(obj)
    with pytest.raises(error):
        tx_from_dict(obj)


def test_not_an_object() -> None:
    with pytest.raises(MalformedTx):
        tx_from_dict([1, 2])


def test_oversized_call_args_refused() -> None:
    with pytest.raises(TooLarge):
        sign_tx(
            ALICE,
            "t",
            0,
            "call",
            {"contract": BOB.public_hex, "method": "m", "args": {"x": "y" * 70_000}},
        )


def test_tx_root_is_the_rfc6962_root_over_the_signed_transactions() -> None:
    assert tx_root([]) == EMPTY_ROOT == sha256_hex(b"")
    a, b = (make_transfer(ALICE, "test", n, BOB.public_hex, 1) for n in range(2))
    assert tx_root([a]) == sha256_hex(b"\x00" + canonical(a.to_dict()))
    assert tx_bytes(a) == canonical(a.to_dict())  # the signature is inside the leaf
    assert tx_root([a, b]) != tx_root([b, a])
    assert tx_root([a, a]) != tx_root([a])


def _block() -> Block:
    txs = tuple(make_transfer(ALICE, "test", n, BOB.public_hex, 1) for n in range(3))
    header = BlockHeader(
        1, "a" * 64, tx_root(txs), len(txs), "b" * 64, EMPTY_ROOT, 1000, ALICE.public_hex, 0
    )
    return Block(header, txs)


def test_block_roundtrip_and_tx_root_check() -> None:
    block = _block()
    again = block_from_dict(block.to_dict())
    assert again.hash == block.hash
    bad = block.to_dict()
    bad["txs"] = bad["txs"][:2]
    with pytest.raises(InvalidBlock):
        block_from_dict(bad)


def test_commit_certificate_verification() -> None:
    vals = [KeyPair.from_seed(bytes([i]) * 32) for i in range(4)]
    ids = [v.public_hex for v in vals]
    block = _block()
    msg = commit_signing_bytes("test", 0, 1, block.hash)
    sigs = tuple(sorted((v.public_hex, v.sign(msg)) for v in vals[:3]))
    cert = CommitCertificate(1, block.hash, 0, sigs)
    cert.verify("test", ids)
    certificate_from_dict(cert.to_dict()).verify("test", ids)
    with pytest.raises(InvalidCertificate):  # only 2 of 4: below 2f+1
        CommitCertificate(1, block.hash, 0, sigs[:2]).verify("test", ids)
    with pytest.raises(InvalidCertificate):  # duplicate signer
        CommitCertificate(1, block.hash, 0, (sigs[0], sigs[0], sigs[1])).verify("test", ids)
    with pytest.raises(InvalidCertificate):  # signatures for another view
        CommitCertificate(1, block.hash, 1, sigs).verify("test", ids)
    with pytest.raises(InvalidCertificate):  # non-validator signer
        outsider = KeyPair.from_seed(b"\x09" * 32)
        CommitCertificate(
            1, block.hash, 0, (*sigs[:2], (outsider.public_hex, outsider.sign(msg)))
        ).verify("test", ids)


# --- the ledger's transaction type ----------------------------------------------------------------
def aid_tx(payload: object) -> dict[str, object]:
    tx = sign_tx(ALICE, "c", 0, "aid", {"action": "fund.receive", "args": {}})
    return {**tx.to_dict(), "payload": payload}


def test_aid_tx_gas_is_its_declared_gas_defaulting_to_none() -> None:
    plain = sign_tx(ALICE, "c", 0, "aid", {"action": "cycle.approve", "args": {"cycle": "x"}})
    assert plain.gas_limit == 0
    ruled = sign_tx(ALICE, "c", 1, "aid", {"action": "cycle.add", "args": {}, "gas": 2_000_000})
    assert ruled.gas_limit == 2_000_000
    assert tx_verified_from_dict(ruled.to_dict()) == ruled


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"args": {}}, "payload.action"),
        ({"action": "", "args": {}}, "payload.action"),
        ({"action": "x" * 65, "args": {}}, "payload.action"),
        ({"action": 5, "args": {}}, "payload.action"),
        ({"action": "a\ud800", "args": {}}, "payload.action"),
        ({"action": "fund.receive"}, "payload.args"),
        ({"action": "fund.receive", "args": []}, "payload.args"),
        ({"action": "fund.receive", "args": {}, "gas": -1}, "payload.gas"),
        ({"action": "fund.receive", "args": {}, "gas": 10_000_001}, "payload.gas"),
        ({"action": "fund.receive", "args": {}, "gas": True}, "payload.gas"),
        ({"action": "fund.receive", "args": {}, "memo": "x"}, "unknown aid payload fields"),
        ([], "payload must be an object"),
    ],
)
def test_malformed_aid_payloads_are_refused(payload: object, error: str) -> None:
    with pytest.raises(MalformedTx, match=error):
        tx_from_dict(aid_tx(payload))


def test_an_aid_action_of_64_characters_and_zero_gas_is_accepted() -> None:
    tx = tx_from_dict(aid_tx({"action": "a" * 64, "args": {}, "gas": 0}))
    assert tx.gas_limit == 0
