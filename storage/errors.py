"""Storage errors: one typed exception so callers can tell a refused write from a bug."""

from __future__ import annotations

from chain.errors import AidchainError


class ChainStoreError(AidchainError):
    """The store refused an operation (wrong height, closed store, corrupt or locked database)."""

    reason = "storage_error"
