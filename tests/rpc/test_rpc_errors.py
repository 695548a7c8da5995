"""Every application reason maps to its own stable code, through the whole dispatcher."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aid import errors as AE
from aid.errors import LedgerError
from chain import errors as CE
from chain.crypto import KeyPair
from rpc import errors as E
from storage.errors import ReadSideOff
from tests.rpc.fakes import FakeNode, answer, transfer

EXPECTED = {
    "bad_signature": (CE.BadSignature, -32001),
    "bad_nonce": (CE.BadNonce, -32002),
    "wrong_chain": (CE.WrongChain, -32003),
    "mempool_full": (CE.MempoolFull, -32004),
    "malformed_tx": (CE.MalformedTx, -32005),
    "too_large": (CE.TooLarge, -32006),
    "not_found": (CE.NotFound, -32007),
    "contract_error": (CE.ContractError, -32008),
    "invalid_block": (CE.InvalidBlock, -32009),
    "malformed_json": (CE.EncodingError, -32010),
    "invalid_certificate": (CE.InvalidCertificate, -32011),
    "busy": (CE.Busy, -32012),
    "unknown_account": (CE.UnknownAccount, -32013),
    "ledger_refused": (LedgerError, -32020),
    "unknown_tx": (CE.UnknownTx, -32030),
    "not_yet_provable": (CE.NotYetProvable, -32031),
    "read_side_off": (ReadSideOff, -32032),
}


def test_codes_are_unique_and_in_the_application_range() -> None:
    codes = [*E.APP_ERROR_CODES.values(), E.SERVER_ERROR]
    assert len(set(codes)) == len(codes)
    assert all(-32099 <= c <= -32000 for c in codes)
    assert {r: c for r, (_, c) in EXPECTED.items()} == E.APP_ERROR_CODES


@pytest.mark.parametrize("reason", sorted(EXPECTED))
async def test_each_reason_maps_through_dispatch(reason: str) -> None:
    cls, code = EXPECTED[reason]
    assert cls.reason == reason
    node = FakeNode()
    node.fail_with = cls("human text", height=7)
    body = json.dumps({"jsonrpc": "2.0", "method": "node_status", "id": 5}).encode()
    resp = await answer(node, body, max_batch=10)
    assert resp == {
        "jsonrpc": "2.0",
        "id": 5,
        "error": {"code": code, "message": "human text", "data": {"reason": reason, "height": 7}},
    }


@pytest.mark.parametrize("cls", [CE.AidchainError, CE.KeyFileError, CE.ConfigError])
def test_reasons_without_a_code_fall_back_to_server_error(cls: type[CE.AidchainError]) -> None:
    obj = E.error_object(cls("x"))
    assert obj["code"] == E.SERVER_ERROR
    assert obj["data"] == {"reason": cls.reason}


@pytest.mark.parametrize(
    "cls", [AE.WrongRole, AE.OverBudget, AE.RuleFailed, AE.BadArgs, AE.AlreadyPaid, LedgerError]
)
async def test_every_ledger_refusal_is_one_code_with_its_own_reason(
    cls: type[LedgerError],
) -> None:
    node = FakeNode()
    node.fail_with = cls("the clerk's message", check="x")
    body = json.dumps({"jsonrpc": "2.0", "method": "aid_policy", "id": 1}).encode()
    resp = await answer(node, body, max_batch=10)
    assert resp["error"] == {
        "code": -32020,
        "message": "the clerk's message",
        "data": {"reason": cls.reason, "check": "x"},
    }


def test_a_family_is_inherited_not_matched_by_name() -> None:
    class Stray(CE.AidchainError):
        reason = "wrong_role"  # a ledger reason, but not a LedgerError

    assert E.error_object(Stray("x"))["code"] == E.SERVER_ERROR
    assert E.family_reason(AE.WrongArea("x")) == "ledger_refused"


def test_reason_cannot_be_overridden_by_data_and_non_json_data_is_dropped() -> None:
    obj = E.error_object(CE.BadNonce("n", reason="other", expected=3, blob=object()))
    assert obj["data"] == {"reason": "bad_nonce", "expected": 3}


async def test_real_tx_validation_errors_reach_the_client_with_their_reason() -> None:
    node = FakeNode(mempool_capacity=1)
    key = KeyPair.generate()

    async def send(tx: object) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "method": "tx_send", "params": [tx], "id": 1})
        resp = await answer(node, body.encode(), max_batch=10)
        assert isinstance(resp, dict)
        return resp

    bad_sig = transfer(key)
    bad_sig["signature"] = "00" * 64
    assert (await send(bad_sig))["error"]["data"]["reason"] == "bad_signature"
    assert (await send({"type": "transfer"}))["error"]["code"] == -32005
    assert (await send(transfer(key, chain_id="other")))["error"]["code"] == -32003
    gap = await send(transfer(key, nonce=4))
    assert gap["error"] == {
        "code": -32002,
        "message": "nonce 4 is not 0",
        "data": {"reason": "bad_nonce", "expected": 0},
    }
    assert "result" in await send(transfer(key))
    full = await send(transfer(key, nonce=1))
    assert full["error"]["data"] == {"reason": "mempool_full", "capacity": 1}
