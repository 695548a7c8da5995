"""GET /public/... and /audit/export.csv over a real aiohttp server around a fake node."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncGenerator
from typing import Any

from aid.errors import BadArgs
from node.publicapi import answer
from rpc.publichttp import render_csv
from tests.rpc.fakes import FakeNode, serve

ROWS = [
    {"masked_name": "张*三", "village": "530102001001", "program": "p1", "amount_fen": 5000},
    {"masked_name": "李*", "village": "530102001001", "program": "p1", "amount_fen": 7000},
]


class PublicNode(FakeNode):
    async def public_disclosure(self, village: str, period: str) -> dict[str, Any]:
        self._enter("public_disclosure", village, period)
        content = {"rows": ROWS, "count": 2}
        return answer({"village": village, "period": period, "disclosure": {"content": content}}, 7)

    async def public_programs(self, area: str) -> dict[str, Any]:
        self._enter("public_programs", area)
        if area == "999999999999":
            raise BadArgs("not a code")
        program = {"id": "p1", "name": "=HYPERLINK(1)", "budget_fen": 10}
        return answer({"area": area, "programs": [program], "truncated": False}, 8)

    async def audit_export(self, scope: dict[str, str]) -> Any:
        self._enter("audit_export", scope)
        return FakeStream()


class FakeStream:
    height = 9
    closed = False

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        for part in (b"#aidchain-audit\n", b"a,b\n", b"#end,height=9,rows=1,sha256=x\n"):
            yield part

    def close(self) -> None:
        FakeStream.closed = True


async def test_json_with_etag_height_and_a_304() -> None:
    node = PublicNode()
    async with serve(node) as client:
        resp = await client.get("/public/disclosure/530102001001/2026-01")
        assert resp.status == 200
        doc = await resp.json()
        etag = resp.headers["ETag"]
        assert etag == f'"{doc["content_hash"]}"' and resp.headers["X-Aidchain-Height"] == "7"
        assert resp.headers["Cache-Control"].startswith("public")
        again = await client.get(
            "/public/disclosure/530102001001/2026-01", headers={"If-None-Match": etag}
        )
        assert again.status == 304 and await again.read() == b""
        other = await client.get(
            "/public/disclosure/530102001001/2026-01", headers={"If-None-Match": '"nope"'}
        )
        assert other.status == 200
    assert node.calls[0] == ("public_disclosure", ("530102001001", "2026-01"))


async def test_csv_by_suffix_or_query_with_its_own_tag() -> None:
    async with serve(PublicNode()) as client:
        by_suffix = await client.get("/public/disclosure/530102001001/2026-01.csv")
        by_query = await client.get("/public/disclosure/530102001001/2026-01?format=csv")
        assert by_suffix.headers["Content-Type"].startswith("text/csv")
        body = await by_suffix.text()
        assert body == await by_query.text()
        assert by_suffix.headers["ETag"].endswith('-csv"')
        rows = list(csv.DictReader(io.StringIO(body)))
        assert [r["masked_name"] for r in rows] == ["张*三", "李*"]


async def test_formula_cells_are_defused_and_errors_are_400() -> None:
    async with serve(PublicNode()) as client:
        resp = await client.get("/public/programs/530102000000.csv")
        assert "'=HYPERLINK(1)" in await resp.text()
        bad = await client.get("/public/programs/999999999999")
        assert bad.status == 400
        assert (await bad.json())["error"]["data"]["reason"] == "bad_args"
        too_long = await client.get("/public/programs/" + "1" * 40)
        assert too_long.status == 400


async def test_audit_export_streams_and_releases_its_snapshot() -> None:
    node = PublicNode()
    async with serve(node) as client:
        resp = await client.get("/audit/export.csv?area=530102000000&from=2026-01-01")
        assert resp.status == 200 and resp.headers["X-Aidchain-Height"] == "9"
        assert (await resp.read()).endswith(b"sha256=x\n")
        assert FakeStream.closed
        bad = await client.get("/audit/export.csv?area=530102000000&secret=1")
        assert bad.status == 400
    assert node.calls[0] == ("audit_export", ({"area": "530102000000", "from": "2026-01-01"},))


def test_render_csv_of_an_empty_disclosure_is_a_header() -> None:
    assert render_csv("disclosure", {"disclosure": None}) == (
        b"masked_name,village,program,amount_fen\n"
    )
