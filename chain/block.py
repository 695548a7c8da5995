"""Blocks, headers, the two Merkle commitments and commit certificates.

The block hash is the SHA-256 of the canonical header. The header commits to its own
transactions with ``tx_root`` and ``tx_count`` and, like CometBFT's ``LastResultsHash``, to the
receipts of the PREVIOUS block with ``receipts_root`` (receipts exist only after execution, and a
block is proposed before it executes, exactly as ``state_root`` is the state after the previous
block). Both roots are RFC 6962 trees (``chain.merkle``): leaves are ``tx_bytes`` and
``receipt_bytes``, defined here once; ``docs/proofs.md`` pins them for other implementations.
``tx_count`` is in the header because an audit path alone does not fix the size of its tree.

A commit certificate is 2f+1 validator signatures over
``commit_signing_bytes(chain_id, view, height, block_hash)`` -- exactly the bytes a replica signs
in its COMMIT vote, so anyone can check finality from the block and its certificate alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chain import limits
from chain.checks import is_uint
from chain.crypto import is_pubkey_hex, is_signature_hex, verify
from chain.encoding import canonical, canonical_unchecked, sha256_hex
from chain.errors import InvalidBlock, InvalidCertificate, MalformedTx
from chain.merkle import EMPTY_TREE_HASH, leaf_hash, root_of_hashes
from chain.tx import Transaction, tx_from_dict

EMPTY_ROOT = EMPTY_TREE_HASH.hex()  # the root of no transactions / no receipts


def tx_bytes(tx: Transaction) -> bytes:
    """The canonical bytes of the whole signed transaction: a ``tx_root`` leaf's data.

    Spliced from ``body_bytes`` rather than encoded again: canonical keys are sorted and
    ``"signature"`` sorts between ``"sender"`` and ``"type"``, the body's last key.
    """
    tail = b',"type":"' + tx.type.encode() + b'"}'  # one of TX_TYPES: plain ASCII, no escapes
    body = tx.body_bytes
    assert body.endswith(tail), "transaction body is not canonical"
    return b"".join((body[: -len(tail)], b',"signature":"', tx.signature.encode(), b'"', tail))


def tx_leaf_hash(tx: Transaction) -> bytes:
    return leaf_hash(tx_bytes(tx))


def tx_root(txs: Sequence[Transaction]) -> str:
    """The RFC 6962 root over the transactions' canonical bytes, in block order (hex)."""
    return root_of_hashes([tx_leaf_hash(tx) for tx in txs]).hex()


def receipt_bytes(tx_hash: str, receipt: dict[str, Any]) -> bytes:
    """A ``receipts_root`` leaf's data: ``canonical({"receipt": receipt, "tx": tx_hash})``.

    The transaction's hash is inside the leaf, so a receipt proves whose result it is by itself,
    not only by sharing a position with the transaction. Checked encoding: a verifier feeds
    receipts from untrusted documents through here and must refuse floats.
    """
    return _receipt_leaf_data(tx_hash, canonical(receipt))


def _receipt_leaf_data(tx_hash: str, encoded_receipt: bytes) -> bytes:
    # the canonical object spliced: "receipt" sorts before "tx", a hex hash needs no escaping
    return b"".join((b'{"receipt":', encoded_receipt, b',"tx":"', tx_hash.encode(), b'"}'))


def receipts_root(txs: Sequence[Transaction], receipts: Sequence[dict[str, Any]]) -> str:
    """The RFC 6962 root over one block's receipts, in block order (hex).

    For the executor's own receipts, which it already made canonical (unchecked encoding: this
    runs for every committed block).
    """
    return receipts_root_of_bytes(txs, [canonical_unchecked(r) for r in receipts])


def receipts_root_of_bytes(txs: Sequence[Transaction], encoded: Sequence[bytes]) -> str:
    """``receipts_root`` from the receipts' canonical bytes (the executor encodes them once)."""
    assert len(txs) == len(encoded), "one receipt per transaction"
    leaves = [leaf_hash(_receipt_leaf_data(tx.hash, e)) for tx, e in zip(txs, encoded, strict=True)]
    return root_of_hashes(leaves).hex()


