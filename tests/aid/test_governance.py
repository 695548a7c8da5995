from __future__ import annotations

import pytest

from aid.errors import (
    AlreadyExists,
    BadArgs,
    NotAllowed,
    UnknownAction,
    UnknownEntity,
    WrongArea,
    WrongRole,
    WrongState,
)
from aid.reads import MAX_PAGE, get_entity, list_entities
from aid.roles import grants_of, require_role
from aid.state import Records
from tests.aid.helpers import ADMINS, COUNTY, OTHER_VILLAGE, VILLAGE, MemoryChain, key

CLERK = key("clerk")


def propose(chain: MemoryChain, admin: str = "fin", **over: str) -> str:
    args = {
        "account": CLERK.public_hex,
        "role": "registrar",
        "area": COUNTY,
        "org": "office",
        "change": "grant",
        "as_admin_of": admin,
        **over,
    }
    chain.act(ADMINS[admin], "role.propose", **args)
    return chain.last_id("proposal")


def test_a_grant_needs_admins_of_quorum_distinct_organisations() -> None:
    chain = MemoryChain()
    pid = propose(chain)
    chain.act(ADMINS["bank"], "role.approve", proposal=pid, as_admin_of="bank")
    assert grants_of(Records(chain), CLERK.public_hex) == []  # two of three so far
    out = chain.act(ADMINS["audit"], "role.approve", proposal=pid, as_admin_of="audit")
    assert [e["name"] for e in out.events] == ["role_approved", "role_changed"]
    assert grants_of(Records(chain), CLERK.public_hex) == [["registrar", COUNTY, "office"]]
    assert require_role(Records(chain), CLERK.public_hex, "registrar", VILLAGE)[2] == "office"


def test_one_organisation_cannot_approve_twice_or_alone() -> None:
    chain = MemoryChain()
    pid = propose(chain)
    with pytest.raises(WrongRole, match="already approved"):
        chain.act(ADMINS["fin"], "role.approve", proposal=pid, as_admin_of="fin")
    with pytest.raises(WrongRole, match="not an admin"):
        chain.act(CLERK, "role.approve", proposal=pid, as_admin_of="bank")
    with pytest.raises(WrongRole, match="not an admin"):
        chain.act(ADMINS["fin"], "role.approve", proposal=pid, as_admin_of="bank")


def test_roles_are_checked_against_organisation_kind_and_area() -> None:
    chain = MemoryChain()
    with pytest.raises(NotAllowed, match="cannot hold the bank_operator role"):
        propose(chain, role="bank_operator")
    with pytest.raises(NotAllowed, match="outside organisation office's area"):
        propose(chain, area=OTHER_VILLAGE)


def test_revoke_takes_the_role_away_and_requires_an_existing_grant() -> None:
    chain = MemoryChain()
    with pytest.raises(UnknownEntity, match="holds no registrar"):
        propose(chain, change="revoke")
    chain.grant(CLERK, "registrar", COUNTY, "office")
    with pytest.raises(AlreadyExists):
        propose(chain)
    pid = propose(chain, change="revoke")
    chain.act(ADMINS["office"], "role.approve", proposal=pid, as_admin_of="office")
    chain.act(ADMINS["bank"], "role.approve", proposal=pid, as_admin_of="bank")
    assert grants_of(Records(chain), CLERK.public_hex) == []


def test_applied_and_expired_proposals_take_no_more_approvals() -> None:
    chain = MemoryChain(proposal_ttl_s=60)
    pid = propose(chain)
    chain.time_ms += 61_000
    with pytest.raises(WrongState, match="expired"):
        chain.act(ADMINS["bank"], "role.approve", proposal=pid, as_admin_of="bank")
    applied = chain.grant(key("other"), "registrar", COUNTY, "office")
    with pytest.raises(WrongState, match="is applied, not open"):
        chain.act(ADMINS["bank"], "role.approve", proposal=applied, as_admin_of="bank")
    with pytest.raises(UnknownEntity):
        chain.act(ADMINS["bank"], "role.approve", proposal="nope", as_admin_of="bank")


def test_require_role_says_which_rule_failed() -> None:
    chain = MemoryChain()
    records = Records(chain)
    with pytest.raises(WrongRole, match="does not hold the registrar role"):
        require_role(records, CLERK.public_hex, "registrar", VILLAGE)
    chain.grant(CLERK, "registrar", VILLAGE, "office")
    with pytest.raises(WrongArea, match="does not include area 530102000000"):
        require_role(records, CLERK.public_hex, "registrar", COUNTY)


def test_bad_input_is_refused_and_changes_nothing() -> None:
    chain = MemoryChain()
    before = dict(chain.state)
    with pytest.raises(UnknownAction):
        chain.act(ADMINS["fin"], "role.steal", account=CLERK.public_hex)
    with pytest.raises(BadArgs, match="unknown arguments"):
        propose(chain, colour="red")
    with pytest.raises(BadArgs, match="role must be one of"):
        propose(chain, role="king")
    assert chain.state == before


