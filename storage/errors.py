"""Storage errors: one typed exception so callers can tell a refused write from a bug."""

from __future__ import annotations

from chain.errors import AidchainError


class ChainStoreError(AidchainError):
    """The store refused an operation (wrong height, closed store, corrupt or locked database)."""

    reason = "storage_error"


class ReadSideOff(ChainStoreError):
    """A read that needs the ledger index or statistics, on a node that keeps neither."""

    reason = "read_side_off"


READ_SIDE_OFF_MESSAGE = (
    "this node keeps no ledger index or statistics ([node] read_side = false): ask a node that "
    "does, or stop this one, run `aidchain node reindex` and start it with read_side = true"
)
