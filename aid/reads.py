"""Reads: one entity, a filtered page of entities, an entity's history, and the trace (溯源).

Pure functions over the records (current state) and the read-side index (``ReadIndex``, kept by
the node in each block's batch; see aid/indexes.py). Pages are bounded and resume from a cursor
(the last index key returned), so a client walks a county of a million households in pages
without the node holding more than one page.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

from aid.areas import area_prefix
from aid.errors import BadArgs
from aid.indexes import INDEXED_KINDS
from aid.state import Records

DEFAULT_PAGE = 50
MAX_PAGE = 200
MAX_TRACE_NODES = 500
MAX_HISTORY = 200
MAX_OVERSIGHT_ITEMS = 200  # pairings, alerts and grievances each, listed with a household's trace
# what a trace says of sensitive reports (fraud, bribery, data leak): never listed, not counted
SENSITIVE_GRIEVANCES_OMITTED = "omitted"

# kind -> index fields, each with the filters it serves, in key order
LIST_SPECS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "household": (("status", ("status", "area")), ("area", ("area",))),
    "fund": (("year", ("year", "area")), ("area", ("area",))),
    "allocation": (("status", ("status", "area")), ("source", ("source",)), ("area", ("area",))),
    "program": (
        ("status", ("status", "area")),
        ("allocation", ("allocation",)),
        ("area", ("area",)),
    ),
    "cycle": (("program", ("program", "period")), ("status", ("status",)), ("period", ("period",))),
    "entitlement": (
        ("household", ("household", "period")),
        ("program", ("program", "period")),
        ("status", ("status", "program")),
        ("batch", ("batch",)),
    ),
    "batch": (("cycle", ("cycle",)), ("status", ("status",))),
    "change": (("household", ("household",)), ("status", ("status",))),
    "proposal": (("status", ("status",)), ("account", ("account",))),
    # oversight (issue 11)
    "pairing": (
        ("status", ("status", "area")),
        ("household", ("household",)),
        ("cadre", ("cadre",)),
        ("area", ("area",)),
    ),
    "visit": (("pairing", ("pairing",)), ("cadre", ("cadre",)), ("area", ("area",))),
    "indicator": (("household", ("household",)), ("area", ("area",))),
    "alert": (
        ("status", ("status", "area")),
        ("level", ("level", "area")),
        ("household", ("household",)),
        ("area", ("area",)),
    ),
    "grievance": (
        ("status", ("status", "area")),
        ("category", ("category", "area")),
        ("area", ("area",)),
    ),
    "disclosure": (
        ("village", ("village", "period")),
        ("status", ("status", "area")),
        ("area", ("area",)),
    ),
    "export": (("area", ("area",)),),
    "sample": (("cycle", ("cycle",)), ("area", ("area",))),
    "grants": (("area", ("area",)), ("role", ("role", "area")), ("org", ("org", "area"))),
}


class ReadIndex(Protocol):
    def scan(self, prefix: str, after: str | None, limit: int) -> list[tuple[str, Any]]:
        """Up to ``limit`` (key, value) pairs with ``prefix``, in key order, after ``after``."""
        ...

    def tx_hash_at(self, height: int, tx_index: int) -> str | None:
        """The hash of the committed transaction at (height, index), None if there is none."""
        ...


def history_step(index: ReadIndex, key: str, value: dict[str, Any]) -> dict[str, Any]:
    """One history entry as readers see it: ``{"height", "tx_index", "tx", "action"}``.

    The entry stores only the action (the executor's ``_LedgerTouches``): the transaction's
    hash is looked up by its position, which halves the bytes every touched entity costs each
    block. Entries written before that carry ``tx`` themselves; the end-of-block sweep's carry
    ``tx: null``.
    """
    height, tx_index = (int(part) for part in key.rsplit("/", 2)[-2:])
    tx = value["tx"] if "tx" in value else index.tx_hash_at(height, tx_index)
    return {"height": height, "tx_index": tx_index, "tx": tx, "action": value["action"]}


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"items": self.items, "next_cursor": self.next_cursor}


def _kind(kind: str) -> str:
    if kind not in INDEXED_KINDS:
        raise BadArgs(f"kind must be one of {', '.join(INDEXED_KINDS)}")
    return kind


def get_entity(records: Records, kind: str, ident: str) -> dict[str, Any] | None:
    record = records.get(_kind(kind), ident)
    return None if record is None else {"kind": kind, "id": ident, **record}


def list_prefix(kind: str, filters: dict[str, Any]) -> str:
    """The index prefix that lists ``kind`` with exactly these filters; BadArgs if none does.

    The filters given must be a leading run of one spec's components (``status`` then
    ``area``; ``program`` then ``period``), because index keys are ordered that way.
    """
    given = {name for name, value in filters.items() if value not in (None, "")}
    for field, components in LIST_SPECS[_kind(kind)]:
        if set(components[: len(given)]) != given:
            continue
        parts = [f"{kind}/{field}/"]
        for name in components[: len(given)]:
            value = filters[name]
            if name == "area":
                parts.append(area_prefix(value))
            elif isinstance(value, str) and "/" not in value and len(value) <= 64:
                parts.append(value + "/")
            else:
                raise BadArgs(f"filter {name} must be a string of at most 64 characters")
        return "".join(parts)
    options = "; ".join(" then ".join(c) for _, c in LIST_SPECS[kind])
    raise BadArgs(f"{kind} can be filtered by: {options}")


def _page_size(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_PAGE
    if type(limit) is not int or not 1 <= limit <= MAX_PAGE:
        raise BadArgs(f"limit must be 1..{MAX_PAGE}")
    return limit


def list_entities(
    records: Records,
    index: ReadIndex,
    kind: str,
    filters: dict[str, str],
    cursor: str | None = None,
    limit: int | None = None,
) -> Page:
    prefix = list_prefix(kind, filters)
    size = _page_size(limit)
    if cursor is not None and not (isinstance(cursor, str) and cursor.startswith(prefix)):
        raise BadArgs("cursor does not belong to this listing; start again without one")
    rows = index.scan(prefix, cursor, size + 1)
    items = []
    for key, _ in rows[:size]:
        ident = key.rsplit("/", 1)[1]
        entity = get_entity(records, kind, ident)
        assert entity is not None, f"index key {key} points at a missing {kind}"
        items.append(entity)
    return Page(items, rows[size - 1][0] if len(rows) > size else None)


def history(
    index: ReadIndex, kind: str, ident: str, cursor: str | None = None, limit: int | None = None
) -> Page:
    """Every transaction that changed the entity, oldest first: height, index, hash, action."""
    prefix = f"history/{_kind(kind)}/{ident}/"
    size = _page_size(limit)
    rows = index.scan(prefix, cursor, size + 1)
    items = [history_step(index, key, value) for key, value in rows[:size]]
    return Page(items, rows[size - 1][0] if len(rows) > size else None)


def _ids(index: ReadIndex, prefix: str, limit: int) -> list[str]:
    return [key.rsplit("/", 1)[1] for key, _ in index.scan(prefix, None, limit)]


def _neighbours(
    records: Records,
    index: ReadIndex,
    kind: str,
    record: dict[str, Any],
    ident: str,
    want_down: bool = True,
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(up, down) references of one entity in the chain of custody.

    ``want_down`` False skips the downward scans (a node reached going up only links up: a
    cycle above a payment would otherwise read every entitlement of its period to be ignored).
    """
    up: list[tuple[str, str]] = []
    down: list[tuple[str, str]] = []
    cap = MAX_TRACE_NODES
    if kind == "allocation":
        up.append((record["source_kind"], record["source"]))
    if kind in ("fund", "allocation") and want_down:
        down += [("allocation", i) for i in _ids(index, f"allocation/source/{ident}/", cap)]
        down += [("program", i) for i in _ids(index, f"program/allocation/{ident}/", cap)]
    if kind == "program":
        up += [("allocation", alloc) for alloc, _ in record["funding"]]
    if kind == "program" and want_down:
        down += [("cycle", i) for i in _ids(index, f"cycle/program/{ident}/", cap)]
    if kind == "cycle":
        up.append(("program", record["program"]))
    if kind == "cycle" and want_down:
        down += [
            ("entitlement", i)
            for i in _ids(
                index, f"entitlement/program/{record['program']}/{record['period']}/", cap
            )
            if (records.get("entitlement", i) or {}).get("cycle") == ident
        ]
        down += [("batch", i) for i in _ids(index, f"batch/cycle/{ident}/", cap)]
    if kind == "entitlement":
        up += [("cycle", record["cycle"]), ("household", record["household"])]
        up += [("batch", a["batch"]) for a in record["attempts"] if "batch" in a]
    if kind == "household" and want_down:
        down += [("entitlement", i) for i in _ids(index, f"entitlement/household/{ident}/", cap)]
    if kind == "batch":
        up.append(("cycle", record["cycle"]))
    return up, down


