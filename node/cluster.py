"""Local multi-node clusters for development and tests: ``cluster init`` and ``cluster up``.

``init`` writes everything a set of validators needs (genesis, per-node config and key, funded
test accounts, and ``cluster.json`` for tools); ``up`` runs each node as its own OS process and
supervises them until Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aid import demo_county
from chain import limits
from chain.crypto import KeyPair
from chain.errors import ConfigError
from chain.keyfile import load_key, save_key
from node.aidclient import write_enc_key, write_registry_key
from node.config import render_config
from storage.db import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, make_private_dir, write_private_file

log = logging.getLogger(__name__)

DEFAULT_BASE_PORT = 26600
DEFAULT_BALANCE = 10**13  # fen per funded test account
READY_TIMEOUT_S = 60.0
READY_POLL_S = 0.2  # between node_status probes while waiting for a cluster to come up
SUPERVISE_POLL_S = 0.5  # how often `cluster up` looks for exited nodes
MAX_RESTARTS_PER_NODE = 5  # `cluster up --restart` gives up on a node that keeps dying
STOP_GRACE_S = 10.0  # SIGTERM, then this long for a clean shutdown, then SIGKILL

# The ledger's policy on a local cluster, in seconds of block time, so a demo's whole history
# (public notices, approval stages) plays out in a minute or two. A real network uses days
# (aid.policy.Policy's defaults); `cluster init --notice-period-s ...` overrides these.
LOCAL_AID_POLICY = {
    "governance_quorum": 3,
    "notice_period_s": 20,
    "stage_deadline_s": 600,
    "proposal_ttl_s": 600,
    "idle_fund_age_s": 3_600,
    # oversight: a demo shows overdue visits and escalated alerts within its minute or two
    "visit_cadence_s": 60,
    "visit_cadence_dibao_s": 60,
    "visit_cadence_wubao_s": 60,
    "visit_cadence_tekun_s": 60,
    "visit_cadence_disabled_s": 60,
    "visit_cadence_monitored_s": 60,
    "alert_deadline_yellow_s": 30,
    "alert_deadline_orange_s": 30,
    "alert_deadline_red_s": 30,
    "grievance_deadline_s": 600,
    "payment_deadline_s": 600,
}
# The organisations of a local cluster: (id, kind, name). The first four run the validators.
AID_ORGS = (
    ("fin", "finance", "青山县财政局 (fictional finance bureau)"),
    ("office", "poverty_office", "青山县乡村振兴局 (fictional poverty-alleviation office)"),
    ("bank", "bank", "青山农商银行 (fictional agent bank)"),
    ("audit", "auditor", "青山县审计局 (fictional audit office)"),
    ("civil", "civil_affairs", "青山县民政局 (fictional civil affairs bureau)"),
    ("village", "village_committee", "青山县村委会联合会 (fictional village committees)"),
)
VALIDATOR_AGENCIES = tuple(org_id for org_id, _, _ in AID_ORGS[:4])


def free_ports(count: int) -> list[int]:
    """Distinct ports the OS reports free right now on 127.0.0.1."""
    socks, ports = [], []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def init_cluster(
    directory: str | Path,
    *,
    nodes: int = 4,
    base_port: int = DEFAULT_BASE_PORT,
    accounts: int = 10,
    force: bool = False,
    chain_id: str | None = None,
    consensus: dict[str, Any] | None = None,
    block_gas_limit: int = limits.DEFAULT_BLOCK_GAS_LIMIT,
    aid_policy: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Write a local cluster into ``directory``; ``base_port=0`` picks free ports now.

    The genesis also carries the ledger's ``aid`` section (the demo county's areas, the six
    organisations with funded accounts as admins, ``aid_policy`` over ``LOCAL_AID_POLICY``),
    and ``aid/`` holds the registry key and each organisation's encryption key (0600).
    """
    if nodes < 4:
        raise ConfigError("a cluster needs at least 4 nodes (n = 3f+1 with f >= 1)")
    root = _fresh_root(Path(directory), force)
    ports = (
        free_ports(2 * nodes) if base_port == 0 else list(range(base_port, base_port + 2 * nodes))
    )
    keys = [KeyPair.generate() for _ in range(nodes)]
    # every organisation's admin is a funded account: at least one account per organisation
    acct_keys = [KeyPair.generate() for _ in range(max(accounts, len(AID_ORGS)))]
    aid_section, aid_files = _write_aid_keys(root, acct_keys, aid_policy or {})
    chain_id = chain_id or f"aidchain-local-{os.urandom(4).hex()}"
    genesis = _genesis(chain_id, keys, acct_keys, block_gas_limit, aid_section)
    write_private_file(root / "genesis.json", json.dumps(genesis, indent=2) + "\n")
    node_entries = [_write_node(root, i, keys, ports, consensus or {}) for i in range(len(keys))]
    account_paths = _write_accounts(root, acct_keys)
    manifest = {
        "chain_id": chain_id,
        "nodes": node_entries,
        "accounts": account_paths,
        "aid": {**aid_files, "admins": {org: account_paths[i] for i, org in enumerate(_org_ids())}},
    }
    write_private_file(root / "cluster.json", json.dumps(manifest, indent=2) + "\n")
    return manifest


