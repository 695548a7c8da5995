"""JSON-RPC 2.0 over one WebSocket (``/ws``): calls matched to answers by id, and notifications
routed to their subscription by subscription id (docs/rpc.md, WAVE3 interface A).

One reader task owns the socket's receive side. A call registers a future under its id and
waits for it; a ``subscription`` notification goes to the route of its subscription id. When the
socket ends, every waiting call fails with ``RpcTransportError`` and every route gets a
``Closed`` marker, so a subscription can resume on a new socket (rpc/client/subscriptions.py).

Memory is bounded on this side too: a route holds at most ``ROUTE_CAPACITY`` notifications; one
more marks the route ``overflowed`` (the subscription then resubscribes from its last height, so
nothing is lost), and notifications for ids nobody listens to yet are kept only a little while.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from rpc.client.errors import RpcError, RpcTransportError
from rpc.client.http import (
    DEFAULT_TIMEOUT_S,
    MAX_RESPONSE_BYTES,
    Calls,
    batch_request,
    batch_results,
    check_response,
    encode_request,
    unwrap,
)

log = logging.getLogger(__name__)

ROUTE_CAPACITY = 10_000  # notifications held for one subscription its reader has not taken
EARLY_IDS = 16  # subscription ids with notifications that arrived before their route
EARLY_PER_ID = 256


@dataclass(frozen=True, slots=True)
class Closed:
    """The socket ended: the route gets no more notifications."""

    reason: str


@dataclass(slots=True)
class Route:
    """Where one subscription's notifications wait for its reader."""

    queue: asyncio.Queue[dict[str, Any] | Closed] = field(default_factory=asyncio.Queue)
    overflowed: bool = False

    def put(self, item: dict[str, Any] | Closed) -> None:
        if isinstance(item, dict) and self.queue.qsize() >= ROUTE_CAPACITY:
            self.overflowed = True
            return
        self.queue.put_nowait(item)


