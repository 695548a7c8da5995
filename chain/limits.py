"""Every protocol-level limit, named once.

Node-local limits that an operator may tune (mempool size, RPC body size, queue lengths) have
their defaults here and are overridable in ``config.toml``; limits that every node must agree on
(block size, amounts) are protocol constants and must not differ between nodes.
"""

from __future__ import annotations

# --- protocol constants (all nodes must agree) -------------------------------------------------
MAX_AMOUNT = 2**53  # amounts are integers with 0 < amount < MAX_AMOUNT (fen)
MAX_TX_BYTES = 64 * 1024  # canonical encoding of one transaction
MAX_MEMO_CHARS = 256
MAX_CHAIN_ID_CHARS = 64
MAX_NONCE = 2**63 - 1
MAX_BLOCK_TXS = 2_000  # transactions in one block
MAX_BLOCK_BYTES = 4 * 1024 * 1024  # summed canonical tx bytes in one block
MAX_CLOCK_DRIFT_MS = 30_000  # replicas refuse a block time further than this from their clock
MAX_CONTRACT_SOURCE_BYTES = 32 * 1024
MAX_CALL_GAS = 10_000_000
DEFAULT_CALL_GAS = 1_000_000
MAX_BLOCK_GAS = 2**53  # upper bound of the genesis block gas limit (declared gas summed per block)

# --- node-local defaults (overridable in config.toml) ------------------------------------------
DEFAULT_MEMPOOL_MAX_TXS = 50_000
DEFAULT_MEMPOOL_MAX_PER_SENDER = 2_048  # future nonces held per sender
DEFAULT_RPC_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_RPC_MAX_BATCH = 1_000  # requests in one JSON-RPC batch
DEFAULT_RPC_MAX_INFLIGHT = 512  # HTTP requests being handled at once; more get HTTP 503 "busy"
DEFAULT_RPC_MAX_WEBSOCKETS = 256  # open JSON-RPC WebSocket connections
# The largest legitimate peer messages are a PRE-PREPARE carrying a full block and a sync response;
# a block's transactions may at most double on the wire (JSON escaping of embedded canonical
# bytes), plus header, certificate and envelope. A sync response stops adding blocks at
# MAX_SYNC_RESPONSE_BYTES but always carries at least one, so it is at most that plus envelope.
MAX_BLOCK_WIRE_BYTES = 2 * MAX_BLOCK_BYTES + 256 * 1024
MAX_SYNC_RESPONSE_BYTES = MAX_BLOCK_WIRE_BYTES
SYNC_ENVELOPE_BYTES = 1024  # {"k":"sync_resp","id":...,"blocks":[...]} around the items
MIN_PEER_MAX_MESSAGE_BYTES = MAX_SYNC_RESPONSE_BYTES + SYNC_ENVELOPE_BYTES
DEFAULT_PEER_MAX_MESSAGE_BYTES = MIN_PEER_MAX_MESSAGE_BYTES  # 8.25 MiB + 1 KiB
DEFAULT_PEER_SEND_QUEUE = 4_096  # messages queued to one peer before newest are refused
DEFAULT_PEER_SEND_QUEUE_BYTES = 4 * DEFAULT_PEER_MAX_MESSAGE_BYTES  # ... and bytes (~33 MiB)
DEFAULT_PEER_INBOX_BYTES = 2 * DEFAULT_PEER_MAX_MESSAGE_BYTES  # received, not yet handled, per peer
DEFAULT_PEER_HANDSHAKE_TIMEOUT_MS = 2_000  # an unauthenticated connection lives at most this long
DEFAULT_PEER_MAX_PENDING_HANDSHAKES = 64  # unauthenticated inbound connections, all addresses
DEFAULT_PEER_MAX_PENDING_PER_ADDRESS = 8  # ... from one remote IP address
DEFAULT_PEER_SEND_TIMEOUT_MS = 20_000  # a peer reading one frame slower than this is dropped
DEFAULT_SYNC_SERVE_BLOCKS_PER_S = 512  # blocks served to one peer per second (token bucket)
DEFAULT_BLOCK_TXS = 1_000  # what the primary puts in one block (<= MAX_BLOCK_TXS)
DEFAULT_BATCH_DELAY_MS = 20  # primary waits this long to fill a block before proposing
DEFAULT_SYNC_BATCH_BLOCKS = 64  # blocks per state-transfer response
