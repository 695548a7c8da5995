"""The ledger's read-side index: which keys list an entity, derived from the entity alone.

The node keeps these keys outside the state root (like CometBFT's tx indexer), in the same
synced batch as the block that changed the entity: for every entity a block touched it deletes
the keys of the old record and writes the keys of the new one. Because the keys are a pure
function of the record, the index can be rebuilt from the state at any height, and two nodes at
one height hold the same index.

Area codes are hierarchical, so one key per entity under its area serves every level: listing a
county's households is a prefix scan of ``household/area/530102``. Keys end with the entity id,
which makes them unique and gives pagination a stable cursor (the last key returned).
"""

from __future__ import annotations

from typing import Any

from aid.areas import area_prefix

INDEXED_KINDS = (
    "household",
    "fund",
    "allocation",
    "program",
    "cycle",
    "entitlement",
    "batch",
    "change",
    "proposal",
    # oversight (issue 11)
    "pairing",
    "visit",
    "indicator",
    "alert",
    "grievance",
    # public disclosure and audit
    "disclosure",
    "export",
    "sample",
    "grants",  # ledger-rest: an account's role grants, listed by area, role and organisation
)


def index_keys(kind: str, ident: str, record: dict[str, Any] | None) -> list[str]:
    """Every index key under which ``record`` (None: deleted) of ``kind`` is listed."""
    if record is None or kind not in INDEXED_KINDS:
        return []
    fields = _FIELDS[kind](record)
    return [f"{kind}/{name}/{value}/{ident}" for name, value in fields]


def _area(code: str) -> str:
    return code  # full code: a prefix of it lists every level above (see module docstring)


_FIELDS: dict[str, Any] = {
    "household": lambda r: [
        ("area", _area(r["village"])),
        ("status", f"{r['status']}/{r['village']}"),
    ],
    "fund": lambda r: [("area", _area(r["area"])), ("year", f"{r['year']}/{r['area']}")],
    "allocation": lambda r: [
        ("area", _area(r["area"])),
        ("source", r["source"]),
        ("status", f"{r['status']}/{r['area']}"),
    ],
    "program": lambda r: [
        ("area", _area(r["area"])),
        ("status", f"{r['status']}/{r['area']}"),
        *(("allocation", alloc) for alloc, _ in r["funding"]),
    ],
    "cycle": lambda r: [
        ("program", f"{r['program']}/{r['period']}"),
        ("status", r["status"]),
        ("period", r["period"]),
    ],
    "entitlement": lambda r: [
        ("household", f"{r['household']}/{r['period']}"),
        ("program", f"{r['program']}/{r['period']}"),
        ("status", f"{r['status']}/{r['program']}"),
        # every batch an attempt to pay it went in: a bank's payment instructions, re-issues too
        *(("batch", b) for b in dict.fromkeys(a["batch"] for a in r["attempts"] if "batch" in a)),
    ],
    "batch": lambda r: [("cycle", r["cycle"]), ("status", r["status"])],
    "change": lambda r: [("household", r["household"]), ("status", r["status"])],
    "proposal": lambda r: [("status", r["status"]), ("account", r["account"])],
    # oversight (issue 11): by area, by status then area, and the links a report follows
    "pairing": lambda r: [
        ("area", _area(r["area"])),
        ("status", f"{r['status']}/{r['area']}"),
        ("household", r["household"]),
        ("cadre", r["cadre"]),
    ],
    "visit": lambda r: [
        ("area", _area(r["area"])),
        ("pairing", r["pairing"]),
        ("cadre", r["cadre"]),
    ],
    "indicator": lambda r: [("area", _area(r["area"])), ("household", r["household"])],
    "alert": lambda r: [
        ("area", _area(r["area"])),
        ("status", f"{r['status']}/{r['area']}"),
        ("level", f"{r['level']}/{r['area']}"),
        ("household", r["household"]),
    ],
    "grievance": lambda r: [
        ("area", _area(r["area"])),
        ("status", f"{r['status']}/{r['area']}"),
        ("category", f"{r['category']}/{r['area']}"),
        *(("link", f"{link['kind']}/{link['id']}") for link in r["links"]),
    ],
    "disclosure": lambda r: [
        ("village", f"{r['village']}/{r['period']}"),
        ("area", _area(r["area"])),
        ("status", f"{r['status']}/{r['area']}"),
    ],
    "export": lambda r: [("area", _area(r["area"]))],
    "sample": lambda r: [("cycle", r["cycle"]), ("area", _area(r["area"]))],
    # one key per grant and field; two grants in one area share the area key (sets dedupe)
    "grants": lambda r: [
        field
        for role, area, org in r["grants"]
        for field in (("area", area), ("role", f"{role}/{area}"), ("org", f"{org}/{area}"))
    ],
}


def area_scan_prefix(kind: str, field: str, area: str, lead: str = "") -> str:
    """The prefix listing ``kind`` under ``area`` and every area below it.

    ``lead`` is a leading value (a status) for fields like ``status/<status>/<area>``.
    """
    middle = f"{lead}/" if lead else ""
    return f"{kind}/{field}/{middle}{area_prefix(area)}"


def history_key(kind: str, ident: str, height: int, tx_index: int) -> str:
    """The key recording that the tx at (height, index) changed the entity."""
    return f"history/{kind}/{ident}/{height:012d}/{tx_index:05d}"


def index_delta(
    touched: list[str],
    before: Any,
    after: Any,
) -> tuple[list[str], list[str]]:
    """(keys to delete, keys to write) for the entities ``touched`` ("kind/id") by a block.

    ``before(kind, id)`` and ``after(kind, id)`` give the record at the start and the end of
    the block (None if absent). Sorted, so every node writes its batch in the same order.
    """
    deletes: set[str] = set()
    puts: set[str] = set()
    for ref in dict.fromkeys(touched):
        kind, ident = ref.split("/", 1)
        old = set(index_keys(kind, ident, before(kind, ident)))
        new = set(index_keys(kind, ident, after(kind, ident)))
        deletes |= old - new
        puts |= new - old
    return sorted(deletes), sorted(puts)
