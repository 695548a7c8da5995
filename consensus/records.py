"""The replica's durable records: what it journals (``Persist``) and reads back on restart.

Each record is a frozen dataclass with an explicit ``kind``; ``to_dict``/``record_from_dict``
are the one place that knows their JSON form, so the replica restores by dispatching on the type
and ``storage/journal.py`` stays format-agnostic (it stores the dicts and prunes by ``height``).

The JSON form is the one earlier versions wrote (``{"kind": "msg" | "view" | "nv_accept",
"height": ...}``), so old journals stay readable; blocks journaled before chain/wire.py carried
transactions as strings are upgraded on the way in (``upgrade_legacy_block``). A record that
cannot be read raises ``RecordError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chain.block import Block
from chain.checks import is_uint
from chain.errors import AidchainError
from chain.wire import block_from_wire, block_to_wire, upgrade_legacy_block
from consensus.messages import (
    Commit,
    Message,
    PreparedCert,
    decode_message,
    encode_message,
    parse_prepared,
)

KIND_VOTE = "msg"  # a message this replica signed (the historical name of the kind)
KIND_VIEW = "view"
KIND_NEW_VIEW_ACCEPTED = "nv_accept"


class RecordError(AidchainError):
    """A journal record that cannot be read back."""

    reason = "bad_journal_record"


@dataclass(frozen=True, slots=True)
class VoteRecord:
    """A message we signed, journaled before it is sent.

    A COMMIT also carries the prepared certificate it rests on and the block body, so that after
    a crash a VIEW-CHANGE can still hand that block to the next primary for re-proposal.
    """

    height: int
    msg: Message
    prepared: PreparedCert | None = None
    block: Block | None = None

    kind = KIND_VOTE

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "height": self.height}
        out["msg"] = encode_message(self.msg)
        if self.prepared is not None:
            out["prepared"] = self.prepared.to_dict()
        if self.block is not None:
            out["block"] = block_to_wire(self.block)
        return out


@dataclass(frozen=True, slots=True)
class ViewRecord:
    """Our view (and whether we were changing it) when a checkpoint became stable."""

    height: int
    view: int
    in_vc: bool

    kind = KIND_VIEW

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "height": self.height, "view": self.view, "in_vc": self.in_vc}


@dataclass(frozen=True, slots=True)
class NewViewAccepted:
    """We accepted a NEW-VIEW: ``height`` must carry ``block_hash`` in ``view`` (None: any)."""

    height: int
    view: int
    block_hash: str | None

    kind = KIND_NEW_VIEW_ACCEPTED

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "height": self.height,
            "view": self.view,
            "block_hash": self.block_hash,
        }


JournalRecord = VoteRecord | ViewRecord | NewViewAccepted


def record_from_dict(obj: Any) -> JournalRecord:
    """Read one journal record (current or legacy form); raises RecordError if unreadable."""
    try:
        return _decode(obj)
    except RecordError:
        raise
    except AidchainError as exc:
        raise RecordError(exc.message) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordError(f"malformed journal record: {exc!r}") from None


def _uint(value: Any, name: str) -> int:
    if not is_uint(value):
        raise RecordError(f"journal record {name} must be a non-negative integer")
    return value


def _decode(obj: Any) -> JournalRecord:
    if not isinstance(obj, dict):
        raise RecordError("journal record must be an object")
    kind = obj.get("kind")
    height = _uint(obj.get("height"), "height")
    if kind == KIND_VIEW:
        return ViewRecord(height, _uint(obj["view"], "view"), bool(obj.get("in_vc", False)))
    if kind == KIND_NEW_VIEW_ACCEPTED:
        bh = obj.get("block_hash")
        return NewViewAccepted(
            height, _uint(obj["view"], "view"), bh if isinstance(bh, str) else None
        )
    if kind != KIND_VOTE:
        raise RecordError(f"unknown journal record kind {kind!r}")
    msg = decode_message(_upgrade_legacy_msg(obj["msg"]))
    prepared = parse_prepared(obj.get("prepared"))
    block = None
    raw = obj.get("block")
    if raw is not None and prepared is not None and isinstance(msg, Commit):
        block = block_from_wire(upgrade_legacy_block(raw))
        if block.hash != prepared.block_hash:
            block = None  # a body that is not the prepared block is useless, not our vote's fault
    return VoteRecord(height, msg, prepared, block)


def _upgrade_legacy_msg(obj: Any) -> Any:
    """A journaled message from before blocks carried transactions as strings, upgraded."""
    if not isinstance(obj, dict):
        return obj
    if obj.get("type") in ("pre_prepare", "view_change"):
        return {**obj, "block": upgrade_legacy_block(obj.get("block"))}
    if obj.get("type") == "new_view" and isinstance(obj.get("pre_prepare"), dict):
        return {**obj, "pre_prepare": _upgrade_legacy_msg(obj["pre_prepare"])}
    return obj
