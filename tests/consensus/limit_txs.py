"""Builders of transactions at every admission limit, shared by the unit and the attack tests."""

from __future__ import annotations

from typing import Any

from chain import limits
from chain.crypto import KeyPair
from chain.encoding import canonical
from chain.tx import Transaction, sign_tx

MAX_ARGS_LEVELS = limits.MAX_JSON_DEPTH - 2  # the body is depth 0, payload 1, args 2
CONTRACT = "c0" * 32
WORST_ESCAPES = '"\\\x01\n\u2028\U0001f600'  # each costs the most bytes once re-escaped


def nested(levels: int, leaf: Any) -> Any:
    """``levels`` objects inside each other around ``leaf``."""
    value = leaf
    for _ in range(levels):
        value = {"a": value}
    return value


def call_with_args_depth(
    key: KeyPair, chain_id: str, nonce: int, levels: int, leaf: Any = 0
) -> Transaction:
    """A call whose ``args`` nest ``levels`` deep (the issue's "60 deep" is ``levels=60``)."""
    payload = {"contract": CONTRACT, "method": "m", "args": nested(levels, leaf)}
    return sign_tx(key, chain_id, nonce, "call", payload)


def deepest_call(key: KeyPair, chain_id: str, nonce: int, leaf: str = "x") -> Transaction:
    """The deepest call admission accepts: its leaf sits at exactly MAX_JSON_DEPTH."""
    args = nested(MAX_ARGS_LEVELS - 1, [leaf])  # the list is the last level
    payload = {"contract": CONTRACT, "method": "m", "args": args, "gas": limits.MAX_CALL_GAS}
    return sign_tx(key, chain_id, nonce, "call", payload)


def largest_call(key: KeyPair, chain_id: str, nonce: int, chars: str) -> Transaction:
    """A call whose body is as close to MAX_TX_BYTES as ``chars`` allow (binary search)."""
    lo, hi = 0, limits.MAX_TX_BYTES
    best: Transaction | None = None
    body = {"chain_id": chain_id, "sender": key.public_hex, "nonce": nonce, "type": "call"}
    while lo <= hi:
        n = (lo + hi) // 2
        text = (chars * (n // len(chars) + 1))[:n]
        payload = {"contract": CONTRACT, "method": "m", "args": {"s": text}}
        if len(canonical({**body, "payload": payload})) <= limits.MAX_TX_BYTES:
            best, lo = sign_tx(key, chain_id, nonce, "call", payload), n + 1
        else:
            hi = n - 1
    assert best is not None
    return best


def longest_memo(key: KeyPair, chain_id: str, nonce: int, memo: str) -> Transaction:
    memo = (memo or "x") * limits.MAX_MEMO_CHARS
    payload = {
        "to": "ee" * 32,
        "amount": limits.MAX_AMOUNT - 1,
        "memo": memo[: limits.MAX_MEMO_CHARS],
    }
    return sign_tx(key, chain_id, nonce, "transfer", payload)


def largest_deploy(key: KeyPair, chain_id: str, nonce: int, text: str) -> Transaction:
    # source is bounded in raw bytes; keep JSON escapes out so the whole tx stays under MAX_TX_BYTES
    unit = ("".join(ch for ch in text if ch not in '"\\' and ch >= " ") or "x").encode("utf-8")
    source = (unit * (limits.MAX_CONTRACT_SOURCE_BYTES // len(unit) + 1))[
        : limits.MAX_CONTRACT_SOURCE_BYTES
    ]
    src = source.decode("utf-8", errors="ignore")
    payload = {"source": src, "init": nested(MAX_ARGS_LEVELS - 1, 0), "gas": limits.MAX_CALL_GAS}
    return sign_tx(key, chain_id, nonce, "deploy", payload)
