"""Benchmark: `mlgate profile` and `mlgate drift` on the arrow engine (default) and the spark engine.

    uv run python benchmarks/profile_engines.py [--quick] [--rows N]

It writes a reference and a current Parquet file of `--rows` rows (default 10M; `--quick`: 1M) with
five columns — normal, lognormal, uniform, a small-integer column (few distinct values: an exact sketch)
and a five-valued categorical — the current file shifting two of them, then times in one process:

- arrow: `build_profile` (streamed in `drift.chunk_rows` chunks) and `compare` against that profile;
- spark: Spark's start (`local[2]`, once, not counted in the rows), then the spark engine's profile and
  drift against the same profile.

It prints seconds and the ratio spark / arrow, and checks what the engines must agree on: the drift
decisions of every column; the counts, nulls, min, max and categories of the two profiles; the profile
quantiles within the sketches' error bounds (the arrow engine merges its chunks' sketches, error ≤ 2 /
sketch_size; Spark's is the one-pass sketch, ≤ 1 / sketch_size); and the Spark profile against the arrow
profile of the data read in one chunk (`--chunk-rows` ≥ rows), which must be the same up to mean / std
in the last of their 12 digits. Spark's driver gets `--driver-memory` (default 4g) through
`PYSPARK_SUBMIT_ARGS` when that is not set.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CHANNELS = ["web", "pos", "atm", "app", "phone"]
EXACT_FIELDS = ("kind", "dtype", "count", "nulls", "null_rate", "min", "max", "categories", "other_count")


def make_data(directory: Path, rows: int, seed: int = 0) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)

    def table(shift: float) -> pa.Table:
        return pa.table(
            {
                "normal": rng.normal(0, 1, rows) + shift,
                "lognormal": rng.lognormal(0, 0.5, rows),
                "uniform": rng.uniform(0, 1, rows) + shift,
                "items": rng.integers(1, 20, rows),
                "channel": pa.array(
                    rng.choice(["web", "pos", "atm", "app", "phone"], rows)
                ).dictionary_encode(),
            }
        )

    ref, cur = directory / f"ref_{rows}.parquet", directory / f"cur_{rows}.parquet"
    # one row group: the arrow engine's one-chunk run (`chunk_rows` = rows) then reads it as one batch
    # (Parquet batches never span row groups)
    pq.write_table(table(0.0), ref, row_group_size=rows)
    pq.write_table(table(0.5), cur, row_group_size=1_000_000)
    return ref, cur


def timed(fn, label: str = ""):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    if label:
        print(f"  {label}: {seconds:.1f} s (load average {os.getloadavg()[0]:.1f})", flush=True)
    return out, seconds


def decisions(report: Any) -> dict[str, bool]:
    return {c.name: c.drifted for c in report.columns}


def compare_profiles(arrow: dict[str, Any], spark: dict[str, Any], *, one_chunk: bool) -> list[str]:
    """What differs between two profiles beyond what the engines may differ in."""
    problems = []
    for name, a in arrow["columns"].items():
        s = spark["columns"][name]
        for key in (
            "kind",
            "dtype",
            "count",
            "nulls",
            "null_rate",
            "min",
            "max",
            "categories",
            "other_count",
        ):
            if a.get(key) != s.get(key):
                problems.append(f"{name}.{key}: {a.get(key)} vs {s.get(key)}")
        for key in ("mean", "std"):
            if key in a and not math.isclose(a[key], s[key], rel_tol=1e-11, abs_tol=1e-300):
                problems.append(f"{name}.{key}: {a[key]} vs {s[key]}")
        if a["kind"] != "numeric":
            continue
        if one_chunk:
            for key in ("quantiles", "histogram", "sketch"):
                if a[key] != s[key]:
                    problems.append(f"{name}.{key} differs")
            continue
        values = np.asarray(s["sketch"]["values"])
        weights = np.asarray(s["sketch"]["weights"])
        cdf = np.cumsum(weights) / weights.sum()
        bound = a["sketch"]["error_bound"] + s["sketch"]["error_bound"]
        for q, x in a["quantiles"].items():
            # the rank of the arrow engine's quantile in the Spark sketch is within both bounds of q
            below = cdf[np.searchsorted(values, x, side="left") - 1] if x > values[0] else 0.0
            at_most = cdf[np.searchsorted(values, x, side="right") - 1] if x >= values[0] else 0.0
            if not (below - bound <= float(q) <= at_most + bound):
                problems.append(f"{name}.quantiles[{q}]: {x} outside the error bound")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1M rows")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="4g")
    args = parser.parse_args()
    rows = args.rows or (1_000_000 if args.quick else 10_000_000)
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", f"--driver-memory {args.driver_memory} pyspark-shell")

    from mlgate.data import spark_engine
    from mlgate.data.config import DriftSection
    from mlgate.data.drift_core import compare
    from mlgate.data.profile_core import build_profile

    settings = DriftSection(spark_master=args.master)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (ref, cur), t_data = timed(lambda: make_data(work, rows))
        print(
            f"data: {rows:,} rows x 5 columns, reference + current Parquet written in {t_data:.1f} s",
            flush=True,
        )

        import scipy.stats  # noqa: F401 - imported once, not counted (both engines use it)

        arrow_profile, t_arrow_profile = timed(
            lambda: build_profile(ref, settings.profile_settings()), "arrow profile"
        )
        arrow_report, t_arrow_drift = timed(lambda: compare(arrow_profile, cur, settings), "arrow drift")
        _, t_start = timed(lambda: spark_engine.session(args.master, "drift.spark_master"), "spark start")
        spark_settings = settings.model_copy(update={"engine": "spark"})
        spark_profile, t_spark_profile = timed(
            lambda: spark_engine.build_profile(ref, spark_settings.profile_settings()), "spark profile"
        )
        spark_report, t_spark_drift = timed(
            lambda: spark_engine.compare(arrow_profile, cur, spark_settings), "spark drift"
        )
        one_chunk, t_one_chunk = timed(
            lambda: build_profile(ref, settings.profile_settings(rows)), "arrow profile, one chunk"
        )

    print(f"spark start ({args.master}, once): {t_start:.1f} s")
    print(f"{'step':<10} {'arrow s':>9} {'spark s':>9} {'spark/arrow':>12}")
    for step, a, s in (
        ("profile", t_arrow_profile, t_spark_profile),
        ("drift", t_arrow_drift, t_spark_drift),
    ):
        print(f"{step:<10} {a:9.2f} {s:9.2f} {s / a:11.1f}x")
    print(f"(arrow profile in one chunk: {t_one_chunk:.2f} s)")

    same = decisions(arrow_report) == decisions(spark_report)
    spark_says = "the same" if same else decisions(spark_report)
    print(f"drift decisions: arrow {decisions(arrow_report)}; spark {spark_says}")
    chunked = compare_profiles(arrow_profile, spark_profile, one_chunk=False)
    exact = compare_profiles(one_chunk, spark_profile, one_chunk=True)
    print(f"profile vs arrow (chunked): {chunked if chunked else 'agrees within the error bounds'}")
    print(f"profile vs arrow (one chunk): {exact if exact else 'identical'}")
    if not same or chunked or exact:
        raise SystemExit("the engines disagree")


if __name__ == "__main__":
    main()
