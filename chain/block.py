"""Blocks, headers, Merkle roots and commit certificates.

The block hash is the SHA-256 of the canonical header; the header commits to the transactions
through ``tx_root``. A commit certificate is 2f+1 validator signatures over
``commit_signing_bytes(chain_id, view, height, block_hash)`` -- exactly the bytes a replica signs
in its COMMIT vote, so anyone can check finality from the block and its certificate alone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from chain import limits
from chain.checks import is_uint
from chain.crypto import is_pubkey_hex, is_signature_hex, verify
from chain.encoding import canonical, sha256_hex
from chain.errors import InvalidBlock, InvalidCertificate, MalformedTx
from chain.tx import Transaction, tx_from_dict

EMPTY_ROOT = "0" * 64


def merkle_root(hashes: list[str]) -> str:
    """Binary SHA-256 Merkle root over hex leaf hashes (odd node promoted); EMPTY_ROOT if none."""
    if not hashes:
        return EMPTY_ROOT
    level = [bytes.fromhex(h) for h in hashes]
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level) - 1, 2):
            nxt.append(hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest())
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0].hex()


@dataclass(frozen=True, slots=True)
class BlockHeader:
    height: int
    prev_hash: str
    tx_root: str
    state_root: str  # state after executing block height-1 (CometBFT-style app hash)
    time: int  # milliseconds since the Unix epoch, proposed by the primary
    proposer: str
    view: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "height": self.height,
            "prev_hash": self.prev_hash,
            "tx_root": self.tx_root,
            "state_root": self.state_root,
            "time": self.time,
            "proposer": self.proposer,
            "view": self.view,
        }

    @property
    def hash(self) -> str:
        return sha256_hex(canonical(self.to_dict()))


@dataclass(frozen=True, slots=True)
class Block:
    header: BlockHeader
    txs: tuple[Transaction, ...]

    @property
    def height(self) -> int:
        return self.header.height

    @property
    def hash(self) -> str:
        return self.header.hash

    def to_dict(self) -> dict[str, Any]:
        return {"header": self.header.to_dict(), "txs": [tx.to_dict() for tx in self.txs]}

    def check_tx_root(self) -> bool:
        return merkle_root([tx.hash for tx in self.txs]) == self.header.tx_root


def _int(value: Any, name: str) -> int:
    if not is_uint(value):
        raise InvalidBlock(f"header.{name} must be a non-negative integer")
    return value


def _hex64(value: Any, name: str) -> str:
    if not is_pubkey_hex(value):
        raise InvalidBlock(f"header.{name} must be 64 hex characters")
    return str(value)


def header_from_dict(obj: Any) -> BlockHeader:
    if not isinstance(obj, dict) or set(obj) != {
        "height",
        "prev_hash",
        "tx_root",
        "state_root",
        "time",
        "proposer",
        "view",
    }:
        raise InvalidBlock("header has the wrong fields")
    return BlockHeader(
        height=_int(obj["height"], "height"),
        prev_hash=_hex64(obj["prev_hash"], "prev_hash"),
        tx_root=_hex64(obj["tx_root"], "tx_root"),
        state_root=_hex64(obj["state_root"], "state_root"),
        time=_int(obj["time"], "time"),
        proposer=_hex64(obj["proposer"], "proposer"),
        view=_int(obj["view"], "view"),
    )


def block_from_dict(obj: Any) -> Block:
    """Decode a block and check that its transactions match ``tx_root`` (signatures not checked)."""
    if (
        not isinstance(obj, dict)
        or set(obj) != {"header", "txs"}
        or not isinstance(obj["txs"], list)
    ):
        raise InvalidBlock("block must be {header, txs}")
    header = header_from_dict(obj["header"])
    try:
        txs = tuple(tx_from_dict(t) for t in obj["txs"])
    except MalformedTx as exc:
        raise InvalidBlock(f"block holds a malformed transaction: {exc.message}") from None
    block = Block(header, txs)
    if not block.check_tx_root():
        raise InvalidBlock("tx_root does not match the block's transactions")
    return block


def commit_signing_bytes(chain_id: str, view: int, height: int, block_hash: str) -> bytes:
    return canonical(
        {
            "type": "commit",
            "chain_id": chain_id,
            "view": view,
            "height": height,
            "block": block_hash,
        }
    )


@dataclass(frozen=True, slots=True)
class CommitCertificate:
    """2f+1 COMMIT signatures for (view, height, block_hash)."""

    height: int
    block_hash: str
    view: int
    signatures: tuple[tuple[str, str], ...]  # (validator id, signature hex), sorted by id

    def to_dict(self) -> dict[str, Any]:
        return {
            "height": self.height,
            "block_hash": self.block_hash,
            "view": self.view,
            "signatures": [{"validator": v, "signature": s} for v, s in self.signatures],
        }

    def verify(self, chain_id: str, validators: list[str]) -> None:
        """Raise InvalidCertificate unless 2f+1 distinct validators signed this commit."""
        n = len(validators)
        quorum = 2 * ((n - 1) // 3) + 1
        allowed = set(validators)
        message = commit_signing_bytes(chain_id, self.view, self.height, self.block_hash)
        seen: set[str] = set()
        for validator, signature in self.signatures:
            if validator not in allowed:
                raise InvalidCertificate(f"signer {validator[:12]} is not a validator")
            if validator in seen:
                raise InvalidCertificate("duplicate signer in certificate")
            if not verify(validator, message, signature):
                raise InvalidCertificate(f"bad signature from {validator[:12]}")
            seen.add(validator)
        if len(seen) < quorum:
            raise InvalidCertificate(f"certificate has {len(seen)} signatures, needs {quorum}")


def certificate_from_dict(obj: Any) -> CommitCertificate:
    try:
        sigs = obj["signatures"]
        pairs = []
        for item in sigs:
            v, s = item["validator"], item["signature"]
            if not is_pubkey_hex(v) or not is_signature_hex(s):
                raise InvalidCertificate("malformed signature entry")
            pairs.append((v, s))
        height, block_hash, view = obj["height"], obj["block_hash"], obj["view"]
        if (
            not isinstance(height, int)
            or not isinstance(view, int)
            or not is_pubkey_hex(block_hash)
        ):
            raise InvalidCertificate("malformed certificate")
        if len(pairs) > limits.MAX_VALIDATORS:
            raise InvalidCertificate("too many signatures")
    except (KeyError, TypeError) as exc:
        raise InvalidCertificate(f"malformed certificate: {exc}") from None
    return CommitCertificate(height, block_hash, view, tuple(sorted(pairs)))
