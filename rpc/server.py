"""JSON-RPC 2.0 over HTTP POST ``/`` and WebSocket ``/ws``, around one transport-free dispatcher.

``dispatch`` turns request bytes into the response value (or None when nothing is to be sent:
notifications). The HTTP and WebSocket handlers only bound sizes, call it and serialise. The
server holds no business rules: it validates the envelope and parameters, awaits the NodeAPI and
maps typed errors to codes (rpc/errors.py).

Floats: the body is parsed with ``chain.encoding.loads_strict``. If that refuses the body but it
is still valid JSON (a float or a duplicate key somewhere), it is re-parsed leniently to say
precisely what is wrong per request: a float or duplicate key inside ``params`` is -32602
(``data.reason`` = ``malformed_json``, ``data.param`` = the parameter) because the request is
well formed but a parameter cannot be used (a transaction with a float could never be hashed the
same way by every node); anywhere else in a request object (e.g. ``"id": 1.5``) it is -32600.
Text that is not JSON at all (or not UTF-8) is -32700.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from chain import limits
from chain.encoding import loads_strict
from chain.errors import AidchainError, Busy, EncodingError, TooLarge
from rpc.api import NodeAPI
from rpc.errors import (
    InvalidParams,
    InvalidRequest,
    MethodNotFound,
    ParseError,
    error_object,
    internal_error_object,
)
from rpc.methods import METHODS, Method, bind_params, describe_methods, param_name_at

log = logging.getLogger(__name__)

JSONRPC_VERSION = "2.0"
REQUEST_MEMBERS = frozenset({"jsonrpc", "method", "params", "id"})
MAX_ECHOED_NAME_CHARS = 64  # unknown method / member names are cut to this in messages
READ_CHUNK_BYTES = 64 * 1024
WS_HEARTBEAT_S = 30.0  # ping idle WebSocket clients so dead connections are noticed

_API_KEY = web.AppKey("rpc_api", NodeAPI)
_MAX_BODY_KEY = web.AppKey("rpc_max_body_bytes", int)
_MAX_BATCH_KEY = web.AppKey("rpc_max_batch", int)
_SOCKETS_KEY = web.AppKey("rpc_websockets", set[web.WebSocketResponse])
_LIMITS_KEY = web.AppKey("rpc_concurrency", dict[str, int])


# --- lenient parsing (only after loads_strict refused a body) -----------------------------------


class _Float:
    """A float literal kept as text so it can be reported instead of silently used."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _DupKeys(dict[str, Any]):
    """An object that had a repeated key (the JSON is ambiguous, so it is never used)."""

    __slots__ = ("dup",)

    def __init__(self, pairs: list[tuple[str, Any]], dup: str) -> None:
        super().__init__(pairs)
        self.dup = dup


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return _DupKeys(pairs, key)
        seen.add(key)
    return dict(pairs)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _loads_lenient(body: bytes) -> Any:
    return json.loads(
        body.decode("utf-8"),
        parse_float=_Float,
        parse_constant=_refuse_constant,
        object_pairs_hook=_pairs_hook,
    )


