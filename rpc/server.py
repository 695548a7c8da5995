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
Text that is not JSON at all (or not UTF-8) is -32700. Integer literals longer than
``chain.encoding.MAX_INT_DIGITS`` are treated like floats. No message ever carries interpreter
text (exception strings, reprs of internal objects): parse failures use the fixed texts of
``chain.encoding``, and names echoed from a request are cut and have lone surrogates escaped.

Replies are bounded by bytes (rpc/replies.py): each answer is encoded as soon as it is computed,
a batch reply stops taking results at ``max_reply_bytes`` (the requests whose results would not
fit get a ``too_large`` error each), and reply bytes held for slow clients are counted against a
node-wide budget. A client that does not read its reply within ``send_timeout_ms`` is dropped:
HTTP connections are aborted, WebSocket clients get a close frame saying why and are then cut
off, so the bytes are freed either way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import WSCloseCode, WSMsgType, web

from chain import limits
from chain.checks import is_int
from chain.encoding import (
    MAX_INT_DIGITS,
    TOO_MANY_DIGITS,
    is_valid_text,
    json_error_text,
    loads_strict,
    shown_name,
)
from chain.errors import AidchainError, Busy, EncodingError, TooLarge
from rpc.api import NodeAPI
from rpc.errors import (
    InternalError,
    InvalidParams,
    InvalidRequest,
    MethodNotFound,
    ParseError,
    error_object,
    internal_error_object,
)
from rpc.methods import METHODS, Method, bind_params, describe_methods, param_name_at
from rpc.publichttp import add_public_routes
from rpc.replies import Reply, ReplyBudget, encode_answer
from rpc.subscriptions import Session, SocketAPI, SubscriptionHub

log = logging.getLogger(__name__)

JSONRPC_VERSION = "2.0"
REQUEST_MEMBERS = frozenset({"jsonrpc", "method", "params", "id"})
MAX_ECHOED_NAME_CHARS = 64  # unknown method / member names are cut to this in messages
READ_CHUNK_BYTES = 64 * 1024
BATCH_YIELD_AFTER_S = 0.002  # a batch yields to the event loop after this much work: fair to
# other clients when answers are heavy, no per-request loop round trip when they are cheap
WS_HEARTBEAT_S = 30.0  # ping idle WebSocket clients so dead connections are noticed
WS_CLOSE_GRACE_S = 1.0  # a dropped WebSocket client gets this long to take its close frame
SERVER_HEADER = "aidchain"  # the whole Server header: no software versions for a scanner
SLOW_READER_CLOSE = "reply not read in time; closing"  # WebSocket close reason (<= 123 bytes)

_API_KEY = web.AppKey("rpc_api", NodeAPI)
_MAX_BODY_KEY = web.AppKey("rpc_max_body_bytes", int)
_SEND_TIMEOUT_KEY = web.AppKey("rpc_send_timeout_s", float)
_SOCKETS_KEY = web.AppKey("rpc_websockets", set[web.WebSocketResponse])
_LIMITS_KEY = web.AppKey("rpc_concurrency", dict[str, int])
_HUB_KEY = web.AppKey("rpc_subscriptions", SubscriptionHub)


# --- lenient parsing (only after loads_strict refused a body) -----------------------------------


class _Unusable:
    """A number that cannot be used (a float, an over-long integer), kept to be reported."""

    __slots__ = ("problem",)

    def __init__(self, problem: str) -> None:
        self.problem = problem


def _float_literal(text: str) -> _Unusable:
    return _Unusable(f"floats are not allowed ({text[:MAX_ECHOED_NAME_CHARS]}); use integers")


def _int_literal(text: str) -> int | _Unusable:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        return _Unusable(TOO_MANY_DIGITS)
    try:
        return int(text)
    except ValueError:  # the interpreter's own digit limit is set lower than ours
        return _Unusable(TOO_MANY_DIGITS)


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
        parse_float=_float_literal,
        parse_int=_int_literal,
        parse_constant=_refuse_constant,
        object_pairs_hook=_pairs_hook,
    )


