"""Reply bytes, bounded twice: per reply (``max_reply_bytes``) and per node (``ReplyBudget``).

A reply is built answer by answer, each encoded as soon as it is computed, so a batch never holds
more than its cap in memory: an answer that would push the reply over the cap is replaced by a
``too_large`` error for that request only, and one that the node-wide budget cannot hold by a
``busy`` error. Error answers are always kept: they are small and bounded by the request body
(the only variable part is the echoed ``id``).

The budget counts reply bytes from encoding until they have been handed to the socket (or the
connection was dropped). The first ``REPLY_ALLOWANCE_BYTES`` of every reply are not charged to
it: those are covered by the connection caps (``max_inflight`` HTTP requests, ``max_websockets``
clients), so small answers such as ``node_status`` are never refused because other clients are
slow to read big ones.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)

REPLY_ALLOWANCE_BYTES = 64 * 1024  # per reply, not charged to the node-wide budget
WRITE_CHUNK_BYTES = 64 * 1024  # HTTP bodies are written (and drained) in pieces of this size


class ReplyBudget:
    """Bytes of replies this RPC server holds for all clients together, with a hard limit."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        if limit <= 0:
            raise ValueError("the reply budget must be positive")
        self.limit = limit
        self.used = 0

    def try_take(self, nbytes: int) -> bool:
        if self.used + nbytes > self.limit:
            return False
        self.used += nbytes
        return True

    def give_back(self, nbytes: int) -> None:
        assert 0 <= nbytes <= self.used, (nbytes, self.used)
        self.used -= nbytes


# built once: json.dumps with options builds a new encoder on every call, once per answer
_encode_raw = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
_encode_ascii = json.JSONEncoder(allow_nan=False).encode


def encode_answer(answer: dict[str, Any]) -> bytes | None:
    """One response object as UTF-8 JSON, or None if it cannot be encoded (a node bug).

    Text with a lone surrogate has no UTF-8 form; request input never gets this far with one
    (the dispatcher refuses it), but should a result hold one it is sent with ``\\u`` escapes
    (plain ASCII JSON) rather than failing the whole reply.
    """
    try:
        text = _encode_raw(answer)
    except (TypeError, ValueError):
        log.exception("rpc answer for id %r cannot be encoded as JSON", answer.get("id"))
        return None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _encode_ascii(answer).encode("ascii")


class Reply:
    """The encoded answers to one request or batch, and the budget bytes they hold.

    ``copies`` is how many copies of the body the transport holds while sending it; each is
    charged, so the budget bounds real memory.
    """

    __slots__ = ("_budget", "_charged", "_copies", "_parts", "_size", "batch", "max_bytes")

    def __init__(
        self, *, batch: bool, max_bytes: int, budget: ReplyBudget, copies: int = 1
    ) -> None:
        self.batch = batch
        self.max_bytes = max_bytes
        self._budget = budget
        self._copies = copies
        self._parts: list[bytes] = []
        self._size = 2 if batch else 0  # the brackets
        self._charged = 0

    def __len__(self) -> int:
        return len(self._parts)

    @property
    def size(self) -> int:
        """Bytes of the body (answers, commas and, for a batch, brackets)."""
        return self._size + max(0, len(self._parts) - 1)

    def fits(self, encoded: bytes) -> bool:
        """Whether ``encoded`` stays within this reply's cap (it is not added)."""
        return self.size + len(encoded) + 1 <= self.max_bytes

    def try_add(self, encoded: bytes) -> bool:
        """Add a result if the node-wide budget can hold it; False (nothing added) otherwise."""
        after = self._size + len(encoded)
        charge = self._copies * max(0, after - REPLY_ALLOWANCE_BYTES) - self._charged
        if charge > 0:
            if not self._budget.try_take(charge):
                return False
            self._charged += charge
        self._parts.append(encoded)
        self._size = after
        return True

    def add_error(self, encoded: bytes) -> None:
        """Add an error answer: always kept (small, and bounded by the request body)."""
        self._parts.append(encoded)
        self._size += len(encoded)

    def chunks(self) -> Iterator[memoryview | bytes]:
        """The body in pieces of at most ``WRITE_CHUNK_BYTES``.

        Small answers are gathered into one piece (one write per piece: a batch of 50 small
        answers is one write, not 101); a large answer is cut into pieces without being copied
        into a joined body.
        """
        pending = bytearray()
        for part in self._framed():
            if len(pending) + len(part) <= WRITE_CHUNK_BYTES:
                pending += part
                continue
            if pending:
                yield bytes(pending)
                pending.clear()
            if len(part) <= WRITE_CHUNK_BYTES:
                pending += part
            else:
                yield from _pieces(part)
        if pending:
            yield bytes(pending)

    def _framed(self) -> Iterator[bytes]:
        """The answers with the batch's brackets and commas, in order."""
        if not self.batch:
            yield self._parts[0]
            return
        yield b"["
        for i, part in enumerate(self._parts):
            if i:
                yield b","
            yield part
        yield b"]"

    def take_body(self) -> bytes:
        """The whole body as one bytes object, dropping the parts (a WebSocket message is sent
        whole: the transport copies what the client has not taken, hence ``copies=2`` there)."""
        body = b"".join(self.chunks())
        self._parts = []
        return body

    def release(self) -> None:
        """Give the budget back once the bytes are written or the client is gone (idempotent)."""
        self._parts = []
        if self._charged:
            self._budget.give_back(self._charged)
            self._charged = 0


def _pieces(data: bytes) -> Iterator[memoryview | bytes]:
    if len(data) <= WRITE_CHUNK_BYTES:
        yield data
        return
    view = memoryview(data)
    for start in range(0, len(data), WRITE_CHUNK_BYTES):
        yield view[start : start + WRITE_CHUNK_BYTES]
