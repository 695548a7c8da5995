"""The validator peer handshake as pure functions (no I/O), so every refusal is unit-testable.

Three messages, one JSON object each, before any application message flows:

1. listener -> dialer  ``hello``   {"type", "version", "chain_id", "node_id", "challenge"}
2. dialer -> listener  ``auth``    {"type", "chain_id", "node_id", "challenge", "signature"}
   where ``signature`` signs the listener's challenge and ``challenge`` is the dialer's own
3. listener -> dialer  ``welcome`` {"type", "node_id", "signature"} signing the dialer's challenge

A signature covers the canonical JSON of
``{"purpose": "aidchain-p2p", "role", "chain_id", "challenge", "from", "to"}``: the purpose keeps
it from ever being valid as anything else (a transaction, a vote), ``role`` keeps a dialer's
proof from being replayed as a listener's, ``from``/``to`` bind it to one pair of validators and
the fresh 32-byte challenge binds it to one connection. Any failure raises ``HandshakeError``
with a stable ``kind``.
"""

from __future__ import annotations

import os
from collections.abc import Container
from dataclasses import dataclass
from typing import Any, Literal

from chain import limits
from chain.checks import is_int
from chain.crypto import KeyPair, is_pubkey_hex, is_signature_hex, verify
from chain.encoding import canonical, loads_strict
from chain.errors import AidchainError, EncodingError

PURPOSE = "aidchain-p2p"
PROTOCOL_VERSION = 1
CHALLENGE_BYTES = 32
HANDSHAKE_MAX_BYTES = 4 * 1024  # one handshake message (~400 bytes), and any frame before auth

Role = Literal["dialer", "listener"]
HandshakeKind = Literal[
    "malformed",  # not the expected JSON object / fields
    "version",  # different PROTOCOL_VERSION
    "wrong_chain",  # different chain_id
    "unknown_peer",  # claims an id that is not a validator
    "unexpected_peer",  # listener is not the validator we dialed / claims to be us
    "bad_signature",  # does not hold the key it claims
    "timeout",  # did not finish within handshake_timeout_s
    "busy",  # evicted: the listener needed the slot for a newer unauthenticated connection
]


class HandshakeError(AidchainError):
    """A peer failed the handshake; ``kind`` says why (also sent as the WebSocket close text)."""

    reason = "handshake_refused"

    def __init__(self, kind: HandshakeKind, message: str) -> None:
        super().__init__(f"{kind}: {message}", kind=kind)
        self.kind: HandshakeKind = kind


def new_challenge() -> str:
    """A fresh random challenge (hex of CHALLENGE_BYTES random bytes)."""
    return os.urandom(CHALLENGE_BYTES).hex()


def proof_bytes(*, role: Role, chain_id: str, challenge: str, from_id: str, to_id: str) -> bytes:
    """The exact bytes a handshake signature covers."""
    return canonical(
        {
            "purpose": PURPOSE,
            "role": role,
            "chain_id": chain_id,
            "challenge": challenge,
            "from": from_id,
            "to": to_id,
        }
    )


@dataclass(frozen=True, slots=True)
class Hello:
    version: int
    chain_id: str
    node_id: str
    challenge: str

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "version": self.version,
            "chain_id": self.chain_id,
            "node_id": self.node_id,
            "challenge": self.challenge,
        }


@dataclass(frozen=True, slots=True)
class Auth:
    chain_id: str
    node_id: str
    challenge: str
    signature: str

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "auth",
            "chain_id": self.chain_id,
            "node_id": self.node_id,
            "challenge": self.challenge,
            "signature": self.signature,
        }


@dataclass(frozen=True, slots=True)
class Welcome:
    node_id: str
    signature: str

    def to_json(self) -> dict[str, Any]:
        return {"type": "welcome", "node_id": self.node_id, "signature": self.signature}


def encode(message: Hello | Auth | Welcome) -> bytes:
    return canonical(message.to_json())


def _is_challenge(value: object) -> bool:
    return (
        isinstance(value, str)
        and len(value) == 2 * CHALLENGE_BYTES
        and all(c in "0123456789abcdef" for c in value)
    )


def _is_chain_id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limits.MAX_CHAIN_ID_CHARS


def _parse_object(data: bytes | str, expected_type: str, fields: frozenset[str]) -> dict[str, Any]:
    if len(data) > HANDSHAKE_MAX_BYTES:
        raise HandshakeError("malformed", f"{expected_type} larger than {HANDSHAKE_MAX_BYTES}")
    try:
        obj = loads_strict(data)
    except EncodingError as exc:
        raise HandshakeError("malformed", f"{expected_type} is not valid JSON ({exc})") from None
    if not isinstance(obj, dict) or obj.get("type") != expected_type:
        raise HandshakeError("malformed", f"expected a {expected_type!r} object")
    if set(obj) != fields:
        raise HandshakeError("malformed", f"{expected_type} must have exactly {sorted(fields)}")
    return obj


_HELLO_FIELDS = frozenset({"type", "version", "chain_id", "node_id", "challenge"})
_AUTH_FIELDS = frozenset({"type", "chain_id", "node_id", "challenge", "signature"})
_WELCOME_FIELDS = frozenset({"type", "node_id", "signature"})


