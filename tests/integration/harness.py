"""Real multi-process clusters on free loopback ports, always cleaned up."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chain.crypto import KeyPair
from chain.tx import Transaction, make_transfer
from node.cluster import init_cluster, load_cluster, node_command, wait_ready
from rpc.client import RpcClient, RpcError
from tests.byzantine_node import command as byzantine_command

REPO = Path(__file__).resolve().parents[2]


def aidchain(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """Run the aidchain CLI as a user would, capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
    )


FAST_CONSENSUS = {
    "view_change_timeout_ms": 1500,
    "request_timeout_ms": 2000,
    "retransmit_ms": 300,
    "checkpoint_interval": 8,
}


class LocalCluster:
    def __init__(
        self, root: Path, *, nodes: int = 4, consensus: dict[str, Any] | None = None
    ) -> None:
        self.root = root
        self.manifest = init_cluster(
            root / "cluster",
            nodes=nodes,
            base_port=0,
            consensus={**FAST_CONSENSUS, **(consensus or {})},
        )
        self.info = load_cluster(root / "cluster")
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.byzantine: dict[int, str] = {}  # node -> mode it is started in (tests.byzantine_node)
        self.accounts: list[KeyPair] = self.info.account_keys()

    @property
    def chain_id(self) -> str:
        return str(self.manifest["chain_id"])

    @property
    def n(self) -> int:
        return len(self.manifest["nodes"])

    def url(self, i: int) -> str:
        return str(self.manifest["nodes"][i]["rpc_url"])

    def node_id(self, i: int) -> str:
        return str(self.manifest["nodes"][i]["id"])

    def index_of(self, node_id: str) -> int:
        return [n["id"] for n in self.manifest["nodes"]].index(node_id)

    def config_path(self, i: int) -> Path:
        return self.info.root / self.manifest["nodes"][i]["config"]

    def data_dir(self, i: int) -> Path:
        return self.config_path(i).parent / "data"

    def set_node_option(self, i: int, key: str, value: str) -> None:
        path = self.config_path(i)
        text = path.read_text()
        text = text.replace("[node]\n", f'[node]\n{key} = "{value}"\n', 1)
        path.write_text(text)

    def make_byzantine(self, i: int, mode: str) -> None:
        """Start node ``i`` through the test-only launcher, lying in ``mode``, from now on."""
        self.byzantine[i] = mode

    def start(self, i: int) -> None:
        log = open(self.config_path(i).parent / "node.log", "ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        mode = self.byzantine.get(i)
        cmd = (
            node_command(self.config_path(i))
            if mode is None
            else byzantine_command(self.config_path(i), mode)
        )
        self.procs[i] = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env=env,
            start_new_session=True,
        )
        log.close()

    async def start_all(self) -> None:
        for i in range(self.n):
            self.start(i)
        await wait_ready([self.url(i) for i in range(self.n)], timeout_s=60)
        await self.wait_connected(range(self.n))

    async def wait_connected(self, nodes: Sequence[int], timeout: float = 30) -> None:
        """Wait until every node in ``nodes`` has an outbound connection to every other node."""
        deadline = time.monotonic() + timeout
        while True:
            counts = [(await self.status(i))["peers_connected"] for i in nodes]
            if min(counts) >= self.n - 1:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"peers not all connected after {timeout}s: {counts}")
            await asyncio.sleep(0.1)

    async def restart(self, i: int) -> None:
        self.start(i)
        await wait_ready([self.url(i)], timeout_s=60)

    def kill(self, i: int, sig: int = signal.SIGKILL) -> int:
        proc = self.procs.pop(i)
        if proc.poll() is None:
            proc.send_signal(sig)
        try:
            return proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    def alive(self, i: int) -> bool:
        return i in self.procs and self.procs[i].poll() is None

    def stop_all(self) -> None:
        for i in list(self.procs):
            self.kill(i, signal.SIGTERM)

    def log_tail(self, i: int, lines: int = 40) -> str:
        path = self.config_path(i).parent / "node.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    # --- RPC helpers ------------------------------------------------------------------------------
    async def call(self, i: int, method: str, /, **params: Any) -> Any:
        async with RpcClient(self.url(i), timeout=10) as c:
            return await c.call(method, **params)

    async def status(self, i: int) -> dict[str, Any]:
        return dict(await self.call(i, "node_status"))

    async def primary_index(self, among: Sequence[int] | None = None) -> int:
        for i in among if among is not None else range(self.n):
            if self.alive(i):
                return self.index_of((await self.status(i))["primary"])
        raise RuntimeError("no live node")

    async def wait_height(self, nodes: Sequence[int], height: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            heights = [(await self.status(i))["height"] for i in nodes]
            if min(heights) >= height:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"heights {heights} did not reach {height} in {timeout}s")
            await asyncio.sleep(0.2)

    async def block_hashes(self, i: int, upto: int) -> list[str]:
        async with RpcClient(self.url(i), timeout=30) as c:
            blocks = await c.batch([("block_get", {"height": h}) for h in range(upto + 1)])
        return [b["hash"] for b in blocks]  # type: ignore[index]

    async def all_blocks(self, i: int, upto: int) -> list[dict[str, Any]]:
        async with RpcClient(self.url(i), timeout=30) as c:
            out = []
            for start in range(0, upto + 1, 200):
                out += await c.batch(
                    [("block_get", {"height": h}) for h in range(start, min(upto, start + 199) + 1)]
                )
        return out  # type: ignore[return-value]


def sign_batch(
    key: KeyPair, chain_id: str, start_nonce: int, count: int, to: str, amount: int = 1
) -> list[Transaction]:
    return [make_transfer(key, chain_id, start_nonce + k, to, amount) for k in range(count)]


async def submit_all(
    url: str, txs: Sequence[Transaction], batch: int = 50, pause: float = 0.0
) -> list[str]:
    """Submit with pipelined nonces, retrying on mempool_full; returns hashes; raises on other errors."""
    hashes: list[str] = []
    async with RpcClient(url, timeout=30) as c:
        for start in range(0, len(txs), batch):
            chunk = list(txs[start : start + batch])
            for _ in range(200):
                results = await c.batch([("tx_send", {"tx": t.to_dict()}) for t in chunk])
                retry = []
                for t, r in zip(chunk, results, strict=True):
                    if isinstance(r, RpcError):
                        if r.reason == "mempool_full":
                            retry.append(t)
                        else:
                            raise r
                    else:
                        hashes.append(r["hash"])
                if not retry:
                    break
                chunk = retry
                await asyncio.sleep(0.1)
            if pause:
                await asyncio.sleep(pause)  # steady load rather than one burst
    return hashes


async def wait_committed(
    cluster: LocalCluster, i: int, hashes: Sequence[str], timeout: float = 90
) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    found: dict[str, dict[str, Any]] = {}
    async with RpcClient(cluster.url(i), timeout=30) as c:
        while True:
            missing = [h for h in hashes if h not in found]
            if not missing:
                return found
            for start in range(0, len(missing), 200):
                part = missing[start : start + 200]
                res = await c.batch([("tx_get", {"hash": h}) for h in part])
                for h, r in zip(part, res, strict=True):
                    if isinstance(r, dict) and r.get("status") == "committed":
                        found[h] = r
            if len(found) == len(hashes):
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{len(hashes) - len(found)} of {len(hashes)} txs not committed on node {i}"
                )
            await asyncio.sleep(0.3)


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=1)[:2000]
