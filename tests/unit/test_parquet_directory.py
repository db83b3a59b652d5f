"""A directory of Parquet files is streamed like one file (`mlgate.data.dataset`): the same batches, so
the same profile and the same drift decisions as the file holding its parts end to end, and never the
whole directory in memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlgate.data.config import DriftSection, ProfileSettings
from mlgate.data.dataset import iter_batches, rebatched, schema
from mlgate.data.drift import drift_gate
from mlgate.data.profile_core import build_profile
from mlgate.data.profile_format import write_profile
from mlgate.gate import GateInputError


def frame(rows: int, seed: int, shift: float = 0.0) -> pa.Table:
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3 + shift, 1, rows)
    amount[rng.random(rows) < 0.02] = np.nan  # nulls in a numeric column
    channel = rng.choice(["web", "app", "store", None], rows, p=[0.5, 0.3, 0.15, 0.05])
    return pa.table(
        {
            "amount": pa.array(amount, from_pandas=True),
            "age": pa.array(rng.integers(18, 90, rows), type=pa.int64()),
            "channel": pa.array(channel.tolist(), type=pa.string()),
        }
    )


def split_into_directory(table: pa.Table, directory: Path, sizes: list[int]) -> None:
    """Write `table` as files of `sizes` rows, in name order, each with its own row-group size."""
    directory.mkdir()
    start = 0
    for index, size in enumerate(sizes):
        part = table.slice(start, size)
        pq.write_table(part, directory / f"part-{index:03d}.parquet", row_group_size=max(size // 3, 1))
        start += size
    assert start == table.num_rows
    (directory / "_SUCCESS").write_text("")  # a marker file writers leave: ignored


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("parquet-dir")
    for name, table, sizes in (
        ("ref", frame(23_000, 1), [5_000, 1, 9_999, 8_000]),
        ("cur", frame(17_000, 2, shift=0.4), [7_000, 3_000, 7_000]),
    ):
        pq.write_table(table, root / f"{name}.parquet", row_group_size=4_000)
        split_into_directory(table, root / name, sizes)
    return root


@pytest.mark.parametrize("chunk_rows", [1_000, 6_000, 50_000])
def test_a_directory_gives_the_batches_of_its_concatenated_file(datasets: Path, chunk_rows: int) -> None:
    whole = list(iter_batches(datasets / "ref.parquet", chunk_rows=chunk_rows))
    parts = list(iter_batches(datasets / "ref", chunk_rows=chunk_rows))
    assert [b.num_rows for b in parts] == [b.num_rows for b in whole]
    assert all(b.num_rows == chunk_rows for b in parts[:-1])
    assert pa.Table.from_batches(parts).equals(pa.Table.from_batches(whole))
    assert schema(datasets / "ref") == schema(datasets / "ref.parquet")


@pytest.mark.parametrize("chunk_rows", [1_000, 50_000])
def test_a_directory_gives_the_profile_of_its_concatenated_file(datasets: Path, chunk_rows: int) -> None:
    settings = ProfileSettings(chunk_rows=chunk_rows, sketch_size=500)
    from_file = build_profile(datasets / "ref.parquet", settings)
    from_directory = build_profile(datasets / "ref", settings)
    assert from_directory["columns"] == from_file["columns"]  # bit for bit: sketches, moments, histograms
    assert from_directory["source"]["rows"] == from_file["source"]["rows"] == 23_000
    assert from_file["columns"]["amount"]["sketch"]["exact"] is False  # the sketch was really merged


def test_a_directory_gets_the_drift_decision_of_its_concatenated_file(datasets: Path, tmp_path: Path) -> None:
    profile = tmp_path / "profile.json"
    write_profile(build_profile(datasets / "ref", ProfileSettings(chunk_rows=5_000)), profile)
    settings = DriftSection(chunk_rows=5_000, fail_on="column")
    for name, drifted in (("cur", True), ("ref", False)):
        from_file = drift_gate(datasets / f"{name}.parquet", profile, settings)
        from_directory = drift_gate(datasets / name, profile, settings)
        assert from_directory.passed is from_file.passed is (not drifted)
        assert from_directory.failure_reason == from_file.failure_reason
        assert from_directory.data["columns"] == from_file.data["columns"]  # every figure, every column
    assert "amount" in drift_gate(datasets / "cur", profile, settings).data["drifted_columns"]


def test_rebatched_keeps_every_row_in_order_in_exact_batches() -> None:
    uneven: list[pa.RecordBatch] = []
    start = 0
    for size in (1, 0, 40, 2, 60):
        uneven.append(pa.record_batch([pa.array(np.arange(start, start + size))], names=["x"]))
        start += size
    out = list(rebatched(uneven, 25))
    assert [b.num_rows for b in out] == [25, 25, 25, 25, 3]
    assert pa.Table.from_batches(out).column("x").to_pylist() == list(range(103))


def test_a_damaged_file_in_a_directory_is_one_line_naming_the_directory(
    datasets: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    pq.write_table(frame(100, 3), broken / "a.parquet")
    (broken / "b.parquet").write_bytes(b"PAR1 not really parquet PAR1")
    with pytest.raises(GateInputError) as caught:
        list(iter_batches(broken))
    assert caught.value.reason == "unreadable-data" and str(broken) in str(caught.value)


PEAK = """
import json, sys
from pathlib import Path
import pyarrow as pa
from mlgate.data.dataset import iter_batches

path, chunk_rows = Path(sys.argv[1]), int(sys.argv[2])
rows = 0
largest = 0
for batch in iter_batches(path, chunk_rows=chunk_rows):
    rows += batch.num_rows
    largest = max(largest, batch.num_rows)
streamed_peak = pa.default_memory_pool().max_memory()
import pyarrow.dataset as ds
whole = ds.dataset(path, format="parquet").to_table()  # what reading it whole holds, for comparison
print(json.dumps({"rows": rows, "largest": largest, "streamed_peak": streamed_peak,
                  "whole": whole.nbytes, "whole_peak": pa.default_memory_pool().max_memory()}))
"""


def test_streaming_a_directory_never_holds_the_whole_directory(tmp_path: Path) -> None:
    directory = tmp_path / "big"
    directory.mkdir()
    rng = np.random.default_rng(4)
    for index in range(12):  # 12 files x 100,000 rows x 4 float64 columns: 38 MB in memory
        table = pa.table({f"c{j}": rng.normal(size=100_000) for j in range(4)})
        pq.write_table(table, directory / f"part-{index:02d}.parquet", row_group_size=25_000)
    # a fresh process: Arrow's memory pool records its peak since start
    proc = subprocess.run(
        [sys.executable, "-c", PEAK, str(directory), "20000"], capture_output=True, text=True, check=True
    )
    found = json.loads(proc.stdout)
    assert found["rows"] == 1_200_000
    assert found["largest"] == 20_000  # batches of chunk_rows rows
    # streamed: a few batches and one row group at a time; read whole: the whole directory
    assert found["streamed_peak"] < found["whole"] / 4, found
    assert found["whole_peak"] >= found["whole"], found
