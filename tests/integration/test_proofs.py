"""Transaction proofs on a real 4-node cluster, checked offline with the CLI against genesis.json.

A transfer, an accepted ledger action and a refused one are committed; their proofs, fetched
from one node, verify with ``aidchain verify`` and no node at all; any tampered copy fails with
the check that did not match. Unknown and pending transactions get clear errors, and an idle
chain stops after the one empty block that anchors the last receipts.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest

from chain.block import EMPTY_ROOT
from chain.crypto import KeyPair
from chain.proof import ProofError, verify_proof
from chain.tx import Transaction, make_transfer, sign_tx
from rpc.client import RpcError
from tests.chain.test_proof import flipped, get_at, leaves, set_at
from tests.integration.aid_genesis import COUNTY, add_aid_genesis
from tests.integration.harness import LocalCluster, aidchain, submit_all, wait_committed

pytestmark = pytest.mark.integration


async def proof_of(cluster: LocalCluster, i: int, tx_hash: str, timeout: float = 30) -> Any:
    """``tx_proof`` on node ``i``, waiting out ``not_yet_provable`` (the anchoring block)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await cluster.call(i, "tx_proof", hash=tx_hash)
        except RpcError as exc:
            if exc.reason != "not_yet_provable" or time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.2)


def verify_file(path: Path, genesis: Path, doc: Any) -> Any:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return aidchain("verify", str(path), "--genesis", str(genesis))


def aid_tx(key: KeyPair, chain_id: str, nonce: int, action: str, **args: Any) -> Transaction:
    return sign_tx(key, chain_id, nonce, "aid", {"action": action, "args": args})


async def test_proofs_verify_offline_and_fail_when_tampered(
    new_cluster: Any, tmp_path: Path
) -> None:
    cluster: LocalCluster = new_cluster()
    setup = add_aid_genesis(cluster)
    await cluster.start_all()
    genesis = cluster.info.root / "genesis.json"
    chain_id = cluster.chain_id

    with pytest.raises(RpcError) as unknown:
        await cluster.call(1, "tx_proof", hash="ab" * 32)
    assert (unknown.value.code, unknown.value.reason) == (-32030, "unknown_tx")

    payer, fin = cluster.accounts[7], setup.admins["fin"]
    transfer = make_transfer(payer, chain_id, 0, cluster.accounts[8].public_hex, 1234, "扶贫")
    accepted = aid_tx(
        fin,
        chain_id,
        0,
        "role.propose",
        account=cluster.accounts[9].public_hex,
        role="allocator",
        area=COUNTY,
        org="fin",
        change="grant",
        as_admin_of="fin",
    )
    refused = aid_tx(fin, chain_id, 1, "role.approve", proposal="00" * 10, as_admin_of="fin")
    hashes = await submit_all(cluster.url(0), [transfer, accepted, refused])
    committed = await wait_committed(cluster, 0, hashes, timeout=60)

    for tx, ok in ((transfer, True), (accepted, True), (refused, False)):
        doc = await proof_of(cluster, 2, tx.hash)
        assert doc["tx"] == tx.to_dict() and doc["height"] == committed[tx.hash]["height"]
        assert doc["receipt"] == committed[tx.hash]["receipt"]
        out = verify_file(tmp_path / f"{tx.hash[:8]}.json", genesis, doc)
        assert out.returncode == 0, out.stderr
        shown = json.loads(out.stdout)
        assert shown["verified"] is True and shown["tx_hash"] == tx.hash
        assert shown["height"] == doc["height"] and shown["receipt_ok"] is ok
        if not ok:
            assert shown["receipt_error"]

    # the CLI fetches the same document from another node
    cli = aidchain("tx", "prove", transfer.hash, "--rpc", cluster.url(3))
    assert cli.returncode == 0, cli.stderr
    saved = json.loads(cli.stdout)
    other = await proof_of(cluster, 1, transfer.hash)
    # each node keeps the 2f+1 commit signatures it collected: the certificate may name another
    # quorum on another node; everything it certifies is the same
    assert {k: v for k, v in saved.items() if k != "certificate"} == {
        k: v for k, v in other.items() if k != "certificate"
    }
    assert verify_proof(other, json.loads(genesis.read_text(encoding="utf-8"))).tx_hash == (
        transfer.hash
    )

    # every field of the node's proof, flipped one at a time, fails the verifier
    genesis_doc = json.loads(genesis.read_text(encoding="utf-8"))
    assert verify_proof(saved, genesis_doc).tx_hash == transfer.hash
    fields = list(leaves(saved))
    assert len(fields) > 45
    for path in fields:
        doc = copy.deepcopy(saved)
        set_at(doc, path, flipped(get_at(doc, path)))
        with pytest.raises(ProofError):
            verify_proof(doc, genesis_doc)

    # ... and through the CLI, each with the check that did not match
    tampered = [
        (("receipt", "ok"), False, "receipt_path"),
        (("tx", "payload", "amount"), 1235, "tx_hash"),
        (("tx_path",), ["00" * 32] * len(saved["tx_path"]), "tx_path"),
        (("header", "state_root"), "11" * 32, "prev_link"),
        (("next_header", "time"), saved["next_header"]["time"] + 1, "header_hash"),
        (("certificate", "view"), saved["certificate"]["view"] + 1, "bad_signature"),
    ]
    for path, value, reason in tampered:
        doc = copy.deepcopy(saved)
        target = doc
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
        out = verify_file(tmp_path / "tampered.json", genesis, doc)
        assert out.returncode == 1, (path, out.stdout)
        assert f"does NOT verify ({reason})" in out.stderr, (path, out.stderr)

    # a foreign genesis (other validators) proves nothing
    foreign = json.loads(genesis.read_text(encoding="utf-8"))
    foreign["validators"] = [
        {"id": KeyPair.generate().public_hex, "name": f"x{i}"} for i in range(4)
    ]
    (tmp_path / "foreign.json").write_text(json.dumps(foreign), encoding="utf-8")
    (tmp_path / "t.json").write_text(json.dumps(saved), encoding="utf-8")
    out = aidchain("verify", str(tmp_path / "t.json"), "--genesis", str(tmp_path / "foreign.json"))
    assert out.returncode == 1 and "not_a_validator" in out.stderr


async def test_pending_transactions_are_not_provable_and_an_idle_chain_stops(
    cluster: LocalCluster,
) -> None:
    payer = cluster.accounts[5]
    chain_id = cluster.chain_id
    # a nonce gap keeps the second transaction pending in the mempool
    first = make_transfer(payer, chain_id, 0, cluster.accounts[6].public_hex, 1)
    gapped = make_transfer(payer, chain_id, 2, cluster.accounts[6].public_hex, 1)
    await submit_all(cluster.url(0), [gapped])
    with pytest.raises(RpcError) as pending:
        await cluster.call(0, "tx_proof", hash=gapped.hash)
    assert (pending.value.code, pending.value.reason) == (-32031, "not_yet_provable")
    assert pending.value.data.get("status") == "pending"

    await submit_all(cluster.url(0), [first])
    info = (await wait_committed(cluster, 0, [first.hash]))[first.hash]
    await proof_of(cluster, 0, first.hash)
    anchor = await cluster.call(0, "block_get", height=info["height"] + 1)
    assert anchor["txs"] == []  # idle: one empty block anchors the receipts
    assert anchor["header"]["receipts_root"] != EMPTY_ROOT
    await asyncio.sleep(2)  # ... and nothing after it: the empty block has no receipts
    heights = {(await cluster.status(i))["height"] for i in range(cluster.n)}
    assert heights == {info["height"] + 1}