def _oversight_rows(
    records: Records, index: ReadIndex, kind: str, prefixes: list[tuple[str, str]]
) -> tuple[list[tuple[str, str, dict[str, Any]]], bool]:
    """(about, id, record) of ``kind`` listed under each (about, index prefix); True if cut.

    One id reached through two prefixes is listed once, under the first.
    """
    rows: list[tuple[str, str, dict[str, Any]]] = []
    seen: set[str] = set()
    for about, prefix in prefixes:
        room = MAX_OVERSIGHT_ITEMS + 1 - len(rows)
        for ident in _ids(index, prefix, room):
            if ident in seen:
                continue
            seen.add(ident)
            record = records.get(kind, ident)
            assert record is not None, f"index key {prefix}{ident} points at a missing {kind}"
            rows.append((about, ident, record))
        if len(rows) > MAX_OVERSIGHT_ITEMS:
            return rows[:MAX_OVERSIGHT_ITEMS], True
    return rows, False


def _by_creation(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: (row["created_height"], row["id"]))


def household_oversight(records: Records, index: ReadIndex, hh_id: str) -> dict[str, Any]:
    """The household's pairings (帮扶), alerts (监测预警) and grievances, by the read-side index.

    Ids with their status (and level, category) only: the records themselves are one
    ``aid_get`` away, and nothing here is personal data. Grievances are the ones linked to the
    household or to one of its entitlements (a "not received" is about a payment).

    Sensitive reports (fraud, bribery, data leak) are never listed, nor counted: the ledger
    seals their links with their content, so it cannot tell which household one concerns, and
    the trace has no caller to check against (only the auditor and the assigned handler may open
    one, from the sealed content). A record that claims to be sensitive and links the household
    anyway is skipped as well. ``sensitive_grievances`` says so in every answer, the same way.
    """
    mine = f"household/{hh_id}"
    pairings, cut_p = _oversight_rows(
        records, index, "pairing", [(mine, f"pairing/household/{hh_id}/")]
    )
    alerts, cut_a = _oversight_rows(records, index, "alert", [(mine, f"alert/household/{hh_id}/")])
    about = [(mine, f"grievance/link/household/{hh_id}/")]
    for ent in _ids(index, f"entitlement/household/{hh_id}/", MAX_TRACE_NODES):
        about.append((f"entitlement/{ent}", f"grievance/link/entitlement/{ent}/"))
    grievances, cut_g = _oversight_rows(records, index, "grievance", about)
    return {
        "pairings": _by_creation(
            [
                {"id": i, "status": r["status"], "created_height": r["created_height"]}
                for _, i, r in pairings
            ]
        ),
        "alerts": _by_creation(
            [
                {
                    "id": i,
                    "status": r["status"],
                    "level": r["level"],
                    "overdue": r["overdue"],
                    "created_height": r["created_height"],
                }
                for _, i, r in alerts
            ]
        ),
        "grievances": _by_creation(
            [
                {
                    "id": i,
                    "status": r["status"],
                    "category": r["category"],
                    "overdue": r["overdue"],
                    "about": where,
                    "created_height": r["created_height"],
                }
                for where, i, r in grievances
                if not r["sensitive"]
            ]
        ),
        "sensitive_grievances": SENSITIVE_GRIEVANCES_OMITTED,
        "truncated": cut_p or cut_a or cut_g,
    }


