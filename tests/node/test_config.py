from __future__ import annotations

import json
from pathlib import Path

import pytest

from chain import limits
from chain.block import EMPTY_ROOT, Block, BlockHeader, CommitCertificate, tx_root
from chain.crypto import KeyPair
from chain.encoding import canonical
from chain.errors import ConfigError
from chain.keyfile import load_key
from chain.tx import sign_tx
from consensus.messages import make_pre_prepare
from node.cluster import init_cluster, load_cluster
from node.config import load_config
from node.genesis import load_genesis, validate_genesis
from node.ports import consensus_envelope
from node.statesync import sync_item


def test_cluster_init_layout(tmp_path: Path) -> None:
    root = tmp_path / "c"
    manifest = init_cluster(root, nodes=4, base_port=0, accounts=3)
    assert set(manifest) == {"chain_id", "nodes", "accounts", "aid"}
    # at least one funded account per ledger organisation (its admin): 6 > the 3 asked for
    assert len(manifest["nodes"]) == 4 and len(manifest["accounts"]) == 6
    genesis = load_genesis(root / "genesis.json")
    assert genesis.chain_id == manifest["chain_id"]
    ports = set()
    for i, entry in enumerate(manifest["nodes"]):
        cfg = load_config(root / entry["config"])
        assert cfg.name == f"node{i}"
        assert cfg.data_dir == (root / f"node{i}" / "data").resolve()
        assert cfg.genesis == (root / "genesis.json").resolve()
        assert load_key(cfg.key_file).public_hex == entry["id"] == genesis.validators[i]
        assert entry["rpc_url"] == f"http://127.0.0.1:{cfg.rpc.port}/"
        assert {p.id for p in cfg.peers} == set(genesis.validators) - {entry["id"]}
        ports |= {cfg.rpc.port, cfg.p2p.port}
    assert len(ports) == 8
    info = load_cluster(root)
    assert [k.public_hex for k in info.account_keys()] == list(genesis.doc["accounts"])


def test_cluster_init_fixed_ports_and_refuses_overwrite(tmp_path: Path) -> None:
    root = tmp_path / "c"
    manifest = init_cluster(root, base_port=31000)
    assert [n["rpc_url"] for n in manifest["nodes"]] == [
        f"http://127.0.0.1:{31000 + 2 * i}/" for i in range(4)
    ]
    with pytest.raises(ConfigError, match="--force"):
        init_cluster(root)
    again = init_cluster(root, force=True)
    assert again["chain_id"] != manifest["chain_id"]


def test_cluster_needs_four_nodes(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        init_cluster(tmp_path / "c", nodes=3)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[node]\ngenesis='g.json'\n[rpc]\nprot=1\n", "unknown key"),
        ("[node]\ngenesis='g.json'\n[rpc]\nport='80'\n", "type int"),
        ("[node]\ngenesis='g.json'\n[mempool]\nmax_txs=-1\n", "negative"),
        ("[node]\ngenesis='g.json'\n[extra]\n", "unknown section"),
        ("[rpc]\nport=1\n", "missing \\[node\\]"),
        # Byzantine modes live in tests/byzantine_node.py, never in a production config
        (
            "[node]\ngenesis='g.json'\ntest_mode='byzantine-equivocate'\n",
            "unknown key\\(s\\) in \\[node\\]: test_mode",
        ),
        ("[node]\ngenesis='g.json'\n[consensus]\nblock_max_txs=999999\n", "block_max_txs"),
        (
            "[node]\ngenesis='g.json'\n[consensus]\ntick_ms=50\nmax_tick_step_ms=10\n",
            "max_tick_step_ms must be >= tick_ms",
        ),
        ("[node]\ngenesis='g.json'\n[p2p]\nmax_message_bytes=4194304\n", "max_message_bytes"),
        ("[node\n", "invalid TOML"),
        ("[node]\ngenesis='g.json'\nstatus_log_s=-5\n", "status_log_s must be 0"),
        ("[node]\ngenesis='g.json'\nstatus_log_s=true\n", "status_log_s must be 0"),
        ("[node]\ngenesis='g.json'\nstatus_log_s=86401\n", "seconds up to 86400"),
        ("[node]\ngenesis='g.json'\n[[peers]]\nid='x'\nurl='ws://a'\n", "peers"),
    ],
)
def test_bad_configs_are_explained(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path, text))


def test_relative_paths_resolve_against_config_folder(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, "[node]\ngenesis='../g.json'\n[rpc]\nport=1234\n"))
    assert cfg.genesis == (tmp_path.parent / "g.json").resolve()
    assert cfg.key_file == (tmp_path / "node.key").resolve()
    assert cfg.rpc.port == 1234 and cfg.rpc.max_body_bytes == 1024 * 1024


@pytest.mark.parametrize(
    "mutate",
    [
        lambda g: g.pop("time"),
        lambda g: g.update(validators=g["validators"][:3]),
        lambda g: g["validators"].append(g["validators"][0]),
        lambda g: g["accounts"].update({"xyz": 1}),
        lambda g: g.update(chain_id=""),
    ],
)
def test_bad_genesis(tmp_path: Path, mutate) -> None:  # type: ignore[no-untyped-def]
    init_cluster(tmp_path / "c", base_port=0)
    doc = json.loads((tmp_path / "c" / "genesis.json").read_text())
    validate_genesis(doc)
    mutate(doc)
    with pytest.raises(ConfigError):
        validate_genesis(doc)


