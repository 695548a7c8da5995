"""Who signs: an ed25519 key, loaded from an aidchain key file or made fresh.

The key file format is the node's (node/keys.py): JSON ``{"public_key", "secret_key"}`` (64 hex
each, the secret being the ed25519 seed), mode 0600. It is read here with the same checks because
the RPC package sits below ``node`` (tests/test_layers.py); tests/rpc/test_client_signer.py holds
the two readers to the same verdicts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chain.crypto import KeyPair
from chain.keyfile import load_key as read_key_file  # the SDK's name for the one reader
from chain.tx import Transaction, sign_tx

ID_HEX_CHARS = 20  # a ledger id: the first 20 hex digits of sha256("<tx hash>:<kind>:<n>")


@dataclass(frozen=True, slots=True)
class Signer:
    """An account's signing key. ``address`` is its public key (64 hex), as on chain."""

    key: KeyPair

    @classmethod
    def from_key_file(cls, path: str | Path, *, check_permissions: bool = True) -> Signer:
        return cls(read_key_file(path, check_permissions=check_permissions))

    @classmethod
    def generate(cls) -> Signer:
        return cls(KeyPair.generate())

    @property
    def address(self) -> str:
        return self.key.public_hex

    def sign(self, chain_id: str, nonce: int, tx_type: str, payload: dict[str, Any]) -> Transaction:
        """A signed transaction; its envelope is checked as a node would (MalformedTx)."""
        return sign_tx(self.key, chain_id, nonce, tx_type, payload)


def new_id(tx_hash: str, kind: str, n: int = 0) -> str:
    """The id of the ``n``-th ``kind`` entity a ledger action creates (docs/ledger.md "Actions").

    Known as soon as the transaction is signed, so a client can pipeline the next action.
    """
    return hashlib.sha256(f"{tx_hash}:{kind}:{n}".encode()).hexdigest()[:ID_HEX_CHARS]