def _find_non_canonical(value: Any) -> str | None:
    """Describe the first unusable number or duplicate key in ``value`` (iterative)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Unusable):
            return item.problem
        if isinstance(item, _DupKeys):
            return f"duplicate key '{shown_name(item.dup)}'"
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


# --- dispatch -------------------------------------------------------------------------------------


def _valid_id(value: Any) -> bool:
    return value is None or (isinstance(value, str) and is_valid_text(value)) or is_int(value)


def _error(req_id: Any, err: AidchainError) -> dict[str, Any]:
    return {"jsonrpc": JSONRPC_VERSION, "id": req_id, "error": error_object(err)}


def _check_param_values(method: Method, params: list[Any] | dict[str, Any]) -> None:
    """Refuse floats/duplicate keys in params (only reachable after a lenient parse)."""
    if isinstance(params, _DupKeys):
        shown = shown_name(params.dup, MAX_ECHOED_NAME_CHARS)
        raise InvalidParams(
            f"duplicate parameter '{shown}'", reason=EncodingError.reason, param=shown
        )
    items = (
        [(param_name_at(method, i), v) for i, v in enumerate(params)]
        if isinstance(params, list)
        else [(shown_name(k, MAX_ECHOED_NAME_CHARS), v) for k, v in params.items()]
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
        shown = shown_name(item.dup, MAX_ECHOED_NAME_CHARS)
        return _error(None, InvalidRequest(f"duplicate member '{shown}'"))
    if has_id and not _valid_id(req_id):
        return _error(
            None, InvalidRequest("id must be a string of valid Unicode, an integer or null")
        )
    version = item.get("jsonrpc")
    if not isinstance(version, str) or version != JSONRPC_VERSION:
        return _error(req_id, InvalidRequest('jsonrpc must be exactly "2.0"'))
    extra = set(item) - REQUEST_MEMBERS
    if extra:
        shown = shown_name(sorted(extra)[0], MAX_ECHOED_NAME_CHARS)
        return _error(req_id, InvalidRequest(f"unknown request member '{shown}'"))
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
            shown = shown_name(env.name, MAX_ECHOED_NAME_CHARS)
            raise MethodNotFound(f"method '{shown}' not found", method=shown)
        if not clean and env.params is not None:
            _check_param_values(env.method, env.params)
        bound = bind_params(env.method, env.params)
        result = await env.method.invoke(api, bound)
    except AidchainError as exc:
        log.debug("rpc %r refused: %s (%s)", shown_name(env.name), exc.message, exc.reason)
        return None if env.notification else _error(env.id, exc)
    except Exception:
        log.exception("rpc %r failed with an unexpected error", shown_name(env.name))
        if env.notification:
            return None
        return {"jsonrpc": JSONRPC_VERSION, "id": env.id, "error": internal_error_object()}
    if env.notification:
        return None
    return {"jsonrpc": JSONRPC_VERSION, "id": env.id, "result": result}


@dataclass(frozen=True, slots=True)
class ReplyLimits:
    """How big one reply may be, and the node-wide budget of reply bytes held for clients."""

    max_batch: int
    max_reply_bytes: int
    budget: ReplyBudget
    copies: int = 1  # copies of a reply held while it is sent (2 for WebSocket messages)


_REPLY_KEY = web.AppKey("rpc_reply_limits", ReplyLimits)


def _add_answer(reply: Reply, answer: dict[str, Any]) -> None:
    """Add one answer; a result that does not fit becomes an error for that request only."""
    encoded = encode_answer(answer)
    if encoded is None:
        encoded = _encoded_error(answer["id"], InternalError("internal error"))
    elif "result" in answer:
        if not reply.fits(encoded):
            limit = reply.max_bytes
            err: AidchainError = TooLarge(
                f"the result does not fit in the reply limit of {limit} bytes; "
                "ask for fewer items per batch",
                limit=limit,
            )
            encoded = _encoded_error(answer["id"], err)
        elif reply.try_add(encoded):
            return
        else:
            err = Busy("the node is holding its limit of reply bytes for other clients; retry")
            encoded = _encoded_error(answer["id"], err)
    reply.add_error(encoded)


def _encoded_error(req_id: Any, err: AidchainError) -> bytes:
    encoded = encode_answer(_error(req_id, err))
    assert encoded is not None, "error answers are built from validated parts"
    return encoded


async def dispatch(api: NodeAPI, body: bytes, bounds: ReplyLimits) -> Reply | None:
    """The encoded JSON-RPC reply to ``body``, or None if none is due (only notifications).

    The caller must ``release()`` the reply once it is written (or the client is gone).
    """
    clean = True
    try:
        doc = loads_strict(body)
    except EncodingError:
        clean = False
        try:
            doc = _loads_lenient(body)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            doc = _ParseFailure(json_error_text(exc))
    batch = isinstance(doc, list) and 0 < len(doc) <= bounds.max_batch
    reply = Reply(
        batch=batch, max_bytes=bounds.max_reply_bytes, budget=bounds.budget, copies=bounds.copies
    )
    try:
        if isinstance(doc, _ParseFailure):
            reply.add_error(_encoded_error(None, ParseError(f"parse error: {doc.text}")))
        elif not isinstance(doc, list):
            answer = await _handle_one(api, doc, clean)
            if answer is not None:
                _add_answer(reply, answer)
        elif not doc:
            reply.add_error(_encoded_error(None, InvalidRequest("empty batch")))
        elif len(doc) > bounds.max_batch:
            err = InvalidRequest(
                f"batch of {len(doc)} requests exceeds the limit of {bounds.max_batch}",
                reason=TooLarge.reason,
                limit=bounds.max_batch,
            )
            reply.add_error(_encoded_error(None, err))
        else:
            last_yield = time.monotonic()
            for item in doc:
                answer = await _handle_one(api, item, clean)
                if answer is not None:
                    _add_answer(reply, answer)
                if time.monotonic() - last_yield >= BATCH_YIELD_AFTER_S:
                    await asyncio.sleep(0)  # a long batch must not hold the event loop
                    last_yield = time.monotonic()
    except BaseException:
        reply.release()
        raise
    return reply if len(reply) else None


@dataclass(frozen=True, slots=True)
class _ParseFailure:
    text: str


# --- HTTP ----------------------------------------------------------------------------------------


def _small_response(status: int, err: AidchainError) -> web.Response:
    return web.Response(
        status=status, body=_encoded_error(None, err), content_type="application/json"
    )


def _busy_response(message: str) -> web.Response:
    resp = _small_response(503, Busy(message))
    resp.headers["Retry-After"] = "1"
    return resp


@web.middleware
async def _concurrency_limit(request: web.Request, handler: Any) -> web.StreamResponse:
    """Refuse, with a clear "busy" error, work beyond the configured concurrency limits.

    A request counts as in flight until its reply has been written (the handler writes it), so
    clients that never read cannot pile up replies beyond ``max_inflight``.
    """
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
    resp = _small_response(
        413, TooLarge(f"request body exceeds the limit of {limit} bytes", limit=limit)
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


async def _write_reply(request: web.Request, reply: Reply, timeout_s: float) -> web.StreamResponse:
    """Write ``reply`` in pieces, each of which must drain within ``timeout_s``.

    aiohttp would otherwise put the whole body in the transport's buffer and wait without limit
    for a client that never reads. A stalled client has its connection aborted, which frees the
    buffered bytes at once (closing would keep them until the client reads).
    """
    resp = web.StreamResponse(status=200)
    resp.content_type = "application/json"
    resp.content_length = reply.size
    try:
        # asyncio.timeout, not wait_for: wait_for starts a task per call on Python 3.11
        async with asyncio.timeout(timeout_s):
            await resp.prepare(request)
        for piece in reply.chunks():
            async with asyncio.timeout(timeout_s):
                await resp.write(piece)
        async with asyncio.timeout(timeout_s):
            await resp.write_eof()
    except TimeoutError:
        # DEBUG: one line per dropped connection would let a client flood the log
        log.debug(
            "rpc client %s did not read its reply in %.1f s; dropped", request.remote, timeout_s
        )
        if request.transport is not None:
            request.transport.abort()
    except ConnectionError:
        log.debug("rpc client %s went away before its reply was written", request.remote)
    return resp


async def _handle_post(request: web.Request) -> web.StreamResponse:
    limit = request.app[_MAX_BODY_KEY]
    length = request.content_length
    if length is not None and length > limit:
        return _too_large_response(limit)
    body = await _read_limited(request, limit)
    if body is None:
        return _too_large_response(limit)
    reply = await dispatch(request.app[_API_KEY], body, request.app[_REPLY_KEY])
    if reply is None:
        return web.Response(status=204)
    try:
        return await _write_reply(request, reply, request.app[_SEND_TIMEOUT_KEY])
    finally:
        reply.release()


async def _handle_describe(request: web.Request) -> web.Response:
    bounds = request.app[_REPLY_KEY]
    description = {
        "service": "aidchain",
        "jsonrpc": JSONRPC_VERSION,
        "methods": list(METHODS),
        "params": {m["name"]: m["params"] for m in describe_methods()},
        "websocket": "/ws",
        "max_body_bytes": request.app[_MAX_BODY_KEY],
        "max_batch": bounds.max_batch,
        "max_reply_bytes": bounds.max_reply_bytes,
    }
    return web.json_response(description)


async def _minimal_server_header(request: web.Request, response: web.StreamResponse) -> None:
    """Name the service only: software versions help nobody but a scanner."""
    response.headers["Server"] = SERVER_HEADER


# --- WebSocket -----------------------------------------------------------------------------------


async def _write_ws(
    ws: web.WebSocketResponse, request: web.Request, session: Session, timeout_s: float
) -> None:
    """The socket's one writer: replies and notifications, in queue order, each frame drained
    within ``timeout_s``; a client that does not read in time is dropped.

    The transport holds at most one frame beyond its high-water mark: the next message is taken
    from the session's queue only once this one has drained.
    """
    try:
        while True:
            item = await session.take()
            if item is None:
                break
            sent = False
            try:
                # asyncio.timeout, not wait_for: wait_for starts a task per call on Python 3.11
                async with asyncio.timeout(timeout_s):
                    await ws.send_frame(item.body, WSMsgType.TEXT)
                sent = True
                session.sent(item)
            except ConnectionError:
                log.debug("rpc websocket client went away before its messages were sent")
                return
            except TimeoutError:
                log.debug(
                    "rpc websocket client %s did not read in %.1f s; dropped",
                    request.remote,
                    timeout_s,
                )
                session.close()
                await _close_dropped(ws, request, SLOW_READER_CLOSE)
                return
            finally:
                if item.done is not None and not item.done.done():
                    item.done.set_result(sent)
        if session.drop_reason is not None:
            await _close_dropped(ws, request, session.drop_reason)
    finally:
        session.close()  # whatever ended the writer, the reader waits for no reply any more


async def _close_dropped(ws: web.WebSocketResponse, request: web.Request, reason: str) -> None:
    """Close with 1008 and ``reason``, then cut the connection.

    The close frame is queued behind what the client has not read (drain=False: waiting for the
    buffer to drain is what failed). A client that reads within the grace period gets the rest
    and the reason; then, in every case, abort() frees the buffer (close() would keep it until
    the client reads).
    """
    try:
        await asyncio.wait_for(
            ws.close(code=WSCloseCode.POLICY_VIOLATION, message=reason.encode()[:123], drain=False),
            WS_CLOSE_GRACE_S,
        )
    except (TimeoutError, ConnectionError):
        pass
    finally:
        if request.transport is not None:
            request.transport.abort()


def _abort_later(request: web.Request) -> Callable[[], None]:
    """A dropped client is cut off after the grace period, whatever its writer is waiting on."""

    def abort() -> None:
        transport = request.transport
        if transport is not None:
            asyncio.get_running_loop().call_later(WS_CLOSE_GRACE_S * 2, transport.abort)

    return abort


async def _handle_ws(request: web.Request) -> web.WebSocketResponse:
    """One response message per request or batch, answered in order; no message for
    notifications. Subscription notifications (rpc/subscriptions.py) share the socket's queue,
    so a subscribe reply always precedes its subscription's first notification."""
    # compress=False: permessage-deflate would compress the same notification once per
    # subscriber, on the event loop, for clients that are mostly on the node's own network
    ws = web.WebSocketResponse(
        max_msg_size=request.app[_MAX_BODY_KEY], heartbeat=WS_HEARTBEAT_S, compress=False
    )
    await ws.prepare(request)
    sockets = request.app[_SOCKETS_KEY]
    sockets.add(ws)
    hub = request.app.get(_HUB_KEY)
    on_drop = _abort_later(request)
    session = (
        hub.open_session(on_drop)
        if hub is not None
        else Session(None, limits.DEFAULT_RPC_SUBSCRIPTION_QUEUE_BYTES, on_drop)
    )
    api: NodeAPI = request.app[_API_KEY]
    if hub is not None:
        api = cast(NodeAPI, SocketAPI(api, session))
    bounds = dataclasses.replace(request.app[_REPLY_KEY], copies=2)
    writer = asyncio.create_task(
        _write_ws(ws, request, session, request.app[_SEND_TIMEOUT_KEY]), name="rpc-ws-writer"
    )
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                body = msg.data.encode("utf-8", "surrogatepass")
            elif msg.type == WSMsgType.BINARY:
                body = msg.data
            elif msg.type == WSMsgType.ERROR:
                log.info("rpc websocket closed with error: %s", ws.exception())
                break
            else:
                continue
            reply = await dispatch(api, body, bounds)
            if reply is None:
                session.activate()
                continue
            try:
                sent = session.push_reply(reply.take_body())
                session.activate()  # after the reply: its id precedes any notification
                if not await sent:
                    break
            finally:
                reply.release()
    finally:
        sockets.discard(ws)
        session.close()
        # the writer ends at once unless it is mid-frame to a client that stopped reading
        done, _ = await asyncio.wait({writer}, timeout=WS_CLOSE_GRACE_S)
        if not done:
            writer.cancel()
            if request.transport is not None:
                request.transport.abort()
        else:
            writer.result()  # a bug in the writer is raised (and logged by aiohttp), not lost
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
    max_reply_bytes: int = limits.DEFAULT_RPC_MAX_REPLY_BYTES,
    reply_budget_bytes: int = limits.DEFAULT_RPC_REPLY_BUDGET_BYTES,
    send_timeout_ms: int = limits.DEFAULT_RPC_SEND_TIMEOUT_MS,
    subscriptions: SubscriptionHub | None = None,
) -> web.Application:
    """The RPC aiohttp application: POST / and GET / (description), GET /ws (WebSocket).

    With ``subscriptions``, ``subscribe``/``unsubscribe`` work on /ws; the owner of the hub runs
    its pump (``SubscriptionHub.run``) for as long as the application serves.
    """
    sizes = (max_body_bytes, max_batch, max_inflight, max_websockets, max_reply_bytes)
    if min(*sizes, reply_budget_bytes, send_timeout_ms) <= 0:
        raise ValueError("RPC limits must be positive")
    app = web.Application(client_max_size=max_body_bytes, middlewares=[_concurrency_limit])
    app[_LIMITS_KEY] = {
        "inflight": 0,
        "max_inflight": max_inflight,
        "max_websockets": max_websockets,
    }
    app[_API_KEY] = api
    app[_MAX_BODY_KEY] = max_body_bytes
    app[_REPLY_KEY] = ReplyLimits(max_batch, max_reply_bytes, ReplyBudget(reply_budget_bytes))
    app[_SEND_TIMEOUT_KEY] = send_timeout_ms / 1000
    app[_SOCKETS_KEY] = set()
    app.router.add_post("/", _handle_post)
    app.router.add_get("/", _handle_describe)
    app.router.add_get("/ws", _handle_ws)
    add_public_routes(app, api)  # GET /public/... and /audit/export.csv (rpc/publichttp.py)
    app.on_response_prepare.append(_minimal_server_header)
    app.on_shutdown.append(_close_websockets)
    if subscriptions is not None:
        app[_HUB_KEY] = subscriptions
    return app