def trace(records: Records, index: ReadIndex, kind: str, ident: str) -> dict[str, Any]:
    """The chain of custody around one entity, up to the fund document and down to payments.

    Breadth-first from the entity: upward links are followed from every node (so each payment
    shows its cycle, program, allocations and fund), downward links only from the start and
    below it. Every node carries its history (transaction hash and height of each step).
    Bounded by MAX_TRACE_NODES; ``truncated`` says when the bound cut it.

    Traced from a household, ``oversight`` lists its pairings, alerts and grievances
    (``household_oversight``); from anything else it is None. They are beside the chain of
    custody, not in it: no money moves through them.
    """
    start = (_kind(kind), ident)
    if records.get(kind, ident) is None:
        raise BadArgs(f"no {kind} {ident!r} to trace")
    seen: dict[tuple[str, str], str] = {start: "start"}
    queue: deque[tuple[str, str]] = deque([start])
    nodes, links, truncated = [], [], False
    while queue:
        ref = queue.popleft()
        record = records.get(*ref)
        if record is None:
            continue
        nodes.append(
            {
                "kind": ref[0],
                "id": ref[1],
                "record": record,
                "history": history(index, ref[0], ref[1], limit=MAX_PAGE).items,
            }
        )
        going_down = seen[ref] in ("start", "down")
        up, down = _neighbours(records, index, ref[0], record, ref[1], going_down)
        directions = [("up", up)] + ([("down", down)] if going_down else [])
        for direction, refs in directions:
            for nxt in refs:
                links.append([f"{ref[0]}/{ref[1]}", f"{nxt[0]}/{nxt[1]}", direction])
                if nxt in seen:
                    continue
                if len(seen) >= MAX_TRACE_NODES:
                    truncated = True
                    continue
                seen[nxt] = direction
                queue.append(nxt)
    oversight = household_oversight(records, index, ident) if kind == "household" else None
    return {
        "root": f"{kind}/{ident}",
        "nodes": nodes,
        "links": links,
        "truncated": truncated,
        "oversight": oversight,
    }
