"""The ledger's genesis section: areas, organisations and policy, validated before the chain starts.

``genesis.json`` carries ``"aid": {"policy": {...}, "areas": [...], "orgs": [...]}``. Validation
is strict (unknown keys, malformed codes, duplicate ids and admins outside the organisation list
are refused) because every node derives its first ledger state from it.
"""

from __future__ import annotations

from typing import Any

from aid.areas import area_level, area_parent
from aid.args import MAX_TEXT_CHARS
from aid.errors import BadArgs
from aid.policy import policy_from_dict
from aid.roles import ORG_KINDS
from aid.state import record_key
from chain.crypto import is_pubkey_hex

MAX_GENESIS_AREAS = 100_000
MAX_ORGS = 256
MAX_ADMINS_PER_ORG = 16
ORG_FIELDS = frozenset({"id", "kind", "name", "area", "admins", "enc_key"})
AREA_FIELDS = frozenset({"code", "name", "population"})
MAX_POPULATION = 2_000_000_000


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT_CHARS:
        raise BadArgs(f"{what} must be a non-empty string of at most {MAX_TEXT_CHARS} characters")
    return value


def _areas(doc: Any) -> tuple[dict[str, str], dict[str, int]]:
    """Names by code, and the optional resident populations (poverty incidence's denominator)."""
    if not isinstance(doc, list) or not 0 < len(doc) <= MAX_GENESIS_AREAS:
        raise BadArgs(f"aid.areas must be a list of 1..{MAX_GENESIS_AREAS} areas")
    names: dict[str, str] = {}
    populations: dict[str, int] = {}
    for item in doc:
        if not isinstance(item, dict) or not {"code", "name"} <= set(item) <= AREA_FIELDS:
            raise BadArgs('each of aid.areas must be {"code": ..., "name": ..., "population"?: n}')
        code = item["code"]
        area_level(code)
        if code in names:
            raise BadArgs(f"area {code} is listed twice")
        names[code] = _text(item["name"], f"name of area {code}")
        if "population" in item:
            population = item["population"]
            if type(population) is not int or not 0 < population <= MAX_POPULATION:
                raise BadArgs(f"population of area {code} must be an integer 1..{MAX_POPULATION}")
            populations[code] = population
    for code in names:
        parent = area_parent(code)
        if parent is not None and parent not in names and _has_ancestor(names, code):
            raise BadArgs(f"area {code}'s parent {parent} is missing from aid.areas")
    return names, populations


def _has_ancestor(names: dict[str, str], code: str) -> bool:
    """True if some listed area is above ``code`` (the tree may start below province level)."""
    parent = area_parent(code)
    while parent is not None:
        if parent in names:
            return True
        parent = area_parent(parent)
    return False


def _org(item: Any, areas: dict[str, str]) -> dict[str, Any]:
    if not isinstance(item, dict) or set(item) != ORG_FIELDS:
        raise BadArgs(f"each of aid.orgs must have exactly the fields {sorted(ORG_FIELDS)}")
    ident = _text(item["id"], "organisation id")
    if item["kind"] not in ORG_KINDS:
        raise BadArgs(f"organisation {ident}: kind must be one of {', '.join(ORG_KINDS)}")
    if not isinstance(item["area"], str) or item["area"] not in areas:
        raise BadArgs(f"organisation {ident}: area {item['area']!r} is not in aid.areas")
    admins = item["admins"]
    if (
        not isinstance(admins, list)
        or not 0 < len(admins) <= MAX_ADMINS_PER_ORG
        or not all(is_pubkey_hex(a) for a in admins)
        or len(set(admins)) != len(admins)
    ):
        raise BadArgs(f"organisation {ident}: admins must be 1..{MAX_ADMINS_PER_ORG} accounts")
    if not is_pubkey_hex(item["enc_key"]):
        raise BadArgs(f"organisation {ident}: enc_key must be a 64-hex X25519 public key")
    return {
        "id": ident,
        "kind": item["kind"],
        "name": _text(item["name"], f"organisation {ident}'s name"),
        "area": item["area"],
        "admins": sorted(admins),
        "enc_key": item["enc_key"],
    }


def genesis_records(doc: Any) -> dict[str, Any]:
    """The state writes (key -> value) of a validated ``aid`` genesis section."""
    if not isinstance(doc, dict) or set(doc) - {"policy", "areas", "orgs"}:
        raise BadArgs('genesis "aid" must be an object with policy, areas and orgs')
    areas, populations = _areas(doc.get("areas"))
    orgs_doc = doc.get("orgs")
    if not isinstance(orgs_doc, list) or not 0 < len(orgs_doc) <= MAX_ORGS:
        raise BadArgs(f"aid.orgs must be a list of 1..{MAX_ORGS} organisations")
    orgs = [_org(item, areas) for item in orgs_doc]
    if len({o["id"] for o in orgs}) != len(orgs):
        raise BadArgs("organisation ids must be unique")
    policy = policy_from_dict(doc.get("policy", {}), len(orgs))
    writes: dict[str, Any] = {record_key("policy", "current"): policy.to_dict()}
    for code in sorted(areas):
        record: dict[str, Any] = {"name": areas[code]}
        if code in populations:
            record["population"] = populations[code]
        writes[record_key("area", code)] = record
    for org in orgs:
        writes[record_key("org", org["id"])] = org
    return writes
