"""ed25519 keys and signatures (PyNaCl); all keys and signatures travel as lowercase hex."""

from __future__ import annotations

from dataclasses import dataclass

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from chain.checks import is_hex64, is_hex128


def is_pubkey_hex(value: object) -> bool:
    return is_hex64(value)


def is_signature_hex(value: object) -> bool:
    return is_hex128(value)


@dataclass(frozen=True, slots=True)
class KeyPair:
    """An ed25519 key pair; ``seed_hex`` is the 32-byte secret seed."""

    public_hex: str
    seed_hex: str
    _signing: SigningKey

    @classmethod
    def generate(cls) -> KeyPair:
        return cls.from_seed(SigningKey.generate().encode())

    @classmethod
    def from_seed(cls, seed: bytes) -> KeyPair:
        sk = SigningKey(seed)
        return cls(sk.verify_key.encode().hex(), seed.hex(), sk)

    @classmethod
    def from_seed_hex(cls, seed_hex: str) -> KeyPair:
        if not is_hex64(seed_hex):
            raise ValueError("secret key must be 64 lowercase hex characters")
        return cls.from_seed(bytes.fromhex(seed_hex))

    def sign(self, message: bytes) -> str:
        return self._signing.sign(message).signature.hex()


VERIFY_KEY_CACHE_SIZE = 10_000  # parsed public keys kept; validators and busy senders stay hot
_verify_keys: dict[str, VerifyKey] = {}


def verify(public_hex: str, message: bytes, signature_hex: str) -> bool:
    """True iff ``signature_hex`` is a valid signature of ``message`` by ``public_hex``."""
    if not is_pubkey_hex(public_hex) or not is_signature_hex(signature_hex):
        return False
    vk = _verify_keys.get(public_hex)
    if vk is None:
        try:
            vk = VerifyKey(bytes.fromhex(public_hex))
        except Exception:
            return False
        if len(_verify_keys) < VERIFY_KEY_CACHE_SIZE:
            _verify_keys[public_hex] = vk
    try:
        vk.verify(message, bytes.fromhex(signature_hex))
    except (BadSignatureError, ValueError):
        return False
    return True
