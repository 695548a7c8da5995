"""Every protocol-level limit, named once.

Node-local limits that an operator may tune (mempool size, RPC body size, queue lengths) have
their defaults here and are overridable in ``config.toml``; limits that every node must agree on
(block size, amounts) are protocol constants and must not differ between nodes.
"""

from __future__ import annotations

from types import MappingProxyType

# --- protocol constants (all nodes must agree) -------------------------------------------------
MAX_AMOUNT = 2**53  # amounts are integers with 0 < amount < MAX_AMOUNT (fen)
MAX_TX_BYTES = 64 * 1024  # canonical encoding of one transaction
MAX_MEMO_CHARS = 256
MAX_CHAIN_ID_CHARS = 64
MAX_NONCE = 2**63 - 1
MAX_JSON_DEPTH = 64  # nesting of any canonical JSON value (a transaction: counted from its root)
MAX_BLOCK_TXS = 2_000  # transactions in one block
MAX_BLOCK_BYTES = 4 * 1024 * 1024  # summed canonical tx bytes in one block
MAX_CLOCK_DRIFT_MS = 30_000  # replicas refuse a block time further than this from their clock
MAX_CONTRACT_SOURCE_BYTES = 32 * 1024
MAX_CALL_GAS = 10_000_000
MAX_METHOD_CHARS = 128  # a contract method's name in a call transaction or a contract_call
MAX_AID_ACTION_CHARS = 64  # a ledger action's name in an aid transaction
MAX_VALIDATORS = 256  # bounds every per-sender table and every commit certificate
SIGNATURE_HEX_CHARS = 128  # an ed25519 signature as lowercase hex
DEFAULT_CALL_GAS = 1_000_000
MAX_BLOCK_GAS = 2**53  # upper bound of the genesis block gas limit (declared gas summed per block)
# The genesis ``block_gas_limit`` (default below) bounds the gas of one block's transactions.
# Measured on the quiet 2-core dev machine, the VM burns 20-80 Mgas/s per core on spinning
# contracts (80-100 on an integer loop, ~20 building and formatting small lists), so a full block
# of calls takes 0.1-0.5 s of a core -- about twice that with four nodes sharing the two cores.
# Intrinsic gas (chain/gas.py): the node's own work per transaction, counted against the block gas
# limit together with the declared gas, so that a block of ledger actions (which declare no gas
# unless they run rules) is bounded like a block of contract calls. One gas is priced at 50 ns of
# one core -- the VM's own rate on the demo rules contract, about 4,150 gas per household in
# ~180 us (23 Mgas/s) -- from in-process replays of recorded bench chains on the 2-core machine
# (tests/bench/bench_replay.py, execute only, warm): transfer 2-13 us, household.apply ~300 us with
# its ~2.5 kB of sealed data, cycle.approve ~210, payment.report ~220, cycle.add ~200 us plus
# ~50 us per household beside its rules, batch.create ~8.4 ms for a 200-entitlement cycle.
# Figures are rounded up and were kept after the executor's read caching made the same actions
# 1.5-2x faster in process (household.apply ~175 us, payment.report ~100): on four nodes sharing
# the two cores (load average 7) a full block of 508 mixed ledger actions still takes 1.1-2 s from
# its proposal to the next one, within the 3 s request timeout with little room to spare.
# Every node must use the same figures (they decide block validity).
GAS_PER_TX_BYTE = 1  # decoding, hashing and storing what a transaction carries (~50 ns/byte)
INTRINSIC_GAS_TRANSFER = 800  # ~40 us: a transfer's whole block path, commit included
INTRINSIC_GAS_CONTRACT_TX = 2_000  # a deploy/call outside the VM: runtime set-up, checks, receipt
INTRINSIC_GAS_AID = 8_000  # a ledger action not listed below (~400 us, the costliest common one)
# ledger actions whose work differs widely from INTRINSIC_GAS_AID
INTRINSIC_GAS_AID_ACTIONS = MappingProxyType(
    {
        "batch.create": 200_000,  # one bank batch of a cycle: ~42 us per entitlement it holds
        "cycle.close": 200_000,  # reads every entitlement of the cycle, like batch.create
        "batch.reconcile": 200_000,  # the same
    }
)
# ... plus this much per item of a list argument whose items each cost a handler's work
INTRINSIC_GAS_AID_PER_ITEM = MappingProxyType({"cycle.add": ("households", 1_000)})
MAX_AID_ITEMS = 500  # aid/cycles.py MAX_BATCH_HOUSEHOLDS; tests check they agree
MAX_INTRINSIC_GAS = (
    max(
        INTRINSIC_GAS_TRANSFER,
        INTRINSIC_GAS_CONTRACT_TX,
        INTRINSIC_GAS_AID
        + max(gas for _, gas in INTRINSIC_GAS_AID_PER_ITEM.values()) * MAX_AID_ITEMS,
        *INTRINSIC_GAS_AID_ACTIONS.values(),
    )
    + GAS_PER_TX_BYTE * MAX_TX_BYTES
)
# The genesis ``block_gas_limit`` must hold one maximal transaction: a call declaring MAX_CALL_GAS
# and its intrinsic gas. That minimum is also the default: a full block of ledger actions priced
# as above executes in 0.2-0.5 s of one core per node (in process; the slowest replayed block of
# 748 actions and transfers took 0.37 s), against the 2 s view-change and 3 s request timeouts.
MIN_BLOCK_GAS_LIMIT = MAX_CALL_GAS + MAX_INTRINSIC_GAS
DEFAULT_BLOCK_GAS_LIMIT = MIN_BLOCK_GAS_LIMIT

