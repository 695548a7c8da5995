"""Give a LocalCluster's genesis a ledger (``aid``) section before its nodes start.

The seven organisations' admins are the cluster's first seven funded accounts; the
organisations' X25519 keys are made here and kept in memory, like the registry key, as a
consortium's agencies would keep them off chain. Areas: one county with one township and one
village, and a second county (with its own poverty-alleviation office, ``office2``) for
"another county" cases. Policy durations are seconds so notices pass in a test.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from nacl.public import PrivateKey

from chain.crypto import KeyPair
from tests.integration.harness import LocalCluster

PROVINCE, CITY = "530000000000", "530100000000"
COUNTY, TOWNSHIP, VILLAGE = "530102000000", "530102001000", "530102001001"
OTHER_COUNTY, OTHER_TOWNSHIP, OTHER_VILLAGE = "530103000000", "530103001000", "530103001001"
ORGS = (
    ("fin", "finance", COUNTY),
    ("office", "poverty_office", COUNTY),
    ("bank", "bank", COUNTY),
    ("audit", "auditor", COUNTY),
    ("civil", "civil_affairs", COUNTY),
    ("village", "village_committee", COUNTY),
    ("office2", "poverty_office", OTHER_COUNTY),
)
AREAS = (
    (PROVINCE, "Fictional Province"),
    (CITY, "Fictional City"),
    (COUNTY, "Qingshan County (fictional)"),
    (TOWNSHIP, "Qingshan Township (fictional)"),
    (VILLAGE, "Qingshan Village (fictional)"),
    (OTHER_COUNTY, "Lushan County (fictional)"),
    (OTHER_TOWNSHIP, "Lushan Township (fictional)"),
    (OTHER_VILLAGE, "Lushan Village (fictional)"),
)
TEST_POLICY = {
    "governance_quorum": 3,
    "notice_period_s": 2,
    "stage_deadline_s": 600,
    "proposal_ttl_s": 600,
    "idle_fund_age_s": 3_600,
}


@dataclass(frozen=True, slots=True)
class AidSetup:
    admins: dict[str, KeyPair]  # org id -> its admin account (funded)
    enc_keys: dict[str, str]  # org id -> X25519 private key hex (off chain)
    enc_public: dict[str, str]  # org id -> X25519 public key hex (in genesis)
    registry_key: bytes


def add_aid_genesis(cluster: LocalCluster, policy: dict[str, int] | None = None) -> AidSetup:
    """Write (or replace) the genesis ``aid`` section; call before ``start_all``."""
    path = cluster.info.root / "genesis.json"
    genesis: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    admins = {org: cluster.accounts[i] for i, (org, _, _) in enumerate(ORGS)}
    private = {org: PrivateKey.generate() for org, _, _ in ORGS}
    public = {org: bytes(key.public_key).hex() for org, key in private.items()}
    genesis["aid"] = {
        "policy": {**TEST_POLICY, **(policy or {})},
        "areas": [{"code": code, "name": name} for code, name in AREAS],
        "orgs": [
            {
                "id": org,
                "kind": kind,
                "name": f"{org} (fictional)",
                "area": area,
                "admins": [admins[org].public_hex],
                "enc_key": public[org],
            }
            for org, kind, area in ORGS
        ],
    }
    path.write_text(json.dumps(genesis, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return AidSetup(
        admins=admins,
        enc_keys={org: bytes(key).hex() for org, key in private.items()},
        enc_public=public,
        registry_key=os.urandom(32),
    )
