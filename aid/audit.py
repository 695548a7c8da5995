"""Audit: AU-3 rows of every action, bank statement reconciliation, auditor's samples.

Pure functions and three ledger actions. The node streams an export by calling ``audit_row`` per
committed transaction (node/auditexport.py); here is what each row says and how a file proves
itself:

- **Export rows** carry the NIST SP 800-53 AU-3 fields: what (action), when (UTC, from block
  time), where (area), who (account, organisation), outcome (``ok`` or the refusal reason), plus
  the transaction hash and height. The area, program and organisation of a row are read from the
  ledger's records as they are at the export's height (a household's village, a cycle's program's
  area, the signer's grant), so a refused action is placed too.
- **The trailer**: the file's last line is ``#end,height=H,rows=N,sha256=X`` where X is the
  SHA-256 of every byte before that line. ``audit.record_export`` puts ``{scope, height, rows,
  file_hash}`` on chain, so the file can be proven unchanged later (``aidchain audit verify``).
- **Reconciliation** of a bank statement (CSV, columns ``STATEMENT_COLUMNS``) against the
  ledger's paid payments lists every mismatch: paid but not on the statement, on the statement
  but not paid, amounts or bank references that differ, a payment listed twice.
- **Samples**: ``audit.sample`` freezes a population (a cycle's entitlements, fixed since the
  cycle's approval started) and names the seed: the hash of the block after the one recording
  the sample, unknown when the auditor signed. ``draw_sample`` is the deterministic draw anyone
  can recompute; ``sample.verify`` records each receipt check.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aid.areas import area_level, area_prefix
from aid.context import Action
from aid.cycles import APPROVED_CYCLE_STATES, cycle_entitlements
from aid.errors import AlreadyExists, BadArgs, WrongState
from aid.roles import require_role
from aid.state import Records
from chain.encoding import canonical

EXPORT_COLUMNS = (
    "height",
    "tx_index",
    "time_utc",
    "action",
    "area",
    "program",
    "account",
    "org",
    "outcome",
    "tx_hash",
)
TRAILER_PREFIX = "#end,"
STATEMENT_COLUMNS = ("entitlement", "bank_ref", "amount_fen")  # plus any others, ignored
MAX_SAMPLE = 1_000  # payments one sample may draw
SAMPLE_SEED_DELAY = 1  # the seed is the hash of the block this many after the sample's
SAMPLE_RESULTS = ("received", "not_received", "received_with_issues")
MAX_ID_CHARS = 64
_AREA_OF = {  # the record field holding an entity's area
    "household": "village",
    "allocation": "area",
    "fund": "area",
    "program": "area",
    "disclosure": "area",
    "proposal": "area",
    "export": "area",
    # oversight (aid/assistance.py, aid/monitoring.py, aid/grievances.py): each keeps its area
    "pairing": "area",
    "visit": "area",
    "indicator": "area",
    "alert": "area",
    "grievance": "area",
}


# --- export rows ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an action happened and what it concerned, as far as its records tell."""

    area: str
    program: str
    org: str


