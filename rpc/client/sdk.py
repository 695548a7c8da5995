"""``Client``: what an integrator uses to read the chain and the ledger, send, wait and listen.

It speaks HTTP (``POST /``) by default; with ``websocket=True`` (or a ``ws://`` URL) every call
goes over one WebSocket (``/ws``), and waiting for a receipt uses the ``tx`` subscription instead
of polling. Subscriptions always use the WebSocket, opened on first use and reopened when it
drops. docs/client.md is the guide; each method's docstring says what the node answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, overload
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from chain.tx import Transaction
from rpc.client.account import Account
from rpc.client.closing import Closing
from rpc.client.errors import (
    BusyError,
    MempoolFullError,
    MethodNotFoundError,
    ReceiptTimeout,
    RpcTransportError,
    SubscriptionDropped,
    TxFailed,
)
from rpc.client.http import DEFAULT_TIMEOUT_S, RpcClient
from rpc.client.receipt import Committed
from rpc.client.signer import Signer
from rpc.client.subscriptions import Subscription
from rpc.client.ws import WsRpc

DEFAULT_PAGE = 50
POLL_INTERVAL_S = 0.25


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How ``send_tx`` retries the same signed transaction (safe: ``tx_send`` is idempotent)."""

    attempts: int = 8
    first_delay_s: float = 0.1
    max_delay_s: float = 2.0


def endpoints(url: str) -> tuple[str, str]:
    """The HTTP and WebSocket URLs of a node, from either (``http://h:p/`` or ``ws://h:p/ws``)."""
    parts = urlsplit(url)
    secure = parts.scheme in ("https", "wss")
    if parts.scheme not in ("http", "https", "ws", "wss"):
        raise ValueError(f"not an http(s) or ws(s) URL: {url!r}")
    base = parts.path[: -len("/ws")] if parts.path.endswith("/ws") else parts.path.rstrip("/")
    http = urlunsplit(("https" if secure else "http", parts.netloc, base + "/", "", ""))
    ws = urlunsplit(("wss" if secure else "ws", parts.netloc, base + "/ws", "", ""))
    return http, ws


