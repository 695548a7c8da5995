"""Every loopback URL in the README and docs/ reaches a node of the cluster `make run` starts.

A newcomer pastes these examples against `make run`. Node i of that cluster answers JSON-RPC
on ``DEFAULT_BASE_PORT + 2i`` and talks to its validators on the odd port after it
(node/cluster.py), so an example that names an odd port, or another project's default,
gets a 404 or nothing. docs/ledger.md and docs/oversight.md named node0's validator port, and
docs/rpc.md CometBFT's 26657, until this test.
"""

from __future__ import annotations

import re
from pathlib import Path

from node.cluster import DEFAULT_BASE_PORT

ROOT = Path(__file__).resolve().parents[2]
URL = re.compile(r"\b(?:https?|wss?)://(?:127\.0\.0\.1|localhost):(\d+)")
NODES = re.compile(r"^NODES \?= (\d+)$", re.MULTILINE)


def make_run_rpc_ports() -> set[int]:
    nodes = NODES.search((ROOT / "Makefile").read_text())
    assert nodes is not None, "the Makefile no longer sets NODES"
    return {DEFAULT_BASE_PORT + 2 * i for i in range(int(nodes.group(1)))}


def test_every_loopback_url_in_the_docs_is_a_make_run_rpc_port() -> None:
    ports = make_run_rpc_ports()
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    wrong = [
        f"{doc.relative_to(ROOT)}:{number}: port {match.group(1)}"
        for doc in docs
        for number, line in enumerate(doc.read_text().splitlines(), 1)
        for match in URL.finditer(line)
        if int(match.group(1)) not in ports
    ]
    assert not wrong, f"not a JSON-RPC port of `make run` ({sorted(ports)}): {wrong}"


def test_the_docs_name_loopback_urls_at_all() -> None:
    """The check above passes vacuously if the pattern stops matching the docs' URLs."""
    readme = (ROOT / "README.md").read_text()
    assert any(int(m.group(1)) == DEFAULT_BASE_PORT for m in URL.finditer(readme))
