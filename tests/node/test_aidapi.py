"""The ledger's JSON-RPC reads (node/aidapi.py) over a real store that executed ledger blocks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from aid.errors import BadArgs, LedgerError, UnknownEntity
from aid.state import record_key
from chain.crypto import KeyPair
from chain.errors import BadSignature, MalformedTx, WrongChain
from chain.tx import make_transfer, sign_tx
from node.aidapi import AidRpc, is_ledger_member
from node.genesis import Genesis, validate_genesis
from storage.chainstore import ChainStore
from tests.aid.helpers import ADMINS, VILLAGE, ids, sealed_to, valid_id
from tests.node.test_executor_aid import (
    CHAIN,
    CLERK,
    Signer,
    commit,
    genesis,
    grant_txs,
    new_id,
    open_store,
)

T = TypeVar("T")


class Inline:
    """Runs a read in place (the node's QueryRunner runs it on a worker thread)."""

    def __init__(self) -> None:
        self.runs = 0

    async def run(self, fn: Callable[[], T]) -> T:
        self.runs += 1
        return fn()


class Api(AidRpc):
    def __init__(self, store: ChainStore, g: Genesis) -> None:
        self.runner = Inline()
        self._aid_setup(store, g, self.runner)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChainStore]:
    s = open_store(tmp_path / "db")
    yield s
    s.close()


@pytest.fixture
def sign() -> Signer:
    return Signer()


@pytest.fixture
def api(store: ChainStore) -> Api:
    return Api(store, validate_genesis(genesis()))


def apply_household(sign: Signer, n: int) -> Any:
    return sign(
        CLERK,
        "household.apply",
        village=VILLAGE,
        members=ids(valid_id(f"53010219900101{300 + n:03d}")),
        size=1,
        cause="illness",
        income_per_head_yuan=3200,
        sealed=sealed_to("office"),
    )


async def test_get_list_and_history_of_what_the_blocks_did(
    store: ChainStore, api: Api, sign: Signer
) -> None:

    grants = grant_txs(sign, CLERK, "village_registrar", VILLAGE, "village")
    commit(store, grants)
    applies = [apply_household(sign, n) for n in range(3)]
    commit(store, applies)
    households = sorted(new_id(t, "household") for t in applies)
    got = await api.aid_get("household", households[0])
    assert got is not None and got["kind"] == "household" and got["status"] == "applied"
    assert await api.aid_get("household", "0" * 20) is None
    with pytest.raises(BadArgs, match="kind must be one of"):
        await api.aid_get("idc", CLERK.public_hex)
    grants = await api.aid_get("grants", CLERK.public_hex)
    assert grants is not None and grants["grants"]  # role grants are a readable kind
    first = await api.aid_list("household", {"area": VILLAGE}, None, 2)
    rest = await api.aid_list("household", {"area": VILLAGE}, first["next_cursor"], 2)
    assert rest["next_cursor"] is None
    assert sorted(h["id"] for h in first["items"] + rest["items"]) == households
    by_status = await api.aid_list("household", {"status": "applied"}, None, None)
    assert len(by_status["items"]) == 3
    history = await api.aid_history("household", households[0], None, None)
    (step,) = history["items"]
    assert step["action"] == "household.apply" and step["height"] == 2
    assert step["tx"] in {t.hash for t in applies}
    trace = await api.aid_trace("household", households[0])
    assert trace["nodes"][0]["history"] == history["items"]
    assert api.runner.runs == 4  # lists and the trace ran on the query runner


async def test_check_simulates_without_keeping_anything(
    store: ChainStore, api: Api, sign: Signer
) -> None:
    commit(store, grant_txs(sign, CLERK, "village_registrar", VILLAGE, "village"))
    root, height = store.state_root, store.height
    tx = apply_household(sign, 7)
    out = await api.aid_check(tx.to_dict())
    assert out["ok"] is True and out["touched"][0].startswith("household/")
    assert set(out) == {"ok", "events", "touched", "gas_used"}
    assert (store.state_root, store.height) == (root, height)
    assert store.get_state(record_key("household", new_id(tx, "household"))) is None
    assert await api.aid_check(tx.to_dict()) == out  # the same answer: nothing was kept


async def test_check_refusals_are_ledger_errors_or_tx_errors(api: Api, sign: Signer) -> None:
    approve = sign(ADMINS["office"], "role.approve", proposal="f" * 20, as_admin_of="office")
    with pytest.raises(LedgerError) as info:
        await api.aid_check(approve.to_dict())
    assert isinstance(info.value, UnknownEntity)
    with pytest.raises(MalformedTx, match="aid transactions"):
        await api.aid_check(make_transfer(CLERK, CHAIN, 0, "cd" * 32, 1).to_dict())
    other = sign_tx(CLERK, "other-chain", 0, "aid", {"action": "x", "args": {}})
    with pytest.raises(WrongChain):
        await api.aid_check(other.to_dict())
    forged = {**approve.to_dict(), "signature": "00" * 64}
    with pytest.raises(BadSignature):
        await api.aid_check(forged)


async def test_policy_lists_orgs_without_their_admins(api: Api) -> None:
    out = await api.aid_policy()
    assert out["policy"]["governance_quorum"] == 3 and out["area_count"] == 8
    assert [o["id"] for o in out["orgs"]] == sorted(o["id"] for o in out["orgs"])
    fields = {"id", "kind", "name", "area", "enc_key", "enc_keys_retired"}
    assert all(set(o) == fields and o["enc_keys_retired"] == [] for o in out["orgs"])


def test_admins_and_grant_holders_are_known_accounts(store: ChainStore, sign: Signer) -> None:
    g = validate_genesis(genesis())
    stranger = KeyPair.from_seed(b"s" * 32)
    assert is_ledger_member(store, g, ADMINS["civil"].public_hex)
    assert not is_ledger_member(store, g, CLERK.public_hex)
    commit(store, grant_txs(sign, CLERK, "village_registrar", VILLAGE, "village"))
    assert is_ledger_member(store, g, CLERK.public_hex)
    assert not is_ledger_member(store, g, stranger.public_hex)