def test_example_config_is_valid() -> None:
    repo = Path(__file__).resolve().parents[2]
    cfg = load_config(repo / "configs" / "node.example.toml")
    assert cfg.name == "finance-bureau" and len(cfg.peers) == 1


@pytest.mark.parametrize(
    ("p2p", "message"),
    [
        ("max_message_bytes=16777215\nsend_queue_bytes=1000\n", "send_queue_bytes must be >="),
        ("max_message_bytes=1048576\n", "largest sync response"),
        ("inbox_bytes=1024\n", "inbox_bytes must be >="),
        ("send_queue=0\n", "send_queue must be >= 1"),
        ("handshake_timeout_ms=10\n", "handshake_timeout_ms"),
        ("max_pending_handshakes=4\nmax_pending_per_address=5\n", "max_pending_per_address"),
        ("max_pending_per_address=0\n", "max_pending_per_address"),
        ("send_timeout_ms=5\n", "send_timeout_ms"),
        ("sync_serve_blocks_per_s=0\n", "sync_serve_blocks_per_s"),
    ],
)
def test_p2p_limit_relations_are_checked_at_load(tmp_path: Path, p2p: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path, f"[node]\ngenesis='g.json'\n[p2p]\n{p2p}"))


def test_default_p2p_limits_hold_the_largest_legitimate_messages(tmp_path: Path) -> None:

    cfg = load_config(_write(tmp_path, "[node]\ngenesis='g.json'\n"))
    assert cfg.p2p.max_message_bytes >= limits.MAX_SYNC_RESPONSE_BYTES + limits.SYNC_ENVELOPE_BYTES
    assert cfg.p2p.max_message_bytes >= 2 * limits.MAX_BLOCK_BYTES
    assert cfg.p2p.send_queue_bytes >= cfg.p2p.max_message_bytes <= cfg.p2p.inbox_bytes


def test_a_full_block_fits_one_peer_message_as_pre_prepare_and_as_sync_response() -> None:
    """The relation config load enforces, checked against the worst block the protocol allows:
    transactions of MAX_TX_BYTES whose text is all backslashes (every byte escaped once more if
    a transaction travels as its canonical bytes inside a JSON string)."""

    key = KeyPair.from_seed(b"\x07" * 32)
    txs = []
    total = 0
    while True:
        source = "\\" * (limits.MAX_TX_BYTES // 2 - 600)
        tx = sign_tx(key, "c" * limits.MAX_CHAIN_ID_CHARS, len(txs), "deploy", {"source": source})
        size = len(canonical(tx.to_dict()))
        assert size <= limits.MAX_TX_BYTES
        if total + size > limits.MAX_BLOCK_BYTES:
            break
        txs.append(tx)
        total += size
    assert total > limits.MAX_BLOCK_BYTES - limits.MAX_TX_BYTES
    header = BlockHeader(
        1, "0" * 64, tx_root(txs), len(txs), "1" * 64, EMPTY_ROOT, 1, key.public_hex, 0
    )
    block = Block(header, tuple(txs))
    pre_prepare = canonical(consensus_envelope(make_pre_prepare(key, "c", 0, block)))
    assert len(pre_prepare) <= limits.DEFAULT_PEER_MAX_MESSAGE_BYTES
    validators = [KeyPair.from_seed(bytes([i]) * 32) for i in range(1, 101)]  # a large network
    cert = CommitCertificate(
        1, block.hash, 0, tuple((v.public_hex, "ab" * 64) for v in validators[:67])
    )
    response = canonical({"k": "sync_resp", "id": 2**53, "blocks": [sync_item(block, cert)]})
    assert len(response) <= limits.MAX_SYNC_RESPONSE_BYTES + limits.SYNC_ENVELOPE_BYTES
    as_strings = canonical([canonical(t.to_dict()).decode() for t in txs])  # bytes-in-string form
    assert len(as_strings) <= limits.MAX_BLOCK_WIRE_BYTES


def test_max_tick_step_reaches_the_replica(tmp_path: Path) -> None:
    """The operator's [consensus] max_tick_step_ms is the one the replica's clock uses."""
    from node.daemon import Node

    init_cluster(tmp_path / "c", base_port=0)
    cfg_path = tmp_path / "c" / "node0" / "config.toml"
    cfg_path.write_text(cfg_path.read_text() + "\n[consensus]\nmax_tick_step_ms = 250\n")
    node = Node(load_config(cfg_path))
    try:
        assert node.consensus_config.max_tick_step_ms == 250
    finally:
        node._io.shutdown(wait=True)
        node.store.close()


def test_the_status_line_interval_defaults_to_a_minute_and_zero_turns_it_off(
    tmp_path: Path,
) -> None:
    assert load_config(_write(tmp_path, "[node]\ngenesis='g.json'\n")).status_log_s == 60
    off = load_config(_write(tmp_path, "[node]\ngenesis='g.json'\nstatus_log_s=0\n"))
    assert off.status_log_s == 0