def parse_hello(data: bytes | str) -> Hello:
    obj = _parse_object(data, "hello", _HELLO_FIELDS)
    version = obj["version"]
    if not is_int(version):
        raise HandshakeError("malformed", "hello.version must be an integer")
    if not _is_chain_id(obj["chain_id"]):
        raise HandshakeError("malformed", "hello.chain_id must be a short non-empty string")
    if not is_pubkey_hex(obj["node_id"]):
        raise HandshakeError("malformed", "hello.node_id must be 64 lowercase hex")
    if not _is_challenge(obj["challenge"]):
        raise HandshakeError("malformed", "hello.challenge must be 64 lowercase hex")
    return Hello(version, obj["chain_id"], obj["node_id"], obj["challenge"])


def parse_auth(data: bytes | str) -> Auth:
    obj = _parse_object(data, "auth", _AUTH_FIELDS)
    if not _is_chain_id(obj["chain_id"]):
        raise HandshakeError("malformed", "auth.chain_id must be a short non-empty string")
    if not is_pubkey_hex(obj["node_id"]):
        raise HandshakeError("malformed", "auth.node_id must be 64 lowercase hex")
    if not _is_challenge(obj["challenge"]):
        raise HandshakeError("malformed", "auth.challenge must be 64 lowercase hex")
    if not is_signature_hex(obj["signature"]):
        raise HandshakeError("malformed", "auth.signature must be 128 lowercase hex")
    return Auth(obj["chain_id"], obj["node_id"], obj["challenge"], obj["signature"])


def parse_welcome(data: bytes | str) -> Welcome:
    obj = _parse_object(data, "welcome", _WELCOME_FIELDS)
    if not is_pubkey_hex(obj["node_id"]):
        raise HandshakeError("malformed", "welcome.node_id must be 64 lowercase hex")
    if not is_signature_hex(obj["signature"]):
        raise HandshakeError("malformed", "welcome.signature must be 128 lowercase hex")
    return Welcome(obj["node_id"], obj["signature"])


# --- listener side -------------------------------------------------------------------------------


def make_hello(key: KeyPair, chain_id: str) -> Hello:
    return Hello(PROTOCOL_VERSION, chain_id, key.public_hex, new_challenge())


def check_auth(auth: Auth, *, hello: Hello, validators: Container[str]) -> str:
    """Verify a dialer's answer to our ``hello``; returns the authenticated validator id."""
    if auth.chain_id != hello.chain_id:
        raise HandshakeError("wrong_chain", f"dialer is on chain {auth.chain_id!r}")
    if auth.node_id == hello.node_id:
        raise HandshakeError("unexpected_peer", "dialer claims to be this node")
    if auth.node_id not in validators:
        raise HandshakeError("unknown_peer", f"{auth.node_id[:16]}… is not a validator")
    proof = proof_bytes(
        role="dialer",
        chain_id=hello.chain_id,
        challenge=hello.challenge,
        from_id=auth.node_id,
        to_id=hello.node_id,
    )
    if not verify(auth.node_id, proof, auth.signature):
        raise HandshakeError("bad_signature", f"dialer does not hold key {auth.node_id[:16]}…")
    return auth.node_id


def make_welcome(key: KeyPair, chain_id: str, auth: Auth) -> Welcome:
    proof = proof_bytes(
        role="listener",
        chain_id=chain_id,
        challenge=auth.challenge,
        from_id=key.public_hex,
        to_id=auth.node_id,
    )
    return Welcome(key.public_hex, key.sign(proof))


# --- dialer side ---------------------------------------------------------------------------------


def check_hello(hello: Hello, *, chain_id: str, expected_id: str) -> None:
    """Refuse before signing anything if the listener is not the validator we meant to dial."""
    if hello.version != PROTOCOL_VERSION:
        raise HandshakeError("version", f"listener speaks version {hello.version}")
    if hello.chain_id != chain_id:
        raise HandshakeError("wrong_chain", f"listener is on chain {hello.chain_id!r}")
    if hello.node_id != expected_id:
        raise HandshakeError("unexpected_peer", f"listener says it is {hello.node_id[:16]}…")


def make_auth(key: KeyPair, chain_id: str, hello: Hello) -> Auth:
    proof = proof_bytes(
        role="dialer",
        chain_id=chain_id,
        challenge=hello.challenge,
        from_id=key.public_hex,
        to_id=hello.node_id,
    )
    return Auth(chain_id, key.public_hex, new_challenge(), key.sign(proof))


def check_welcome(welcome: Welcome, *, chain_id: str, auth: Auth, expected_id: str) -> None:
    """Verify the listener proved it holds ``expected_id``'s key over our challenge."""
    if welcome.node_id != expected_id:
        raise HandshakeError("unexpected_peer", f"listener says it is {welcome.node_id[:16]}…")
    proof = proof_bytes(
        role="listener",
        chain_id=chain_id,
        challenge=auth.challenge,
        from_id=expected_id,
        to_id=auth.node_id,
    )
    if not verify(expected_id, proof, welcome.signature):
        raise HandshakeError("bad_signature", f"listener does not hold key {expected_id[:16]}…")