def _find_non_canonical(value: Any) -> str | None:
    """Describe the first float or duplicate key in ``value`` (iterative: no recursion limit)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Float):
            return f"floats are not allowed ({item.text}); use integers"
        if isinstance(item, _DupKeys):
            return f"duplicate key {item.dup[:MAX_ECHOED_NAME_CHARS]!r}"
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


# --- dispatch -------------------------------------------------------------------------------------


def _valid_id(value: Any) -> bool:
    return (
        value is None
        or isinstance(value, str)
        or (isinstance(value, int) and not isinstance(value, bool))
    )


def _error(req_id: Any, err: AidchainError) -> dict[str, Any]:
    return {"jsonrpc": JSONRPC_VERSION, "id": req_id, "error": error_object(err)}


def _check_param_values(method: Method, params: list[Any] | dict[str, Any]) -> None:
    """Refuse floats/duplicate keys in params (only reachable after a lenient parse)."""
    if isinstance(params, _DupKeys):
        raise InvalidParams(
            f"duplicate parameter {params.dup[:MAX_ECHOED_NAME_CHARS]!r}",
            reason=EncodingError.reason,
            param=params.dup[:MAX_ECHOED_NAME_CHARS],
        )
    items = (
        [(param_name_at(method, i), v) for i, v in enumerate(params)]
        if isinstance(params, list)
        else [(k[:MAX_ECHOED_NAME_CHARS], v) for k, v in params.items()]
    )
    for name, value in items:
        problem = _find_non_canonical(value)
        if problem is not None:
            raise InvalidParams(
                f"parameter '{name}': {problem}", reason=EncodingError.reason, param=name
            )


@dataclass(frozen=True, slots=True)
class _Envelope:
    """A well-formed request object; ``method`` is None when the name is unknown."""

    name: str
    method: Method | None
    params: list[Any] | dict[str, Any] | None
    id: Any
    notification: bool


def _parse_envelope(item: Any) -> _Envelope | dict[str, Any]:
    """Validate one request object: its envelope, or the -32600 response to send instead.

    An invalid request is always answered (even without an id); the id is echoed when it was
    itself valid and null otherwise.
    """
    if not isinstance(item, dict):
        return _error(None, InvalidRequest("request must be a JSON object"))
    has_id = "id" in item
    req_id = item.get("id")
    if isinstance(item, _DupKeys):
        return _error(
            None, InvalidRequest(f"duplicate member {item.dup[:MAX_ECHOED_NAME_CHARS]!r}")
        )
    if has_id and not _valid_id(req_id):
        return _error(None, InvalidRequest("id must be a string, an integer or null"))
    version = item.get("jsonrpc")
    if not isinstance(version, str) or version != JSONRPC_VERSION:
        return _error(req_id, InvalidRequest('jsonrpc must be exactly "2.0"'))
    extra = set(item) - REQUEST_MEMBERS
    if extra:
        shown = sorted(extra)[0][:MAX_ECHOED_NAME_CHARS]
        return _error(req_id, InvalidRequest(f"unknown request member {shown!r}"))
    name = item.get("method")
    if not isinstance(name, str):
        return _error(req_id, InvalidRequest("method must be a string"))
    params = item.get("params")
    if "params" in item and not isinstance(params, (list, dict)):
        return _error(req_id, InvalidRequest("params must be an array or an object"))
    return _Envelope(name, METHODS.get(name), params, req_id, not has_id)


async def _handle_one(api: NodeAPI, item: Any, clean: bool) -> dict[str, Any] | None:
    """Answer one request object; None for a notification (even one that failed)."""
    env = _parse_envelope(item)
    if not isinstance(env, _Envelope):
        return env
    try:
        if env.method is None:
            shown = env.name[:MAX_ECHOED_NAME_CHARS]
            raise MethodNotFound(f"method {shown!r} not found", method=shown)
        if not clean and env.params is not None:
            _check_param_values(env.method, env.params)
        bound = bind_params(env.method, env.params)
        result = await env.method.invoke(api, bound)
    except AidchainError as exc:
        log.debug("rpc %.64s refused: %s (%s)", env.name, exc.message, exc.reason)
        return None if env.notification else _error(env.id, exc)
    except Exception:
        log.exception("rpc %.64s failed with an unexpected error", env.name)
        if env.notification:
            return None
        return {"jsonrpc": JSONRPC_VERSION, "id": env.id, "error": internal_error_object()}
    if env.notification:
        return None
    return {"jsonrpc": JSONRPC_VERSION, "id": env.id, "result": result}


async def dispatch(api: NodeAPI, body: bytes, *, max_batch: int) -> Any | None:
    """The JSON-RPC response value for ``body`` (a dict or list), or None if none is due."""
    clean = True
    try:
        doc = loads_strict(body)
    except EncodingError:
        clean = False
        try:
            doc = _loads_lenient(body)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            return _error(None, ParseError(f"parse error: {exc}"))
    if isinstance(doc, list):
        if not doc:
            return _error(None, InvalidRequest("empty batch"))
        if len(doc) > max_batch:
            return _error(
                None,
                InvalidRequest(
                    f"batch of {len(doc)} requests exceeds the limit of {max_batch}",
                    reason=TooLarge.reason,
                    limit=max_batch,
                ),
            )
        responses = []
        for item in doc:
            response = await _handle_one(api, item, clean)
            if response is not None:
                responses.append(response)
        return responses or None
    return await _handle_one(api, doc, clean)


def encode_response(value: Any) -> bytes:
    """Serialise a response; an unserialisable result becomes -32603 for that request only."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError):
        items = value if isinstance(value, list) else [value]
        fixed = []
        for item in items:
            try:
                json.dumps(item, ensure_ascii=False, allow_nan=False)
                fixed.append(item)
            except (TypeError, ValueError):
                log.exception("rpc result for id %r is not JSON-serialisable", item.get("id"))
                fixed.append(
                    {
                        "jsonrpc": JSONRPC_VERSION,
                        "id": item.get("id"),
                        "error": internal_error_object(),
                    }
                )
        out = fixed if isinstance(value, list) else fixed[0]
        return json.dumps(out, ensure_ascii=False).encode("utf-8")


# --- HTTP ----------------------------------------------------------------------------------------


def _busy_response(message: str) -> web.Response:
    err = Busy(message)
    resp = web.Response(
        status=503, body=encode_response(_error(None, err)), content_type="application/json"
    )
    resp.headers["Retry-After"] = "1"
    return resp


