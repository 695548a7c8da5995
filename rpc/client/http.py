"""JSON-RPC 2.0 over HTTP POST: the plain call/batch client (CLI, bench, tests, and the SDK).

JSON-RPC errors come back as ``RpcError`` (code, message, data, reason); failures to talk to the
server at all (connection refused, timeout, a reply that is not JSON-RPC) as
``RpcTransportError``, so callers can tell "the node said no" from "no answer".
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

import aiohttp

from rpc.client.closing import Closing
from rpc.client.errors import RpcError, RpcTransportError

DEFAULT_TIMEOUT_S = 30.0
MAX_RESPONSE_BYTES = 64 * 1024 * 1024  # a reply larger than this is refused, not buffered

# a request's JSON, over HTTP or the WebSocket (rpc/client/ws.py); built once: json.dumps with
# options builds a new encoder on every call
encode_request = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode

Calls = Sequence[tuple[str, dict[str, Any] | list[Any]]]  # (method, params) of a batch


class RpcClient(Closing):
    """``async with RpcClient(url) as c: await c.call("node_status")``."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.url = url
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._owns_session = session is None
        self._ids = itertools.count(1)

    async def close(self) -> None:
        """Close the session if this client created it (a caller's session is left open)."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def _post(self, payload: Any) -> Any:
        body = encode_request(payload).encode("utf-8")
        session = self._get_session()
        try:
            async with session.post(
                self.url,
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=self._timeout,
            ) as resp:
                if resp.status == 204:
                    return None
                if resp.content_length is not None and resp.content_length > MAX_RESPONSE_BYTES:
                    raise RpcTransportError(f"response of {resp.content_length} bytes is too large")
                chunks: list[bytes] = []
                size = 0
                # StreamReader.read(n) returns whatever has arrived, so read until EOF.
                while chunk := await resp.content.read(64 * 1024):
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise RpcTransportError(f"response exceeds {MAX_RESPONSE_BYTES} bytes")
                    chunks.append(chunk)
                raw = b"".join(chunks)
                status = resp.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise RpcTransportError(f"{self.url}: {type(exc).__name__}: {exc}") from exc
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, ValueError):
            raise RpcTransportError(
                f"{self.url}: HTTP {status} with a body that is not JSON: {_printable(raw)}"
            ) from None

    async def call(self, method: str, /, *args: Any, **kwargs: Any) -> Any:
        """Call ``method`` with positional OR named params; return its result or raise RpcError."""
        if args and kwargs:
            raise TypeError("JSON-RPC params are either positional or named, not both")
        req_id = next(self._ids)
        request: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": req_id}
        if args:
            request["params"] = list(args)
        elif kwargs:
            request["params"] = kwargs
        response = await self._post(request)
        if isinstance(response, dict) and "error" in response and response.get("id") is None:
            raise RpcError.from_object(response["error"])  # refused as a whole (e.g. too large)
        return unwrap(check_response(response, req_id))

    async def batch(self, calls: Calls) -> list[Any | RpcError]:
        """Send ``calls`` as one batch; results in call order, failed calls as RpcError values.

        A batch refused as a whole (too many calls, body too large) raises RpcError.
        """
        if not calls:
            return []
        ids = [next(self._ids) for _ in calls]
        response = await self._post(batch_request(calls, ids))
        if isinstance(response, dict) and "error" in response:
            raise RpcError.from_object(response["error"])
        if not isinstance(response, list):
            raise RpcTransportError(f"expected a batch response array, got {response!r:.200}")
        by_id: dict[int, dict[str, Any]] = {}
        for item in response:
            if not isinstance(item, dict) or not isinstance(item.get("id"), int):
                raise RpcTransportError(f"batch response item without an id: {item!r:.200}")
            by_id[item["id"]] = item
        return batch_results(ids, by_id)


def batch_request(calls: Calls, ids: Sequence[int]) -> list[dict[str, Any]]:
    """The JSON-RPC batch array for ``calls`` under ``ids`` (HTTP and the WebSocket)."""
    return [
        {"jsonrpc": "2.0", "method": method, "params": params, "id": req_id}
        for (method, params), req_id in zip(calls, ids, strict=True)
    ]


def batch_results(ids: Sequence[int], by_id: dict[int, dict[str, Any]]) -> list[Any | RpcError]:
    """Each call's result in call order, a failed call as its RpcError value."""
    out: list[Any | RpcError] = []
    for req_id in ids:
        item = by_id.get(req_id)
        if item is None:
            raise RpcTransportError(f"batch response has no answer for request id {req_id}")
        checked = check_response(item, req_id)
        out.append(
            RpcError.from_object(checked["error"]) if "error" in checked else checked["result"]
        )
    return out


def check_response(response: Any, req_id: int) -> dict[str, Any]:
    """``response`` if it is a JSON-RPC 2.0 answer to ``req_id``, else RpcTransportError."""
    if (
        not isinstance(response, dict)
        or response.get("jsonrpc") != "2.0"
        or response.get("id") != req_id
        or ("result" in response) == ("error" in response)
    ):
        raise RpcTransportError(f"invalid JSON-RPC response for id {req_id}: {response!r:.200}")
    return response


def unwrap(response: dict[str, Any]) -> Any:
    if "error" in response:
        raise RpcError.from_object(response["error"])
    return response["result"]


def _printable(raw: bytes, limit: int = 200) -> str:
    """The start of a body as one line of text: what a person can read, no control characters
    (a server's bytes go to a terminal)."""
    text = raw[:limit].decode("utf-8", "replace")
    return "".join(c if c.isprintable() else " " for c in text).strip()
