"""Audit: export rows and trailer, bank statement reconciliation, deterministic samples."""

from __future__ import annotations

import csv
import hashlib
import io

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from aid import audit
from aid.audit import (
    EXPORT_COLUMNS,
    Payment,
    audit_row,
    check_export,
    csv_line,
    csv_text,
    draw_sample,
    paid_payment,
    parse_statement,
    place_action,
    population_hash,
    reconcile,
    trailer,
    utc_text,
)
from aid.cycles import entitlement_id
from aid.errors import AlreadyExists, BadArgs, WrongRole, WrongState
from aid.state import Records
from tests.aid.helpers import AUDITOR, COUNTY, VILLAGE, MemoryChain
from tests.aid.money import (
    BANKER,
    HANDLER,
    approved_cycle,
    batch,
    fund_program,
    households,
    money_chain,
    report,
)


def paid_chain() -> tuple[MemoryChain, str, str, str, list[str]]:
    chain = money_chain()
    program = fund_program(chain)
    hhs = households(chain, 3)
    cycle = approved_cycle(chain, program, hhs)
    batch_id = batch(chain, cycle, 3, 150_000)
    ents = [entitlement_id(program, "2026-11", hh) for hh in hhs]
    report(
        chain,
        batch_id,
        *(
            {"entitlement": e, "outcome": "paid", "amount": 50_000, "bank_ref": f"R{i}"}
            for i, e in enumerate(ents)
        ),
    )
    return chain, program, cycle, batch_id, ents


# --- rows and trailer ----------------------------------------------------------------------------


def test_utc_text_is_iso_with_milliseconds() -> None:
    assert utc_text(1_700_000_000_123) == "2023-11-14T22:13:20.123Z"


def test_place_action_follows_records_to_area_program_and_org() -> None:
    chain, program, _cycle, batch_id, ents = paid_chain()
    records = Records(chain)
    place = place_action(records, BANKER.public_hex, {"batch": batch_id, "results": []})
    assert (place.area, place.program, place.org) == (COUNTY, program, "bank")
    place = place_action(records, HANDLER.public_hex, {"entitlement": ents[0]})
    assert (place.area, place.program, place.org) == (VILLAGE, program, "office")
    place = place_action(records, HANDLER.public_hex, {"cycle": 5})  # garbage: placed nowhere
    assert place.area == "" and place.program == ""


def test_a_row_has_the_au3_fields_and_a_refusal_reason() -> None:
    tx = {"sender": "ab" * 32, "type": "aid", "payload": {"action": "cycle.approve", "args": {}}}
    place = place_action(Records(MemoryChain()), "ab" * 32, {})
    row = audit_row(
        7, 2, utc_text(1_700_000_000_000), tx, "cd" * 32, {"ok": False, "error_type": "x"}, place
    )
    assert len(row) == len(EXPORT_COLUMNS)
    assert row[3] == "cycle.approve" and row[8] == "refused:x" and row[0] == "7"


def test_the_trailer_proves_the_body_and_catches_an_edit() -> None:
    body = ("#aidchain-audit,area=1\n" + csv_line(EXPORT_COLUMNS) + csv_line(["1"] * 10)).encode()
    digest = hashlib.sha256(body).hexdigest()
    data = body + trailer(9, 1, digest).encode()
    check = check_export(data)
    assert check.intact and (check.height, check.rows) == (9, 1)
    tampered = data.replace(b"1,1,1", b"1,2,1", 1)
    assert not check_export(tampered).intact
    with pytest.raises(BadArgs, match="trailer"):
        check_export(body)


# --- reconciliation ------------------------------------------------------------------------------


