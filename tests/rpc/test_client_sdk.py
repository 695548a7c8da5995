"""The SDK's Client and Account against the real RPC server around an in-memory node.

Nonces: fetched once and counted locally, resynced on a nonce error; retries resend the same
signed transaction (the node answers a known transaction's hash again), so a lost answer or a
full mempool never makes a second transaction. Receipts, pagination and the exceptions that
carry the node's code and reason.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from aid.errors import WrongRole
from chain import limits
from chain.errors import MalformedTx, MempoolFull
from chain.tx import tx_from_dict
from rpc import errors as E
from rpc.client import (
    Client,
    LedgerRefusedError,
    MempoolFullError,
    MethodNotFoundError,
    NonceError,
    ReceiptTimeout,
    RetryPolicy,
    RpcError,
    RpcTransportError,
    Signer,
    TxFailed,
    endpoints,
    failed,
    paid,
)
from rpc.client.account import estimated_gas
from tests.rpc.fakes import FakeNode, serve

FAST = RetryPolicy(attempts=4, first_delay_s=0.01, max_delay_s=0.02)


class SdkNode(FakeNode):
    """FakeNode plus what the SDK reads: next_nonce, commits with receipts, paged lists."""

    def __init__(self) -> None:
        super().__init__()
        self.committed: dict[str, dict[str, Any]] = {}
        self.items = [{"kind": "batch", "id": f"b{i}", "status": "sent"} for i in range(5)]
        self.full_for = 0  # answer mempool_full to this many tx_send calls
        self.sent: list[dict[str, Any]] = []

    async def tx_send(self, tx: Any) -> str:
        self.sent.append(tx)
        if self.full_for:
            self.full_for -= 1
            raise MempoolFull("mempool is full")
        return await super().tx_send(tx)

    async def account_get(self, address: str) -> dict[str, Any]:
        info = await super().account_get(address)
        return {**info, "next_nonce": info["nonce"]}

    def commit(self, tx_hash: str, receipt: dict[str, Any]) -> None:
        tx = self.mempool.pop(tx_hash)
        self.committed[tx_hash] = {
            "hash": tx_hash,
            "status": "committed",
            "height": 7,
            "index": 0,
            "tx": tx,
            "receipt": receipt,
        }

    async def tx_get(self, hash: str) -> dict[str, Any] | None:
        if hash in self.committed:
            return self.committed[hash]
        return await super().tx_get(hash)

    async def aid_list(
        self, kind: str, filters: dict[str, str], cursor: str | None, limit: int | None
    ) -> dict[str, Any]:
        self._enter("aid_list", kind, filters, cursor, limit)
        start = 0 if cursor is None else int(cursor)
        end = start + (limit or 50)
        more = end < len(self.items)
        return {"items": self.items[start:end], "next_cursor": str(end) if more else None}

    async def aid_get(self, kind: str, id: str) -> dict[str, Any] | None:
        self._enter("aid_get", kind, id)
        raise WrongRole("the signer holds no bank_operator grant", role="bank_operator")


def calls(node: FakeNode, name: str) -> int:
    return sum(1 for c, _ in node.calls if c == name)


def nonces_of(node: SdkNode) -> list[int]:
    return [tx_from_dict(t).nonce for t in node.sent]


async def test_nonces_are_fetched_once_and_counted_locally() -> None:
    node, signer = SdkNode(), Signer.generate()
    async with serve(node) as srv, Client(str(srv.make_url("/")), retry=FAST) as client:
        acct = client.account(signer)
        sent = [await acct.transfer("cd" * 32, 5) for _ in range(5)]
    assert [s.tx.nonce for s in sent] == [0, 1, 2, 3, 4]
    assert calls(node, "account_get") == 1
    assert len(node.mempool) == 5 and all(s.hash in node.mempool for s in sent)


async def test_a_nonce_error_resyncs_and_signs_again() -> None:
    node, signer = SdkNode(), Signer.generate()
    async with serve(node) as srv, Client(str(srv.make_url("/")), retry=FAST) as client:
        mine, other = client.account(signer), client.account(signer)  # two processes, one key
        await mine.transfer("cd" * 32, 1)  # nonce 0; mine counts to 1
        await other.transfer("cd" * 32, 2)  # asks the node: 1
        again = await mine.transfer("cd" * 32, 1)  # 1 is used: bad_nonce, resync to 2
    assert again.tx.nonce == 2
    assert nonces_of(node) == [0, 1, 1, 2]
    assert len(node.mempool) == 3


async def test_a_refusal_leaves_the_nonce_unspent() -> None:
    node, signer = SdkNode(), Signer.generate()
    async with serve(node) as srv, Client(str(srv.make_url("/")), retry=FAST) as client:
        acct = client.account(signer)
        assert await acct.next_nonce() == 0 and await client.chain_id() == "test-chain"
        node.fail_with = MalformedTx("payload.to must be a 64-hex public key")
        with pytest.raises(RpcError) as info:
            await acct.transfer("cd" * 32, 1)
        assert (info.value.code, info.value.reason) == (-32005, "malformed_tx")
        sent = await acct.transfer("cd" * 32, 1)
    assert sent.tx.nonce == 0 and calls(node, "account_get") == 2


async def test_mempool_full_is_retried_with_the_same_signed_tx() -> None:
    node, signer = SdkNode(), Signer.generate()
    node.full_for = 2
    async with serve(node) as srv, Client(str(srv.make_url("/")), retry=FAST) as client:
        acct = client.account(signer)
        sent = await acct.transfer("cd" * 32, 1)
        assert await acct.next_nonce() == 1
        node.full_for = 10
        with pytest.raises(MempoolFullError) as info:
            await acct.transfer("cd" * 32, 2)
        assert info.value.reason == "mempool_full" and info.value.code == -32004
    assert node.sent[:3] == [sent.tx.to_dict()] * 3  # the same bytes each time
    assert len(node.sent) == 3 + FAST.attempts


async def test_a_lost_answer_is_retried_and_makes_one_transaction() -> None:
    """The node admitted it but the answer never arrived: the resend gets the same hash."""
    node, signer = SdkNode(), Signer.generate()
    async with serve(node) as srv, Client(str(srv.make_url("/")), retry=FAST) as client:
        real_post = client.http._post
        lost = {"n": 1}

        async def lossy(payload: Any) -> Any:
            answer = await real_post(payload)
            if payload.get("method") == "tx_send" and lost["n"]:
                lost["n"] -= 1
                raise RpcTransportError("connection reset after the request was sent")
            return answer

        client.http._post = lossy  # type: ignore[method-assign]
        acct = client.account(signer)
        first = await acct.transfer("cd" * 32, 1)
        second = await acct.transfer("cd" * 32, 1)
    assert nonces_of(node) == [0, 0, 1]
    assert list(node.mempool) == [first.hash, second.hash]


async def test_wait_for_receipt_polls_until_committed() -> None:
    node, signer = SdkNode(), Signer.generate()
    async with serve(node) as srv, Client(str(srv.make_url("/")), retry=FAST) as client:
        acct = client.account(signer)
        sent = await acct.aid("batch.create", {"cycle": "c1", "bank": "bank", "count": 1})
        ok = {"ok": True, "error": None, "error_type": None, "events": [{"name": "x"}]}
        asyncio.get_running_loop().call_later(0.3, node.commit, sent.hash, ok)
        done = await sent.wait(timeout=5)
        assert (done.hash, done.height, done.index, done.ok) == (sent.hash, 7, 0, True)
        assert done.events == [{"name": "x"}]

        refused = await acct.cycle_approve("c1")
        receipt = {
            "ok": False,
            "error": "the handler who prepared cycle c1 cannot approve it",
            "error_type": "wrong_role",
            "error_data": {"check": "maker"},
            "events": [],
        }
        node.commit(refused.hash, receipt)
        with pytest.raises(TxFailed) as info:
            await refused.wait(timeout=5)
        assert info.value.reason == "wrong_role" and info.value.data == {"check": "maker"}
        assert not (await refused.wait(timeout=5, check=False)).ok

        pending = await acct.transfer("cd" * 32, 1)
        with pytest.raises(ReceiptTimeout) as late:
            await pending.wait(timeout=0.5)
        assert late.value.last_status == "pending" and isinstance(late.value, TimeoutError)


async def test_named_actions_build_the_ledger_payloads() -> None:
    node, signer = SdkNode(), Signer.generate()
    async with serve(node) as srv, Client(str(srv.make_url("/")), retry=FAST) as client:
        acct = client.account(signer)
        rows = [paid("e1", 30_000, "QS-1"), failed("e2", 20_000, "account_closed")]
        report = await acct.payment_report("b1", rows)
        batch = await acct.batch_create("c1", "bank", 2, 50_000)
        add = await acct.cycle_add("c1", ["h1", "h2"])
        review = await acct.household_review("h1", "village")
        check = await acct.check("cycle.approve", {"cycle": "c1", "decision": "approve"})
    payloads = {s.hash: node.mempool[s.hash]["payload"] for s in (report, batch, add, review)}
    assert payloads[report.hash] == {
        "action": "payment.report",
        "args": {
            "batch": "b1",
            "results": [
                {"entitlement": "e1", "outcome": "paid", "amount": 30_000, "bank_ref": "QS-1"},
                {
                    "entitlement": "e2",
                    "outcome": "failed",
                    "amount": 20_000,
                    "code": "account_closed",
                },
            ],
        },
    }
    assert payloads[batch.hash]["args"] == {
        "cycle": "c1",
        "bank": "bank",
        "count": 2,
        "total": 50_000,
    }
    assert payloads[add.hash]["gas"] == 10_000  # per household, as the rules need
    assert payloads[review.hash] == {
        "action": "household.review",
        "args": {"household": "h1", "stage": "village"},
    }
    assert check["ok"] is True
    assert [tx_from_dict(t).nonce for t in node.sent] == [0, 1, 2, 3]  # check spent no nonce


class GasNode(SdkNode):
    """aid_check answers that the rules used 2,000 gas, and records the gas each check declared."""

    def __init__(self) -> None:
        super().__init__()
        self.checked_gas: list[int] = []

    async def aid_check(self, tx: Any) -> dict[str, Any]:
        self._enter("aid_check", tx)
        self.checked_gas.append(tx_from_dict(tx).payload.get("gas", 0))
        return {"ok": True, "events": [], "touched": [], "gas_used": 2_000}


async def test_estimate_gas_checks_with_a_calls_most_and_adds_a_fifth() -> None:
    node, signer = GasNode(), Signer.generate()
    async with serve(node) as srv, Client(str(srv.make_url("/")), retry=FAST) as client:
        gas = await client.account(signer).estimate_gas("cycle.add", {"cycle": "c1"})
    assert node.checked_gas == [limits.MAX_CALL_GAS]
    assert gas == 2_401
    assert node.sent == []  # an estimate sends nothing and spends no nonce
    assert (estimated_gas(0), estimated_gas(5)) == (0, 7)
    assert estimated_gas(limits.MAX_CALL_GAS) == limits.MAX_CALL_GAS


async def test_lists_are_async_iterators_over_pages() -> None:
    node = SdkNode()
    async with serve(node) as srv, Client(str(srv.make_url("/"))) as client:
        got = [b["id"] async for b in client.aid_list("batch", {"status": "sent"}, page_size=2)]
    assert got == ["b0", "b1", "b2", "b3", "b4"]
    pages = [args for name, args in node.calls if name == "aid_list"]
    assert [a[2] for a in pages] == [None, "2", "4"] and {a[3] for a in pages} == {2}


async def test_errors_carry_the_nodes_code_and_reason() -> None:
    async with serve(SdkNode()) as srv, Client(str(srv.make_url("/"))) as client:
        with pytest.raises(LedgerRefusedError) as refused:
            await client.aid_get("batch", "b1")
        assert refused.value.code == E.LEDGER_REFUSED and refused.value.reason == "wrong_role"
        assert refused.value.data["role"] == "bank_operator"
        with pytest.raises(MethodNotFoundError) as missing:
            await client.call("subscribe", topic="blocks")
        assert missing.value.code == E.METHOD_NOT_FOUND and isinstance(missing.value, RpcError)
    assert issubclass(NonceError, RpcError)


async def test_unreachable_node_is_a_transport_error() -> None:
    async with Client("http://127.0.0.1:9/", timeout=2, retry=FAST) as client:
        with pytest.raises(RpcTransportError):
            await client.status()
        with pytest.raises(RpcTransportError):
            await client.account(Signer.generate()).transfer("cd" * 32, 1)


def test_endpoints_from_either_url() -> None:
    assert endpoints("http://127.0.0.1:26657/") == (
        "http://127.0.0.1:26657/",
        "ws://127.0.0.1:26657/ws",
    )
    assert endpoints("ws://h:1/ws") == ("http://h:1/", "ws://h:1/ws")
    assert endpoints("https://node.example/rpc") == (
        "https://node.example/rpc/",
        "wss://node.example/rpc/ws",
    )
    assert Client("ws://h:1/ws").websocket_calls and not Client("http://h:1/").websocket_calls
    with pytest.raises(ValueError):
        endpoints("ftp://h/")


class ProofNode(Client):
    """A client whose node answers tx_proof with a fixed document (the server part is #12.3)."""

    def __init__(self, doc: dict[str, Any]) -> None:
        super().__init__("http://127.0.0.1:9/")
        self.doc = doc
        self.asked: list[tuple[str, dict[str, Any]]] = []

    async def call(self, method: str, /, *args: Any, **kwargs: Any) -> Any:
        self.asked.append((method, kwargs))
        return self.doc


async def test_tx_proof_returns_the_nodes_document() -> None:
    client = ProofNode({"tx": {"nonce": 1}, "receipt": {"ok": True}})
    assert await client.tx_proof("ab" * 32) == client.doc
    assert client.asked == [("tx_proof", {"hash": "ab" * 32})]


async def test_tx_proof_verify_with_is_chain_proofs_verdict() -> None:
    proof = pytest.importorskip("chain.proof")
    client = ProofNode({"tx": {"nonce": 1}})  # not a proof: the verifier must say what is wrong
    genesis: dict[str, Any] = {"validators": []}
    with pytest.raises(proof.ProofError) as mine:
        await client.tx_proof("ab" * 32, verify_with=genesis)
    with pytest.raises(proof.ProofError) as theirs:
        proof.verify_proof(client.doc, genesis)
    assert mine.value.reason == theirs.value.reason