def _fresh_root(root: Path, force: bool) -> Path:
    """An empty private cluster directory; an existing non-empty one only with ``force``."""
    if root.exists() and any(root.iterdir()):
        if not force:
            raise ConfigError(f"{root} exists and is not empty; use --force to overwrite it")
        shutil.rmtree(root)
    make_private_dir(root)
    make_private_dir(root / "accounts")
    return root


def _genesis(
    chain_id: str,
    keys: list[KeyPair],
    acct_keys: list[KeyPair],
    block_gas_limit: int,
    aid_section: dict[str, Any],
) -> dict[str, Any]:
    return {
        "chain_id": chain_id,
        "time": int(time.time() * 1000),
        "validators": [
            {"id": k.public_hex, "name": _validator_name(i)} for i, k in enumerate(keys)
        ],
        "accounts": {k.public_hex: DEFAULT_BALANCE for k in acct_keys},
        "block_gas_limit": block_gas_limit,
        "aid": aid_section,
    }


def _write_node(
    root: Path, i: int, keys: list[KeyPair], ports: list[int], consensus: dict[str, Any]
) -> dict[str, Any]:
    """Write ``node<i>/`` (key and config, every other validator as a peer); its manifest entry."""
    rpc_port, p2p_port = ports[2 * i], ports[2 * i + 1]
    folder = root / f"node{i}"
    folder.mkdir(mode=PRIVATE_DIR_MODE)
    save_key(folder / "node.key", keys[i])
    peers = [
        {"id": other.public_hex, "url": f"ws://127.0.0.1:{ports[2 * j + 1]}/p2p"}
        for j, other in enumerate(keys)
        if j != i
    ]
    sections: dict[str, dict[str, Any]] = {
        "node": {
            "name": f"node{i}",
            "key_file": "node.key",
            "data_dir": "data",
            "genesis": "../genesis.json",
            "log_level": "INFO",
        },
        "rpc": {"host": "127.0.0.1", "port": rpc_port},
        "p2p": {"host": "127.0.0.1", "port": p2p_port},
    }
    if consensus:
        sections["consensus"] = dict(consensus)
    write_private_file(folder / "config.toml", render_config(sections, peers))
    return {
        "id": keys[i].public_hex,
        "name": f"node{i}",
        "rpc_url": f"http://127.0.0.1:{rpc_port}/",
        "p2p_url": f"ws://127.0.0.1:{p2p_port}/p2p",
        "config": f"node{i}/config.toml",
    }


def _write_accounts(root: Path, acct_keys: list[KeyPair]) -> list[str]:
    """Save each funded test account's key; their paths relative to ``root``."""
    paths = []
    for j, key in enumerate(acct_keys):
        rel = f"accounts/acct{j}.key"
        save_key(root / rel, key)
        paths.append(rel)
    return paths


def _org_ids() -> list[str]:
    return [org_id for org_id, _, _ in AID_ORGS]


def _validator_name(i: int) -> str:
    """node0..3 run for the four validator agencies; more nodes are plain ``node<i>``."""
    return f"node{i}-{VALIDATOR_AGENCIES[i]}" if i < len(VALIDATOR_AGENCIES) else f"node{i}"