def test_reconcile_lists_every_kind_of_mismatch() -> None:
    ledger = [Payment("e1", "R1", 100), Payment("e2", "R2", 200), Payment("e3", "R3", 300)]
    statement = [
        Payment("e1", "R1", 100),  # fine
        Payment("e2", "R2", 250),  # amount differs
        Payment("e4", "R4", 400),  # not paid on the ledger
        Payment("e4", "R4", 400),  # listed twice
        # e3 missing from the statement
    ]
    kinds = [(m.kind, m.entitlement) for m in reconcile(ledger, statement)]
    assert kinds == [
        ("amount_differs", "e2"),
        ("listed_twice", "e4"),
        ("on_statement_not_paid", "e4"),
        ("paid_not_on_statement", "e3"),
    ]
    assert reconcile(ledger, ledger) == []
    refs = reconcile([Payment("e1", "R1", 100)], [Payment("e1", "X", 100)])
    assert [m.kind for m in refs] == ["bank_ref_differs"]


def test_parse_statement_needs_its_columns_and_whole_fen() -> None:
    text = "entitlement,bank_ref,amount_fen,date\ne1,R1,100,2026-11-03\n"
    assert parse_statement(text) == [Payment("e1", "R1", 100)]
    with pytest.raises(BadArgs, match="amount_fen"):
        parse_statement("entitlement,bank_ref\ne1,R1\n")
    with pytest.raises(BadArgs, match="line 2"):
        parse_statement("entitlement,bank_ref,amount_fen\ne1,R1,1.5\n")


def test_the_ledgers_paid_payments_reconcile_with_a_true_statement() -> None:
    chain, _, _, batch_id, ents = paid_chain()
    records = Records(chain)
    paid = [p for e in ents if (p := paid_payment(e, records.need("entitlement", e), batch_id))]
    assert len(paid) == 3
    statement = [Payment(p.entitlement, p.bank_ref, p.amount_fen) for p in paid]
    assert reconcile(paid, statement) == []
    assert [m.kind for m in reconcile(paid, statement[:2])] == ["paid_not_on_statement"]


# --- samples -------------------------------------------------------------------------------------


@given(st.lists(st.text(min_size=1, max_size=8), unique=True, max_size=60), st.integers(0, 70))
def test_draw_is_deterministic_distinct_and_order_free(pop: list[str], n: int) -> None:
    seed = "ab" * 32
    picks = draw_sample(seed, pop, n)
    assert picks == draw_sample(seed, list(reversed(pop)), n)
    assert len(picks) == min(n, len(pop)) and len(set(picks)) == len(picks)
    assert set(picks) <= set(pop)


def test_another_seed_draws_another_sample() -> None:
    pop = [f"e{i:03d}" for i in range(200)]
    assert draw_sample("00" * 32, pop, 10) != draw_sample("01" * 32, pop, 10)


def test_sample_declared_then_each_check_recorded_once() -> None:
    chain, _, cycle, _, ents = paid_chain()
    chain.act(AUDITOR, "audit.sample", cycle=cycle, n=2, purpose="2026 annual audit")
    sample_id = chain.last_id("sample")
    sample = Records(chain).need("sample", sample_id)
    assert sample["population_hash"] == population_hash(ents)
    assert sample["seed_height"] == chain.height  # the block after the one that recorded it
    evidence = "ee" * 32
    args = {"sample": sample_id, "entitlement": ents[0], "evidence": evidence}
    with pytest.raises(WrongState, match="wait"):  # runs in the seed block itself
        chain.act(AUDITOR, "sample.verify", result="received", **args)
    with pytest.raises(WrongRole):
        chain.act(HANDLER, "audit.sample", cycle=cycle, n=2, purpose="x")
    chain.act(AUDITOR, "sample.verify", result="not_received", **args)
    with pytest.raises(AlreadyExists):
        chain.act(AUDITOR, "sample.verify", result="received", **args)
    assert Records(chain).need("sample", sample_id)["checks"] == 1


