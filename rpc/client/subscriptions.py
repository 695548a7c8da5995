"""Subscriptions as async iterators that survive a dropped socket (WAVE3 interface A).

``async for block in client.subscribe("blocks"):`` yields each notification's ``result``. When the
socket ends (the node restarted, a proxy cut it, or the node dropped this client for reading too
slowly) the subscription reconnects and subscribes again with ``from_height`` just after what it
already yielded, so the caller sees every committed block or event once, in order:

- ``blocks``: resume at the last yielded height + 1;
- ``events``: resume at the last yielded height and skip, per transaction index, the events of
  that height already yielded (the node replays a height's events in the same order);
- ``tx``: subscribe again (the first notification is the current status); the iteration ends
  after ``committed``;
- ``sync``: subscribe again.

A subscription that cannot be resumed ``max_resumes`` times in a row raises
``SubscriptionDropped``.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, Protocol

from rpc.client.errors import RpcError, RpcTransportError, SubscriptionDropped
from rpc.client.ws import Closed, Route, WsRpc

RESUME_FIRST_DELAY_S = 0.2
RESUME_MAX_DELAY_S = 5.0
HEIGHT_TOPICS = frozenset({"blocks", "events"})


class Connector(Protocol):
    async def websocket(self) -> WsRpc:
        """The client's live WebSocket, reconnected if it was closed."""
        ...


class Subscription:
    """One ``subscribe`` on the node, iterated with ``async for``; ``unsubscribe`` ends it."""

    def __init__(
        self,
        connector: Connector,
        topic: str,
        filter: dict[str, Any] | None = None,
        from_height: int | None = None,
        *,
        max_resumes: int = 5,
    ) -> None:
        self.topic = topic
        self.filter = dict(filter or {})
        self.from_height = from_height
        self.id: str | None = None
        self.resumes = 0  # failed-in-a-row count; reset by each notification
        self.resumed = 0  # how many times it subscribed again after losing its socket
        self._connector = connector
        self._max_resumes = max_resumes
        self._ws: WsRpc | None = None
        self._route: Route | None = None
        self._done = False
        self._last: int | None = None  # height of the last yielded notification
        self._seen: dict[Any, int] = {}  # events yielded at that height, per tx index
        self._replay: dict[Any, int] | None = None  # replayed events at that height, per tx index

    # --- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> Subscription:
        """Subscribe (raises RpcError, e.g. MethodNotFoundError on a node without subscriptions)."""
        if self.id is None:
            await self._subscribe(self.from_height)
        return self

    async def unsubscribe(self) -> bool:
        """End it on the node; True if the node still knew it."""
        self._done = True
        ws, sub = self._ws, self.id
        if ws is None or sub is None:
            return False
        ws.forget(sub)
        if ws.closed:
            return False
        try:
            return bool(await ws.call("unsubscribe", subscription=sub))
        except RpcTransportError:
            return False

    async def __aenter__(self) -> Subscription:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.unsubscribe()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> dict[str, Any]:
        await self.start()
        while not self._done:
            assert self._route is not None, "started subscriptions have a route"
            if self._route.overflowed and self._route.queue.empty():
                await self._resume("this client's queue overflowed")
                continue
            notice = await self._route.queue.get()
            if isinstance(notice, Closed):
                await self._resume(notice.reason)
                continue
            if notice.get("error") == "dropped":
                continue  # the node closes the socket next; the Closed marker resumes
            if not self._fresh(notice):
                continue
            self._note(notice)
            self.resumes = 0
            if self.topic == "tx" and notice.get("status") == "committed":
                self._done = True  # the node sends nothing more for this transaction
            return notice
        raise StopAsyncIteration

    # --- subscribing and resuming -------------------------------------------------------------------

    async def _subscribe(self, from_height: int | None) -> None:
        ws = await self._connector.websocket()
        params: dict[str, Any] = {"topic": self.topic}
        if self.filter:
            params["filter"] = self.filter
        if from_height is not None:
            params["from_height"] = from_height
        sub = await ws.call("subscribe", **params)
        if not isinstance(sub, str):
            raise RpcTransportError(f"subscribe answered {sub!r:.80}, not a subscription id")
        self._ws, self.id, self._route = ws, sub, ws.listen(sub)

    def _resume_height(self) -> int | None:
        if self.topic not in HEIGHT_TOPICS or self._last is None:
            return self.from_height
        if self.topic == "blocks":
            return self._last + 1
        self._replay = {}
        return self._last

    async def _resume(self, reason: str) -> None:
        delay = RESUME_FIRST_DELAY_S
        while True:
            self.resumes += 1
            if self.resumes > self._max_resumes:
                self._done = True
                raise SubscriptionDropped(reason)
            if self._ws is not None and self.id is not None:
                self._ws.forget(self.id)
                if not self._ws.closed:  # resubscribing on a live socket (overflow)
                    try:
                        await self._ws.call("unsubscribe", subscription=self.id)
                    except (RpcError, RpcTransportError):
                        pass
            try:
                await self._subscribe(self._resume_height())
                self.resumed += 1
                return
            except RpcTransportError as exc:
                reason = str(exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESUME_MAX_DELAY_S)

    # --- no gap, no duplicate ----------------------------------------------------------------------

    def _fresh(self, notice: dict[str, Any]) -> bool:
        height = notice.get("height")
        if self.topic not in HEIGHT_TOPICS or not isinstance(height, int) or self._last is None:
            return True
        if height < self._last:
            return False
        if self.topic == "blocks":
            return height > self._last
        if height == self._last and self._replay is not None:
            key = notice.get("tx_index")
            self._replay[key] = self._replay.get(key, 0) + 1
            return self._replay[key] > self._seen.get(key, 0)
        return True

    def _note(self, notice: dict[str, Any]) -> None:
        height = notice.get("height")
        if self.topic not in HEIGHT_TOPICS or not isinstance(height, int):
            return
        if height != self._last:
            self._last, self._seen, self._replay = height, {}, None
        key = notice.get("tx_index")
        self._seen[key] = self._seen.get(key, 0) + 1
