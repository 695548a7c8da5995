"""Block store: headers, per-block tx hash lists, commit certificates, and per-tx records.

Layout (prefixes in storage/db.py):

- ``h<height>`` -> canonical header JSON
- ``b<height>`` -> the block's tx hashes as raw 32-byte digests, concatenated in block order
- ``c<height>`` -> canonical certificate JSON (absent for the genesis block)
- ``t<hash>``   -> canonical ``{"height", "index", "receipt", "tx"}``: the transaction, where it
  was committed, and its receipt, so ``tx_get`` is one point read.

A transaction is encoded once, at commit, from values the executor already validated, so the hot
path uses the unchecked canonical encoder; reads parse our own bytes with plain ``json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from chain.block import (
    Block,
    BlockHeader,
    CommitCertificate,
    certificate_from_dict,
    header_from_dict,
    tx_bytes,
)
from chain.encoding import canonical_unchecked
from chain.errors import AidchainError
from chain.tx import Transaction, tx_from_dict
from storage.db import P_BLOCK_TXS, P_CERT, P_HEADER, P_TX, Batch, Database, height_key, tx_key
from storage.errors import ChainStoreError

HASH_BYTES = 32


def put_header(batch: Batch, header: BlockHeader) -> None:
    batch.put(height_key(P_HEADER, header.height), canonical_unchecked(header.to_dict()))


def put_block(
    batch: Batch,
    block: Block,
    certificate: CommitCertificate | None,
    receipts: Sequence[dict[str, Any]],
) -> None:
    """Queue the block, its certificate and one record per transaction into ``batch``."""
    height = block.height
    put_header(batch, block.header)
    batch.put(height_key(P_BLOCK_TXS, height), b"".join(bytes.fromhex(tx.hash) for tx in block.txs))
    if certificate is not None:
        batch.put(height_key(P_CERT, height), canonical_unchecked(certificate.to_dict()))
    prefix = b'{"height":%d,"index":' % height
    for index, (tx, receipt) in enumerate(zip(block.txs, receipts, strict=True)):
        # keys in canonical (sorted) order: height, index, receipt, tx
        record = b"".join(
            (
                prefix,
                b"%d" % index,
                b',"receipt":',
                canonical_unchecked(receipt),
                b',"tx":',
                tx_bytes(tx),
                b"}",
            )
        )
        batch.put(tx_key(tx.hash), record)


def _load(raw: bytes | None, what: str) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ChainStoreError(f"corrupt {what} record: {exc}") from None


def read_header(db: Database, height: int) -> BlockHeader | None:
    obj = _load(db.get(height_key(P_HEADER, height)), "header")
    if obj is None:
        return None
    try:
        return header_from_dict(obj)
    except AidchainError as exc:
        raise ChainStoreError(f"corrupt header at height {height}: {exc.message}") from None


def read_tx_hashes(db: Database, height: int) -> list[str] | None:
    raw = db.get(height_key(P_BLOCK_TXS, height))
    if raw is None:
        return None
    if len(raw) % HASH_BYTES:
        raise ChainStoreError(f"corrupt tx list at height {height}")
    return [raw[i : i + HASH_BYTES].hex() for i in range(0, len(raw), HASH_BYTES)]


def read_tx_records_raw(
    get: Callable[[bytes], bytes | None], height: int
) -> list[tuple[str, bytes]] | None:
    """A block's (tx hash, stored record bytes) in block order, through ``get`` (a database or
    a snapshot's point read), undecoded: a streaming reader decodes only the fields it needs."""
    hashes = get(height_key(P_BLOCK_TXS, height))
    if hashes is None:
        return None
    if len(hashes) % HASH_BYTES:
        raise ChainStoreError(f"corrupt tx list at height {height}")
    out = []
    for i in range(0, len(hashes), HASH_BYTES):
        digest = hashes[i : i + HASH_BYTES]
        raw = get(P_TX + digest)
        if raw is None:
            raise ChainStoreError(f"block {height} lists a transaction that is not stored")
        out.append((digest.hex(), raw))
    return out


def read_tx_record(db: Database, tx_hash: str) -> dict[str, Any] | None:
    obj = _load(db.get(tx_key(tx_hash)), "transaction")
    if obj is not None and not isinstance(obj, dict):
        raise ChainStoreError(f"corrupt transaction record {tx_hash[:12]}")
    return obj


def decode_tx(record: dict[str, Any]) -> Transaction:
    try:
        return tx_from_dict(record["tx"])
    except (AidchainError, KeyError) as exc:
        raise ChainStoreError(f"corrupt stored transaction: {exc}") from None


def read_block(db: Database, height: int) -> Block | None:
    found = read_block_and_receipts(db, height)
    return None if found is None else found[0]


def read_block_and_receipts(db: Database, height: int) -> tuple[Block, list[dict[str, Any]]] | None:
    """The block at ``height`` and its receipts in block order (one read per transaction)."""
    header = read_header(db, height)
    if header is None:
        return None
    hashes = read_tx_hashes(db, height) or []
    txs = []
    receipts = []
    for tx_hash in hashes:
        record = read_tx_record(db, tx_hash)
        if record is None:
            raise ChainStoreError(f"block {height} lists a transaction that is not stored")
        txs.append(decode_tx(record))
        receipt = record.get("receipt")
        if not isinstance(receipt, dict):
            raise ChainStoreError(f"corrupt receipt of transaction {tx_hash[:12]}")
        receipts.append(receipt)
    return Block(header, tuple(txs)), receipts


def read_certificate(db: Database, height: int) -> CommitCertificate | None:
    obj = _load(db.get(height_key(P_CERT, height)), "certificate")
    if obj is None:
        return None
    try:
        return certificate_from_dict(obj)
    except AidchainError as exc:
        raise ChainStoreError(f"corrupt certificate at height {height}: {exc.message}") from None