# --- organisation key rotation ---------------------------------------------------------------------
NEW_KEY = "cd" * 32


def rotate(chain: MemoryChain, org: str = "office", enc_key: str = NEW_KEY) -> str:
    chain.act(ADMINS[org], "org.rotate_key", org=org, enc_key=enc_key)
    return chain.last_id("proposal")


def test_a_key_rotation_is_proposed_by_the_orgs_admin_and_applied_at_quorum() -> None:
    chain = MemoryChain()
    pid = rotate(chain)
    records = Records(chain)
    assert records.need("org", "office")["enc_key"] == "ab" * 32  # one organisation of three
    out = chain.act(ADMINS["fin"], "role.approve", proposal=pid, as_admin_of="fin")
    assert [e["name"] for e in out.events] == ["key_rotation_approved"]
    applied_at = chain.height
    out = chain.act(ADMINS["audit"], "role.approve", proposal=pid, as_admin_of="audit")
    assert [e["name"] for e in out.events] == ["key_rotation_approved", "org_key_rotated"]
    assert "org/office" in out.touched and f"proposal/{pid}" in out.touched
    org = records.need("org", "office")
    assert org["enc_key"] == NEW_KEY
    assert org["enc_keys_retired"] == [
        {"key": "ab" * 32, "retired_ms": chain.time_ms, "height": applied_at}
    ]
    assert records.need("proposal", pid)["status"] == "applied"
    assert grants_of(records, ADMINS["office"].public_hex) == []  # no role came with it


def test_only_the_orgs_own_admin_proposes_and_keys_are_never_reused() -> None:
    chain = MemoryChain()
    with pytest.raises(WrongRole, match="not an admin of organisation office"):
        chain.act(ADMINS["fin"], "org.rotate_key", org="office", enc_key=NEW_KEY)
    with pytest.raises(NotAllowed, match="used this encryption key before"):
        rotate(chain, enc_key="ab" * 32)
    with pytest.raises(BadArgs, match="X25519"):
        rotate(chain, enc_key="AB" * 32)
    with pytest.raises(UnknownEntity):
        chain.act(ADMINS["fin"], "org.rotate_key", org="nope", enc_key=NEW_KEY)
    pid = rotate(chain)
    for org in ("fin", "bank"):
        chain.act(ADMINS[org], "role.approve", proposal=pid, as_admin_of=org)
    with pytest.raises(NotAllowed, match="used this encryption key before"):
        rotate(chain, enc_key="ab" * 32)  # the retired key
    with pytest.raises(NotAllowed, match="used this encryption key before"):
        rotate(chain)  # the current one


def test_a_stale_rotation_is_refused_and_changes_nothing() -> None:
    chain = MemoryChain()
    first, second = rotate(chain), rotate(chain, enc_key="ef" * 32)
    for org in ("fin", "bank"):
        chain.act(ADMINS[org], "role.approve", proposal=first, as_admin_of=org)
    chain.act(ADMINS["fin"], "role.approve", proposal=second, as_admin_of="fin")
    before = dict(chain.state)
    with pytest.raises(WrongState, match="key changed since proposal"):
        chain.act(ADMINS["bank"], "role.approve", proposal=second, as_admin_of="bank")
    assert chain.state == before
    assert Records(chain).need("org", "office")["enc_key"] == NEW_KEY


# --- reading grants --------------------------------------------------------------------------------
def test_grants_are_listed_by_area_role_and_org() -> None:
    chain = MemoryChain()
    other = key("other")
    chain.grant(CLERK, "registrar", COUNTY, "office")
    chain.grant(CLERK, "reviewer", VILLAGE, "office")
    chain.grant(other, "village_registrar", VILLAGE, "village")
    records = Records(chain)

    def listed(**filters: str) -> list[str]:
        page = list_entities(records, chain, "grants", filters, limit=MAX_PAGE)
        return [e["id"] for e in page.items]

    clerk, oth = CLERK.public_hex, other.public_hex
    assert get_entity(records, "grants", clerk) == {
        "kind": "grants",
        "id": clerk,
        "grants": [["registrar", COUNTY, "office"], ["reviewer", VILLAGE, "office"]],
    }
    assert sorted(listed(area=VILLAGE)) == sorted([clerk, oth])
    assert listed(area=COUNTY).count(clerk) == 2  # once per area it holds a role in
    assert listed(role="registrar") == [clerk]
    assert listed(role="reviewer", area=VILLAGE) == [clerk]
    assert listed(org="village") == [oth]
    assert listed(area=OTHER_VILLAGE) == []
    pid = propose(chain, role="registrar", change="revoke")
    for org in ("office", "bank"):
        chain.act(ADMINS[org], "role.approve", proposal=pid, as_admin_of=org)
    assert listed(role="registrar") == []
    assert listed(role="reviewer") == [clerk]
