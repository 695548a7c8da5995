"""Granting and revoking roles: k-of-n organisation admins, never a single agency.

An admin of any organisation proposes a change (grant or revoke one role, for one account, in one
area, on behalf of one organisation); admins of other organisations approve it; when admins of
``policy.governance_quorum`` distinct organisations have approved (the proposer's organisation
counts), the change takes effect in the same transaction. A proposal expires after
``policy.proposal_ttl_s`` of block time.
"""

from __future__ import annotations

from aid.areas import area_contains
from aid.context import Action
from aid.errors import AlreadyExists, NotAllowed, UnknownEntity, WrongRole, WrongState
from aid.policy import current_policy
from aid.roles import ROLE_ORG_KINDS, ROLES, grants_of, org_of_admin, require_org, set_grants
from aid.state import Records


def _admin_org(records: Records, account: str, org_id: str) -> str:
    org_of_admin(records, account, org_id)
    return org_id


def role_propose(act: Action) -> None:
    a = act.args
    account = a.account("account")
    role = a.choice("role", ROLES)
    area = a.area("area")
    org_id = a.text("org")
    change = a.choice("change", ("grant", "revoke"))
    via = a.text("as_admin_of")
    a.done()
    records = act.records
    org = require_org(records, org_id)
    if org["kind"] not in ROLE_ORG_KINDS[role]:
        raise NotAllowed(
            f"a {org['kind']} organisation cannot hold the {role} role "
            f"(allowed: {', '.join(ROLE_ORG_KINDS[role])})"
        )
    if not area_contains(org["area"], area):
        raise NotAllowed(f"area {area} is outside organisation {org_id}'s area {org['area']}")
    grant = [role, area, org_id]
    held = grant in grants_of(records, account)
    if change == "grant" and held:
        raise AlreadyExists(f"account {account[:12]}… already holds {role} in {area} for {org_id}")
    if change == "revoke" and not held:
        raise UnknownEntity(f"account {account[:12]}… holds no {role} in {area} for {org_id}")
    approver_org = _admin_org(records, act.ctx.signer, via)
    ident = act.ctx.new_id("proposal")
    proposal = {
        "account": account,
        "role": role,
        "area": area,
        "org": org_id,
        "change": change,
        "proposer": act.ctx.signer,
        "approvals": [[approver_org, act.ctx.signer]],
        "status": "open",
        "expires_ms": act.ctx.time_ms + current_policy(records).proposal_ttl_s * 1000,
    }
    act.touch("proposal", ident)
    act.emit("role_proposed", proposal=ident, account=account, role=role, area=area, org=org_id)
    _settle(act, ident, proposal)


def role_approve(act: Action) -> None:
    a = act.args
    ident = a.text("proposal")
    via = a.text("as_admin_of")
    a.done()
    records = act.records
    proposal = records.need("proposal", ident, "governance proposal")
    if proposal["status"] != "open":
        raise WrongState(f"proposal {ident} is {proposal['status']}, not open")
    if act.ctx.time_ms > proposal["expires_ms"]:
        raise WrongState(f"proposal {ident} expired; propose the change again")
    approver_org = _admin_org(records, act.ctx.signer, via)
    if any(org == approver_org for org, _ in proposal["approvals"]):
        raise WrongRole(f"organisation {approver_org} has already approved proposal {ident}")
    proposal["approvals"].append([approver_org, act.ctx.signer])
    act.touch("proposal", ident)
    act.emit("role_approved", proposal=ident, org=approver_org, by=act.ctx.signer)
    _settle(act, ident, proposal)


def _settle(act: Action, ident: str, proposal: dict[str, object]) -> None:
    """Store the proposal; apply it once enough distinct organisations approved."""
    records = act.records
    approvals = proposal["approvals"]
    assert isinstance(approvals, list)
    if len(approvals) >= current_policy(records).governance_quorum:
        account = str(proposal["account"])
        grant = [str(proposal["role"]), str(proposal["area"]), str(proposal["org"])]
        grants = [g for g in grants_of(records, account) if g != grant]
        if proposal["change"] == "grant":
            grants.append(grant)
        set_grants(records, account, grants)
        proposal["status"] = "applied"
        act.touch("grants", account)
        act.emit(
            "role_changed",
            proposal=ident,
            account=account,
            change=proposal["change"],
            role=grant[0],
            area=grant[1],
            org=grant[2],
        )
    records.put("proposal", ident, dict(proposal))
