"""The gas schedule, every VM limit, and the meter that enforces both.

Gas is deterministic by construction: static costs come from the checked AST (one unit per AST
node of each statement, charged when its block is entered) and dynamic costs from value sizes
(string length, item counts, int bit lengths) -- never from wall time or ``sys.getsizeof``.
"""

from __future__ import annotations

from chain import limits as chain_limits
from contracts.vm.errors import LimitExceeded, OutOfGas

# --- source limits (checked before ``ast.parse``) ------------------------------------------------
MAX_SOURCE_BYTES = chain_limits.MAX_CONTRACT_SOURCE_BYTES
MAX_BRACKET_DEPTH = 24  # nested (), [], {} in the raw source
MAX_INDENT_DEPTH = 16  # nested blocks
MAX_LINE_TOKENS = 1_000  # tokens in one logical line (bounds operator chains before parsing)
MAX_AST_NODES = 40_000
MAX_EXPR_DEPTH = 40  # nesting of the parsed AST (statements and expressions)
MAX_FUNCTIONS = 256

# --- run-time limits --------------------------------------------------------------------------
MAX_CALL_DEPTH = 64  # contract function frames (all contracts of one transaction)
MAX_CONTRACT_CALL_DEPTH = 8  # nested cross-contract ``call``
MAX_VALUE_DEPTH = 32  # nesting of a value walked by comparison, hashing, str(), JSON
MAX_INT_BITS = 4_096  # magnitude of any int (about 1233 decimal digits)
MAX_INT_DIGITS = 1_300  # digits accepted by int(str)
MAX_ITEMS = 1_000_000  # elements of one list/tuple/dict
MAX_STR_CHARS = 1_000_000  # characters of one string
MAX_ALLOC_BYTES = 256 * 1024 * 1024  # cumulative sized allocations of one transaction
MAX_FORMAT_WIDTH = 10_000  # width/precision in a format spec
MAX_RESULT_BYTES = 64 * 1024  # canonical JSON of a method's result
MAX_EVENT_BYTES = 16 * 1024  # canonical JSON of one event
MAX_EVENTS = 256  # events of one transaction
MAX_STORAGE_KEY_CHARS = 256
MAX_STORAGE_VALUE_BYTES = 256 * 1024
MAX_ERROR_MESSAGE_CHARS = 1_000

# --- gas schedule -------------------------------------------------------------------------------
GAS_NODE = 1  # per AST node of a statement, charged on entering its block
GAS_CALL = 10  # entering a contract function or lambda
GAS_DEPLOY_BASE = 20_000
GAS_DEPLOY_PER_BYTE = 4  # source byte: checking and compiling
GAS_CALL_BASE = 1_000  # a transaction (or a cross-contract call) entering a contract
GAS_STORAGE_READ = 200
GAS_STORAGE_READ_PER_BYTE = 1  # per 8 bytes read
GAS_STORAGE_WRITE = 2_000
GAS_STORAGE_WRITE_PER_BYTE = 1  # per byte written
GAS_TRANSFER = 2_000
GAS_EMIT = 200
GAS_HASH = 100
ALLOC_BYTES_PER_GAS = 32  # allocation: one gas per this many bytes, charged before building
GAS_WALK_CONTAINER = 16  # each container visited by a deep comparison/hash/str()/JSON walk
GAS_WALK_ITEM = 1  # each element of a container visited by such a walk
GAS_SCAN_ITEM = 1  # each element compared by `in`/index/count against a scalar
SCAN_CHARS_PER_GAS = 16  # characters scanned by a string search or comparison
BIGINT_BITS_PER_GAS = 64  # int arithmetic above 62 bits: gas per 64-bit limb (per pair for *)
GAS_ITER_STEP = 4  # each step of a lazy iterator (enumerate, zip per input, reversed, generator)

SMALL_INT = 2**62  # ints strictly inside (-SMALL_INT, SMALL_INT) are never size-checked


class Meter:
    """Remaining gas, call depth and cumulative allocation of one transaction (all contracts)."""

    __slots__ = ("cdepth", "d", "g", "limit", "mem")

    def __init__(self, gas: int) -> None:
        self.reset(gas)

    def reset(self, gas: int) -> None:
        """Start a new transaction with this meter (helpers bound to it are reused)."""
        self.limit = gas
        self.g = gas  # remaining; generated code decrements it directly
        self.d = 0  # contract function frames
        self.cdepth = 0  # nested contracts
        self.mem = 0  # cumulative sized allocations in bytes

    @property
    def used(self) -> int:
        return min(self.limit, self.limit - self.g)

    def charge(self, amount: int) -> None:
        self.g -= amount
        if self.g < 0:
            raise OutOfGas(f"out of gas (limit {self.limit})")

    def alloc(self, nbytes: int) -> None:
        """Charge for ``nbytes`` about to be allocated; refuse before building anything."""
        self.g -= nbytes // ALLOC_BYTES_PER_GAS
        if self.g < 0:
            raise OutOfGas(f"out of gas (limit {self.limit})")
        self.mem += nbytes
        if self.mem > MAX_ALLOC_BYTES:
            raise LimitExceeded(f"memory limit exceeded ({MAX_ALLOC_BYTES} bytes allocated)")
