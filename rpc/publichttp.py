"""Plain HTTP GET for the public reads and the audit export (docs/oversight.md).

The public reads are the JSON-RPC ``public_*`` methods served again as cacheable GET resources,
so a browser, ``curl`` or a CDN can fetch them without JSON-RPC:

    GET /public/disclosure/<village>/<period>[.csv]   GET /public/funds/<area>/<year>[.csv]
    GET /public/programs/<area>[.csv]                 GET /public/events/<area>[.csv]?cursor=C

JSON by default, CSV with a ``.csv`` suffix or ``?format=csv``. Every answer carries ``ETag`` (the
content hash, with ``-csv`` for the CSV form), ``X-Aidchain-Content-Hash``, ``X-Aidchain-Height``
and ``Cache-Control``; ``If-None-Match`` with the current tag gets 304 and no body. CSV cells that
a spreadsheet would run as a formula are prefixed with ``'``.

``GET /audit/export.csv?area=…&from=…&to=…&program=…&org=…`` streams the audit export
(aid/audit.py) chunk by chunk as the node produces it; nothing holds the whole file.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from chain.errors import AidchainError, Busy
from rpc.api import NodeAPI
from rpc.errors import error_object

log = logging.getLogger(__name__)

PUBLIC_MAX_AGE_S = 10  # a public answer changes at most once a block; caches may keep it this long
MAX_SEGMENT_CHARS = 16  # an area code, a period or a year in a path
MAX_QUERY_CHARS = 64  # a query value (cursor, scope field)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_API_KEY = web.AppKey("public_api", NodeAPI)

# the CSV table of each resource: where its rows are in the answer's data, and their columns
CSV_TABLES: dict[str, tuple[Callable[[dict[str, Any]], list[dict[str, Any]]], tuple[str, ...]]] = {
    "disclosure": (
        lambda d: (d["disclosure"] or {}).get("content", {}).get("rows", []),
        ("masked_name", "village", "program", "amount_fen"),
    ),
    "funds": (
        lambda d: d["funds"],
        ("id", "doc_no", "level", "year", "purpose", "area", "org", "amount_fen", "drawn_fen"),
    ),
    "programs": (
        lambda d: d["programs"],
        (
            "id",
            "name",
            "purpose",
            "category",
            "area",
            "status",
            "budget_fen",
            "committed_fen",
            "paid_fen",
        ),
    ),
    "events": (
        lambda d: [{**e, "entities": " ".join(e["entities"])} for e in d["events"]],
        ("height", "tx_index", "time_ms", "action", "tx", "entities"),
    ),
}


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def render_csv(resource: str, data: dict[str, Any]) -> bytes:
    rows_of, columns = CSV_TABLES[resource]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows_of(data):
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue().encode("utf-8")


def _tag_matches(header: str | None, etag: str) -> bool:
    if header is None:
        return False
    if header.strip() == "*":
        return True
    return any(t.strip().removeprefix("W/") == etag for t in header.split(","))


def _error_response(err: AidchainError) -> web.Response:
    # busy, or a node that keeps no read side (storage's read_side_off): ask another node
    status = 503 if isinstance(err, Busy) or err.reason == "read_side_off" else 400
    body = json.dumps({"error": error_object(err)}, ensure_ascii=False).encode("utf-8")
    return web.Response(status=status, body=body, content_type="application/json")


def _split_format(request: web.Request, last: str) -> tuple[str, bool]:
    """The last path segment without ``.csv``/``.json``, and whether CSV was asked for."""
    want_csv = request.query.get("format") == "csv"
    for suffix, is_csv in ((".csv", True), (".json", False)):
        if last.endswith(suffix):
            return last[: -len(suffix)], is_csv or want_csv
    return last, want_csv


def _segment(value: str) -> str:
    if not 0 < len(value) <= MAX_SEGMENT_CHARS or not value.isascii():
        raise web.HTTPBadRequest(text="bad path segment")
    return value


async def _serve(
    request: web.Request,
    resource: str,
    want_csv: bool,
    read: Callable[[NodeAPI], Awaitable[dict[str, Any]]],
) -> web.Response:
    try:
        result = await read(request.app[_API_KEY])
    except AidchainError as exc:
        return _error_response(exc)
    etag = f'"{result["content_hash"]}{"-csv" if want_csv else ""}"'
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={PUBLIC_MAX_AGE_S}",
        "X-Aidchain-Height": str(result["height"]),
        "X-Aidchain-Content-Hash": result["content_hash"],
    }
    if _tag_matches(request.headers.get("If-None-Match"), etag):
        return web.Response(status=304, headers=headers)
    if want_csv:
        body = render_csv(resource, result["data"])
        return web.Response(body=body, headers=headers, content_type="text/csv", charset="utf-8")
    body = json.dumps(result, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return web.Response(body=body, headers=headers, content_type="application/json")


async def _disclosure(request: web.Request) -> web.Response:
    period, want_csv = _split_format(request, request.match_info["period"])
    village = _segment(request.match_info["village"])
    period = _segment(period)
    return await _serve(
        request, "disclosure", want_csv, lambda api: api.public_disclosure(village, period)
    )


async def _funds(request: web.Request) -> web.Response:
    year_text, want_csv = _split_format(request, request.match_info["year"])
    area = _segment(request.match_info["area"])
    if not (year_text.isdigit() and len(year_text) == 4):
        raise web.HTTPBadRequest(text="year must be four digits")
    year = int(year_text)
    return await _serve(request, "funds", want_csv, lambda api: api.public_funds(area, year))


async def _programs(request: web.Request) -> web.Response:
    area, want_csv = _split_format(request, request.match_info["area"])
    area = _segment(area)
    return await _serve(request, "programs", want_csv, lambda api: api.public_programs(area))


async def _events(request: web.Request) -> web.Response:
    area, want_csv = _split_format(request, request.match_info["area"])
    area = _segment(area)
    cursor = request.query.get("cursor")
    if cursor is not None and not 0 < len(cursor) <= MAX_QUERY_CHARS:
        raise web.HTTPBadRequest(text="bad cursor")
    return await _serve(request, "events", want_csv, lambda api: api.public_events(area, cursor))


AUDIT_SCOPE_KEYS = ("area", "from", "to", "program", "org")


async def _audit_export(request: web.Request) -> web.StreamResponse:
    scope = {k: v for k, v in request.query.items() if k in AUDIT_SCOPE_KEYS}
    unknown = sorted(set(request.query) - set(AUDIT_SCOPE_KEYS))
    if unknown or any(not 0 < len(v) <= MAX_QUERY_CHARS for v in scope.values()):
        raise web.HTTPBadRequest(text=f"audit export takes {', '.join(AUDIT_SCOPE_KEYS)}")
    api = request.app[_API_KEY]
    try:
        stream = await api.audit_export(scope)
    except AidchainError as exc:
        return _error_response(exc)
    chunks = stream.chunks()
    try:
        resp = web.StreamResponse(status=200)
        resp.content_type = "text/csv"
        resp.charset = "utf-8"
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["X-Aidchain-Height"] = str(stream.height)
        await resp.prepare(request)
        async for chunk in chunks:
            await resp.write(chunk)
        await resp.write_eof()
    except ConnectionError:
        log.debug("audit export client %s went away", request.remote)
    finally:
        await chunks.aclose()
        stream.close()
    return resp


def add_public_routes(app: web.Application, api: NodeAPI) -> None:
    app[_API_KEY] = api
    app.router.add_get("/public/disclosure/{village}/{period}", _disclosure)
    app.router.add_get("/public/funds/{area}/{year}", _funds)
    app.router.add_get("/public/programs/{area}", _programs)
    app.router.add_get("/public/events/{area}", _events)
    app.router.add_get("/audit/export.csv", _audit_export)
