"""Transaction proofs: build one from committed blocks, verify one offline against a genesis.

A proof shows that a transaction was committed at height h with a given receipt, to someone who
trusts only the genesis validator set. It carries header h (whose ``tx_root`` holds the
transaction), header h+1 (whose ``receipts_root`` holds block h's receipts and whose
``prev_hash`` is header h's hash) and the commit certificate of h+1: 2f+1 genesis validators
signing h+1 certify h+1, hence, through ``prev_hash``, h as well. Both audit paths use the same
leaf index, in trees whose size is header h's ``tx_count`` (never a number from the proof alone:
an audit path does not fix its tree's size). ``docs/proofs.md`` pins every byte.

``verify_proof`` checks from the trust anchor down (signatures, then the header the certificate
signs, then the header it links to, then the paths), so the first mismatch names the field that
was changed. It is pure: no node, no clock, no disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chain.block import (
    Block,
    BlockHeader,
    CommitCertificate,
    certificate_from_dict,
    certificate_problem,
    header_from_dict,
    receipt_bytes,
    tx_bytes,
)
from chain.crypto import is_pubkey_hex
from chain.errors import AidchainError
from chain.merkle import PathError, audit_path, leaf_hash, root_from_path
from chain.tx import Transaction, tx_from_dict

PROOF_VERSION = 1
PROOF_FIELDS = frozenset(
    {
        "version",
        "chain_id",
        "tx_hash",
        "height",
        "index",
        "tx",
        "receipt",
        "tx_path",
        "receipt_path",
        "header",
        "next_header",
        "certificate",
    }
)


class ProofError(AidchainError):
    """A proof that does not prove what it claims; ``reason`` says which check failed.

    Reasons: ``malformed``, ``version``, ``bad_genesis``, ``chain_id``, ``tx_hash``,
    ``tx_signature``, ``height``, ``tx_path``, ``receipt_path``, ``header_hash``, ``prev_link``,
    ``not_a_validator``, ``duplicate_signer``, ``bad_signature``, ``no_quorum``.
    """

    reason = "invalid_proof"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VerifiedProof:
    """What a valid proof establishes."""

    tx_hash: str
    height: int
    receipt: dict[str, Any]
    block_hash: str  # of block ``height``, certified through the next block's certificate
    index: int = 0  # the transaction's position in its block
    tx: dict[str, Any] | None = None  # the signed transaction as committed


# --- building (the node's side) ------------------------------------------------------------------


def build_proof(
    chain_id: str,
    block: Block,
    receipts: Sequence[dict[str, Any]],
    index: int,
    next_header: BlockHeader,
    certificate: CommitCertificate,
) -> dict[str, Any]:
    """The proof document for ``block.txs[index]``; the caller supplies block h+1's header and
    certificate. Asserts the node's own data is consistent: a mismatch is a corrupt store."""
    assert next_header.prev_hash == block.hash and certificate.block_hash == next_header.hash
    tx = block.txs[index]
    tx_leaves = [leaf_hash(tx_bytes(t)) for t in block.txs]
    receipt_leaves = [
        leaf_hash(receipt_bytes(t.hash, r)) for t, r in zip(block.txs, receipts, strict=True)
    ]
    return {
        "version": PROOF_VERSION,
        "chain_id": chain_id,
        "tx_hash": tx.hash,
        "height": block.height,
        "index": index,
        "tx": tx.to_dict(),
        "receipt": receipts[index],
        "tx_path": [p.hex() for p in audit_path(tx_leaves, index)],
        "receipt_path": [p.hex() for p in audit_path(receipt_leaves, index)],
        "header": block.header.to_dict(),
        "next_header": next_header.to_dict(),
        "certificate": certificate.to_dict(),
    }


# --- verifying (anyone's side) -------------------------------------------------------------------


def _genesis_anchor(genesis: Any) -> tuple[str, list[str]]:
    """(chain id, validator ids) from a genesis document: all a verifier trusts."""
    try:
        chain_id = genesis["chain_id"]
        validators = [v["id"] for v in genesis["validators"]]
    except (KeyError, TypeError) as exc:
        raise ProofError("bad_genesis", f"genesis has no chain_id/validators: {exc}") from None
    if not isinstance(chain_id, str) or not validators:
        raise ProofError("bad_genesis", "genesis chain_id must be a string, validators non-empty")
    if not all(is_pubkey_hex(v) for v in validators):
        raise ProofError("bad_genesis", "genesis validator ids must be 64-hex public keys")
    return chain_id, validators


