"""Block store: headers, per-block tx hash lists, commit certificates, and per-tx records.

Layout (prefixes in storage/db.py):

- ``h<height>`` -> canonical header JSON
- ``b<height>`` -> the block's tx hashes as raw 32-byte digests, concatenated in block order
- ``c<height>`` -> canonical certificate JSON (absent for the genesis block)
- ``r<height><index>`` -> canonical ``{"height", "index", "receipt", "tx"}``: the transaction,
  where it was committed, and its receipt, in height order, so a block's records are one
  sequential range read (a block, a proof, a streamed audit export);
- ``t<hash>``   -> the 12-byte locator ``(u64 height, u32 index)`` of that record, so ``tx_get``
  is two point reads.

Data dirs written before the height-ordered layout hold the record itself under ``t<hash>`` (a
value starting with ``{``; a locator never does, its first byte is a height's top byte) and no
``r`` keys; every read here accepts both, block by block, so such a chain opens and continues.

A transaction is encoded once, at commit, from values the executor already validated, so the hot
path uses the unchecked canonical encoder; reads parse our own bytes with plain ``json``.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

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
from storage.db import (
    P_BLOCK_TXS,
    P_CERT,
    P_HEADER,
    P_TX,
    P_TX_AT,
    Batch,
    Database,
    height_key,
    tx_key,
    u64,
)
from storage.errors import ChainStoreError

HASH_BYTES = 32
_LOCATOR = struct.Struct(">QI")  # (height, index) of a transaction's record


class RawReader(Protocol):
    """What the raw block reads need: a plyvel database or snapshot."""

    def get(self, key: bytes) -> bytes | None: ...

    def iterator(self, *, start: bytes, stop: bytes) -> Iterator[tuple[bytes, bytes]]: ...


def put_header(batch: Batch, header: BlockHeader) -> None:
    batch.put(height_key(P_HEADER, header.height), canonical_unchecked(header.to_dict()))


def put_block(
    batch: Batch,
    block: Block,
    certificate: CommitCertificate | None,
    receipts: Sequence[dict[str, Any]],
    receipt_bytes: Sequence[bytes] | None = None,
) -> None:
    """Queue the block, its certificate and one record per transaction into ``batch``.

    ``receipt_bytes`` are the receipts' canonical bytes when the caller has them already.
    """
    height = block.height
    put_header(batch, block.header)
    batch.put(height_key(P_BLOCK_TXS, height), b"".join(bytes.fromhex(tx.hash) for tx in block.txs))
    if certificate is not None:
        batch.put(height_key(P_CERT, height), canonical_unchecked(certificate.to_dict()))
    prefix = b'{"height":%d,"index":' % height
    if receipt_bytes is None:
        receipt_bytes = [canonical_unchecked(r) for r in receipts]
    for index, (tx, receipt) in enumerate(zip(block.txs, receipt_bytes, strict=True)):
        # keys in canonical (sorted) order: height, index, receipt, tx
        record = b"".join(
            (
                prefix,
                b"%d" % index,
                b',"receipt":',
                receipt,
                b',"tx":',
                tx_bytes(tx),
                b"}",
            )
        )
        locator = _LOCATOR.pack(height, index)
        batch.put(P_TX_AT + locator, record)
        batch.put(tx_key(tx.hash), locator)


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


def read_tx_hash_at(reader: RawReader, height: int, index: int) -> str | None:
    """The hash of the ``index``-th transaction of block ``height`` (None: no such tx)."""
    raw = reader.get(height_key(P_BLOCK_TXS, height))
    if raw is None or not 0 <= index < len(raw) // HASH_BYTES:
        return None
    return bytes(raw[index * HASH_BYTES : (index + 1) * HASH_BYTES]).hex()


def read_tx_records_raw(reader: RawReader, height: int) -> list[tuple[str, bytes]] | None:
    """A block's (tx hash, stored record bytes) in block order, undecoded (a streaming reader
    decodes only the fields it needs): one range read, or one point read per transaction for a
    block stored before the height-ordered layout. ``reader`` is a database or a snapshot."""
    hashes = reader.get(height_key(P_BLOCK_TXS, height))
    if hashes is None:
        return None
    if len(hashes) % HASH_BYTES:
        raise ChainStoreError(f"corrupt tx list at height {height}")
    digests = [hashes[i : i + HASH_BYTES] for i in range(0, len(hashes), HASH_BYTES)]
    if not digests:
        return []
    stop = P_TX_AT + u64(height + 1)
    records = [value for _, value in reader.iterator(start=P_TX_AT + u64(height), stop=stop)]
    if not records:
        records = [_old_record(reader.get(P_TX + digest), height) for digest in digests]
    if len(records) != len(digests):
        raise ChainStoreError(
            f"block {height} lists {len(digests)} transactions but {len(records)} are stored"
        )
    return [(digest.hex(), record) for digest, record in zip(digests, records, strict=True)]


def _old_record(raw: bytes | None, height: int) -> bytes:
    if raw is None or not raw.startswith(b"{"):
        raise ChainStoreError(f"block {height} lists a transaction that is not stored")
    return raw


def _record_bytes(reader: RawReader, tx_hash: str) -> bytes | None:
    """The record of a transaction by hash, through its locator (or stored whole, before the
    height-ordered layout)."""
    raw = reader.get(tx_key(tx_hash))
    if raw is None or raw.startswith(b"{"):
        return raw
    if len(raw) != _LOCATOR.size:
        raise ChainStoreError(f"corrupt transaction locator {tx_hash[:12]}")
    record = reader.get(P_TX_AT + raw)
    if record is None:
        raise ChainStoreError(f"transaction {tx_hash[:12]} is indexed but its record is missing")
    return record


def read_tx_record(db: Database, tx_hash: str) -> dict[str, Any] | None:
    obj = _load(_record_bytes(db.raw, tx_hash), "transaction")
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
    """The block at ``height`` and its receipts in block order (one range read)."""
    header = read_header(db, height)
    if header is None:
        return None
    txs = []
    receipts = []
    for tx_hash, raw in read_tx_records_raw(db.raw, height) or []:
        record = _load(raw, "transaction")
        if not isinstance(record, dict):
            raise ChainStoreError(f"corrupt transaction record {tx_hash[:12]}")
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
