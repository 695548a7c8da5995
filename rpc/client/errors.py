"""What can go wrong when talking to a node, as exceptions a caller can switch on.

Two families, so "the node said no" is never confused with "no answer":

- ``RpcError``: the node answered with a JSON-RPC error object. ``code`` and ``reason``
  (``error.data.reason``) are the node's stable API (docs/rpc.md "Errors"); a few common ones
  have their own subclass (``NonceError``, ``MempoolFullError``, ``BusyError``,
  ``LedgerRefusedError``, ``MethodNotFoundError``, ``InvalidParamsError``), chosen by code.
- ``RpcTransportError``: the node could not be reached, timed out, or did not answer JSON-RPC.

And the SDK's own: ``TxFailed`` (a transaction committed with ``ok: false``: the ledger or the
VM refused it, its nonce is spent), ``ReceiptTimeout`` and ``SubscriptionDropped``.
"""

from __future__ import annotations

from typing import Any

from rpc import errors as codes


class RpcError(Exception):
    """An error object returned by the server."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.message = message
        self.data = data

    @property
    def reason(self) -> str | None:
        """The stable ``data.reason`` string, if the server sent one."""
        if isinstance(self.data, dict):
            reason = self.data.get("reason")
            if isinstance(reason, str):
                return reason
        return None

    @classmethod
    def from_object(cls, error: Any) -> RpcError:
        """The exception for a JSON-RPC ``error`` member (a subclass for the common codes)."""
        if (
            not isinstance(error, dict)
            or not isinstance(error.get("code"), int)
            or not isinstance(error.get("message"), str)
        ):
            raise RpcTransportError(f"malformed error object in response: {error!r:.200}")
        kind = _BY_CODE.get(error["code"], RpcError)
        return kind(error["code"], error["message"], error.get("data"))


class MethodNotFoundError(RpcError):
    """-32601: the node does not serve this method (an older node, or HTTP for a WS method)."""


class InvalidParamsError(RpcError):
    """-32602: ``data.param`` names the parameter the node refused."""


class NonceError(RpcError):
    """-32002 ``bad_nonce``: the nonce is used already or too far ahead; resync and re-sign."""


class MempoolFullError(RpcError):
    """-32004 ``mempool_full``: back off and resend the same signed transaction."""


class BusyError(RpcError):
    """-32012 ``busy``: the node is at a concurrency limit; retry later."""


class LedgerRefusedError(RpcError):
    """-32020: the ledger refused; ``reason`` is the ledger's own (``wrong_role``, ...)."""


_BY_CODE: dict[int, type[RpcError]] = {
    codes.METHOD_NOT_FOUND: MethodNotFoundError,
    codes.INVALID_PARAMS: InvalidParamsError,
    codes.APP_ERROR_CODES["bad_nonce"]: NonceError,
    codes.APP_ERROR_CODES["mempool_full"]: MempoolFullError,
    codes.APP_ERROR_CODES["busy"]: BusyError,
    codes.LEDGER_REFUSED: LedgerRefusedError,
}


class RpcTransportError(Exception):
    """The server could not be reached or did not answer with a valid JSON-RPC response."""


class TxFailed(Exception):
    """A transaction committed with ``ok: false``; ``reason`` is the receipt's ``error_type``.

    Its nonce is spent and nothing else changed (a refused ledger action changes nothing).
    """

    def __init__(self, tx_hash: str, receipt: dict[str, Any]) -> None:
        self.tx_hash = tx_hash
        self.receipt = receipt
        self.reason: str | None = receipt.get("error_type")
        self.message: str = str(receipt.get("error") or "transaction failed")
        self.data: Any = receipt.get("error_data")
        super().__init__(f"{self.message} ({self.reason}, tx {tx_hash[:16]})")


class ReceiptTimeout(TimeoutError):
    """The transaction was not committed within the wait (it may still commit later)."""

    def __init__(self, tx_hash: str, timeout: float, last_status: str | None) -> None:
        self.tx_hash = tx_hash
        self.last_status = last_status
        super().__init__(
            f"tx {tx_hash} not committed after {timeout:g} s (last status: {last_status})"
        )


class SubscriptionDropped(Exception):
    """The subscription ended and could not be resumed (``reason`` says why)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"subscription dropped: {reason}")
