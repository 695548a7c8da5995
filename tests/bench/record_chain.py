"""Record a node's chain as a replay fixture: genesis, blocks in wire form, the results it kept.

    .venv/bin/python tests/bench/record_chain.py CLUSTER/genesis.json CLUSTER/node0/data/chain.db OUT.json.gz

``tests/node/test_executor_replay.py`` replays such a fixture through today's executor and
requires every receipt and state root to come out as recorded. The fixture in
``tests/node/data/`` was recorded from ``aidchain bench --workload both --txs 80`` on a fresh
4-node cluster (``aidchain cluster init``, ``cluster up``) when sealed data became an envelope.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

from chain.wire import block_to_wire
from storage.chainstore import ChainStore


def main() -> None:
    genesis_path, data, out = (Path(a) for a in sys.argv[1:4])
    store = ChainStore.open(data)
    blocks = []
    for height in range(1, store.height + 1):
        recorded = store.get_block_and_receipts(height)
        assert recorded is not None
        block, receipts = recorded
        following = store.get_header(height + 1)
        blocks.append(
            {
                "block": block_to_wire(block),
                "receipts": receipts,
                "state_root": following.state_root if following else store.state_root,
            }
        )
    doc = {"genesis": json.loads(genesis_path.read_text()), "blocks": blocks}
    store.close()
    out.write_bytes(gzip.compress(json.dumps(doc, sort_keys=True).encode(), mtime=0))
    print(f"{len(blocks)} blocks, {sum(len(b['block']['txs']) for b in blocks)} txs -> {out}")


if __name__ == "__main__":
    main()
