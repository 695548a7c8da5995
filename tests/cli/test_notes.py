"""``aidchain aid seal`` / ``open``: notes sealed to organisations and opened with their keys."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from aid.identity import unseal
from cli import notes
from cli.common import CliError, UsageError
from cli.main import build_parser
from node.cluster import init_cluster
from tests.cli.test_aid import FakeNode, serve

NOTE = "村干部虚报了两户的收入 (a fictional report)"


@pytest.fixture
def cluster(tmp_path: Path) -> Path:
    init_cluster(tmp_path / "c", base_port=0, accounts=1)
    return tmp_path / "c"


def enc_key(cluster: Path, org: str) -> str:
    return (cluster / "aid" / f"{org}.enc.key").read_text().strip()


async def test_a_note_opens_only_for_the_organisations_named(cluster: Path) -> None:
    node = FakeNode(refuse=False, cluster=cluster)
    async for url in serve(node):
        envelope = await notes.sealed_note(url, NOTE, ["audit", "office"])
        with pytest.raises(UsageError, match="no organisation ghost"):
            await notes.sealed_note(url, NOTE, ["audit", "ghost"])
        with pytest.raises(UsageError, match="1 to 8 organisations"):
            await notes.sealed_note(url, NOTE, [f"o{i}" for i in range(9)])
        with pytest.raises(UsageError, match="too long"):
            await notes.sealed_note(url, "x" * 7_000, ["audit"])
    assert sorted(envelope["keys"]) == ["audit", "office"]
    assert unseal(enc_key(cluster, "audit"), envelope, "audit") == NOTE
    assert NOTE not in str(envelope)
    with pytest.raises(KeyError):
        unseal(enc_key(cluster, "bank"), envelope, "bank")


def opening(cluster: Path, url: str, org: str, kind: str = "grievance") -> argparse.Namespace:
    key = str(cluster / "aid" / f"{org}.enc.key")
    return build_parser().parse_args(["aid", "open", kind, "g1", "--enc-key", key, "--rpc", url])


async def test_open_reads_a_grievance_for_its_readers_only(cluster: Path) -> None:
    node = FakeNode(refuse=False, cluster=cluster)
    async for url in serve(node):
        envelope = await notes.sealed_note(url, NOTE, ["audit", "office"])
        record: dict[str, Any] = {"kind": "grievance", "id": "g1", "content_sealed": envelope}
        node.household = record  # FakeNode answers every aid_get with this record
        out = await notes.opened_note(opening(cluster, url, "audit"))
        assert (out["content"], out["org"], out["field"]) == (NOTE, "audit", "content_sealed")
        with pytest.raises(CliError, match="not sealed to bank"):
            await notes.opened_note(opening(cluster, url, "bank"))
        with pytest.raises(CliError, match="no sealed note"):
            await notes.opened_note(opening(cluster, url, "audit", "visit"))
        node.household = None
        with pytest.raises(CliError, match="no grievance g1"):
            await notes.opened_note(opening(cluster, url, "audit"))


def test_households_are_opened_by_household_show_not_open() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["aid", "open", "household", "h1", "--enc-key", "k"])