def _text_arg(args: Any, name: str) -> str | None:
    value = args.get(name) if isinstance(args, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS else None


_ARG_ENTITIES = (  # args naming an entity, most specific first
    ("entitlement", "entitlement"),
    ("household", "household"),
    ("batch", "batch"),
    ("cycle", "cycle"),
    ("program", "program"),
    ("disclosure", "disclosure"),
    ("sample", "sample"),
    ("change", "change"),
    ("allocation", "allocation"),
    ("source", "allocation"),
    ("source", "fund"),
    ("proposal", "proposal"),
    ("alert", "alert"),
    ("grievance", "grievance"),
    ("pairing", "pairing"),
    ("visit", "visit"),
)
MAX_PLACE_CACHE = 50_000  # entities whose place an export remembers (then it starts afresh)
UNCACHED_KINDS = frozenset({"entitlement"})  # one action each: caching them only costs memory
Getter = Callable[[str, str], "dict[str, Any] | None"]


class Placer:
    """Places actions, remembering each entity's place and each signer's organisation.

    ``get(kind, id)`` reads a record without copying (nothing here writes). An export places
    hundreds of thousands of actions about the same cycles, batches and programs, so the caches
    make most placements free; they are bounded, so memory stays flat however long the export.
    """

    __slots__ = ("_get", "_orgs", "_places")

    def __init__(self, get: Getter) -> None:
        self._get = get
        self._places: dict[tuple[str, str], tuple[str, str]] = {}
        self._orgs: dict[str, list[tuple[str, str]]] = {}  # sender -> [(area prefix, org)]

    def entity(self, kind: str, ident: str) -> tuple[str, str]:
        """(area, program) of one entity, following its parents; ("", "") if not on chain."""
        if kind in UNCACHED_KINDS:
            return self._lookup(kind, ident)
        key = (kind, ident)
        found = self._places.get(key)
        if found is None:
            if len(self._places) >= MAX_PLACE_CACHE:
                self._places.clear()
            found = self._places[key] = self._lookup(kind, ident)
        return found

    def _lookup(self, kind: str, ident: str) -> tuple[str, str]:
        record = self._get(kind, ident)
        if record is None:
            return "", ""
        if kind == "entitlement":
            return self.entity("household", record["household"])[0], str(record["program"])
        if kind in ("cycle", "batch"):
            return self.entity("program", record["program"])[0], str(record["program"])
        if kind == "sample":
            return self.entity("cycle", record["cycle"])
        if kind == "change":
            return self.entity("household", record["household"])
        if kind == "program":
            return str(record["area"]), ident
        field = _AREA_OF.get(kind)
        return (str(record.get(field) or ""), "") if field else ("", "")

    def _grants(self, sender: str) -> list[tuple[str, str]]:
        grants = self._orgs.get(sender)
        if grants is None:
            if len(self._orgs) >= MAX_PLACE_CACHE:
                self._orgs.clear()
            entry = self._get("grants", sender)
            held = [] if entry is None else entry["grants"]
            grants = self._orgs[sender] = [(area_prefix(g[1]), g[2]) for g in held]
        return grants

    def place(self, sender: str, args: Any) -> Placement:
        """The area, program and organisation of an action from its args and the records."""
        if not isinstance(args, dict):
            args = {}
        area = _text_arg(args, "village") or _text_arg(args, "area") or _linked_area(self, args)
        program = ""
        for arg, kind in [entry for entry in _ARG_ENTITIES if entry[0] in args]:
            ident = _text_arg(args, arg)
            if ident is None:
                continue
            found_area, found_program = self.entity(kind, ident)
            area = area or found_area
            program = program or found_program
            if area and program:
                break
        org = _text_arg(args, "as_admin_of") or ""
        if not org:
            grants = self._grants(sender)
            covering = [g for g in grants if area and area.startswith(g[0])]
            org = (covering or grants or [("", "")])[0][1]
        return Placement(area, program, org)


def _linked_area(placer: Placer, args: Any) -> str:
    """The area of the first entity a grievance links (``links: [{kind, id}]``), else ""."""
    links = args.get("links") if isinstance(args, dict) else None
    if not isinstance(links, list) or not links or not isinstance(links[0], dict):
        return ""
    kind, ident = links[0].get("kind"), _text_arg(links[0], "id")
    placeable = (*_AREA_OF, "entitlement", "cycle", "batch")
    if not isinstance(kind, str) or ident is None or kind not in placeable:
        return ""
    return placer.entity(kind, ident)[0]


def place_action(records: Records, sender: str, args: Any) -> Placement:
    """The area, program and organisation of one action (``Placer`` for many)."""
    return Placer(records.get).place(sender, args)


def utc_text(time_ms: int) -> str:
    """Block time as ISO 8601 UTC with milliseconds."""
    moment = datetime.fromtimestamp(time_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{time_ms % 1000:03d}Z"


def outcome_of(receipt: dict[str, Any]) -> str:
    return outcome_text(receipt.get("ok"), receipt.get("error_type"))


def outcome_text(ok: Any, error_type: Any) -> str:
    """``ok`` or ``refused:<error type>`` from a receipt's two fields."""
    return "ok" if ok else f"refused:{error_type or 'error'}"


def audit_row(
    height: int,
    tx_index: int,
    when: str,
    tx: dict[str, Any],
    tx_hash: str,
    receipt: dict[str, Any],
    place: Placement,
) -> list[str]:
    payload = tx.get("payload") or {}
    return row_fields(
        height,
        tx_index,
        when,
        payload.get("action", tx.get("type", "")),
        tx.get("sender", ""),
        outcome_of(receipt),
        tx_hash,
        place,
    )


def row_fields(
    height: int,
    tx_index: int,
    when: str,
    action: Any,
    sender: Any,
    outcome: str,
    tx_hash: str,
    place: Placement,
) -> list[str]:
    """One export row in ``EXPORT_COLUMNS`` order (the one place that orders them)."""
    return [
        str(height),
        str(tx_index),
        when,
        str(action),
        place.area,
        place.program,
        str(sender),
        place.org,
        outcome,
        tx_hash,
    ]


def csv_line(fields: Iterable[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(list(fields))
    return out.getvalue()


def csv_text(rows: Iterable[list[str]]) -> str:
    """``csv_line`` of many rows, fast: a row with no comma, quote, line break or NUL inside a
    field (nearly every export row) is exactly its fields joined by commas, so only the others
    go through the csv module's quoting."""
    lines = []
    quoted = io.StringIO()
    writer = csv.writer(quoted, lineterminator="\n")
    for row in rows:
        line = ",".join(row)
        if (
            line
            and line.count(",") == len(row) - 1
            and '"' not in line
            and "\n" not in line
            and "\r" not in line
            and "\0" not in line
        ):
            lines.append(line)
            lines.append("\n")
        else:
            writer.writerow(row)
            lines.append(quoted.getvalue())
            quoted.seek(0)
            quoted.truncate()
    return "".join(lines)


def trailer(height: int, rows: int, digest: str) -> str:
    return f"{TRAILER_PREFIX}height={height},rows={rows},sha256={digest}\n"


@dataclass(frozen=True, slots=True)
class ExportCheck:
    height: int
    rows: int
    file_hash: str  # what the trailer claims
    actual_hash: str  # SHA-256 of the bytes before the trailer

    @property
    def intact(self) -> bool:
        return self.file_hash == self.actual_hash


def parse_trailer(line: bytes) -> tuple[int, int, str]:
    """(height, rows, body sha256) of an export's ``#end`` line; BadArgs if it is not one."""
    text = line.rstrip(b"\n").decode("utf-8", "replace")
    if not text.startswith(TRAILER_PREFIX):
        raise BadArgs("not an aidchain audit export: its last line is not the #end trailer")
    fields = dict(
        part.split("=", 1) for part in text[len(TRAILER_PREFIX) :].split(",") if "=" in part
    )
    try:
        return int(fields["height"]), int(fields["rows"]), fields["sha256"]
    except (KeyError, ValueError):
        raise BadArgs("the export's #end trailer is malformed") from None


def check_export(data: bytes) -> ExportCheck:
    """Split an export into body and trailer and hash the body; BadArgs if there is no trailer."""
    body, sep, last = data.rstrip(b"\n").rpartition(b"\n")
    if not sep:
        raise BadArgs("not an aidchain audit export: its last line is not the #end trailer")
    height, rows, claimed = parse_trailer(last)
    return ExportCheck(height, rows, claimed, hashlib.sha256(body + sep).hexdigest())


# --- reconciliation ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Payment:
    """One side of a payment: the entitlement it pays, the bank's reference and the amount."""

    entitlement: str
    bank_ref: str
    amount_fen: int


@dataclass(frozen=True, slots=True)
class Mismatch:
    kind: str  # paid_not_on_statement | on_statement_not_paid | amount_differs |
    # bank_ref_differs | listed_twice
    entitlement: str
    ledger_fen: int | None
    statement_fen: int | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "entitlement": self.entitlement,
            "ledger_fen": self.ledger_fen,
            "statement_fen": self.statement_fen,
            "detail": self.detail,
        }


def parse_statement(text: str) -> list[Payment]:
    """A bank statement CSV with a header naming at least ``STATEMENT_COLUMNS``."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in STATEMENT_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise BadArgs(f"the statement's header lacks the column(s) {', '.join(missing)}")
    out = []
    for line, row in enumerate(reader, start=2):
        amount = (row.get("amount_fen") or "").strip()
        if not amount.isdigit():
            raise BadArgs(f"statement line {line}: amount_fen must be a whole number of fen")
        out.append(Payment(row["entitlement"].strip(), row["bank_ref"].strip(), int(amount)))
    return out


def reconcile(ledger: Iterable[Payment], statement: Iterable[Payment]) -> list[Mismatch]:
    """Every mismatch between the ledger's paid payments and the bank's statement, sorted."""
    paid = {p.entitlement: p for p in ledger}
    seen: dict[str, Payment] = {}
    out: list[Mismatch] = []
    for row in statement:
        if row.entitlement in seen:
            out.append(
                Mismatch(
                    "listed_twice", row.entitlement, None, row.amount_fen, "on the statement twice"
                )
            )
            continue
        seen[row.entitlement] = row
        mine = paid.get(row.entitlement)
        if mine is None:
            out.append(
                Mismatch(
                    "on_statement_not_paid",
                    row.entitlement,
                    None,
                    row.amount_fen,
                    "the ledger records no successful payment",
                )
            )
        elif mine.amount_fen != row.amount_fen:
            out.append(
                Mismatch(
                    "amount_differs",
                    row.entitlement,
                    mine.amount_fen,
                    row.amount_fen,
                    f"{row.amount_fen - mine.amount_fen:+d} fen on the statement",
                )
            )
        elif mine.bank_ref != row.bank_ref:
            out.append(
                Mismatch(
                    "bank_ref_differs",
                    row.entitlement,
                    mine.amount_fen,
                    row.amount_fen,
                    f"ledger {mine.bank_ref!r}, statement {row.bank_ref!r}",
                )
            )
    for ent, mine in paid.items():
        if ent not in seen:
            out.append(
                Mismatch(
                    "paid_not_on_statement",
                    ent,
                    mine.amount_fen,
                    None,
                    "reported paid on the ledger, absent from the statement",
                )
            )
    return sorted(out, key=lambda m: (m.kind, m.entitlement))


def paid_payment(ent_id: str, ent: dict[str, Any], batch: str | None = None) -> Payment | None:
    """The successful attempt of an entitlement (in ``batch`` if given), if it is paid."""
    if ent.get("status") != "paid":
        return None
    for attempt in reversed(ent.get("attempts", [])):
        if attempt.get("outcome") == "paid" and (batch is None or attempt.get("batch") == batch):
            return Payment(ent_id, str(attempt.get("bank_ref", "")), int(ent["amount"]))
    return None


# --- samples -------------------------------------------------------------------------------------


def draw_sample(seed_hex: str, population: list[str], n: int) -> list[str]:
    """``n`` distinct members of ``population`` (sorted first), drawn from the seed alone.

    A partial Fisher-Yates shuffle whose i-th swap index is SHA-256("<seed>:<i>") mod the
    remaining size: the same seed and population give the same sample on any machine.
    """
    pool = sorted(population)
    picks = min(n, len(pool))
    for i in range(picks):
        digest = hashlib.sha256(f"{seed_hex}:{i}".encode()).digest()
        j = i + int.from_bytes(digest, "big") % (len(pool) - i)
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:picks]


def population_hash(population: list[str]) -> str:
    return hashlib.sha256(canonical(sorted(population))).hexdigest()


def audit_sample(act: Action) -> None:
    """Declare a sample of a cycle's payments; the seed block is the next one."""
    a = act.args
    cycle_id = a.text("cycle")
    n = a.integer("n", low=1, high=MAX_SAMPLE)
    purpose = a.text("purpose")
    a.done()
    records = act.records
    cycle = records.need("cycle", cycle_id, "cycle")
    if cycle["status"] not in APPROVED_CYCLE_STATES:
        raise WrongState(f"cycle {cycle_id} is {cycle['status']}: sample an approved cycle")
    program = records.need("program", cycle["program"], "program")
    grant = require_role(records, act.ctx.signer, "auditor", program["area"])
    population = cycle_entitlements(records, cycle_id, cycle)
    ident = act.ctx.new_id("sample")
    record = {
        "area": program["area"],
        "cycle": cycle_id,
        "program": cycle["program"],
        "n": min(n, len(population)),
        "purpose": purpose,
        "population_count": len(population),
        "population_hash": population_hash(population),
        "seed_height": act.ctx.height + SAMPLE_SEED_DELAY,
        "status": "declared",
        "auditor": act.ctx.signer,
        "org": grant[2],
        "created_height": act.ctx.height,
        "created_time": act.ctx.time_ms,
        "checks": 0,
    }
    records.put("sample", ident, record)
    act.touch("sample", ident)
    act.emit("sample_declared", sample=ident, seed_height=record["seed_height"], n=record["n"])


def sample_verify(act: Action) -> None:
    """Record one receipt check of a sampled payment (by the sample's audit office)."""
    a = act.args
    ident = a.text("sample")
    ent_id = a.text("entitlement")
    result = a.choice("result", SAMPLE_RESULTS)
    evidence = a.hex64("evidence", "the SHA-256 (64 hex) of the check's off-chain record")
    a.done()
    records = act.records
    sample = records.need("sample", ident, "sample")
    if act.ctx.height <= sample["seed_height"]:
        raise WrongState(f"sample {ident} is drawn from block {sample['seed_height']}: wait for it")
    grant = require_role(records, act.ctx.signer, "auditor", sample["area"])
    if grant[2] != sample["org"]:
        raise WrongState(f"sample {ident} belongs to audit office {sample['org']}")
    ent = records.need("entitlement", ent_id, "entitlement")
    if ent["cycle"] != sample["cycle"]:
        raise BadArgs(f"entitlement {ent_id} is not in cycle {sample['cycle']}")
    check_id = f"{ident}/{ent_id}"
    if records.get("scheck", check_id) is not None:
        raise AlreadyExists(f"entitlement {ent_id} was already checked for sample {ident}")
    records.put(
        "scheck",
        check_id,
        {"result": result, "evidence": evidence, "by": act.ctx.signer, "time": act.ctx.time_ms},
    )
    sample["checks"] += 1
    sample["status"] = "checking"
    records.put("sample", ident, sample)
    act.touch("sample", ident)
    act.emit("sample_checked", sample=ident, entitlement=ent_id, result=result)


# --- export records ------------------------------------------------------------------------------

SCOPE_KEYS = ("area", "from", "to", "program", "org")


def check_scope(scope: dict[str, Any]) -> dict[str, str]:
    extra = sorted(set(scope) - set(SCOPE_KEYS))
    if extra or "area" not in scope:
        raise BadArgs(f"scope must have an area and only {', '.join(SCOPE_KEYS)}")
    for key, value in scope.items():
        if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_CHARS:
            raise BadArgs(f"scope.{key} must be a string of at most {MAX_ID_CHARS} characters")
    return {k: str(v) for k, v in sorted(scope.items())}


def audit_record_export(act: Action) -> None:
    """Put an export's scope, height, row count and file hash on chain."""
    a = act.args
    scope = check_scope(a.mapping("scope", max_items=len(SCOPE_KEYS)))
    height = a.integer("height", low=0, high=2**53 - 1)
    rows = a.integer("rows", low=0, high=2**53 - 1)
    file_hash = a.hex64("file_hash", "the file's SHA-256: 64 lowercase hex characters")
    a.done()
    if height >= act.ctx.height:
        raise BadArgs(f"height {height} is not yet committed (this block is {act.ctx.height})")
    area = scope["area"]
    area_level(area)  # raises UnknownArea naming it
    records = act.records
    grant = require_role(records, act.ctx.signer, "auditor", area)
    if records.get("export", file_hash) is not None:
        raise AlreadyExists(f"an export with hash {file_hash[:12]}… is already recorded")
    records.put(
        "export",
        file_hash,
        {
            "area": area,
            "scope": scope,
            "height": height,
            "rows": rows,
            "status": "recorded",
            "by": act.ctx.signer,
            "org": grant[2],
            "created_height": act.ctx.height,
            "created_time": act.ctx.time_ms,
        },
    )
    act.touch("export", file_hash)
    act.emit("export_recorded", file_hash=file_hash, height=height, rows=rows)