def _shape(doc: Any) -> None:
    if not isinstance(doc, dict):
        raise ProofError("malformed", "a proof is a JSON object")
    if set(doc) != PROOF_FIELDS:
        missing, extra = sorted(PROOF_FIELDS - set(doc)), sorted(set(doc) - PROOF_FIELDS)
        raise ProofError("malformed", f"proof fields wrong: missing {missing}, unknown {extra}")
    if doc["version"] != PROOF_VERSION or isinstance(doc["version"], bool):
        raise ProofError("version", f"proof version {doc['version']!r}, expected {PROOF_VERSION}")
    for name in ("height", "index"):
        value = doc[name]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ProofError("malformed", f"{name} must be a non-negative integer")
    if not isinstance(doc["receipt"], dict):
        raise ProofError("malformed", "receipt must be an object")


def _decode(what: str, decode: Any, value: Any) -> Any:
    try:
        return decode(value)
    except AidchainError as exc:
        raise ProofError("malformed", f"{what}: {exc.message}") from None


def _path(doc: dict[str, Any], name: str) -> list[bytes]:
    value = doc[name]
    if not isinstance(value, list) or not all(is_pubkey_hex(p) for p in value):
        raise ProofError("malformed", f"{name} must be a list of 64-hex hashes")
    return [bytes.fromhex(p) for p in value]


def _check_certificate(
    cert: CommitCertificate, next_header: BlockHeader, chain_id: str, validators: list[str]
) -> None:
    problem = certificate_problem(cert, chain_id, validators)
    if problem is not None:
        raise ProofError(problem[0], f"certificate: {problem[1]}")
    if cert.height != next_header.height or cert.block_hash != next_header.hash:
        raise ProofError(
            "header_hash",
            f"the certificate signs block {cert.height} {cert.block_hash[:16]}, but next_header "
            f"is block {next_header.height} and hashes to {next_header.hash[:16]}",
        )


def _check_link(doc: dict[str, Any], header: BlockHeader, next_header: BlockHeader) -> None:
    if next_header.height != header.height + 1 or next_header.prev_hash != header.hash:
        raise ProofError(
            "prev_link",
            f"header (block {header.height}, hash {header.hash[:16]}) is not the parent of "
            f"next_header (block {next_header.height}, prev_hash {next_header.prev_hash[:16]})",
        )
    if doc["height"] != header.height:
        raise ProofError("height", f"height {doc['height']} but the header is {header.height}")


def _check_tx(doc: dict[str, Any], chain_id: str) -> Transaction:
    tx = _decode("transaction", tx_from_dict, doc["tx"])
    if tx.chain_id != chain_id:
        raise ProofError("chain_id", f"the transaction is for chain {tx.chain_id!r}")
    if doc["tx_hash"] != tx.hash:
        raise ProofError("tx_hash", f"tx_hash is not the transaction's hash {tx.hash}")
    if not tx.verify_signature():
        raise ProofError("tx_signature", "the transaction's signature does not verify")
    return tx


def _check_paths(
    doc: dict[str, Any], tx: Transaction, header: BlockHeader, next_header: BlockHeader
) -> None:
    index, size = doc["index"], header.tx_count
    try:
        tx_root = root_from_path(leaf_hash(tx_bytes(tx)), index, size, _path(doc, "tx_path"))
    except PathError as exc:
        raise ProofError("tx_path", f"tx_path: {exc}") from None
    if tx_root.hex() != header.tx_root:
        raise ProofError(
            "tx_path", f"the transaction at index {index} with tx_path does not lead to tx_root"
        )
    leaf = leaf_hash(_decode("receipt", lambda r: receipt_bytes(tx.hash, r), doc["receipt"]))
    try:
        root = root_from_path(leaf, index, size, _path(doc, "receipt_path"))
    except PathError as exc:
        raise ProofError("receipt_path", f"receipt_path: {exc}") from None
    if root.hex() != next_header.receipts_root:
        raise ProofError(
            "receipt_path",
            f"the receipt at index {index} with receipt_path does not lead to "
            "next_header.receipts_root",
        )


def verify_proof(doc: Any, genesis: Any) -> VerifiedProof:
    """Check ``doc`` trusting only ``genesis``'s chain id and validators; raise ProofError."""
    chain_id, validators = _genesis_anchor(genesis)
    _shape(doc)
    if doc["chain_id"] != chain_id:
        raise ProofError("chain_id", f"proof is for chain {doc['chain_id']!r}, not {chain_id!r}")
    cert = _decode("certificate", certificate_from_dict, doc["certificate"])
    next_header = _decode("next_header", header_from_dict, doc["next_header"])
    header = _decode("header", header_from_dict, doc["header"])
    _check_certificate(cert, next_header, chain_id, validators)
    _check_link(doc, header, next_header)
    tx = _check_tx(doc, chain_id)
    _check_paths(doc, tx, header, next_header)
    return VerifiedProof(
        tx_hash=tx.hash,
        height=header.height,
        receipt=doc["receipt"],
        block_hash=header.hash,
        index=doc["index"],
        tx=doc["tx"],
    )
