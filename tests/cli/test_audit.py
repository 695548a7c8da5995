"""``aidchain audit``: the Parquet sink of the export (runs where the parquet extra is installed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aid.audit import EXPORT_COLUMNS, csv_line, trailer
from cli.audit import ParquetSink

pq = pytest.importorskip("pyarrow.parquet", reason="the parquet extra is not installed")


def test_parquet_rows_are_typed_and_name_their_csv(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    sink = ParquetSink(str(path))
    head = ("#aidchain-audit,area=530102000000,height=9\n" + csv_line(EXPORT_COLUMNS)).encode()
    row = ["7", "2", "2026-01-14T02:11:09.204Z", "cycle.approve", "530102000000", "p", "a", "fin"]
    body = "".join(csv_line([*row, outcome, "ab" * 32]) for outcome in ("ok", "refused:x"))
    sink.feed(head)
    sink.feed(body.encode())
    sink.feed(trailer(9, 2, "cd" * 32).encode())
    sink.close(9, 2, "ef" * 32)
    table = pq.read_table(path)
    assert table.num_rows == 2 and table.column_names == list(EXPORT_COLUMNS)
    assert table.column("height").to_pylist() == [7, 7]
    assert table.column("outcome").to_pylist() == ["ok", "refused:x"]
    stamp = table.column("time_utc").to_pylist()[0]
    assert (stamp.year, stamp.microsecond, str(stamp.tzinfo)) == (2026, 204_000, "UTC")
    meta = pq.read_metadata(path).metadata
    assert meta[b"aidchain.csv_sha256"] == ("ef" * 32).encode() and meta[b"aidchain.rows"] == b"2"
