"""PBFT wire messages: frozen dataclasses, their canonical signing bytes, strict decoding.

Every message is signed by its sender over canonical JSON that includes the chain id, so a vote
can never be replayed on another chain. Two signing formats are shared on purpose:

- a PRE-PREPARE is signed over exactly the PREPARE bytes for (view, height, block hash), so the
  primary's proposal doubles as its prepare vote and a *prepared certificate* is simply 2f+1
  signatures over those bytes;
- a COMMIT is signed over ``chain.block.commit_signing_bytes`` so 2f+1 commit votes form a
  ``chain.block.CommitCertificate`` that anyone can verify from the block alone.

``decode_message`` bounds every list, integer and string so hostile input fails fast with a
``MessageError`` instead of exhausting memory. Blocks travel in ``chain.wire`` form: each
transaction is one string holding its canonical JSON, so no message adds nesting to a
transaction and any transaction admission accepted can be proposed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from chain import limits
from chain.block import (
    Block,
    CommitCertificate,
    certificate_from_dict,
    commit_signing_bytes,
)
from chain.checks import is_uint
from chain.crypto import KeyPair, is_pubkey_hex, is_signature_hex, verify
from chain.encoding import canonical
from chain.errors import AidchainError, InvalidCertificate
from chain.tx import Transaction
from chain.wire import block_from_wire, block_to_wire

MAX_VIEW = 2**53 - 1  # views and heights are plain JSON-safe integers
MAX_HEIGHT = 2**53 - 1
MAX_SIGNATURES = limits.MAX_VALIDATORS  # per certificate: one per validator at most
MAX_VIEW_CHANGES = 256  # in one NEW-VIEW


class MessageError(AidchainError):
    """A peer message that is malformed, oversized or otherwise undecodable."""

    reason = "bad_message"


# --- signing bytes ------------------------------------------------------------------------------


def prepare_signing_bytes(chain_id: str, view: int, height: int, block_hash: str) -> bytes:
    return canonical(
        {
            "type": "prepare",
            "chain_id": chain_id,
            "view": view,
            "height": height,
            "block": block_hash,
        }
    )


def checkpoint_signing_bytes(chain_id: str, height: int, block_hash: str, state_root: str) -> bytes:
    return canonical(
        {
            "type": "checkpoint",
            "chain_id": chain_id,
            "height": height,
            "block": block_hash,
            "state_root": state_root,
        }
    )


# --- certificates -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PreparedCert:
    """2f+1 prepare signatures (the primary's PRE-PREPARE counts) for one block at (view, height)."""

    view: int
    height: int
    block_hash: str
    signatures: tuple[tuple[str, str], ...]  # (validator, signature), sorted by validator

    def to_dict(self) -> dict[str, Any]:
        return {
            "view": self.view,
            "height": self.height,
            "block_hash": self.block_hash,
            "signatures": [{"validator": v, "signature": s} for v, s in self.signatures],
        }

    def verify(self, chain_id: str, validators: Collection[str], quorum: int) -> bool:
        message = prepare_signing_bytes(chain_id, self.view, self.height, self.block_hash)
        seen: set[str] = set()
        for validator, signature in self.signatures:
            if validator in seen or validator not in validators:
                return False
            if not verify(validator, message, signature):
                return False
            seen.add(validator)
        return len(seen) >= quorum


def certificate_is_valid(
    cert: CommitCertificate, chain_id: str, validators: Collection[str]
) -> bool:
    try:
        cert.verify(chain_id, list(validators))
    except InvalidCertificate:
        return False
    return True


# --- messages -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrePrepare:
    """The primary of ``view`` proposes ``block`` at ``block.height`` (may re-propose an old block)."""

    view: int
    block: Block
    block_hash: str  # == block.hash, computed once
    sender: str
    signature: str

    @property
    def height(self) -> int:
        return self.block.header.height

    def signing_bytes(self, chain_id: str) -> bytes:
        return prepare_signing_bytes(chain_id, self.view, self.height, self.block_hash)


@dataclass(frozen=True, slots=True)
class Prepare:
    view: int
    height: int
    block_hash: str
    sender: str
    signature: str

    def signing_bytes(self, chain_id: str) -> bytes:
        return prepare_signing_bytes(chain_id, self.view, self.height, self.block_hash)


@dataclass(frozen=True, slots=True)
class Commit:
    view: int
    height: int
    block_hash: str
    sender: str
    signature: str

    def signing_bytes(self, chain_id: str) -> bytes:
        return commit_signing_bytes(chain_id, self.view, self.height, self.block_hash)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    height: int
    block_hash: str
    state_root: str  # state after executing block ``height``
    sender: str
    signature: str

    def signing_bytes(self, chain_id: str) -> bytes:
        return checkpoint_signing_bytes(chain_id, self.height, self.block_hash, self.state_root)


@dataclass(frozen=True, slots=True)
class ViewChange:
    """Sender moves to ``view``; proves its committed height and its prepared block, if any.

    ``block`` is the body of the prepared block so the new primary can re-propose it; it is not
    signed (it is checked against ``prepared.block_hash``) and is stripped inside NEW-VIEW.
    """

    view: int
    last_height: int
    last_cert: CommitCertificate | None  # None only at genesis (last_height == 0)
    prepared: PreparedCert | None  # for height last_height + 1
    block: Block | None
    sender: str
    signature: str

    def signing_bytes(self, chain_id: str) -> bytes:
        return canonical(
            {
                "type": "view_change",
                "chain_id": chain_id,
                "view": self.view,
                "last_height": self.last_height,
                "last_cert": self.last_cert.to_dict() if self.last_cert else None,
                "prepared": self.prepared.to_dict() if self.prepared else None,
            }
        )


@dataclass(frozen=True, slots=True)
class NewView:
    """The primary of ``view`` proves 2f+1 view changes and re-proposes the chosen block."""

    view: int
    view_changes: tuple[ViewChange, ...]  # blocks stripped
    pre_prepare: PrePrepare | None
    sender: str
    signature: str

    def signing_bytes(self, chain_id: str) -> bytes:
        pp = self.pre_prepare
        return canonical(
            {
                "type": "new_view",
                "chain_id": chain_id,
                "view": self.view,
                "view_changes": [vc.signature for vc in self.view_changes],
                "pre_prepare": None
                if pp is None
                else {"height": pp.height, "block": pp.block_hash, "signature": pp.signature},
            }
        )


Message = PrePrepare | Prepare | Commit | Checkpoint | ViewChange | NewView

MESSAGE_TYPES: dict[type, str] = {
    PrePrepare: "pre_prepare",
    Prepare: "prepare",
    Commit: "commit",
    Checkpoint: "checkpoint",
    ViewChange: "view_change",
    NewView: "new_view",
}


# --- constructors that sign ---------------------------------------------------------------------


def make_pre_prepare(key: KeyPair, chain_id: str, view: int, block: Block) -> PrePrepare:
    block_hash = block.hash
    sig = key.sign(prepare_signing_bytes(chain_id, view, block.header.height, block_hash))
    return PrePrepare(view, block, block_hash, key.public_hex, sig)


def make_prepare(key: KeyPair, chain_id: str, view: int, height: int, block_hash: str) -> Prepare:
    sig = key.sign(prepare_signing_bytes(chain_id, view, height, block_hash))
    return Prepare(view, height, block_hash, key.public_hex, sig)


def make_commit(key: KeyPair, chain_id: str, view: int, height: int, block_hash: str) -> Commit:
    sig = key.sign(commit_signing_bytes(chain_id, view, height, block_hash))
    return Commit(view, height, block_hash, key.public_hex, sig)


def make_checkpoint(
    key: KeyPair, chain_id: str, height: int, block_hash: str, state_root: str
) -> Checkpoint:
    sig = key.sign(checkpoint_signing_bytes(chain_id, height, block_hash, state_root))
    return Checkpoint(height, block_hash, state_root, key.public_hex, sig)


def make_view_change(
    key: KeyPair,
    chain_id: str,
    view: int,
    last_height: int,
    last_cert: CommitCertificate | None,
    prepared: PreparedCert | None,
    block: Block | None,
) -> ViewChange:
    unsigned = ViewChange(view, last_height, last_cert, prepared, block, key.public_hex, "")
    sig = key.sign(unsigned.signing_bytes(chain_id))
    return ViewChange(view, last_height, last_cert, prepared, block, key.public_hex, sig)


def strip_block(vc: ViewChange) -> ViewChange:
    if vc.block is None:
        return vc
    return ViewChange(
        vc.view, vc.last_height, vc.last_cert, vc.prepared, None, vc.sender, vc.signature
    )


def make_new_view(
    key: KeyPair,
    chain_id: str,
    view: int,
    view_changes: tuple[ViewChange, ...],
    pre_prepare: PrePrepare | None,
) -> NewView:
    vcs = tuple(strip_block(vc) for vc in view_changes)
    unsigned = NewView(view, vcs, pre_prepare, key.public_hex, "")
    sig = key.sign(unsigned.signing_bytes(chain_id))
    return NewView(view, vcs, pre_prepare, key.public_hex, sig)


# --- encoding -----------------------------------------------------------------------------------


def _encode_vc(vc: ViewChange) -> dict[str, Any]:
    return {
        "type": "view_change",
        "view": vc.view,
        "last_height": vc.last_height,
        "last_cert": vc.last_cert.to_dict() if vc.last_cert else None,
        "prepared": vc.prepared.to_dict() if vc.prepared else None,
        "block": block_to_wire(vc.block) if vc.block else None,
        "sender": vc.sender,
        "signature": vc.signature,
    }


def _encode_pp(pp: PrePrepare) -> dict[str, Any]:
    return {
        "type": "pre_prepare",
        "view": pp.view,
        "block": block_to_wire(pp.block),
        "sender": pp.sender,
        "signature": pp.signature,
    }


def encode_message(msg: Message) -> dict[str, Any]:
    """A JSON-able dict with a ``type`` field; ``decode_message`` inverts it exactly."""
    if isinstance(msg, PrePrepare):
        return _encode_pp(msg)
    if isinstance(msg, (Prepare, Commit)):
        return {
            "type": MESSAGE_TYPES[type(msg)],
            "view": msg.view,
            "height": msg.height,
            "block_hash": msg.block_hash,
            "sender": msg.sender,
            "signature": msg.signature,
        }
    if isinstance(msg, Checkpoint):
        return {
            "type": "checkpoint",
            "height": msg.height,
            "block_hash": msg.block_hash,
            "state_root": msg.state_root,
            "sender": msg.sender,
            "signature": msg.signature,
        }
    if isinstance(msg, ViewChange):
        return _encode_vc(msg)
    if isinstance(msg, NewView):
        return {
            "type": "new_view",
            "view": msg.view,
            "view_changes": [_encode_vc(vc) for vc in msg.view_changes],
            "pre_prepare": _encode_pp(msg.pre_prepare) if msg.pre_prepare else None,
            "sender": msg.sender,
            "signature": msg.signature,
        }
    raise MessageError(f"cannot encode {type(msg).__name__}")


def _fields(obj: Any, names: frozenset[str], what: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise MessageError(f"{what} must be an object")
    if set(obj) != names:
        raise MessageError(f"{what} has the wrong fields")
    return obj


def _uint(value: Any, name: str, maximum: int) -> int:
    if not is_uint(value, maximum):
        raise MessageError(f"{name} must be an integer in 0..{maximum}")
    return value


def _hex64(value: Any, name: str) -> str:
    if not is_pubkey_hex(value):
        raise MessageError(f"{name} must be 64 lowercase hex characters")
    return str(value)


def _sig(value: Any) -> str:
    if not is_signature_hex(value):
        raise MessageError("signature must be 128 lowercase hex characters")
    return str(value)


def _block(value: Any, known_txs: Mapping[str, Transaction] | None = None) -> Block:
    """A block in wire form (transactions as canonical strings, see ``chain.wire``)."""
    try:
        return block_from_wire(value, known_txs)
    except AidchainError as exc:
        raise MessageError(f"bad block: {exc.message}") from None


def _sig_pairs(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list) or len(value) > MAX_SIGNATURES:
        raise MessageError(f"signatures must be a list of at most {MAX_SIGNATURES}")
    pairs = []
    for item in value:
        item = _fields(item, frozenset({"validator", "signature"}), "signature entry")
        pairs.append((_hex64(item["validator"], "validator"), _sig(item["signature"])))
    return tuple(sorted(pairs))


def _prepared(value: Any) -> PreparedCert | None:
    if value is None:
        return None
    obj = _fields(value, frozenset({"view", "height", "block_hash", "signatures"}), "prepared")
    return PreparedCert(
        _uint(obj["view"], "prepared.view", MAX_VIEW),
        _uint(obj["height"], "prepared.height", MAX_HEIGHT),
        _hex64(obj["block_hash"], "prepared.block_hash"),
        _sig_pairs(obj["signatures"]),
    )


def parse_prepared(value: Any) -> PreparedCert | None:
    """Decode a journaled prepared certificate (None stays None); raises MessageError."""
    try:
        return _prepared(value)
    except MessageError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise MessageError(f"malformed prepared certificate: {exc}") from None


def _cert(value: Any) -> CommitCertificate | None:
    if value is None:
        return None
    obj = _fields(value, frozenset({"height", "block_hash", "view", "signatures"}), "last_cert")
    if not isinstance(obj["signatures"], list) or len(obj["signatures"]) > MAX_SIGNATURES:
        raise MessageError(f"certificate holds more than {MAX_SIGNATURES} signatures")
    _uint(obj["height"], "last_cert.height", MAX_HEIGHT)
    _uint(obj["view"], "last_cert.view", MAX_VIEW)
    try:
        return certificate_from_dict(obj)
    except AidchainError as exc:
        raise MessageError(f"bad certificate: {exc.message}") from None


_PP_FIELDS = frozenset({"type", "view", "block", "sender", "signature"})
_VOTE_FIELDS = frozenset({"type", "view", "height", "block_hash", "sender", "signature"})
_CP_FIELDS = frozenset({"type", "height", "block_hash", "state_root", "sender", "signature"})
_VC_FIELDS = frozenset(
    {"type", "view", "last_height", "last_cert", "prepared", "block", "sender", "signature"}
)
_NV_FIELDS = frozenset({"type", "view", "view_changes", "pre_prepare", "sender", "signature"})


def _decode_pp(obj: Any, known_txs: Mapping[str, Transaction] | None = None) -> PrePrepare:
    obj = _fields(obj, _PP_FIELDS, "pre_prepare")
    if obj["type"] != "pre_prepare":
        raise MessageError("expected a pre_prepare")
    block = _block(obj["block"], known_txs)
    if block.header.height > MAX_HEIGHT or block.header.view > MAX_VIEW:
        raise MessageError("block height or view out of range")
    return PrePrepare(
        _uint(obj["view"], "view", MAX_VIEW),
        block,
        block.hash,
        _hex64(obj["sender"], "sender"),
        _sig(obj["signature"]),
    )


def _decode_vc(obj: Any) -> ViewChange:
    obj = _fields(obj, _VC_FIELDS, "view_change")
    if obj["type"] != "view_change":
        raise MessageError("expected a view_change")
    last_height = _uint(obj["last_height"], "last_height", MAX_HEIGHT)
    cert = _cert(obj["last_cert"])
    prepared = _prepared(obj["prepared"])
    block = None if obj["block"] is None else _block(obj["block"])
    if (cert is None) != (last_height == 0):
        raise MessageError("last_cert is required exactly when last_height > 0")
    if cert is not None and cert.height != last_height:
        raise MessageError("last_cert is for a different height")
    if prepared is not None and prepared.height != last_height + 1:
        raise MessageError("prepared certificate must be for last_height + 1")
    if block is not None and (prepared is None or block.hash != prepared.block_hash):
        raise MessageError("view_change block does not match its prepared certificate")
    return ViewChange(
        _uint(obj["view"], "view", MAX_VIEW),
        last_height,
        cert,
        prepared,
        block,
        _hex64(obj["sender"], "sender"),
        _sig(obj["signature"]),
    )


def _decode(obj: Any, known_txs: Mapping[str, Transaction] | None) -> Message:
    if not isinstance(obj, dict):
        raise MessageError("message must be a JSON object")
    kind = obj.get("type")
    if kind == "pre_prepare":
        return _decode_pp(obj, known_txs)
    if kind in ("prepare", "commit"):
        obj = _fields(obj, _VOTE_FIELDS, str(kind))
        cls = Prepare if kind == "prepare" else Commit
        return cls(
            _uint(obj["view"], "view", MAX_VIEW),
            _uint(obj["height"], "height", MAX_HEIGHT),
            _hex64(obj["block_hash"], "block_hash"),
            _hex64(obj["sender"], "sender"),
            _sig(obj["signature"]),
        )
    if kind == "checkpoint":
        obj = _fields(obj, _CP_FIELDS, "checkpoint")
        return Checkpoint(
            _uint(obj["height"], "height", MAX_HEIGHT),
            _hex64(obj["block_hash"], "block_hash"),
            _hex64(obj["state_root"], "state_root"),
            _hex64(obj["sender"], "sender"),
            _sig(obj["signature"]),
        )
    if kind == "view_change":
        return _decode_vc(obj)
    if kind == "new_view":
        obj = _fields(obj, _NV_FIELDS, "new_view")
        vcs_raw = obj["view_changes"]
        if not isinstance(vcs_raw, list) or not 0 < len(vcs_raw) <= MAX_VIEW_CHANGES:
            raise MessageError(f"view_changes must be a list of 1..{MAX_VIEW_CHANGES}")
        vcs = tuple(_decode_vc(v) for v in vcs_raw)
        if any(vc.block is not None for vc in vcs):
            raise MessageError("view changes inside a new_view must not carry blocks")
        pp = None if obj["pre_prepare"] is None else _decode_pp(obj["pre_prepare"], known_txs)
        view = _uint(obj["view"], "view", MAX_VIEW)
        if pp is not None and pp.view != view:
            raise MessageError("new_view pre_prepare is for another view")
        return NewView(view, vcs, pp, _hex64(obj["sender"], "sender"), _sig(obj["signature"]))
    raise MessageError(f"unknown message type {kind!r}")


def decode_message(obj: Any, *, known_txs: Mapping[str, Transaction] | None = None) -> Message:
    """Decode a peer message; raises MessageError (reason ``bad_message``) on anything malformed.

    ``known_txs`` (optional) maps transaction signature -> an already validated Transaction,
    e.g. the mempool's; a proposed transaction identical to a known one is reused instead of
    being decoded again, which is most of the cost of decoding a big PRE-PREPARE.
    """
    try:
        return _decode(obj, known_txs)
    except MessageError:
        raise
    except AidchainError as exc:
        raise MessageError(exc.message) from None
    except (KeyError, TypeError, ValueError, RecursionError) as exc:
        raise MessageError(f"malformed message: {exc}") from None


def verify_message(msg: Message, chain_id: str, validators: Collection[str]) -> bool:
    """True iff the sender is a validator and the top-level signature is valid."""
    if msg.sender not in validators:
        return False
    if isinstance(msg, PrePrepare) and msg.block_hash != msg.block.hash:
        return False
    try:
        data = msg.signing_bytes(chain_id)
    except AidchainError:
        return False
    return verify(msg.sender, data, msg.signature)
