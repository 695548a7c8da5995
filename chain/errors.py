"""Typed errors with a stable machine-readable ``reason``.

They are raised deep inside the node and mapped once at the edge (JSON-RPC error codes, CLI exit
codes); the ``reason`` string is part of the public API (``error.data.reason`` over JSON-RPC).
"""

from __future__ import annotations

from typing import Any


class AidchainError(Exception):
    """Base class: ``reason`` is stable, ``message`` is for humans, ``data`` is extra JSON."""

    reason = "error"

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.message = message
        self.data = data

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"reason": self.reason}
        out.update(self.data)
        return out


class EncodingError(AidchainError):
    reason = "malformed_json"


class MalformedTx(AidchainError):
    reason = "malformed_tx"


class BadSignature(AidchainError):
    reason = "bad_signature"


class BadNonce(AidchainError):
    reason = "bad_nonce"


class WrongChain(AidchainError):
    reason = "wrong_chain"


class MempoolFull(AidchainError):
    reason = "mempool_full"


class UnknownAccount(AidchainError):
    """The sender has no state on this chain (no balance, no nonce, no role): refused at admission."""

    reason = "unknown_account"


class TooLarge(AidchainError):
    reason = "too_large"


class NotFound(AidchainError):
    reason = "not_found"


class InvalidBlock(AidchainError):
    reason = "invalid_block"


class InvalidCertificate(AidchainError):
    reason = "invalid_certificate"


class ContractError(AidchainError):
    reason = "contract_error"


class Busy(AidchainError):
    """The node is at a concurrency limit; the client should retry later."""

    reason = "busy"


class KeyFileError(AidchainError):
    reason = "bad_key_file"


class ConfigError(AidchainError):
    reason = "bad_config"


class UnknownTx(AidchainError):
    """No committed or pending transaction has this hash (``tx_proof``)."""

    reason = "unknown_tx"


class NotYetProvable(AidchainError):
    """The transaction is pending, or committed but no certified header anchors its receipt yet
    (the next block is not committed): ask again after the next block."""

    reason = "not_yet_provable"
