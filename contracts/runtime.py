"""The contract runtime the node executor calls: deploy, call, query, get_contract.

Every write of a transaction (storage, balances, code) goes to an overlay owned here and reaches
``state`` only when the whole transaction -- including nested cross-contract calls -- succeeded.
Values cross the boundary as canonical JSON text, so contract code never shares an object with
the node, and every result, event and error is plain JSON built from plain data.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Protocol

from chain import limits as chain_limits
from chain.crypto import is_pubkey_hex
from chain.encoding import canonical, sha256_hex
from chain.statekeys import STORAGE_PREFIX, account_key, code_key, storage_key
from contracts.vm import gas as schedule
from contracts.vm.builtins import make_helpers
from contracts.vm.errors import (
    ContractExists,
    InsufficientFunds,
    InvalidValue,
    LimitExceeded,
    NoSuchContract,
    NoSuchMethod,
    OutOfGas,
    RequireFailed,
    ValidationError,
    worded,
)
from contracts.vm.failures import describe, locate
from contracts.vm.gas import Meter
from contracts.vm.machine import PROGRAM_CACHE_SIZE, Program, load
from contracts.vm.values import (
    Converted,
    decode,
    encode,
    from_json,
    short_text,
    to_json,
    vm_str,
)

log = logging.getLogger(__name__)

INIT_METHOD = "init"
MAX_KIT_INSTANCES = 64  # program namespaces a thread keeps warm between calls
MAX_EVENT_NAME_CHARS = 64


@dataclass(frozen=True, slots=True)
class CallContext:
    height: int  # block height being executed
    time: int  # block time, ms since epoch
    tx_hash: str  # hex hash of the transaction ("" for read-only queries)


class StateAccess(Protocol):
    def get(self, key: str) -> Any | None: ...

    def set(self, key: str, value: Any) -> None: ...

    def delete(self, key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class ContractResult:
    ok: bool
    result: Any
    error: dict[str, str] | None
    gas_used: int
    events: list[dict[str, Any]]
    address: str | None
    location: dict[str, Any] | None = None  # where it failed: see failures.locate

    def to_receipt(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "error": None if self.error is None else self.error["message"],
            "error_type": None if self.error is None else self.error["type"],
            "error_location": self.location,
            "gas_used": self.gas_used,
            "events": self.events,
            "result": self.result,
            "address": self.address,
        }


_SCALARS = (str, int, bool, type(None))


def _json_copy(value: Any) -> Any:
    """A copy of a plain JSON value: flat ones copied directly, nested ones through JSON."""
    t = type(value)
    if t in _SCALARS:
        return value
    if t is dict and all(type(v) in _SCALARS for v in value.values()):
        return dict(value)
    if t is list and all(type(v) in _SCALARS for v in value):
        return list(value)
    return decode(encode(value))


class MemoryState:
    """A dict-backed StateAccess (tests, the CLI's local ``run``)."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data: dict[str, Any] = dict(data or {})

    def get(self, key: str) -> Any | None:
        return _json_copy(self.data.get(key))

    def set(self, key: str, value: Any) -> None:
        self.data[key] = decode(encode(value))

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


@functools.lru_cache(maxsize=1024)
def contract_address(deployer: str, nonce: int) -> str:
    """Where a deployment lands (memoized: a local run asks for the same one every time)."""
    return sha256_hex(canonical({"deployer": deployer, "nonce": nonce}))


@dataclass(slots=True)
class _Tx:
    """One transaction: the overlay (canonical JSON text, None = deleted), meter and events."""

    state: StateAccess
    meter: Meter
    ctx: CallContext
    writes: dict[str, str | None] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    helpers: dict[str, Any] = field(default_factory=dict)
    programs: dict[str, Program] = field(default_factory=dict)  # by code file name
    kit: _Kit | None = None
    # contract storage key -> its text (None: absent), shared by one transaction's read-only
    # queries (QueryMemo.storage); nothing else may be given one
    storage_memo: dict[str, str | None] | None = None

    def loaded(self, program: Program) -> Program:
        """Remember a program this transaction runs, to map its frames back to the source."""
        self.programs[program.filename] = program
        return program

    def read(self, key: str) -> Any | None:
        """A fresh copy of the JSON value at ``key`` (None when absent), metered by size."""
        text, _ = self.read_text(key)
        return None if text is None else decode(text)

    def read_text(self, key: str) -> tuple[str | None, Any | None]:
        """The canonical JSON text at ``key``, charged as a read, and the state's own value
        when it came from the state (not a copy: only for reading immutable parts of it)."""
        value = None
        memo = self.storage_memo
        if key in self.writes:
            text = self.writes[key]
        elif memo is not None and key in memo:
            text = memo[key]
        else:
            value = self.state.get(key)
            text = None if value is None else encode(value)
            if memo is not None and key.startswith(STORAGE_PREFIX):
                memo[key] = text
        if text is None:
            self.meter.charge(schedule.GAS_STORAGE_READ)
            return None, None
        self.meter.charge(
            schedule.GAS_STORAGE_READ + len(text) // 8 * schedule.GAS_STORAGE_READ_PER_BYTE
        )
        self.meter.alloc(len(text))
        return text, value

    def read_code(self, key: str) -> Any | None:
        """The code record at ``key`` (the state's own value: read it, never change it),
        charged exactly as ``read_text`` charges it without encoding the source every call."""
        if key in self.writes:
            text = self.writes[key]
            record = None if text is None else decode(text)
            size = None if text is None else len(text)
        else:
            record = self.state.get(key)
            size = None if record is None else _code_record_size(record)
        if size is None:
            self.meter.charge(schedule.GAS_STORAGE_READ)
            return None
        self.meter.charge(
            schedule.GAS_STORAGE_READ + size // 8 * schedule.GAS_STORAGE_READ_PER_BYTE
        )
        self.meter.alloc(size)
        return record

    def write(self, key: str, value: Any) -> None:
        """Store a plain JSON value (already copied); None deletes."""
        if value is None:
            self.meter.charge(schedule.GAS_STORAGE_WRITE)
            self.writes[key] = None
            return
        text = encode(value)
        if len(text) > schedule.MAX_STORAGE_VALUE_BYTES:
            raise LimitExceeded(
                f"stored value of {len(text)} bytes exceeds {schedule.MAX_STORAGE_VALUE_BYTES}"
            )
        self.meter.charge(
            schedule.GAS_STORAGE_WRITE + len(text) * schedule.GAS_STORAGE_WRITE_PER_BYTE
        )
        self.writes[key] = text

    def flush(self) -> None:
        for key, text in self.writes.items():
            if text is None:
                self.state.delete(key)
            else:
                self.state.set(key, decode(text))


@dataclass(slots=True)
class _Kit:
    """A meter and the helpers bound to it. Building the ~200 helper closures costs more than a
    small call itself, so each thread keeps one kit and resets its meter for every transaction;
    the helpers hold no state but the meter, so nothing carries over."""

    meter: Meter
    helpers: dict[str, Any]
    busy: bool = False
    instances: OrderedDict[str, _Instance] = field(default_factory=OrderedDict)


_kits = threading.local()


def _new_tx(state: StateAccess, gas_limit: int, ctx: CallContext) -> _Tx:
    gas_limit = _check_gas(gas_limit)
    kit: _Kit | None = getattr(_kits, "kit", None)
    if kit is None or kit.busy:  # first use on this thread, or a transaction inside one
        meter = Meter(gas_limit)
        kit = _Kit(meter, {**make_helpers(meter), "_m": meter})
        if getattr(_kits, "kit", None) is None:
            _kits.kit = kit
    else:
        kit.meter.reset(gas_limit)
    kit.busy = True
    return _Tx(state, kit.meter, ctx, helpers=kit.helpers, kit=kit)


def _storage_key(contract: str, key: Any) -> str:
    if type(key) is not str:
        raise worded(TypeError, f"storage keys must be str, not {type(key).__name__}")
    if len(key) > schedule.MAX_STORAGE_KEY_CHARS:
        raise LimitExceeded(f"storage key longer than {schedule.MAX_STORAGE_KEY_CHARS} characters")
    return storage_key(contract, key)


def _account(tx: _Tx, address: str) -> dict[str, int]:
    value = tx.read(account_key(address))
    if not isinstance(value, dict):
        return {"balance": 0, "nonce": 0}
    return {"balance": int(value.get("balance", 0)), "nonce": int(value.get("nonce", 0))}


class _Host:
    """The host API of one contract instance (storage, require, emit, transfer, balance,
    sha256, call), its methods bound into the instance's namespace once. ``enter`` points it at
    the call being run; the runtime never runs two calls on one instance at the same time."""

    __slots__ = ("contract", "meter", "tx")

    def __init__(self, meter: Meter) -> None:
        self.tx: _Tx | None = None
        self.meter = meter  # the kit's: the same for every call on this instance
        self.contract = ""

    def enter(self, tx: _Tx, contract: str) -> None:
        assert tx.meter is self.meter, "an instance runs on its own kit's meter"
        self.tx = tx
        self.contract = contract

    def leave(self) -> None:
        self.tx = None  # the namespace outlives the call: keep no transaction alive

    @property
    def current(self) -> _Tx:
        """The call being run (host functions only run inside one)."""
        tx = self.tx
        assert tx is not None, "host function called outside a contract call"
        return tx

    def bindings(self) -> dict[str, Any]:
        return {
            "_s_load": self.s_load,
            "_s_store": self.s_store,
            "_s_del": self.s_del,
            "_s_has": self.s_has,
            "_s_get": self.s_get,
            "_s_pop": self.s_pop,
            "_h_require": self.require,
            "_h_emit": self.emit,
            "_h_transfer": self.transfer,
            "_h_balance": self.balance,
            "_h_sha256": self.sha256,
            "_h_call": self.call,
        }

    # --- storage ----------------------------------------------------------------------------
    def s_load(self, key: Any) -> Any:
        value = self.current.read(_storage_key(self.contract, key))
        if value is None:
            raise worded(KeyError, f"storage has no key {short_text(key)}")
        return value

    def s_store(self, key: Any, value: Any) -> None:
        tx = self.current
        full = _storage_key(self.contract, key)
        tx.write(full, to_json(tx.meter, value, "stored value"))

    def s_del(self, key: Any) -> None:
        tx = self.current
        full = _storage_key(self.contract, key)
        if tx.read(full) is None:
            raise worded(KeyError, f"storage has no key {short_text(key)}")
        tx.write(full, None)

    def s_has(self, key: Any) -> bool:
        return self.current.read(_storage_key(self.contract, key)) is not None

    def s_get(self, key: Any, default: Any = None) -> Any:
        value = self.current.read(_storage_key(self.contract, key))
        return default if value is None else value

    def s_pop(self, key: Any, *default: Any) -> Any:
        if len(default) > 1:
            raise worded(TypeError, f"pop expected at most 2 arguments, got {1 + len(default)}")
        tx = self.current
        full = _storage_key(self.contract, key)
        value = tx.read(full)
        if value is None:
            if default:
                return default[0]
            raise worded(KeyError, f"storage has no key {short_text(key)}")
        tx.write(full, None)
        return value

    # --- host functions ---------------------------------------------------------------------
    def require(self, condition: Any, message: Any = "requirement failed") -> None:
        if not condition:
            text = vm_str(self.meter, message)
            raise RequireFailed(text[: schedule.MAX_ERROR_MESSAGE_CHARS])

    def emit(self, name: Any, **fields: Any) -> None:
        tx = self.current
        if type(name) is not str or not 0 < len(name) <= MAX_EVENT_NAME_CHARS:
            raise worded(
                TypeError, f"event name must be a str of 1..{MAX_EVENT_NAME_CHARS} characters"
            )
        if len(tx.events) >= schedule.MAX_EVENTS:
            raise LimitExceeded(f"more than {schedule.MAX_EVENTS} events")
        event = {
            "contract": self.contract,
            "name": name,
            "fields": to_json(tx.meter, fields, "event"),
        }
        size = len(encode(event))
        if size > schedule.MAX_EVENT_BYTES:
            raise LimitExceeded(f"event of {size} bytes exceeds {schedule.MAX_EVENT_BYTES}")
        tx.meter.charge(schedule.GAS_EMIT + size // 8)
        tx.events.append(event)

    def transfer(self, to: Any, amount: Any) -> None:
        tx = self.current
        if not is_pubkey_hex(to):
            raise worded(ValueError, "transfer: 'to' must be a 64-hex address")
        if type(amount) is not int or not 0 < amount < chain_limits.MAX_AMOUNT:
            raise worded(
                ValueError, "transfer: amount must be an int with 0 < amount < 2**53 (fen)"
            )
        tx.meter.charge(schedule.GAS_TRANSFER)
        source = _account(tx, self.contract)
        if source["balance"] < amount:
            raise InsufficientFunds(f"contract balance {source['balance']} is less than {amount}")
        source["balance"] -= amount
        tx.write(account_key(self.contract), source)
        target = _account(tx, to)
        target["balance"] += amount
        tx.write(account_key(to), target)

    def balance(self, address: Any) -> int:
        if not is_pubkey_hex(address):
            raise worded(ValueError, "balance: address must be a 64-hex address")
        return _account(self.current, address)["balance"]

    def sha256(self, text: Any) -> str:
        if type(text) is not str:
            raise worded(TypeError, f"sha256() argument must be str, not {type(text).__name__}")
        self.meter.charge(schedule.GAS_HASH + len(text) // 64)
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    def call(self, address: Any, method: Any, **kwargs: Any) -> Any:
        tx = self.current
        meter = tx.meter
        if not is_pubkey_hex(address):
            raise worded(ValueError, "call: address must be a 64-hex contract address")
        if type(method) is not str:
            raise worded(TypeError, "call: method must be a str")
        if meter.cdepth >= schedule.MAX_CONTRACT_CALL_DEPTH:
            raise LimitExceeded(
                f"cross-contract calls nested deeper than {schedule.MAX_CONTRACT_CALL_DEPTH}"
            )
        args = to_json(meter, kwargs, "call arguments")
        result = _invoke(tx, address, self.contract, method, args)
        return from_json(meter, result, "call result")


@dataclass(slots=True)
class _Instance:
    """A program's namespace with its host, reused call after call on one kit."""

    namespace: dict[str, Any]
    host: _Host
    busy: bool = False


def _new_instance(program: Program, helpers: dict[str, Any], meter: Meter) -> _Instance:
    host = _Host(meter)
    return _Instance(program.instantiate({**helpers, **host.bindings()}), host)


def _instance(tx: _Tx, program: Program) -> tuple[_Instance, bool]:
    """The kit's idle instance of ``program`` (made on first use), or a new one when a nested
    call re-enters a program that is running; the flag says whether it is the kit's."""
    kit = tx.kit
    if kit is None:
        return _new_instance(program, tx.helpers, tx.meter), False
    instance = kit.instances.get(program.source_hash)
    if instance is None:
        instance = kit.instances[program.source_hash] = _new_instance(program, tx.helpers, tx.meter)
        while len(kit.instances) > MAX_KIT_INSTANCES:
            kit.instances.popitem(last=False)
    else:
        kit.instances.move_to_end(program.source_hash)
    if instance.busy:
        return _new_instance(program, tx.helpers, tx.meter), False
    return instance, True


CODE_FIELDS = (("source", str), ("deployer", str), ("height", int), ("tx", str))
_code_sizes: OrderedDict[tuple[Any, ...], int] = OrderedDict()
_code_sizes_lock = threading.Lock()


def _code_record_size(record: Any) -> int:
    """Length of the canonical JSON of a code record, memoized by its fields: a deployed
    contract's record never changes, and encoding its source for every call cost more than a
    small call itself."""
    if not (
        type(record) is dict
        and len(record) == len(CODE_FIELDS)
        and all(type(record.get(name)) is kind for name, kind in CODE_FIELDS)
    ):
        return len(encode(record))
    fields = tuple(record[name] for name, _ in CODE_FIELDS)
    with _code_sizes_lock:
        size = _code_sizes.get(fields)
    if size is None:
        size = len(encode(record))
        with _code_sizes_lock:
            _code_sizes[fields] = size
            while len(_code_sizes) > PROGRAM_CACHE_SIZE:
                _code_sizes.popitem(last=False)
    return size


@dataclass(slots=True)
class QueryMemo:
    """Work that read-only queries of one transaction share, charged to each as if redone.

    A ledger action runs its program's rules hooks several times (two per household added to
    a cycle). Deployed code never changes, and the caller passes the same argument objects
    unchanged, so the code record's size, the loaded program and each argument's conversion
    are worked out once; every query is still charged the gas a fresh one pays.
    """

    # contract -> (code record size, source length, program)
    programs: dict[str, tuple[int, int, Program]] = field(default_factory=dict)
    args: Converted = field(default_factory=dict)
    # contract storage as the queries read it: a ledger action never writes contract storage
    # and a query's writes are dropped, so it cannot change between one action's queries
    storage: dict[str, str | None] = field(default_factory=dict)


def _program_of(tx: _Tx, contract: str, memo: QueryMemo | None = None) -> Program:
    known = None if memo is None else memo.programs.get(contract)
    if known is not None:
        size, source_chars, program = known  # charged as read_code and the lines below charge
        tx.meter.charge(schedule.GAS_STORAGE_READ + size // 8 * schedule.GAS_STORAGE_READ_PER_BYTE)
        tx.meter.alloc(size)
        tx.meter.charge(source_chars // 64)
        return tx.loaded(program)
    code = None
    if is_pubkey_hex(contract):  # the source (a str) is all we need: no copy of the record
        code = tx.read_code(code_key(contract))
    if not isinstance(code, dict) or not isinstance(code.get("source"), str):
        raise NoSuchContract(f"no contract at {contract!r}")
    tx.meter.charge(len(code["source"]) // 64)
    program = tx.loaded(load(code["source"]))
    if memo is not None:
        memo.programs[contract] = (_code_record_size(code), len(code["source"]), program)
    return program


def _run(
    tx: _Tx,
    program: Program,
    contract: str,
    sender: str,
    method: str,
    args: dict[str, Any],
    allow_init: bool = False,
    memo: Converted | None = None,
) -> Any:
    """Run one public function of a program in a fresh instance; returns its JSON result."""
    if method == INIT_METHOD and not allow_init:
        raise NoSuchMethod("init can only run when the contract is deployed")
    if method not in program.functions:
        raise NoSuchMethod(f"contract has no public function {method!r}")
    if not isinstance(args, dict) or not all(type(k) is str for k in args):
        raise InvalidValue("arguments must be an object with string keys")
    meter = tx.meter
    values = {k: from_json(meter, v, "arguments", memo) for k, v in args.items()}
    instance, owned = _instance(tx, program)
    namespace = instance.namespace
    namespace["_ctx_sender"] = sender
    namespace["_ctx_height"] = tx.ctx.height
    namespace["_ctx_time"] = tx.ctx.time
    namespace["_ctx_tx_hash"] = tx.ctx.tx_hash
    namespace["_ctx_contract"] = contract
    instance.host.enter(tx, contract)
    instance.busy = owned
    meter.cdepth += 1
    try:
        program.prepare(namespace)
        result = namespace[method](**values)
    finally:
        meter.cdepth -= 1
        instance.busy = False
        instance.host.leave()
    return to_json(meter, result, "result")


def _invoke(
    tx: _Tx,
    contract: str,
    sender: str,
    method: str,
    args: dict[str, Any],
    memo: QueryMemo | None = None,
) -> Any:
    tx.meter.charge(schedule.GAS_CALL_BASE)
    program = _program_of(tx, contract, memo)
    return _run(
        tx, program, contract, sender, method, args, memo=None if memo is None else memo.args
    )


def _execute(tx: _Tx, body: Any, *, address: str | None, commit: bool) -> ContractResult:
    try:
        return _outcome(tx, body, address=address, commit=commit)
    finally:
        if tx.kit is not None:
            tx.kit.busy = False


def _outcome(tx: _Tx, body: Any, *, address: str | None, commit: bool) -> ContractResult:
    try:
        result = body()
        if result is not None:
            size = len(canonical(result))
            if size > schedule.MAX_RESULT_BYTES:
                raise LimitExceeded(f"result of {size} bytes exceeds {schedule.MAX_RESULT_BYTES}")
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        error = describe(exc)
        used = tx.meter.limit if isinstance(exc, OutOfGas) else tx.meter.used
        return ContractResult(False, None, error, used, [], None, locate(exc, tx.programs))
    if commit:
        tx.flush()
    return ContractResult(True, result, None, tx.meter.used, list(tx.events), address)


def _check_gas(gas_limit: int) -> int:
    if type(gas_limit) is not int or gas_limit <= 0:
        raise worded(ValueError, "gas must be a positive int")
    return min(gas_limit, chain_limits.MAX_CALL_GAS)


def deploy(
    state: StateAccess,
    *,
    sender: str,
    nonce: int,
    source: str,
    init: dict[str, Any],
    gas: int,
    ctx: CallContext,
) -> ContractResult:
    """Validate and store a contract at contract_address(sender, nonce), then run its init."""
    tx = _new_tx(state, gas, ctx)
    address = contract_address(sender, nonce)

    def body() -> Any:
        if not isinstance(source, str):
            raise InvalidValue("source must be a str")
        tx.meter.charge(schedule.GAS_DEPLOY_BASE + schedule.GAS_DEPLOY_PER_BYTE * len(source))
        program = tx.loaded(load(source))
        if tx.read(code_key(address)) is not None:
            raise ContractExists(f"a contract already exists at {address}")
        tx.write(
            code_key(address),
            {"source": source, "deployer": sender, "height": ctx.height, "tx": ctx.tx_hash},
        )
        if INIT_METHOD in program.functions:
            return _run(tx, program, address, sender, INIT_METHOD, init or {}, allow_init=True)
        if init:
            raise NoSuchMethod("init arguments given but the contract defines no init function")
        return None

    return _execute(tx, body, address=address, commit=True)


def call(
    state: StateAccess,
    *,
    sender: str,
    contract: str,
    method: str,
    args: dict[str, Any],
    gas: int,
    ctx: CallContext,
) -> ContractResult:
    """Run a public method as a transaction; all writes or none reach ``state``."""
    tx = _new_tx(state, gas, ctx)
    return _execute(
        tx, lambda: _invoke(tx, contract, sender, method, args), address=None, commit=True
    )


def query(
    state: StateAccess,
    *,
    contract: str,
    method: str,
    args: dict[str, Any],
    gas: int,
    ctx: CallContext,
    sender: str | None = None,
    memo: QueryMemo | None = None,
) -> ContractResult:
    """Run a method read-only: its writes are simulated in the overlay and then dropped.

    ``memo`` (one per transaction) lets queries share work; see ``QueryMemo``.
    """
    tx = _new_tx(state, gas, ctx)
    if memo is not None:
        tx.storage_memo = memo.storage
    return _execute(
        tx,
        lambda: _invoke(tx, contract, sender or "", method, args, memo),
        address=None,
        commit=False,
    )


def defines(state: StateAccess, contract: str, method: str) -> bool:
    """Whether the code deployed at ``contract`` has the public function ``method``.

    A host's question about deployed code, asked before deciding which hooks to run, so it
    costs no gas; a missing or unloadable contract has none (calling it then says why).
    """
    code = state.get(code_key(contract)) if is_pubkey_hex(contract) else None
    if not isinstance(code, dict) or not isinstance(code.get("source"), str):
        return False
    try:
        program = load(code["source"])
    except ValidationError:
        return False
    return method != INIT_METHOD and method in program.functions


def get_contract(state: StateAccess, address: str) -> dict[str, Any] | None:
    code = state.get(code_key(address)) if isinstance(address, str) else None
    if not isinstance(code, dict):
        return None
    return {
        "address": address,
        "source": code.get("source"),
        "deployer": code.get("deployer"),
        "height": code.get("height"),
        "tx": code.get("tx"),
    }


def run_local(
    source: str,
    method: str,
    args: dict[str, Any],
    *,
    gas: int,
    storage: dict[str, Any] | None = None,
    sender: str = "00" * 32,
    ctx: CallContext | None = None,
) -> tuple[ContractResult, dict[str, Any]]:
    """Run one method without a chain (the CLI's ``contract run``): returns the result and the
    contract's storage afterwards (unchanged when the call failed)."""
    ctx = ctx or CallContext(height=1, time=0, tx_hash="")
    address = contract_address(sender, 0)
    state = MemoryState(
        {code_key(address): {"source": source, "deployer": sender, "height": 0, "tx": ""}}
    )
    prefix = storage_key(address, "")
    for key, value in (storage or {}).items():
        if value is not None:
            state.set(prefix + key, value)
    tx = _new_tx(state, gas, ctx)

    def body() -> Any:
        tx.meter.charge(schedule.GAS_CALL_BASE)
        return _run(tx, _program_of(tx, address), address, sender, method, args, allow_init=True)

    result = _execute(tx, body, address=None, commit=True)
    after = {k[len(prefix) :]: v for k, v in state.data.items() if k.startswith(prefix)}
    return result, after
