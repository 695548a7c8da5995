"""Who signs: an ed25519 key, loaded from an aidchain key file or made fresh.

The key file format is the node's (node/keys.py): JSON ``{"public_key", "secret_key"}`` (64 hex
each, the secret being the ed25519 seed), mode 0600. It is read here with the same checks because
the RPC package sits below ``node`` (tests/test_layers.py); tests/rpc/test_client_signer.py holds
the two readers to the same verdicts.
"""

from __future__ import annotations

import hashlib
import json
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chain.crypto import KeyPair, is_pubkey_hex
from chain.errors import KeyFileError
from chain.tx import Transaction, sign_tx

ID_HEX_CHARS = 20  # a ledger id: the first 20 hex digits of sha256("<tx hash>:<kind>:<n>")


def read_key_file(path: str | Path, *, check_permissions: bool = True) -> KeyPair:
    """The key in ``path``; KeyFileError if unreadable, malformed, or readable by others."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None
    if check_permissions and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"key file {path} is accessible by group or others "
            f"(mode {stat.S_IMODE(st.st_mode):04o}); run: chmod 600 {path}"
        )
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
        public, secret = obj["public_key"], obj["secret_key"]
        key = KeyPair.from_seed_hex(secret)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KeyFileError(f"{path} is not a valid key file: {exc}") from None
    if not is_pubkey_hex(public) or key.public_hex != public:
        raise KeyFileError(f"{path}: public_key does not match secret_key")
    return key


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
