"""Replies bounded by bytes: the per-reply cap, the node-wide budget, and what each refusal says."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chain.crypto import KeyPair
from chain.tx import sign_tx
from rpc import errors as E
from rpc.replies import REPLY_ALLOWANCE_BYTES, Reply, ReplyBudget, encode_answer
from rpc.server import ReplyLimits, dispatch
from tests.rpc.fakes import CHAIN_ID, FakeNode, answer

BLOB = 20_000


async def _node_with_big_tx() -> tuple[FakeNode, str]:
    node = FakeNode()
    payload = {"contract": "ab" * 32, "method": "m", "args": {"blob": "x" * BLOB}}
    tx = sign_tx(KeyPair.generate(), CHAIN_ID, 0, "call", payload).to_dict()
    return node, await node.tx_send(tx)


def _batch(tx_hash: str, count: int) -> bytes:
    items: list[dict[str, Any]] = [
        {"jsonrpc": "2.0", "method": "tx_get", "params": [tx_hash], "id": i} for i in range(count)
    ]
    items.append({"jsonrpc": "2.0", "method": "node_status", "id": "status"})
    return json.dumps(items).encode()


async def test_results_past_the_cap_get_too_large_and_the_rest_keep_their_answers() -> None:
    node, tx_hash = await _node_with_big_tx()
    cap = 5 * BLOB
    out = await answer(node, _batch(tx_hash, 10), max_batch=20, max_reply_bytes=cap)
    assert [a["id"] for a in out] == [*range(10), "status"]
    ok = [a for a in out if "result" in a]
    refused = [a for a in out if "error" in a]
    assert 3 <= len(ok) - 1 <= 4  # ~4 results of ~20 KB fit in 100 KB; node_status still fits
    assert ok[-1]["id"] == "status"
    for a in refused:
        assert a["error"]["code"] == E.TOO_LARGE
        assert a["error"]["data"] == {"reason": "too_large", "limit": cap}
    results_bytes = sum(len(json.dumps(a, ensure_ascii=False)) for a in ok)
    assert results_bytes <= cap


async def test_a_single_result_over_the_cap_is_an_error() -> None:
    node, tx_hash = await _node_with_big_tx()
    body = json.dumps({"jsonrpc": "2.0", "method": "tx_get", "params": [tx_hash], "id": 7})
    out = await answer(node, body.encode(), max_reply_bytes=BLOB // 2)
    assert out["id"] == 7 and out["error"]["data"]["reason"] == "too_large"


async def test_a_full_budget_refuses_big_results_as_busy_but_not_small_ones() -> None:
    node, tx_hash = await _node_with_big_tx()
    budget = ReplyBudget(10 * BLOB)
    assert budget.try_take(budget.limit)  # other clients hold everything
    out = await answer(node, _batch(tx_hash, 10), max_batch=20, budget=budget)
    small = REPLY_ALLOWANCE_BYTES // (BLOB + 500)
    assert sum("result" in a for a in out[:10]) == small  # what fits in the uncharged allowance
    busy = [a for a in out[:10] if "error" in a]
    assert busy and all(a["error"]["code"] == -32012 for a in busy)
    assert busy[0]["error"]["data"] == {"reason": "busy"}
    assert "result" in out[-1]  # node_status is answered: small replies are never starved
    budget.give_back(budget.limit)
    assert budget.used == 0  # answer() released what the reply took


async def test_reply_charges_the_budget_until_released() -> None:
    node, tx_hash = await _node_with_big_tx()
    budget = ReplyBudget(1 << 20)
    bounds = ReplyLimits(20, 1 << 20, budget)
    reply = await dispatch(node, _batch(tx_hash, 10), bounds)
    assert reply is not None
    commas = len(reply) - 1
    assert budget.used == reply.size - commas - REPLY_ALLOWANCE_BYTES
    held = budget.used
    ws_reply = await dispatch(node, _batch(tx_hash, 10), ReplyLimits(20, 1 << 20, budget, 2))
    assert ws_reply is not None and budget.used == 3 * held  # a WebSocket reply is held twice
    reply.release()
    reply.release()
    ws_reply.release()
    assert budget.used == 0


def test_chunks_join_to_the_body_and_pieces_stay_small() -> None:
    budget = ReplyBudget(1 << 30)
    reply = Reply(batch=True, max_bytes=1 << 30, budget=budget)
    parts = [b'{"a":"' + b"y" * 200_000 + b'"}', b"{}", b"[1]"]
    for part in parts:
        assert reply.try_add(part)
    pieces = list(reply.chunks())
    assert b"".join(pieces) == b"[" + b",".join(parts) + b"]"
    assert len(b"".join(pieces)) == reply.size
    assert max(len(p) for p in pieces) <= 64 * 1024
    assert json.loads(reply.take_body())[1:] == [{}, [1]]
    reply.release()
    assert budget.used == 0


def test_budget_refuses_what_it_cannot_hold() -> None:
    budget = ReplyBudget(10)
    assert budget.try_take(6) and not budget.try_take(5) and budget.try_take(4)
    budget.give_back(10)
    with pytest.raises(ValueError):
        ReplyBudget(0)


def test_a_result_with_a_lone_surrogate_is_sent_escaped_not_failed() -> None:
    encoded = encode_answer({"jsonrpc": "2.0", "id": 1, "result": {"名": "\ud800"}})
    assert encoded == b'{"jsonrpc": "2.0", "id": 1, "result": {"\\u540d": "\\ud800"}}'
    assert encode_answer({"id": 1, "result": object()}) is None
