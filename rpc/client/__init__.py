"""The Python client for an aidchain node: plain JSON-RPC, and an SDK for integrators.

- ``RpcClient`` (``call``, ``batch`` over HTTP) is what the CLI, bench and tests use.
- ``Client`` is the SDK (docs/client.md): reads of the chain and the ledger with pagination as
  async iterators, ``Account`` to sign and send with nonce management and safe retries,
  ``wait_for_receipt``, subscriptions as async iterators that resume after a dropped socket,
  and proof fetching and verification.
- Errors: ``RpcError`` (the node's code and reason; subclasses for the common ones),
  ``RpcTransportError`` (no valid answer), ``TxFailed``, ``ReceiptTimeout``,
  ``SubscriptionDropped``.
"""

from rpc.client.account import Account, Sent, failed, paid, returned
from rpc.client.errors import (
    BusyError,
    InvalidParamsError,
    LedgerRefusedError,
    MempoolFullError,
    MethodNotFoundError,
    NonceError,
    ReceiptTimeout,
    RpcError,
    RpcTransportError,
    SubscriptionDropped,
    TxFailed,
)
from rpc.client.http import DEFAULT_TIMEOUT_S, MAX_RESPONSE_BYTES, RpcClient
from rpc.client.receipt import Committed
from rpc.client.sdk import Client, RetryPolicy, endpoints
from rpc.client.signer import Signer, new_id, read_key_file
from rpc.client.subscriptions import Subscription
from rpc.client.ws import WsRpc

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "MAX_RESPONSE_BYTES",
    "Account",
    "BusyError",
    "Client",
    "Committed",
    "InvalidParamsError",
    "LedgerRefusedError",
    "MempoolFullError",
    "MethodNotFoundError",
    "NonceError",
    "ReceiptTimeout",
    "RetryPolicy",
    "RpcClient",
    "RpcError",
    "RpcTransportError",
    "Sent",
    "Signer",
    "Subscription",
    "SubscriptionDropped",
    "TxFailed",
    "WsRpc",
    "endpoints",
    "failed",
    "new_id",
    "paid",
    "read_key_file",
    "returned",
]