class Client(Closing):
    """``async with Client("http://127.0.0.1:26600/") as client: await client.status()``.

    Calls go over HTTP, or over the WebSocket when ``websocket=True`` or the URL names it
    (``ws://…`` or a path ending in ``/ws``).
    """

    def __init__(
        self,
        url: str,
        *,
        websocket: bool | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy = RetryPolicy(),
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.http_url, self.ws_url = endpoints(url)
        parts = urlsplit(url)
        named_ws = parts.scheme in ("ws", "wss") or parts.path.endswith("/ws")
        self.websocket_calls = named_ws if websocket is None else websocket
        self.retry = retry
        self._timeout = timeout
        self._session = session
        self.http = RpcClient(self.http_url, timeout=timeout, session=session)
        self._ws: WsRpc | None = None
        self._ws_lock = asyncio.Lock()
        self._chain_id: str | None = None

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._ws = None
        await self.http.close()

    async def websocket(self) -> WsRpc:
        """The live WebSocket (opened on first use, reopened after it dropped)."""
        async with self._ws_lock:
            if self._ws is None or self._ws.closed:
                if self._ws is not None:
                    await self._ws.close()
                ws = WsRpc(self.ws_url, timeout=self._timeout, session=self._session)
                await ws.connect()
                self._ws = ws
            return self._ws

    async def call(self, method: str, /, *args: Any, **kwargs: Any) -> Any:
        """Any JSON-RPC method (``rpc.discover`` lists them); its result, or RpcError."""
        if self.websocket_calls:
            return await (await self.websocket()).call(method, *args, **kwargs)
        return await self.http.call(method, *args, **kwargs)

    # --- chain reads --------------------------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        """``node_status``: height, head hash, view, primary, validators, peers, syncing."""
        return dict(await self.call("node_status"))

    async def chain_id(self) -> str:
        """The chain id transactions must carry (asked once)."""
        if self._chain_id is None:
            self._chain_id = str((await self.status())["chain_id"])
        return self._chain_id

    async def get_account(self, address: str) -> dict[str, Any]:
        """``{"address", "balance", "nonce", "next_nonce"}``."""
        return dict(await self.call("account_get", address=address))

    async def get_tx(self, tx_hash: str) -> dict[str, Any] | None:
        """``tx_get``: status (pending/committed), height, index, tx, receipt; None if unknown."""
        found = await self.call("tx_get", hash=tx_hash)
        return None if found is None else dict(found)

    async def get_block(self, height: int | str = "latest") -> dict[str, Any] | None:
        found = await self.call("block_get", height=height)
        return None if found is None else dict(found)

    async def discover(self) -> dict[str, Any]:
        """The node's OpenRPC document (every method with its param/result schemas)."""
        return dict(await self.call("rpc.discover"))

    # --- sending ------------------------------------------------------------------------------------

    def account(self, signer: Signer) -> Account:
        """An account that signs with ``signer`` and tracks its nonce."""
        return Account(self, signer)

    async def send_tx(self, tx: Transaction) -> str:
        """Send a signed transaction; retry the same bytes on transport errors, mempool_full and
        busy (``tx_send`` answers a known transaction's hash again, so this is safe)."""
        delay = self.retry.first_delay_s
        for attempt in range(1, self.retry.attempts + 1):
            try:
                answer = await self.call("tx_send", tx=tx.to_dict())
            except (RpcTransportError, MempoolFullError, BusyError):
                if attempt == self.retry.attempts:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry.max_delay_s)
                continue
            if not isinstance(answer, dict) or answer.get("hash") != tx.hash:
                raise RpcTransportError(f"tx_send answered {answer!r:.120} for tx {tx.hash}")
            return tx.hash
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def wait_for_receipt(
        self, tx_hash: str, timeout: float = 60.0, *, check: bool = True
    ) -> Committed:
        """Wait until ``tx_hash`` is committed; TxFailed if its receipt is not ok (unless
        ``check=False``), ReceiptTimeout after ``timeout`` s. Over WebSocket it listens to the
        ``tx`` subscription; over HTTP (or on a node without subscriptions) it polls ``tx_get``."""
        try:
            async with asyncio.timeout(timeout):
                done = None
                if self.websocket_calls:
                    done = await self._receipt_by_subscription(tx_hash)
                if done is None:
                    done = await self._receipt_by_polling(tx_hash)
        except TimeoutError:
            raise ReceiptTimeout(tx_hash, timeout, await self._last_status(tx_hash)) from None
        if check and not done.ok:
            raise TxFailed(tx_hash, done.receipt)
        return done

    async def _receipt_by_subscription(self, tx_hash: str) -> Committed | None:
        """The receipt from the ``tx`` subscription; None to poll instead (a node without
        subscriptions, or a subscription that could not be resumed)."""
        try:
            async with self.subscribe("tx", {"hash": tx_hash}) as sub:
                async for notice in sub:
                    if notice.get("status") == "committed" and notice.get("receipt") is not None:
                        return Committed(
                            tx_hash, int(notice["height"]), notice.get("index"), notice["receipt"]
                        )
        except (MethodNotFoundError, SubscriptionDropped):
            return None
        return None

    async def _receipt_by_polling(self, tx_hash: str) -> Committed:
        """Poll ``tx_get`` over HTTP; a node that does not answer for a moment is asked again."""
        while True:
            try:
                found = await self.http.call("tx_get", hash=tx_hash)
            except RpcTransportError:
                found = None
            if found is not None and found["status"] == "committed":
                return Committed(tx_hash, found["height"], found["index"], found["receipt"])
            await asyncio.sleep(POLL_INTERVAL_S)

    async def _last_status(self, tx_hash: str) -> str | None:
        try:
            last = await self.http.call("tx_get", hash=tx_hash)
        except RpcTransportError:
            return None
        return None if last is None else str(last["status"])

    # --- ledger reads -------------------------------------------------------------------------------

    async def aid_get(self, kind: str, id: str) -> dict[str, Any] | None:
        """One ledger entity ``{"kind", "id", ...record}``, or None."""
        found = await self.call("aid_get", kind=kind, id=id)
        return None if found is None else dict(found)

    async def aid_list(
        self, kind: str, filters: dict[str, str] | None = None, *, page_size: int = DEFAULT_PAGE
    ) -> AsyncIterator[dict[str, Any]]:
        """Every entity matching ``filters`` (an index's leading run, docs/ledger.md "Reads"),
        fetched a page at a time as the caller iterates."""
        cursor: str | None = None
        while True:
            page = await self.call(
                "aid_list", kind=kind, filters=filters or {}, cursor=cursor, limit=page_size
            )
            for item in page["items"]:
                yield item
            cursor = page["next_cursor"]
            if cursor is None:
                return

    async def aid_history(
        self, kind: str, id: str, *, page_size: int = DEFAULT_PAGE
    ) -> AsyncIterator[dict[str, Any]]:
        """Every transaction that changed the entity, oldest first: ``{height, tx_index, tx,
        action}``, a page at a time."""
        cursor: str | None = None
        while True:
            page = await self.call("aid_history", kind=kind, id=id, cursor=cursor, limit=page_size)
            for item in page["items"]:
                yield item
            cursor = page["next_cursor"]
            if cursor is None:
                return

    async def aid_trace(self, kind: str, id: str) -> dict[str, Any]:
        """The chain of custody: ``{"root", "nodes", "links", "truncated"}``."""
        return dict(await self.call("aid_trace", kind=kind, id=id))

    async def aid_policy(self) -> dict[str, Any]:
        """The ledger's policy, organisations (with their encryption keys) and area count."""
        return dict(await self.call("aid_policy"))

    async def aid_areas(self, under: str | None = None) -> list[dict[str, Any]]:
        """The areas directly below ``under`` (a 12-digit code; the tree's top ones without it):
        ``{"code", "name", "level", "population"?}`` each, by code."""
        params = {} if under is None else {"under": under}
        return list((await self.call("aid_areas", **params))["items"])

    # --- subscriptions ------------------------------------------------------------------------------

    def subscribe(
        self,
        topic: str,
        filter: dict[str, Any] | None = None,
        *,
        from_height: int | None = None,
        max_resumes: int = 5,
    ) -> Subscription:
        """A subscription (``async with`` it, or just ``async for``): topics ``blocks``,
        ``tx`` (filter ``{"hash"}``), ``events`` (filter ``contract``/``event``/``kind``/
        ``area``) and ``sync``. It resumes after a dropped socket without gap or duplicate."""
        return Subscription(self, topic, filter, from_height, max_resumes=max_resumes)

    def blocks(self, from_height: int | None = None) -> Subscription:
        """New blocks (header and certificate summary), from ``from_height`` if given."""
        return self.subscribe("blocks", from_height=from_height)

    def events(self, from_height: int | None = None, **filter: str) -> Subscription:
        """Contract and ledger events, e.g. ``client.events(kind="batch", area="5301")``."""
        return self.subscribe("events", filter or None, from_height=from_height)

    # --- proofs -------------------------------------------------------------------------------------

    @overload
    async def tx_proof(self, tx_hash: str) -> dict[str, Any]: ...

    @overload
    async def tx_proof(self, tx_hash: str, *, verify_with: dict[str, Any]) -> Any: ...

    async def tx_proof(self, tx_hash: str, *, verify_with: dict[str, Any] | None = None) -> Any:
        """The node's proof that ``tx_hash`` committed with its receipt (docs/proofs.md).

        With ``verify_with=genesis`` (the chain's genesis document) the proof is checked offline
        by ``chain.proof.verify_proof``, trusting only the genesis validators: the answer is its
        ``VerifiedProof`` (tx_hash, height, receipt, block_hash), or ``ProofError`` saying what
        did not match. Without it, the proof document to save (``aidchain verify`` checks it).
        Errors: reason ``unknown_tx``, or ``not_yet_provable`` until the commit is certified.
        """
        doc = dict(await self.call("tx_proof", hash=tx_hash))
        if verify_with is None:
            return doc
        from chain.proof import verify_proof  # the proofs module (issue 12 part 3)

        return verify_proof(doc, verify_with)
