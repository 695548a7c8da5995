"""docs/transactions.md's test vector is what this code signs, byte for byte.

Integrators in other languages check their encoder and signer against that vector, so it
must not drift from ``chain.tx``: every line of it is recomputed here from the doc itself.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from chain.crypto import KeyPair, verify
from chain.tx import sign_tx, tx_from_dict

DOC = Path(__file__).resolve().parents[2] / "docs" / "transactions.md"


def vector() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### A test vector for other languages", 1)[1]
    block = re.search(r"```text\n(.*?)```", section, re.DOTALL)
    assert block is not None, "the test vector's block is gone from docs/transactions.md"
    rows = (re.split(r"\s{2,}", line, maxsplit=1) for line in block.group(1).splitlines())
    return {row[0]: row[1] for row in rows if len(row) == 2}  # "name  value" lines only


def test_the_documented_vector_is_what_the_code_signs() -> None:
    v = vector()
    key = KeyPair.from_seed_hex(v["secret key (seed)"])
    assert key.public_hex == v["public key"]
    tx = sign_tx(key, v["chain_id"], int(v["nonce"]), v["type"], json.loads(v["payload"]))
    assert tx.body_bytes == v["signed bytes"].encode("utf-8")
    assert tx.hash == v["hash"]
    assert tx.signature == v["signature"]
    assert verify(key.public_hex, v["signed bytes"].encode("utf-8"), v["signature"])
    size = re.search(r"signed bytes, size (\d+)", DOC.read_text(encoding="utf-8"))
    assert size is not None and int(size.group(1)) == len(tx.body_bytes)


def test_the_documented_transaction_is_accepted_as_sent() -> None:
    v = vector()
    sent = {**json.loads(v["signed bytes"]), "signature": v["signature"]}
    tx = tx_from_dict(sent)
    assert tx.hash == v["hash"] and tx.verify_signature()
    tampered = {**sent, "nonce": 1}
    assert not tx_from_dict(tampered).verify_signature()
