"""``cluster init``'s ledger section: organisations, policy, and the private key files."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from nacl.public import PrivateKey

from aid.demo_county import COUNTY_CODE, demo_county
from aid.genesis import genesis_records
from aid.identity import seal, unseal
from chain.keyfile import load_key
from cli.main import main
from node.cluster import AID_ORGS, LOCAL_AID_POLICY, init_cluster, load_cluster


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def cluster(tmp_path: Path) -> Path:
    init_cluster(tmp_path / "c", base_port=0, accounts=2)
    return tmp_path / "c"


def test_genesis_aid_section_is_valid_and_names_the_six_organisations(cluster: Path) -> None:
    genesis = json.loads((cluster / "genesis.json").read_text())
    section = genesis["aid"]
    genesis_records(section)  # the ledger's own validation accepts it
    assert [o["id"] for o in section["orgs"]] == [org_id for org_id, _, _ in AID_ORGS]
    kinds = {o["kind"] for o in section["orgs"]}
    assert kinds == {
        "finance",
        "poverty_office",
        "bank",
        "auditor",
        "civil_affairs",
        "village_committee",
    }
    assert all(o["area"] == COUNTY_CODE for o in section["orgs"])
    assert section["areas"] == demo_county(households=0).areas
    assert section["policy"] == LOCAL_AID_POLICY
    names = [v["name"] for v in genesis["validators"]]
    assert names == ["node0-fin", "node1-office", "node2-bank", "node3-audit"]


def test_each_organisation_admin_is_a_distinct_funded_account(cluster: Path) -> None:
    """Fewer --accounts than organisations still gives every organisation its own admin."""
    genesis = json.loads((cluster / "genesis.json").read_text())
    info = load_cluster(cluster)
    admins = [o["admins"][0] for o in genesis["aid"]["orgs"]]
    assert len(set(admins)) == len(AID_ORGS)
    assert all(genesis["accounts"][a] > 0 for a in admins)
    for org, path in info.aid_paths()["admins"].items():
        entry = next(o for o in genesis["aid"]["orgs"] if o["id"] == org)
        assert load_key(path).public_hex == entry["admins"][0]


def test_key_files_are_private_and_match_genesis(cluster: Path) -> None:
    genesis = json.loads((cluster / "genesis.json").read_text())
    paths = load_cluster(cluster).aid_paths()
    assert mode(cluster / "aid") == 0o700
    registry = paths["registry_key"]
    assert mode(registry) == 0o600
    assert len(bytes.fromhex(registry.read_text().strip())) == 32
    for org in genesis["aid"]["orgs"]:
        path = paths["enc_keys"][org["id"]]
        assert mode(path) == 0o600
        private = path.read_text().strip()
        assert bytes(PrivateKey(bytes.fromhex(private)).public_key).hex() == org["enc_key"]
        sealed = seal({org["id"]: org["enc_key"]}, {"name": "王伟"})
        assert unseal(private, sealed, org["id"]) == {"name": "王伟"}


def test_two_clusters_get_different_keys(tmp_path: Path) -> None:
    init_cluster(tmp_path / "a", base_port=0)
    init_cluster(tmp_path / "b", base_port=0)
    a, b = (load_cluster(tmp_path / n).aid_paths()["registry_key"].read_text() for n in "ab")
    assert a != b


def test_policy_options_of_cluster_init(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["cluster", "init", "--dir", str(tmp_path / "c"), "--base-port", "0"]
    argv += ["--notice-period-s", "5", "--stage-deadline-s", "120", "--proposal-ttl-s", "90"]
    assert main(argv) == 0
    policy = json.loads((tmp_path / "c" / "genesis.json").read_text())["aid"]["policy"]
    assert policy["notice_period_s"] == 5
    assert policy["stage_deadline_s"] == 120
    assert policy["proposal_ttl_s"] == 90
    assert policy["idle_fund_age_s"] == LOCAL_AID_POLICY["idle_fund_age_s"]
    assert "aid/" in capsys.readouterr().out


def test_a_zero_policy_duration_is_refused_by_the_ledger_validation(tmp_path: Path) -> None:
    init_cluster(tmp_path / "c", base_port=0, aid_policy={"notice_period_s": 0})
    section = json.loads((tmp_path / "c" / "genesis.json").read_text())["aid"]
    with pytest.raises(Exception, match="notice_period_s"):
        genesis_records(section)