def test_record_export_once_per_file_hash() -> None:
    chain = money_chain()
    args = {"scope": {"area": COUNTY, "from": "2026-01-01"}, "height": 3, "rows": 10}
    chain.act(AUDITOR, "audit.record_export", file_hash="aa" * 32, **args)
    record = Records(chain).need("export", "aa" * 32)
    assert record["scope"] == {"area": COUNTY, "from": "2026-01-01"} and record["rows"] == 10
    with pytest.raises(AlreadyExists):
        chain.act(AUDITOR, "audit.record_export", file_hash="aa" * 32, **args)
    with pytest.raises(BadArgs, match="not yet committed"):
        chain.act(AUDITOR, "audit.record_export", file_hash="bb" * 32, **{**args, "height": 10**6})
    with pytest.raises(BadArgs, match="scope"):
        chain.act(
            AUDITOR, "audit.record_export", file_hash="bb" * 32, **{**args, "scope": {"x": "1"}}
        )


# --- placement: the fast loop places like the plain one ------------------------------------------

RECORDS = {
    ("program", "p1"): {"area": "530102000000"},
    ("program", "p2"): {"area": "530102001000"},
    ("cycle", "c1"): {"program": "p1"},
    ("batch", "b1"): {"program": "p2"},
    ("entitlement", "e1"): {"household": "h1", "program": "p2"},
    ("household", "h1"): {"village": "530102001001"},
    ("fund", "f1"): {"area": "530102002000"},
    ("allocation", "a1"): {"area": "530102003000"},
    ("alert", "x1"): {"area": "530102001002"},
    ("grants", "s1"): {"grants": [["handler", "530102001000", "town"], ["auditor", COUNTY, "cty"]]},
}
IDS = st.sampled_from(["p1", "p2", "c1", "b1", "e1", "h1", "f1", "a1", "x1", "zz", "", 7, None])
ARG_NAMES = st.sampled_from(
    [arg for arg, _ in audit._ARG_ENTITIES] + ["village", "area", "as_admin_of", "other"]
)
LINKS = st.lists(
    st.fixed_dictionaries(
        {"kind": st.sampled_from(["household", "alert", "fund", "x"]), "id": IDS}
    ),
    max_size=2,
)
ARGS = st.one_of(
    st.dictionaries(ARG_NAMES, IDS, max_size=5),
    st.dictionaries(st.just("links"), LINKS, max_size=1),
    st.none(),
    st.lists(IDS, max_size=2),
)


def plain_place(placer: audit.Placer, sender: str, args: object) -> audit.Placement:
    """``Placer.place`` as first written: every entity argument tried in order."""
    area = (
        audit._text_arg(args, "village")
        or audit._text_arg(args, "area")
        or audit._linked_area(placer, args)
    )
    program = ""
    for arg, kind in audit._ARG_ENTITIES:
        ident = audit._text_arg(args, arg)
        if ident is None:
            continue
        found_area, found_program = placer.entity(kind, ident)
        area = area or found_area
        program = program or found_program
        if area and program:
            break
    org = audit._text_arg(args, "as_admin_of") or ""
    if not org:
        grants = placer._grants(sender)
        covering = [g for g in grants if area and area.startswith(g[0])]
        org = (covering or grants or [("", "")])[0][1]
    return audit.Placement(area, program, org)


@given(sender=st.sampled_from(["s1", "s2"]), args=ARGS)
@example(sender="s1", args={"cycle": "c1", "entitlement": "e1"})
@example(sender="s2", args={"program": "p2", "source": "f1", "batch": "zz"})
@settings(max_examples=300)
def test_placement_matches_the_plain_loop(sender: str, args: object) -> None:
    def placer() -> audit.Placer:
        return audit.Placer(lambda kind, ident: RECORDS.get((kind, ident)))

    assert placer().place(sender, args) == plain_place(placer(), sender, args)


FIELD = st.one_of(
    st.sampled_from(["", "ok", "a,b", 'say "hi"', "x\ny", "x\ry", "\0", " lead", "tail ", "村"]),
    st.text(max_size=8),
)


@given(st.lists(st.lists(FIELD, min_size=1, max_size=10), max_size=6))
@example([[""], ["", ""], ["a", ""]])
def test_csv_text_is_what_csv_writer_writes(rows: list[list[str]]) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    assert csv_text(rows) == out.getvalue()