class WsRpc:
    """``ws = WsRpc("ws://host:port/ws"); await ws.connect(); await ws.call("node_status")``."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.url = url
        self._timeout = timeout
        self._session = session
        self._owns_session = session is None
        self._ids = itertools.count(1)
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        # the ids sent together (one call, or a batch), by first id, oldest first
        self._groups: dict[int, list[int]] = {}
        self._routes: dict[str, Route] = {}
        self._early: dict[str, list[dict[str, Any]]] = {}
        self.close_reason: str | None = None

    @property
    def closed(self) -> bool:
        return self._ws is None or self._ws.closed or self.close_reason is not None

    async def connect(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with asyncio.timeout(self._timeout):
                self._ws = await self._session.ws_connect(
                    self.url, max_msg_size=MAX_RESPONSE_BYTES, heartbeat=self._timeout
                )
        except (TimeoutError, aiohttp.ClientError) as exc:
            if self._owns_session:
                await self._session.close()
                self._session = None
            raise RpcTransportError(f"{self.url}: {type(exc).__name__}: {exc}") from exc
        self.close_reason = None
        self._reader = asyncio.create_task(self._read(self._ws), name=f"ws-reader {self.url}")

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await self._reader
            self._reader = None
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, /, *args: Any, **kwargs: Any) -> Any:
        """Call ``method`` (positional OR named params); its result, or RpcError."""
        if args and kwargs:
            raise TypeError("JSON-RPC params are either positional or named, not both")
        req_id = next(self._ids)
        request: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": req_id}
        if args:
            request["params"] = list(args)
        elif kwargs:
            request["params"] = kwargs
        (answer,) = await self._exchange(method, request, [req_id])
        return unwrap(check_response(answer, req_id))

    async def batch(self, calls: Calls) -> list[Any | RpcError]:
        """``calls`` as one batch message; results in call order, failed calls as RpcError values.

        The same contract as ``RpcClient.batch``: a batch refused as a whole raises RpcError.
        A high-volume sender (the bench, a bank's core system) saves the HTTP request per batch.
        """
        if not calls:
            return []
        ids = [next(self._ids) for _ in calls]
        answers = await self._exchange("a batch", batch_request(calls, ids), ids)
        return batch_results(ids, dict(zip(ids, answers, strict=True)))

    async def _exchange(self, what: str, payload: Any, ids: list[int]) -> list[dict[str, Any]]:
        """Send one message holding the requests ``ids``; each one's answer, in ``ids`` order."""
        if self.closed or self._ws is None:
            raise RpcTransportError(f"{self.url}: not connected ({self.close_reason})")
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in ids]
        self._pending.update(zip(ids, futures, strict=True))
        self._groups[ids[0]] = ids
        try:
            async with asyncio.timeout(self._timeout):
                await self._ws.send_str(encode_request(payload))
                return [await future for future in futures]
        except TimeoutError:
            raise RpcTransportError(
                f"{self.url}: no answer to {what} in {self._timeout:g} s"
            ) from None
        except (ConnectionError, aiohttp.ClientError) as exc:
            raise RpcTransportError(f"{self.url}: {type(exc).__name__}: {exc}") from exc
        finally:
            del self._groups[ids[0]]
            for req_id, future in zip(ids, futures, strict=True):
                self._pending.pop(req_id, None)
                if future.done() and not future.cancelled():
                    future.exception()  # one failure is raised; the group's others are seen

    def listen(self, subscription: str) -> Route:
        """The route for ``subscription``'s notifications (with any that came before it)."""
        route = Route()
        for notice in self._early.pop(subscription, []):
            route.put(notice)
        if self.close_reason is not None:
            route.put(Closed(self.close_reason))
        self._routes[subscription] = route
        return route

    def forget(self, subscription: str) -> None:
        self._routes.pop(subscription, None)

    # --- the reader -------------------------------------------------------------------------------

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        reason = "closed"
        try:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self._dispatch(msg.data)
                elif msg.type == aiohttp.WSMsgType.ERROR:
                    reason = f"error: {ws.exception()}"
                    break
            code = ws.close_code
            if code is not None:
                reason = f"closed by the node (code {code})"
        except (ConnectionError, aiohttp.ClientError, ValueError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        finally:
            self._end(reason)

    def _dispatch(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            log.warning("%s sent a message that is not JSON; ignored", self.url)
            return
        if isinstance(message, dict) and message.get("method") == "subscription":
            self._notify(message.get("params"))
            return
        items = message if isinstance(message, list) else [message]
        answered: set[int] = set()
        for item in items:
            req_id = item.get("id") if isinstance(item, dict) else None
            if isinstance(req_id, int):
                future = self._pending.get(req_id)
                if future is not None and not future.done():
                    future.set_result(item)
                    answered.add(req_id)
            elif isinstance(item, dict) and "error" in item and req_id is None:
                self._refuse_oldest(RpcError.from_object(item["error"]))
        if isinstance(message, list) and answered:
            self._fail_unanswered(answered)

    def _refuse_oldest(self, error: RpcError) -> None:
        """A message refused as a whole (e.g. too large): fail the oldest group still waiting."""
        for ids in self._groups.values():
            waiting = [f for i in ids if (f := self._pending.get(i)) is not None and not f.done()]
            if waiting:
                for future in waiting:
                    future.set_exception(error)
                return

    def _fail_unanswered(self, answered: set[int]) -> None:
        """A batch reply comes whole: ids of its batch it did not answer never will be."""
        for ids in self._groups.values():
            if answered.isdisjoint(ids):
                continue
            for req_id in ids:
                future = self._pending.get(req_id)
                if future is not None and not future.done():
                    future.set_exception(
                        RpcTransportError(
                            f"{self.url}: batch response has no answer for id {req_id}"
                        )
                    )

    def _notify(self, params: Any) -> None:
        if not isinstance(params, dict) or not isinstance(params.get("subscription"), str):
            log.warning("%s sent a subscription notification without an id; ignored", self.url)
            return
        sub, result = params["subscription"], params.get("result")
        if not isinstance(result, dict):
            result = {"value": result}
        route = self._routes.get(sub)
        if route is not None:
            route.put(result)
        elif sub in self._early or len(self._early) < EARLY_IDS:
            held = self._early.setdefault(sub, [])
            if len(held) < EARLY_PER_ID:
                held.append(result)

    def _end(self, reason: str) -> None:
        self.close_reason = reason
        for future in self._pending.values():
            if not future.done():
                future.set_exception(RpcTransportError(f"{self.url}: websocket {reason}"))
        for route in self._routes.values():
            route.put(Closed(reason))
        self._routes.clear()
        self._early.clear()
