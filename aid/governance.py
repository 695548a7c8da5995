"""Governance: k-of-n organisation admins, never a single agency, change who may do what.

Two kinds of change go through the same proposal: granting or revoking one role (for one account,
in one area, on behalf of one organisation; ``role.propose``), and replacing an organisation's
X25519 encryption key (``org.rotate_key``, proposed only by an admin of that organisation, since
only it holds the new private key). Admins of other organisations approve with ``role.approve``;
when admins of ``policy.governance_quorum`` distinct organisations have approved (the proposer's
organisation counts), the change takes effect in the same transaction. A proposal expires after
``policy.proposal_ttl_s`` of block time.

A key rotation keeps the replaced keys on the organisation (``enc_keys_retired``): data sealed
before the rotation stays sealed to the old key and opens only with the old private key, which
the organisation keeps off chain; clients seal new data to the current key (``aid_policy``).
"""

from __future__ import annotations

from typing import Any

from aid.areas import area_contains
from aid.context import Action
from aid.errors import AlreadyExists, NotAllowed, UnknownEntity, WrongRole, WrongState
from aid.policy import current_policy
from aid.roles import ROLE_ORG_KINDS, ROLES, grants_of, org_of_admin, require_org, set_grants
from aid.state import Records

MAX_RETIRED_KEYS = 64  # replaced encryption keys an organisation keeps listed
ENC_KEY = "an X25519 public key: 64 lowercase hex characters"


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
    event = "key_rotation_approved" if proposal["change"] == "rotate_key" else "role_approved"
    act.emit(event, proposal=ident, org=approver_org, by=act.ctx.signer)
    _settle(act, ident, proposal)


def org_rotate_key(act: Action) -> None:
    """Propose replacing an organisation's encryption key; its own admin proposes."""
    a = act.args
    org_id = a.text("org")
    enc_key = a.hex64("enc_key", ENC_KEY)
    a.done()
    records = act.records
    org = org_of_admin(records, act.ctx.signer, org_id)
    retired = org.get("enc_keys_retired", [])
    if len(retired) >= MAX_RETIRED_KEYS:
        raise NotAllowed(f"organisation {org_id} has rotated its key {MAX_RETIRED_KEYS} times")
    if enc_key in [org["enc_key"], *(k["key"] for k in retired)]:
        raise NotAllowed(
            f"organisation {org_id} has used this encryption key before; generate a new key pair"
        )
    ident = act.ctx.new_id("proposal")
    proposal = {
        "change": "rotate_key",
        "org": org_id,
        "enc_key": enc_key,
        "replaces": org["enc_key"],
        "account": act.ctx.signer,  # the admin who asked: lists it under aid_list account=
        "role": None,
        "area": org["area"],
        "proposer": act.ctx.signer,
        "approvals": [[org_id, act.ctx.signer]],
        "status": "open",
        "expires_ms": act.ctx.time_ms + current_policy(records).proposal_ttl_s * 1000,
    }
    act.touch("proposal", ident)
    act.emit("key_rotation_proposed", proposal=ident, org=org_id, enc_key=enc_key)
    _settle(act, ident, proposal)


def _settle(act: Action, ident: str, proposal: dict[str, Any]) -> None:
    """Store the proposal; apply it once enough distinct organisations approved."""
    records = act.records
    if len(proposal["approvals"]) >= current_policy(records).governance_quorum:
        if proposal["change"] == "rotate_key":
            _apply_key(act, ident, proposal)
        else:
            _apply_role(act, ident, proposal)
        proposal["status"] = "applied"
    records.put("proposal", ident, dict(proposal))


def _apply_role(act: Action, ident: str, proposal: dict[str, Any]) -> None:
    records = act.records
    account = str(proposal["account"])
    grant = [str(proposal["role"]), str(proposal["area"]), str(proposal["org"])]
    grants = [g for g in grants_of(records, account) if g != grant]
    if proposal["change"] == "grant":
        grants.append(grant)
    set_grants(records, account, grants)
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


def _apply_key(act: Action, ident: str, proposal: dict[str, Any]) -> None:
    """The new key becomes current; the replaced one is listed as retired (old data needs it)."""
    records = act.records
    org_id = proposal["org"]
    org = records.need("org", org_id, "organisation")
    if org["enc_key"] != proposal["replaces"]:
        raise WrongState(
            f"organisation {org_id}'s key changed since proposal {ident}; propose the rotation again"
        )
    retired = org.get("enc_keys_retired", [])
    if len(retired) >= MAX_RETIRED_KEYS:
        raise NotAllowed(f"organisation {org_id} has rotated its key {MAX_RETIRED_KEYS} times")
    retired.append({"key": org["enc_key"], "retired_ms": act.ctx.time_ms, "height": act.ctx.height})
    org["enc_keys_retired"] = retired
    org["enc_key"] = proposal["enc_key"]
    records.put("org", org_id, org)
    act.touch("org", org_id)
    act.emit("org_key_rotated", proposal=ident, org=org_id, enc_key=org["enc_key"])