@dataclass(frozen=True, slots=True)
class BlockHeader:
    height: int
    prev_hash: str
    tx_root: str  # RFC 6962 root over this block's tx_bytes
    tx_count: int  # this block's transactions: the size of the tx_root tree
    state_root: str  # state after executing block height-1 (CometBFT-style app hash)
    receipts_root: str  # RFC 6962 root over block height-1's receipt_bytes (LastResultsHash)
    time: int  # milliseconds since the Unix epoch, proposed by the primary
    proposer: str
    view: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "height": self.height,
            "prev_hash": self.prev_hash,
            "tx_root": self.tx_root,
            "tx_count": self.tx_count,
            "state_root": self.state_root,
            "receipts_root": self.receipts_root,
            "time": self.time,
            "proposer": self.proposer,
            "view": self.view,
        }

    @property
    def hash(self) -> str:
        return sha256_hex(canonical(self.to_dict()))


HEADER_FIELDS = frozenset(BlockHeader.__dataclass_fields__)


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
        """True iff ``tx_count`` and ``tx_root`` commit to exactly these transactions."""
        return self.header.tx_count == len(self.txs) and tx_root(self.txs) == self.header.tx_root


def _int(value: Any, name: str) -> int:
    if not is_uint(value):
        raise InvalidBlock(f"header.{name} must be a non-negative integer")
    return value


def _hex64(value: Any, name: str) -> str:
    if not is_pubkey_hex(value):
        raise InvalidBlock(f"header.{name} must be 64 hex characters")
    return str(value)


def header_from_dict(obj: Any) -> BlockHeader:
    if not isinstance(obj, dict) or set(obj) != HEADER_FIELDS:
        raise InvalidBlock("header has the wrong fields")
    return BlockHeader(
        height=_int(obj["height"], "height"),
        prev_hash=_hex64(obj["prev_hash"], "prev_hash"),
        tx_root=_hex64(obj["tx_root"], "tx_root"),
        tx_count=_int(obj["tx_count"], "tx_count"),
        state_root=_hex64(obj["state_root"], "state_root"),
        receipts_root=_hex64(obj["receipts_root"], "receipts_root"),
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
        raise InvalidBlock("tx_root or tx_count does not match the block's transactions")
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

    def verify(self, chain_id: str, validators: Sequence[str]) -> None:
        """Raise InvalidCertificate unless 2f+1 distinct validators signed this commit."""
        problem = certificate_problem(self, chain_id, validators)
        if problem is not None:
            raise InvalidCertificate(problem[1], problem=problem[0])


def quorum_size(n: int) -> int:
    """2f+1 for n validators, f = floor((n-1)/3): any two quorums share an honest validator."""
    return 2 * ((n - 1) // 3) + 1


def certificate_problem(
    cert: CommitCertificate, chain_id: str, validators: Sequence[str]
) -> tuple[str, str] | None:
    """Why ``cert`` is not 2f+1 distinct ``validators``' commit signatures, or None.

    Returns ``(reason, message)``; reasons: ``not_a_validator``, ``duplicate_signer``,
    ``bad_signature``, ``no_quorum``. Every listed signature must verify: a certificate that
    carries a forged entry next to a quorum of good ones is refused, not trimmed.
    """
    quorum = quorum_size(len(validators))
    allowed = set(validators)
    message = commit_signing_bytes(chain_id, cert.view, cert.height, cert.block_hash)
    seen: set[str] = set()
    for validator, signature in cert.signatures:
        if validator not in allowed:
            return "not_a_validator", f"signer {validator[:12]} is not a validator"
        if validator in seen:
            return "duplicate_signer", f"signer {validator[:12]} appears twice"
        if not verify(validator, message, signature):
            return "bad_signature", f"bad signature from {validator[:12]}"
        seen.add(validator)
    if len(seen) < quorum:
        return "no_quorum", f"certificate has {len(seen)} signatures, needs {quorum}"
    return None


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
