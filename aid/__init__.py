"""The disbursement ledger: a pure, deterministic state machine over the executor's overlay.

No I/O, no clock but block time, no floats (money is integer fen), no iteration order that
depends on hashing. The node runtime hands each ``aid`` transaction to ``aid.ledger.execute``
with an overlay and a context; the ledger reads and writes records through that overlay only.
"""