def _write_aid_keys(
    root: Path, acct_keys: list[KeyPair], policy: dict[str, int]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Generate the registry key and one X25519 pair per organisation into ``root/aid``.

    Returns the genesis ``aid`` section (public keys only) and the paths for ``cluster.json``.
    The private files are 0600 in a 0700 directory, like node keys: whoever reads them reads
    every household's personal data.
    """
    make_private_dir(root / "aid")
    write_registry_key(root / "aid" / "registry.key")
    orgs, enc_keys = [], {}
    for i, (org_id, kind, name) in enumerate(AID_ORGS):
        rel = f"aid/{org_id}.enc.key"
        enc_keys[org_id] = rel
        orgs.append(
            {
                "id": org_id,
                "kind": kind,
                "name": name,
                "area": demo_county.COUNTY_CODE,
                "admins": [acct_keys[i].public_hex],
                "enc_key": write_enc_key(root / rel),
            }
        )
    section = {
        "policy": {**LOCAL_AID_POLICY, **policy},
        "areas": demo_county.demo_county(households=0).areas,
        "orgs": orgs,
    }
    return section, {"registry_key": "aid/registry.key", "enc_keys": enc_keys}


@dataclass(frozen=True, slots=True)
class ClusterInfo:
    root: Path
    manifest: dict[str, Any]

    @property
    def rpc_urls(self) -> list[str]:
        return [n["rpc_url"] for n in self.manifest["nodes"]]

    def account_keys(self) -> list[KeyPair]:
        return [load_key(self.root / p) for p in self.manifest["accounts"]]

    def aid_paths(self) -> dict[str, Any]:
        """The ledger key files of ``cluster.json`` (absolute paths); a ConfigError if absent."""
        aid = self.manifest.get("aid")
        if not isinstance(aid, dict):
            raise ConfigError(f"{self.root} has no ledger keys; re-run `aidchain cluster init`")
        return {
            "registry_key": self.root / aid["registry_key"],
            "enc_keys": {org: self.root / p for org, p in aid["enc_keys"].items()},
            "admins": {org: self.root / p for org, p in aid["admins"].items()},
        }


def load_cluster(directory: str | Path) -> ClusterInfo:
    root = Path(directory)
    try:
        manifest = json.loads((root / "cluster.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{root} holds no readable cluster.json ({exc}); run `aidchain cluster init`"
        ) from None
    return ClusterInfo(root, manifest)


def node_command(config: Path) -> list[str]:
    return [sys.executable, "-m", "cli", "node", "start", "--config", str(config)]


async def wait_ready(urls: list[str], timeout_s: float = READY_TIMEOUT_S) -> None:
    """Wait until every URL answers ``node_status``."""
    from rpc.client import RpcClient, RpcError, RpcTransportError

    deadline = time.monotonic() + timeout_s
    pending = list(urls)
    while pending:
        still = []
        for url in pending:
            try:
                async with RpcClient(url, timeout=2.0) as client:
                    await client.call("node_status")
            except (RpcError, RpcTransportError):
                still.append(url)
        pending = still
        if pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nodes not ready after {timeout_s:.0f}s: {', '.join(pending)}")
            await asyncio.sleep(READY_POLL_S)


class _Supervisor:
    """The node processes of one ``cluster up``: start, restart on failure, stop them all."""

    def __init__(self, info: ClusterInfo, restart: bool) -> None:
        self.info = info
        self.restart = restart
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.logs: dict[int, Any] = {}
        self.failures: dict[int, int] = {}

    def start(self, i: int) -> None:
        cfg = (self.info.root / self.info.manifest["nodes"][i]["config"]).resolve()
        fd = os.open(
            cfg.parent / "node.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE_MODE
        )
        self.logs[i] = os.fdopen(fd, "ab")
        self.procs[i] = subprocess.Popen(
            node_command(cfg),
            stdout=self.logs[i],
            stderr=subprocess.STDOUT,
            cwd=cfg.parent,
            start_new_session=True,
        )

    def check_exits(self) -> None:
        """Notice nodes that exited: restart them (up to a bound) or let them go."""
        for i, proc in list(self.procs.items()):
            code = proc.poll()
            if code is None:
                continue
            name = self.info.manifest["nodes"][i]["name"]
            print(f"{name} exited with code {code}", file=sys.stderr, flush=True)
            if self.restart and self.failures.get(i, 0) < MAX_RESTARTS_PER_NODE:
                self.failures[i] = self.failures.get(i, 0) + 1
                self.logs[i].close()
                self.start(i)
                print(f"{name} restarted", file=sys.stderr, flush=True)
            else:
                del self.procs[i]

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for f in self.logs.values():
            f.close()


def _announce(info: ClusterInfo, count: int, out: Any) -> None:
    print(f"aidchain cluster {info.manifest['chain_id']} is up ({count} nodes):", file=out)
    for entry in info.manifest["nodes"]:
        log_path = info.root / entry["name"] / "node.log"
        print(f"  {entry['name']}  {entry['rpc_url']}  (log: {log_path})", file=out)
    print("Press Ctrl-C to stop.", file=out, flush=True)


def up(directory: str | Path, *, restart: bool = False, out: Any = None) -> int:
    """Start every node of the cluster, print their RPC URLs, supervise; return an exit code."""
    info = load_cluster(directory)
    out = out or sys.stdout
    nodes = _Supervisor(info, restart)
    stopping = False

    def on_signal(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    old_int = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    try:
        for i in range(len(info.manifest["nodes"])):
            nodes.start(i)
        try:
            asyncio.run(wait_ready(info.rpc_urls))
        except TimeoutError as exc:
            print(f"error: {exc}; see node*/node.log under {info.root}", file=sys.stderr)
            return 1
        _announce(info, len(nodes.procs), out)
        while not stopping:
            time.sleep(SUPERVISE_POLL_S)
            if stopping:
                break
            nodes.check_exits()
            if not nodes.procs:
                print("all nodes have exited", file=sys.stderr)
                return 1
        print("stopping cluster ...", file=out, flush=True)
        return 0
    finally:
        nodes.stop_all()
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