# --- node-local defaults (overridable in config.toml) ------------------------------------------
DEFAULT_STATUS_LOG_S = 60  # a node logs one status line this often ([node] status_log_s; 0: never)
MAX_STATUS_LOG_S = 86_400
DEFAULT_MEMPOOL_MAX_TXS = 50_000
DEFAULT_MEMPOOL_MAX_BYTES = 256 * 1024 * 1024  # summed tx sizes held in the pool
DEFAULT_MEMPOOL_MAX_PER_SENDER = 2_000  # pending txs of one sender: 25 senders to fill the pool
DEFAULT_MEMPOOL_NONCE_WINDOW = 256  # a gapped nonce may run this far past the sender's next one
DEFAULT_MEMPOOL_GAP_TTL_MS = 30_000  # a gapped tx still gapped this long after admission expires
DEFAULT_RPC_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_RPC_MAX_BATCH = 1_000  # requests in one JSON-RPC batch
DEFAULT_RPC_MAX_INFLIGHT = 512  # HTTP requests being handled at once; more get HTTP 503 "busy"
DEFAULT_RPC_MAX_WEBSOCKETS = 256  # open JSON-RPC WebSocket connections
DEFAULT_RPC_QUERY_GAS_CAP = DEFAULT_CALL_GAS  # gas of one read-only contract_call (<= MAX_CALL_GAS)
DEFAULT_RPC_MAX_CONCURRENT_QUERIES = 2  # contract_calls running at once; more get "busy"
DEFAULT_RPC_MAX_REPLY_BYTES = 4 * 1024 * 1024  # one reply; results past it get too_large
DEFAULT_RPC_REPLY_BUDGET_BYTES = 64 * 1024 * 1024  # reply bytes held for all clients together
DEFAULT_RPC_SEND_TIMEOUT_MS = 10_000  # a reply piece not drained in this time drops the client
# WebSocket subscriptions (rpc/subscriptions.py): per connection, a table of subscriptions and a
# queue of notification bytes; a notification of the newest block that does not fit drops the
# client (1008); older heights (replay, bursts) are paced by the queue instead.
DEFAULT_RPC_MAX_SUBSCRIPTIONS_PER_SOCKET = 16
MAX_RPC_SUBSCRIPTIONS_PER_SOCKET = 1_024  # config load refuses more
DEFAULT_RPC_SUBSCRIPTION_QUEUE_BYTES = 1024 * 1024
# One notification must fit in an empty queue: a contract event is at most 16 KiB
# (contracts/vm/gas.py MAX_EVENT_BYTES) and a block's header and signer list are a few KiB.
MIN_RPC_SUBSCRIPTION_QUEUE_BYTES = 64 * 1024
# All connections' queues together (max_websockets x subscription_queue_bytes) stay within this.
MAX_RPC_SUBSCRIPTION_MEMORY_BYTES = 1024 * 1024 * 1024
# The largest legitimate peer messages are a PRE-PREPARE or NEW-VIEW carrying a full block, and a
# sync response. In wire form (chain/wire.py) a block's transactions are canonical strings: their
# bytes at most double (only '"' and '\\' are escaped again), plus quotes and a comma per
# transaction and the header. A NEW-VIEW adds its view changes and certificates; a sync response
# stops adding blocks past MAX_SYNC_RESPONSE_BYTES but always carries one. Every one of them fits
# in MIN_PEER_MAX_MESSAGE_BYTES, which config load requires of [p2p] max_message_bytes.
MAX_BLOCK_WIRE_BYTES = 2 * MAX_BLOCK_BYTES + 3 * MAX_BLOCK_TXS + 4096
MAX_SYNC_RESPONSE_BYTES = MAX_BLOCK_WIRE_BYTES
SYNC_ENVELOPE_BYTES = 1024  # {"k":"sync_resp","id":...,"blocks":[...]} around the items
CONSENSUS_ENVELOPE_BYTES = 1024 * 1024  # a NEW-VIEW's view changes and certificates, or a sync
# response's certificates and envelope, around a full block
MIN_PEER_MAX_MESSAGE_BYTES = MAX_BLOCK_WIRE_BYTES + CONSENSUS_ENVELOPE_BYTES
DEFAULT_PEER_MAX_MESSAGE_BYTES = MIN_PEER_MAX_MESSAGE_BYTES  # about 9 MiB
DEFAULT_PEER_SEND_QUEUE = 4_096  # messages queued to one peer before newest are refused
DEFAULT_PEER_SEND_QUEUE_BYTES = 4 * DEFAULT_PEER_MAX_MESSAGE_BYTES  # ... and bytes (~33 MiB)
DEFAULT_PEER_INBOX_BYTES = 2 * DEFAULT_PEER_MAX_MESSAGE_BYTES  # received, not yet handled, per peer
DEFAULT_PEER_HANDSHAKE_TIMEOUT_MS = 2_000  # an unauthenticated connection lives at most this long
MIN_PEER_HANDSHAKE_TIMEOUT_MS = 100  # below this a loaded peer cannot finish the handshake
MAX_PEER_HANDSHAKE_TIMEOUT_MS = 60_000  # above this idle pre-auth sockets pile up
DEFAULT_PEER_MAX_PENDING_HANDSHAKES = 64  # unauthenticated inbound connections, all addresses
DEFAULT_PEER_MAX_PENDING_PER_ADDRESS = 8  # ... from one remote IP address
DEFAULT_PEER_SEND_TIMEOUT_MS = 20_000  # a peer reading one frame slower than this is dropped
DEFAULT_SYNC_SERVE_BLOCKS_PER_S = 512  # blocks served to one peer per second (token bucket)
DEFAULT_BLOCK_TXS = 1_000  # what the primary puts in one block (<= MAX_BLOCK_TXS)
DEFAULT_BATCH_DELAY_MS = 20  # primary waits this long to fill a block before proposing
# ... and proposes no sooner than this after applying the previous block, unless the offer
# fills a block: under load, fewer and larger blocks (consensus/config.py says why)
DEFAULT_BLOCK_INTERVAL_MS = 150
DEFAULT_SYNC_BATCH_BLOCKS = 64  # blocks per state-transfer response
# consensus timers and windows (consensus/config.py ConsensusConfig, node/config.py [consensus])
DEFAULT_VIEW_CHANGE_TIMEOUT_MS = 2_000  # base; doubles per consecutive failed view
DEFAULT_MAX_VIEW_CHANGE_TIMEOUT_MS = 60_000
DEFAULT_REQUEST_TIMEOUT_MS = 3_000  # an offered transaction not committed by then: view change
DEFAULT_RETRANSMIT_MS = 500
DEFAULT_TICK_MS = 20  # the daemon feeds the replica a tick this often
DEFAULT_MAX_TICK_STEP_MS = 1_000  # one tick advances the timers at most this far (a long pause)
DEFAULT_CHECKPOINT_INTERVAL = 16
DEFAULT_WATERMARK_WINDOW = 64
DEFAULT_MAX_BUFFERED_MESSAGES = 10_000  # consensus messages held for open or future slots