@web.middleware
async def _concurrency_limit(request: web.Request, handler: Any) -> web.StreamResponse:
    """Refuse, with a clear "busy" error, work beyond the configured concurrency limits."""
    state = request.app[_LIMITS_KEY]
    if request.path == "/ws":
        if len(request.app[_SOCKETS_KEY]) >= state["max_websockets"]:
            return _busy_response(f"{state['max_websockets']} WebSocket clients already connected")
        return await handler(request)
    if state["inflight"] >= state["max_inflight"]:
        return _busy_response(f"{state['max_inflight']} requests already in flight; retry later")
    state["inflight"] += 1
    try:
        return await handler(request)
    finally:
        state["inflight"] -= 1


def _too_large_response(limit: int) -> web.Response:
    err = TooLarge(f"request body exceeds the limit of {limit} bytes", limit=limit)
    resp = web.Response(
        status=413, body=encode_response(_error(None, err)), content_type="application/json"
    )
    resp.force_close()  # the rest of the body is never read, so the connection is not reused
    return resp


async def _read_limited(request: web.Request, limit: int) -> bytes | None:
    """The body, or None as soon as more than ``limit`` bytes have arrived."""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = await request.content.read(READ_CHUNK_BYTES)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            return None
        chunks.append(chunk)


async def _handle_post(request: web.Request) -> web.StreamResponse:
    limit = request.app[_MAX_BODY_KEY]
    length = request.content_length
    if length is not None and length > limit:
        return _too_large_response(limit)
    body = await _read_limited(request, limit)
    if body is None:
        return _too_large_response(limit)
    result = await dispatch(request.app[_API_KEY], body, max_batch=request.app[_MAX_BATCH_KEY])
    if result is None:
        return web.Response(status=204)
    return web.Response(body=encode_response(result), content_type="application/json")


async def _handle_describe(request: web.Request) -> web.Response:
    description = {
        "service": "aidchain",
        "jsonrpc": JSONRPC_VERSION,
        "methods": list(METHODS),
        "params": {m["name"]: m["params"] for m in describe_methods()},
        "websocket": "/ws",
        "max_body_bytes": request.app[_MAX_BODY_KEY],
        "max_batch": request.app[_MAX_BATCH_KEY],
    }
    return web.json_response(description)


# --- WebSocket -----------------------------------------------------------------------------------


async def _handle_ws(request: web.Request) -> web.WebSocketResponse:
    """One response message per request or batch, answered in order; no message for notifications."""
    ws = web.WebSocketResponse(max_msg_size=request.app[_MAX_BODY_KEY], heartbeat=WS_HEARTBEAT_S)
    await ws.prepare(request)
    sockets = request.app[_SOCKETS_KEY]
    sockets.add(ws)
    api = request.app[_API_KEY]
    max_batch = request.app[_MAX_BATCH_KEY]
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                body = msg.data.encode("utf-8")
            elif msg.type == WSMsgType.BINARY:
                body = msg.data
            elif msg.type == WSMsgType.ERROR:
                log.info("rpc websocket closed with error: %s", ws.exception())
                break
            else:
                continue
            result = await dispatch(api, body, max_batch=max_batch)
            if result is None:
                continue
            try:
                await ws.send_str(encode_response(result).decode("utf-8"))
            except ConnectionResetError:
                log.debug("rpc websocket client went away before its answer was sent")
                break
    finally:
        sockets.discard(ws)
    return ws


async def _close_websockets(app: web.Application) -> None:
    sockets: set[web.WebSocketResponse] = app[_SOCKETS_KEY]
    for ws in list(sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


def create_rpc_app(
    api: NodeAPI,
    *,
    max_body_bytes: int = limits.DEFAULT_RPC_MAX_BODY_BYTES,
    max_batch: int = limits.DEFAULT_RPC_MAX_BATCH,
    max_inflight: int = limits.DEFAULT_RPC_MAX_INFLIGHT,
    max_websockets: int = limits.DEFAULT_RPC_MAX_WEBSOCKETS,
) -> web.Application:
    """The RPC aiohttp application: POST / and GET / (description), GET /ws (WebSocket)."""
    if min(max_body_bytes, max_batch, max_inflight, max_websockets) <= 0:
        raise ValueError("RPC limits must be positive")
    app = web.Application(client_max_size=max_body_bytes, middlewares=[_concurrency_limit])
    app[_LIMITS_KEY] = {
        "inflight": 0,
        "max_inflight": max_inflight,
        "max_websockets": max_websockets,
    }
    app[_API_KEY] = api
    app[_MAX_BODY_KEY] = max_body_bytes
    app[_MAX_BATCH_KEY] = max_batch
    app[_SOCKETS_KEY] = set()
    app.router.add_post("/", _handle_post)
    app.router.add_get("/", _handle_describe)
    app.router.add_get("/ws", _handle_ws)
    app.on_shutdown.append(_close_websockets)
    return app
