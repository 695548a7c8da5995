"""The audit export, streamed: every ledger action in a scope as AU-3 CSV rows (aid/audit.py).

The export runs from the first block at or after ``from`` to the last block on or before ``to``
(UTC dates), never past the head when it started, which is the height the file states. It reads
one page of blocks at a time on the node's query threads and hands each page's CSV to the HTTP
response before reading the next, so memory stays constant however large the county. Areas,
programs and organisations are read from one state snapshot taken at the start (the records as
they are at that height). The file's last line is the trailer with the row count and the SHA-256
of every byte before it; ``audit.record_export`` puts that on chain.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncGenerator, Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from aid.areas import area_contains, area_level
from aid.audit import (
    EXPORT_COLUMNS,
    Placement,
    Placer,
    check_scope,
    csv_line,
    csv_text,
    outcome_text,
    row_fields,
    trailer,
    utc_text,
)
from aid.errors import BadArgs, LedgerError
from aid.state import record_key
from chain.errors import Busy
from storage.chainstore import ChainStore, StoreView
from storage.errors import ChainStoreError

PAGE_BLOCKS = 200  # blocks read per query-thread call
PAGE_ROWS = 5_000  # rows per chunk handed to the response (whichever comes first)
DAY_MS = 86_400_000
HEIGHT_RETRIES = 5
PAGE_BUSY_RETRIES = 100  # a page waits this many times for a query thread, then the stream ends
PAGE_BUSY_WAIT_S = 0.01  # first wait; it grows linearly ...
PAGE_BUSY_MAX_WAIT_S = 0.5  # ... up to this (about 45 s in all before giving up)
MAX_AREA_CACHE = 100_000  # area codes whose in-scope answer an export remembers


class _Receipt(msgspec.Struct):
    ok: Any = None
    error_type: Any = None


class _Tx(msgspec.Struct):
    type: Any = None
    sender: Any = ""
    payload: msgspec.Raw = msgspec.Raw(b"null")


class _Record(msgspec.Struct):
    """The fields of a stored ``{"height", "index", "receipt", "tx"}`` record a row needs.

    Decoding only these (msgspec skips the rest: signatures, events, a deploy's source) rather
    than the whole record is most of what makes the export fast; the values are the ones
    ``json.loads`` gives, so the rows are the same bytes."""

    index: int
    receipt: _Receipt
    tx: _Tx


class _AidPayload(msgspec.Struct):
    action: Any = msgspec.UNSET
    args: Any = None


_RECORD = msgspec.json.Decoder(_Record)
_AID_PAYLOAD = msgspec.json.Decoder(_AidPayload)
_VALUE = msgspec.json.Decoder()


def _decode(decoder: msgspec.json.Decoder[Any], raw: bytes, what: str) -> Any:
    try:
        return decoder.decode(raw)
    except msgspec.DecodeError as exc:  # ValidationError included
        raise ChainStoreError(f"corrupt {what}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Scope:
    area: str
    from_ms: int | None
    to_ms: int | None  # exclusive
    program: str | None
    org: str | None
    raw: dict[str, str]

    def keeps(self, place: Placement, inside: dict[str, bool]) -> bool:
        """Whether the scope keeps an action so placed; ``inside`` caches area answers."""
        within = inside.get(place.area)
        if within is None:
            if len(inside) >= MAX_AREA_CACHE:
                inside.clear()
            within = inside[place.area] = _is_area(place.area) and area_contains(
                self.area, place.area
            )
        if not within:
            return False
        if self.program is not None and place.program != self.program:
            return False
        return self.org is None or place.org == self.org


def _is_area(code: str) -> bool:
    try:
        area_level(code)
    except LedgerError:
        return False
    return True


def _day_ms(text: str, name: str) -> int:
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise BadArgs(f"{name} must be a UTC date like 2026-01-31") from None
    return int(day.timestamp() * 1000)


def parse_scope(raw: dict[str, str]) -> Scope:
    clean = check_scope(raw)
    area_level(clean["area"])
    start = _day_ms(clean["from"], "from") if "from" in clean else None
    end = _day_ms(clean["to"], "to") + DAY_MS if "to" in clean else None
    if start is not None and end is not None and end <= start:
        raise BadArgs("to is before from")
    return Scope(clean["area"], start, end, clean.get("program"), clean.get("org"), clean)


def first_height_at(store: ChainStore, time_ms: int, top: int) -> int:
    """The lowest height in 1..top+1 whose block time is >= ``time_ms`` (binary search)."""
    low, high = 1, top + 1
    while low < high:
        mid = (low + high) // 2
        header = store.get_header(mid)
        assert header is not None, f"committed height {mid} has no header"
        if header.time >= time_ms:
            high = mid
        else:
            low = mid + 1
    return low


class ExportStream:
    """An async iterator of CSV chunks; ``height`` is the last height the export covers."""

    def __init__(self, store: ChainStore, runner: Any, scope: Scope) -> None:
        self._store = store
        self._runner = runner
        self._scope = scope
        self._stack = ExitStack()
        self._view, self.height = self._snapshot()
        view = self._view
        self._placer = Placer(lambda kind, ident: _record(view, kind, ident))
        self._inside: dict[str, bool] = {}
        self._start = (
            1 if scope.from_ms is None else first_height_at(store, scope.from_ms, self.height)
        )
        self._end = (
            self.height
            if scope.to_ms is None
            else first_height_at(store, scope.to_ms, self.height) - 1
        )

    def _snapshot(self) -> tuple[StoreView, int]:
        for _ in range(HEIGHT_RETRIES):
            height = self._store.height
            view = self._stack.enter_context(self._store.read_view())
            if self._store.height == height:
                return view, height
            self._stack.close()
        raise Busy("blocks commit too fast to take a consistent export snapshot; retry")

    def _page(self, start: int) -> tuple[bytes, int, int]:
        """CSV of blocks from ``start``, up to PAGE_BLOCKS blocks or PAGE_ROWS rows:
        (UTF-8 text, rows, next height), encoded here so the event loop only hashes and sends."""
        table: list[list[str]] = []
        height = start
        while height <= self._end and height < start + PAGE_BLOCKS and len(table) < PAGE_ROWS:
            header = self._store.get_header(height)
            assert header is not None, f"committed height {height} has no header"
            self._block_rows(height, utc_text(header.time), table)
            height += 1
        return csv_text(table).encode("utf-8"), len(table), height

    def _block_rows(self, height: int, when: str, table: list[list[str]]) -> None:
        """Append the in-scope rows of one block's aid transactions to ``table``."""
        for tx_hash, raw in self._view.block_tx_raw(height) or []:
            record = _decode(_RECORD, raw, f"transaction record {tx_hash[:12]}")
            tx = record.tx
            if tx.type != "aid":
                continue
            payload = _decode(_AID_PAYLOAD, tx.payload, f"payload of {tx_hash[:12]}")
            place = self._placer.place(tx.sender, payload.args)
            if self._scope.keeps(place, self._inside):
                action = tx.type if payload.action is msgspec.UNSET else payload.action
                outcome = outcome_text(record.receipt.ok, record.receipt.error_type)
                table.append(
                    row_fields(
                        height, record.index, when, action, tx.sender, outcome, tx_hash, place
                    )
                )

    async def _next_page(self, height: int) -> tuple[bytes, int, int]:
        """The next page, waiting for a free query thread: once the response has started, a
        busy node must delay the stream, not cut it (the client would hold half a file)."""
        for attempt in range(1, PAGE_BUSY_RETRIES + 1):
            try:
                page: tuple[bytes, int, int] = await self._runner.run(_bind(self._page, height))
                return page
            except Busy:
                if attempt == PAGE_BUSY_RETRIES:
                    raise
                await asyncio.sleep(min(PAGE_BUSY_WAIT_S * attempt, PAGE_BUSY_MAX_WAIT_S))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def close(self) -> None:
        """Release the state snapshot (idempotent; the HTTP handler calls it in every case)."""
        self._stack.close()

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        digest = hashlib.sha256()
        count = 0
        try:
            head = f"#aidchain-audit,{_scope_text(self._scope.raw)},height={self.height}\n"
            first = (head + csv_line(EXPORT_COLUMNS)).encode("utf-8")
            digest.update(first)
            yield first
            height = self._start
            while height <= self._end:
                chunk, rows, height = await self._next_page(height)
                if not rows:
                    continue
                count += rows
                digest.update(chunk)
                yield chunk
            yield trailer(self.height, count, digest.hexdigest()).encode("utf-8")
        finally:
            self._stack.close()


def _record(view: StoreView, kind: str, ident: str) -> Any:
    raw = view.get_raw(record_key(kind, ident))
    return None if raw is None else _decode(_VALUE, raw, f"state value {kind}/{ident}")


def _scope_text(raw: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(raw.items()))


def _bind(fn: Callable[..., Any], *args: Any) -> Callable[[], Any]:
    return lambda: fn(*args)


class AuditRpc:
    """``audit_export`` of ``rpc.api.NodeAPI`` (mixed into the node's RPC)."""

    _aid_store: ChainStore
    _aid_runner: Any

    async def audit_export(self, scope: dict[str, str]) -> ExportStream:
        return ExportStream(self._aid_store, self._aid_runner, parse_scope(scope))
