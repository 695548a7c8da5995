"""Start a real validator that lies: the test-only entry point for Byzantine integration tests.

    python -m tests.byzantine_node --config node0/config.toml --mode equivocate

It builds the real ``Node`` from an ordinary config and wraps the transport port of its consensus
runner, so everything but what it sends is the production node. Production code knows nothing of
these modes: ``test_mode`` in a config is refused as an unknown key.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from consensus.byzantine import Equivocator, conflicting
from consensus.messages import Commit, Message, Prepare, encode_message, make_prepare
from consensus.runner import Transport
from node.config import NodeConfig, load_config
from node.daemon import Node, run_node, setup_logging

log = logging.getLogger("tests.byzantine_node")

HUGE_VIEW = 2**40
REPLAY_MEMORY = 50  # old, validly signed messages the garbage sender keeps for replays


class GarbageSender:
    """Honest messages plus junk, forged signatures, replays and a huge view number."""

    def __init__(self, inner: Transport, node: Node) -> None:
        self.inner = inner
        self.node = node
        self.raw_send: Callable[[str, dict[str, Any]], Any] = node.peers.send
        self._old: list[dict[str, Any]] = []

    def send(self, to: str, msg: Message) -> None:
        self.inner.send(to, msg)

    def broadcast(self, msg: Message) -> None:
        self.inner.broadcast(msg)
        junk = self._junk(msg)
        for peer in self.node.validators:
            if peer != self.node.key.public_hex:
                for item in junk:
                    self.raw_send(peer, item)

    def _junk(self, msg: Message) -> list[dict[str, Any]]:
        node = self.node
        encoded = encode_message(msg)
        forged = {**encoded, "signature": "0" * 128}
        junk: list[dict[str, Any]] = [
            {"k": "c", "m": {"type": "prepare", "view": "x"}},
            {"k": "c", "m": forged},
            {"k": "c", "m": os.urandom(16).hex()},
            {"k": "zzz", "payload": [1, 2, 3]},
            {"k": "txs", "txs": [{"garbage": True}, 7]},
            {"k": "sync_resp", "id": 12345, "blocks": [{"block": {}, "cert": {}}]},
        ]
        if isinstance(msg, (Prepare, Commit)):
            huge = make_prepare(node.key, node.chain_id, HUGE_VIEW, msg.height, msg.block_hash)
            junk.append({"k": "c", "m": encode_message(huge)})
        if self._old:
            junk.append({"k": "c", "m": self._old[0]})  # replay of an old, validly signed message
        if len(self._old) < REPLAY_MEMORY:
            self._old.append(encoded)
        return junk


def equivocator(node: Node) -> Equivocator:
    """The shared equivocator: the first half of the peers get the truth, the rest a twin."""
    peers = [v for v in node.validators if v != node.key.public_hex]
    fooled = frozenset(peers[len(peers) // 2 :])
    return Equivocator(
        node.runner.transport,
        node.validators,
        node.key.public_hex,
        twin=lambda msg: conflicting(msg, node.key, node.chain_id, lambda: os.urandom(32)),
        lie_to=fooled.__contains__,
    )


MODES: dict[str, Callable[[Node], Transport]] = {
    "equivocate": equivocator,
    "garbage": lambda node: GarbageSender(node.runner.transport, node),
}


def byzantine_node(mode: str) -> Callable[[NodeConfig], Node]:
    def make(cfg: NodeConfig) -> Node:
        node = Node(cfg)
        node.runner.transport = MODES[mode](node)
        log.warning("BYZANTINE TEST NODE: %s", mode)
        return node

    return make


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.byzantine_node")
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--mode", required=True, choices=sorted(MODES))
    args = parser.parse_args(argv)
    cfg = load_config(args.config)
    context = setup_logging(cfg)
    return asyncio.run(run_node(cfg, context, make_node=byzantine_node(args.mode)))


def command(config: Path, mode: str) -> list[str]:
    """The command line that starts a Byzantine node (for the cluster harness)."""
    return [sys.executable, "-m", "tests.byzantine_node", "--config", str(config), "--mode", mode]


if __name__ == "__main__":
    sys.exit(main())
