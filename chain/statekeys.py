"""The world state's key layout, shared by the executor, the contract runtime and storage.

The state is a flat map from string keys to JSON values:

- ``acct/<address>``      -> ``{"balance": int, "nonce": int}``
- ``code/<address>``      -> ``{"source": str, "deployer": str, "height": int, "tx": str}``
- ``store/<address>/<k>`` -> any JSON value (a contract's own storage)
"""

from __future__ import annotations


def account_key(address: str) -> str:
    return "acct/" + address


def code_key(address: str) -> str:
    return "code/" + address


STORAGE_PREFIX = "store/"  # every contract storage key starts so


def storage_key(contract: str, key: str) -> str:
    return f"{STORAGE_PREFIX}{contract}/{key}"
