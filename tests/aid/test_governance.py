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
