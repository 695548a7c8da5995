"""Organisations, roles and the one check every action makes: may this signer act here?

A role is granted to an account for an area; it covers that area and everything below it. Which
roles an organisation kind may hold is fixed here (a bank operator only at a bank, an auditor
only at an audit office), so governance cannot grant a role to the wrong kind of agency even with
a quorum. Organisation admins are not a role: they are listed per organisation in genesis and
are the only accounts that may propose or approve grants.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aid.areas import area_contains
from aid.errors import UnknownEntity, WrongArea, WrongRole
from aid.state import Records

ORG_KINDS = (
    "finance",  # 财政局
    "poverty_office",  # 乡村振兴局 / 扶贫办
    "civil_affairs",  # 民政
    "bank",  # 代理银行
    "auditor",  # 审计
    "village_committee",  # 村委会
)

# role -> organisation kinds that may hold it
ROLE_ORG_KINDS: dict[str, tuple[str, ...]] = {
    "allocator": ("finance",),
    "approver": ("finance", "poverty_office"),
    "registrar": ("poverty_office",),  # 受理员
    "handler": ("poverty_office",),  # 经办人
    "reviewer": ("poverty_office", "civil_affairs"),  # 审核员
    "dispatcher": ("poverty_office",),  # 派遣员
    "analyst": ("finance", "poverty_office", "auditor"),
    "cadre": ("poverty_office", "village_committee"),  # 帮扶责任人
    "village_registrar": ("village_committee",),
    "grid_worker": ("village_committee",),  # 网格员
    "bank_operator": ("bank",),
    "auditor": ("auditor",),
}
ROLES = tuple(sorted(ROLE_ORG_KINDS))


def grants_of(records: Records, account: str) -> list[list[str]]:
    """The account's grants as sorted ``[role, area, org]`` triples."""
    entry = records.peek("grants", account)  # read-only: the triples are copied here
    return [] if entry is None else [list(g) for g in entry["grants"]]


def set_grants(records: Records, account: str, grants: list[list[str]]) -> None:
    if grants:
        records.put("grants", account, {"grants": sorted(grants)})
    else:
        records.delete("grants", account)


def require_role(records: Records, account: str, role: str, area: str) -> list[str]:
    """The signer's grant of ``role`` covering ``area``; raises WrongRole / WrongArea.

    Returns the ``[role, area, org]`` grant used, so the action can record which organisation
    acted (maker ≠ checker compares accounts; reports group by organisation).
    """
    assert role in ROLE_ORG_KINDS, f"unknown role {role!r}"
    held = [g for g in grants_of(records, account) if g[0] == role]
    if not held:
        raise WrongRole(f"account {account[:12]}… does not hold the {role} role", role=role)
    for grant in held:
        if area_contains(grant[1], area):
            return grant
    scopes = ", ".join(g[1] for g in held)
    raise WrongArea(
        f"account {account[:12]}… is a {role} for {scopes}, which does not include area {area}",
        role=role,
        area=area,
    )


def org_of_admin(records: Records, account: str, org_id: str) -> dict[str, Any]:
    """The organisation ``org_id`` if ``account`` is one of its admins; raises otherwise."""
    org = records.need("org", org_id, "organisation")
    if account not in org["admins"]:
        raise WrongRole(f"account {account[:12]}… is not an admin of organisation {org_id}")
    return org


def require_org(records: Records, org_id: str) -> Mapping[str, Any]:
    """The organisation ``org_id``, READ-ONLY (``Records.peek``): callers check, never edit it."""
    org = records.peek("org", org_id)
    if org is None:
        raise UnknownEntity(f"no organisation {org_id!r} on this chain", entity="org")
    return org
