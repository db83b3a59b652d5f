"""Counting values at the profile's points without sorting gives exactly what sorting gives.

`PointCounts` is what `mlgate drift` (and the profile's second pass) use instead of sorting each chunk;
these tests compare it with binary search on the sorted values on awkward data: ties, values equal to
the points, infinities, signed zeros, outliers that stretch the range, tiny ranges, constant columns,
and points crowded enough that the counter falls back to sorting.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlgate.data.config import ProfileSettings
from mlgate.data.profile_core import build_profile
from mlgate.data.sketch import PointCounts, histogram_edges, summarize_sorted
from mlgate.data.statistics import cumulative_counts, numeric_values

Draw = Callable[[np.random.Generator, int], np.ndarray]

DATA: dict[str, Draw] = {
    "normal": lambda rng, n: rng.normal(0, 1, n),
    "lognormal": lambda rng, n: rng.lognormal(0, 0.5, n),
    "exponential": lambda rng, n: rng.exponential(1.0, n),
    "very skewed": lambda rng, n: rng.lognormal(0, 4, n),
    "ties (few distinct)": lambda rng, n: rng.integers(0, 40, n).astype(float),
    "ties (many distinct)": lambda rng, n: rng.integers(0, 20_000, n) / 7,
    "rounded money": lambda rng, n: rng.lognormal(3, 1, n).round(2),
    "infinities": lambda rng, n: np.where(
        rng.random(n) < 0.02, np.inf, np.where(rng.random(n) < 0.02, -np.inf, rng.normal(0, 1, n))
    ),
    "signed zeros": lambda rng, n: (
        np.where(rng.random(n) < 0.5, -0.0, 0.0) + np.where(rng.random(n) < 0.5, rng.normal(0, 1, n), 0.0)
    ),
    "one huge outlier": lambda rng, n: np.append(rng.normal(0, 1, n - 1), 1e300),
    "tiny range": lambda rng, n: 1.0 + rng.integers(0, 3000, n) * np.finfo(float).eps,
    "subnormal range": lambda rng, n: rng.integers(0, 3000, n) * 5e-324,
    "huge range": lambda rng, n: rng.uniform(-1, 1, n) * 1.7e308,
    "constant": lambda rng, n: np.full(n, 3.25),
    "two values": lambda rng, n: rng.integers(0, 2, n).astype(float),
}


def reference_points(values: np.ndarray, size: int) -> np.ndarray:
    """The points drift uses: the profile sketch's values plus its bin edges (built as the profile
    builds them; the profile itself refuses infinite values, `PointCounts` must still count them)."""
    v, w, _ = summarize_sorted(np.sort(values), size)
    return np.unique(np.concatenate((v, histogram_edges(v, w, 10))))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the profile's std of infinite values
@pytest.mark.parametrize("kind", list(DATA))
@pytest.mark.parametrize("chunks", [1, 3])
def test_counts_equal_binary_search_on_sorted_values(kind: str, chunks: int) -> None:
    rng = np.random.default_rng(len(kind) * 7 + chunks)
    draw = DATA[kind]
    points = reference_points(draw(rng, 20_000), 500)
    # the new data: the same shape, shifted a little, plus values exactly at the points
    current = np.concatenate((draw(rng, 150_000), rng.choice(points, 3000)))
    if kind in ("normal", "lognormal", "exponential"):
        current[: len(current) // 2] += 0.3
    rng.shuffle(current)
    counter = PointCounts(points)
    for part in np.array_split(current, chunks):
        counter.add(part)
    at_most, below = cumulative_counts(np.sort(current), points)
    assert counter.count == len(current)
    assert np.array_equal(counter.at_most(), at_most)
    assert np.array_equal(counter.below(), below)


def test_both_ways_of_counting_are_used() -> None:
    rng = np.random.default_rng(5)
    assert PointCounts(reference_points(rng.normal(0, 1, 50_000), 5000)).grid is not None
    # 90 % of the points crowd into one cell: sorting the chunk is cheaper than binary search
    crowded = np.concatenate((np.arange(900) * 1e-9, np.arange(1.0, 101.0)))
    assert PointCounts(crowded).grid is None
    assert PointCounts([1.5]).grid is None  # one point: no range for a grid
    counter = PointCounts(crowded)
    values = np.concatenate((rng.choice(crowded, 5000), rng.uniform(-1, 4, 5000)))
    counter.add(values)
    at_most, below = cumulative_counts(np.sort(values), crowded)
    assert np.array_equal(counter.at_most(), at_most) and np.array_equal(counter.below(), below)


def test_empty_chunks_and_no_points() -> None:
    counter = PointCounts([0.0, 1.0, 2.0])
    counter.add(np.empty(0))
    assert counter.count == 0 and counter.at_most().tolist() == [0, 0, 0]
    nothing = PointCounts([])
    nothing.add(np.array([1.0, 2.0]))
    assert nothing.count == 2 and nothing.at_most().tolist() == []


def test_numeric_values_drop_nulls_and_nan_without_changing_the_rest() -> None:
    arr = pa.array([1.5, None, float("nan"), -2.0, 7.25])
    assert numeric_values(arr).tolist() == [1.5, -2.0, 7.25]
    assert numeric_values(pa.array([3, None, 4], type=pa.int32())).tolist() == [3.0, 4.0]
    chunked = pa.chunked_array([[1.0, 2.0], [None, 3.0]])
    assert numeric_values(chunked).tolist() == [1.0, 2.0, 3.0]
    plain = numeric_values(pa.array([0.5, 1.5]))
    assert plain.dtype == np.float64 and plain.tolist() == [0.5, 1.5]
    # slices start inside the validity bitmap's bytes and the data buffer
    values = [None if i % 7 == 3 else (float("nan") if i % 11 == 5 else i / 4) for i in range(60)]
    arr = pa.array(values, type=pa.float64())
    for offset, length in [(0, 60), (3, 20), (13, 40), (59, 1), (20, 0)]:
        window = values[offset : offset + length]
        expected = [v for v in window if v is not None and not math.isnan(v)]
        assert numeric_values(arr.slice(offset, length)).tolist() == expected
    assert numeric_values(pa.array([1.5, None, 2.25], type=pa.float32())).tolist() == [1.5, 2.25]
    assert numeric_values(pa.array([None, None], type=pa.float64())).tolist() == []
    assert numeric_values(pa.chunked_array([], type=pa.float64())).tolist() == []


def test_drift_reads_numbers_without_importing_pandas(tmp_path: Path) -> None:
    # pyarrow's to_numpy imports pandas (seconds); the drift check reads the Arrow buffers instead
    rng = np.random.default_rng(2)
    table = pa.table(
        {"x": rng.normal(0, 1, 5000), "n": pa.array([None if i % 9 else i for i in range(5000)])}
    )
    pq.write_table(table, tmp_path / "ref.parquet")
    pq.write_table(table, tmp_path / "cur.parquet")
    script = (
        "import sys\n"
        "from mlgate.cli import main\n"
        "assert main(['profile', '--data', 'ref.parquet', '--output', 'p.json']) == 0\n"
        "assert main(['drift', '--data', 'cur.parquet', '--profile', 'p.json']) == 0\n"
        "assert 'pandas' not in sys.modules, 'pandas was imported'\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.parametrize("chunk_rows", [1_000_000, 3000])
def test_profile_histogram_counts_are_exact(tmp_path: Path, chunk_rows: int) -> None:
    # one chunk: counted while the chunk is sorted; several: a second pass with PointCounts
    import pandas as pd

    rng = np.random.default_rng(11)
    df = pd.DataFrame(
        {
            "money": rng.lognormal(3, 1, 20_000).round(2),
            "age": rng.integers(18, 90, 20_000).astype(float),
            "score": rng.normal(0, 1, 20_000),
        }
    )
    df.loc[rng.random(len(df)) < 0.05, "score"] = np.nan
    df.to_parquet(tmp_path / "ref.parquet", row_group_size=2500)
    prof = build_profile(tmp_path / "ref.parquet", ProfileSettings(chunk_rows=chunk_rows))
    for name in df.columns:
        col = prof["columns"][name]
        values = df[name].dropna().to_numpy()
        edges = np.asarray(col["histogram"]["edges"], dtype=np.float64)
        expected = np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1)
        assert col["histogram"]["counts"] == expected.tolist(), name
