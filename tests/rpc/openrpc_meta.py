"""Validate documents against the vendored OpenRPC meta-schema, offline.

Vendored (Apache-2.0) from github.com/open-rpc/meta-schema tag 1.14.9 (``schema.json``) and
github.com/json-schema-tools/meta-schema tag 1.7.5 (``src/schema.json``), which the first refers
to for every JSON Schema it contains (``https://meta.json-schema.tools``). The source tree's
``openrpc`` version enum is a placeholder its release build fills from the spec's releases; it is
replaced here, in memory, by the 1.x versions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

HERE = Path(__file__).parent
OPENRPC_1X = ["1.0.0", "1.1.0", "1.2.0", "1.2.1", "1.2.2", "1.2.3", "1.2.4", "1.2.5", "1.2.6"]
OPENRPC_1X += ["1.3.0", "1.3.1", "1.3.2"]


def _load(name: str) -> dict[str, Any]:
    return dict(json.loads((HERE / name).read_text(encoding="utf-8")))


def meta_validator() -> Draft7Validator:
    """A validator for OpenRPC documents that resolves its references without a network."""
    openrpc = _load("openrpc_meta_schema.json")
    openrpc["properties"]["openrpc"]["enum"] = OPENRPC_1X
    json_schema = _load("json_schema_meta_schema.json")
    registry: Registry[Any] = Registry().with_resources(
        [
            ("https://meta.open-rpc.org/", Resource(openrpc, DRAFT7)),
            ("https://meta.json-schema.tools", Resource(json_schema, DRAFT7)),
            ("https://meta.json-schema.tools/", Resource(json_schema, DRAFT7)),
        ]
    )
    return Draft7Validator(openrpc, registry=registry)


def schema_validator(schema: dict[str, Any]) -> Draft7Validator:
    """A validator for one parameter's or result's schema (checked to be a valid schema)."""
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)
