"""The Spark engine of `mlgate profile` and `mlgate drift` (`drift.engine: spark`, `--engine spark`).

The same figures as the default (arrow) engine, computed by Spark jobs, so a dataset too large for one
machine is profiled and checked on a cluster (`drift.spark_master`; `local[2]` by default). pyspark is
imported only when this engine runs. The column types (and with them which columns are numeric,
categorical or skipped, and every schema problem) come from the same pyarrow reading of the file's
header or metadata as the default engine; Spark reads the values.

- profile: every numeric column's non-null values are sorted by Spark (one range-partitioned sort of
  `(column, value)` pairs, cached), and the sketch takes the values at ranks `ceil(k·n/sketch_size)` of
  that global order (every distinct value with its count when there are at most `sketch_size` of them):
  the sketch the default engine builds when it reads the data in one chunk (`error_bound` 1/size, or 0).
  Quantiles and bin edges come from the sketch by the same functions; bin counts, counts, nulls, min and
  max are exact counts. Category counts are exact, ties ordered by first appearance in the file.
- drift: the same counts at the profile's points (`PointCounts` run on every Spark partition and summed),
  exact category counts, and the same decisions (`mlgate.drift.judge`).

Where the engines can differ: mean and std are sums taken in another order (they agree to the 12
significant digits the profile keeps, up to one unit in the last); a dataset the default engine reads in
several chunks gets its merged sketch (error ≤ 2/size), where Spark gives the one-pass sketch (≤ 1/size);
an id-like column past `MAX_TRACKED_CATEGORIES` gets exact counts from Spark, partial ones by default.
For CSV, Spark reads every value as text and applies pyarrow's null spellings and true/false spellings,
so nulls and booleans read the same; a value that is not a number in a numeric column is `schema-mismatch`.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mlgate.data.dataset import data_format, schema
from mlgate.errors import GateInputError

if TYPE_CHECKING:
    import pyarrow as pa

    from mlgate.data.config import DriftSection, ProfileSettings
    from mlgate.data.drift_report import DriftReport

T = TypeVar("T")

#: values per partition of the sort (about 16 MB of doubles for a Python worker to hold)
VALUES_PER_PARTITION = 2_000_000
#: rows per Arrow batch handed to the Python workers
ARROW_BATCH_ROWS = 1 << 17


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def session(master: str, field: str) -> Any:
    """A Spark session on `master`; a missing pyspark or Java, or a master Spark cannot use, is
    `engine-unavailable` naming the setting."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise GateInputError(
            "the spark engine needs pyspark",
            field=field.replace("spark_master", "engine"),
            fix="install it (`uv add pyspark`, the `spark` extra) or use `engine: arrow`",
            reason="engine-unavailable",
        ) from None
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        raise GateInputError(
            "the spark engine needs Java 17+ and `java` is not on PATH (nor JAVA_HOME set)",
            field=field.replace("spark_master", "engine"),
            fix="install a JDK (e.g. `apt-get install openjdk-17-jre-headless`) or use `engine: arrow`",
            reason="engine-unavailable",
        )
    # Python workers run the counting code: in local mode they are this interpreter (mlgate, numpy and
    # pyarrow at hand); on a cluster the executors' Python needs them installed
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    try:
        spark = (
            SparkSession.builder.master(master)
            .appName("mlgate")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH_ROWS))
            .getOrCreate()
        )
        # a failing task is reported as one line (`spark_failure`), not as Spark's logged stack traces
        spark.sparkContext.setLogLevel("FATAL")
    except Exception as exc:  # noqa: BLE001 - Java/Spark start-up failures come in many types
        raise GateInputError(
            f"cannot start Spark on {master!r} ({_first_line(exc)})",
            field=field,
            fix="check the master URL (`local[2]`, `spark://host:7077`, `yarn`) and that Java 17+ runs",
            reason="engine-unavailable",
        ) from None
    return spark


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def spark_failure(exc: BaseException, path: Path) -> GateInputError:
    """A Spark job that failed: a CSV row Spark cannot parse is `unreadable-data`, anything else
    `engine-error`, both one line (never a JVM stack trace)."""
    text = str(exc)
    if "Malformed" in text or "malformed" in text:
        return GateInputError(
            "cannot parse CSV (a row has the wrong number of fields or an unclosed quote)",
            file=path,
            fix="check the file is a valid CSV",
            reason="unreadable-data",
        )
    return GateInputError(
        f"the Spark job failed ({_first_line(exc)})",
        file=path,
        fix="check the Spark master and its executors (memory, the Python environment with mlgate), "
        "or use `engine: arrow`",
        reason="engine-error",
    )


# --- reading -----------------------------------------------------------------------------------------


def arrow_schema(path: Path, numeric: list[str] | None = None) -> pa.Schema:
    """The types the default engine reads the data as (CSV: integers and `numeric` columns as float64,
    an all-null first block as text)."""
    import pyarrow as pa

    found = schema(path)
    if data_format(path) == "parquet":
        return found
    forced = set(numeric or ())
    fields = []
    for item in found:
        dtype = item.type
        if item.name in forced or pa.types.is_integer(dtype):
            dtype = pa.float64()
        elif pa.types.is_null(dtype):
            dtype = pa.string()
        fields.append(pa.field(item.name, dtype))
    return pa.schema(fields)


def frame(spark: Any, path: Path, found: pa.Schema, numeric: list[str], categorical: list[str]) -> Any:
    """A DataFrame with `x<i>` (double) for the numeric columns, `s<j>` (string) for the categorical ones
    and, for CSV, `bad_x<i>` / `bad_s<j>` flags on values that do not fit the column's type."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    from pyspark.sql import functions as F  # noqa: N812
    from pyspark.sql.types import StringType, StructField, StructType

    if data_format(path) == "parquet":
        source = spark.read.parquet(str(path.resolve()))  # the JVM's cwd is not ours
        cols = [F.col(_quote(n)).cast("double").alias(f"x{i}") for i, n in enumerate(numeric)]
        cols += [F.col(_quote(n)).cast("string").alias(f"s{j}") for j, n in enumerate(categorical)]
        return source.select(*cols)
    text = StructType([StructField(n, StringType()) for n in found.names])
    source = spark.read.csv(
        str(path.resolve()),
        schema=text,
        header=True,
        sep="\t" if path.suffix.lower() == ".tsv" else ",",
        quote='"',
        escape='"',
        mode="FAILFAST",
        encoding="UTF-8",
    )
    options = pacsv.ConvertOptions()
    nulls = list(options.null_values)

    def raw(name: str) -> Any:
        column = F.col(_quote(name))
        return F.when(column.isin(nulls), F.lit(None).cast("string")).otherwise(column)

    cols = []
    for i, name in enumerate(numeric):
        value = raw(name).try_cast("double")
        cols += [value.alias(f"x{i}"), _bad(raw(name), value).alias(f"bad_x{i}")]
    for j, name in enumerate(categorical):
        if pa.types.is_boolean(found.field(name).type):
            value = (
                F.when(raw(name).isin(list(options.true_values)), F.lit("true"))
                .when(raw(name).isin(list(options.false_values)), F.lit("false"))
                .otherwise(F.lit(None).cast("string"))
            )
            bad = _bad(raw(name), value)
        else:
            value, bad = raw(name), F.lit(None).cast("string")
        cols += [value.alias(f"s{j}"), bad.alias(f"bad_s{j}")]
    return source.select(*cols)


def _bad(raw: Any, value: Any) -> Any:
    """The raw text where a non-null value does not convert (else null)."""
    from pyspark.sql import functions as F  # noqa: N812

    return F.when(raw.isNotNull() & value.isNull(), raw)


def _run(path: Path, job: Callable[[], T]) -> T:
    """Run Spark jobs; a failing one becomes a one-line input error (`spark_failure`)."""
    from py4j.protocol import Py4JError  # type: ignore[import-untyped]
    from pyspark.errors import PySparkException

    try:
        return job()
    except (PySparkException, Py4JError) as exc:
        raise spark_failure(exc, path) from None


def _totals(df: Any, numeric: int, categorical: int, *, csv: bool) -> dict[str, Any]:
    """One pass: rows; per numeric column the values (non-null, not NaN), infinities, min, max, mean, std,
    sum; per categorical column the values; for CSV the first value that does not fit each column."""
    from pyspark.sql import functions as F  # noqa: N812

    aggs = [F.count(F.lit(1)).alias("rows")]
    for i in range(numeric):
        v = F.col(f"x{i}")
        ok = F.when(v.isNotNull() & ~F.isnan(v), v)
        aggs += [
            F.count(ok).alias(f"n_x{i}"),
            F.count(F.when(F.abs(v) == F.lit(math.inf), 1)).alias(f"inf_x{i}"),
            F.min(ok).alias(f"min_x{i}"),
            F.max(ok).alias(f"max_x{i}"),
            F.avg(ok).alias(f"mean_x{i}"),
            F.stddev_samp(ok).alias(f"std_x{i}"),
            F.sum(ok).alias(f"sum_x{i}"),
        ]
    aggs += [F.count(F.col(f"s{j}")).alias(f"n_s{j}") for j in range(categorical)]
    if csv:
        keys = [f"x{i}" for i in range(numeric)] + [f"s{j}" for j in range(categorical)]
        aggs += [F.first(F.col(f"bad_{k}"), ignorenulls=True).alias(f"bad_{k}") for k in keys]
    row: dict[str, Any] = df.agg(*aggs).collect()[0].asDict()
    return row


def _refuse_bad_values(path: Path, found: pa.Schema, keys: dict[str, str], totals: dict[str, Any]) -> None:
    """A CSV value that does not fit its column's type: `schema-mismatch`, as the default reader says."""
    for key, name in keys.items():
        shown = totals.get(f"bad_{key}")
        if shown is not None:
            raise GateInputError(
                f"value {shown!r} does not fit the column's type read from the first rows "
                f"({found.field(name).type})",
                file=path,
                field=name,
                fix="fix the value, or make the column's type consistent across the file",
                reason="schema-mismatch",
            )


def _open(
    path: Path, master: str, found: pa.Schema, numeric: list[str], categorical: list[str]
) -> tuple[Any, dict[str, Any]]:
    """Start Spark, read the data and take the first pass; bad values are refused here."""
    spark = session(master, "drift.spark_master")
    df = frame(spark, path, found, numeric, categorical)
    csv = data_format(path) == "csv"
    totals = _run(path, lambda: _totals(df, len(numeric), len(categorical), csv=csv))
    keys = {f"x{i}": n for i, n in enumerate(numeric)} | {f"s{j}": n for j, n in enumerate(categorical)}
    _refuse_bad_values(path, found, keys, totals)
    return df, totals


# --- profile -------------------------------------------------------------------------------------------


def _sorted_pairs(df: Any, numeric: int, values: int) -> Any:
    """The numeric columns' values as `(c, v)` pairs, range-partitioned and sorted by (column, value),
    cached: equal pairs share a partition, so each partition holds whole runs of ties."""
    from pyspark.sql import functions as F  # noqa: N812

    pairs = (
        df.select(
            F.explode(
                F.array(
                    *[
                        F.struct(F.lit(i).cast("long").alias("c"), F.col(f"x{i}").alias("v"))
                        for i in range(numeric)
                    ]
                )
            ).alias("p")
        )
        .select("p.c", "p.v")
        .where(F.col("v").isNotNull() & ~F.isnan("v"))
    )
    parallelism = int(df.sparkSession.sparkContext.defaultParallelism)
    parts = max(parallelism, math.ceil(values / VALUES_PER_PARTITION))
    return pairs.repartitionByRange(parts, "c", "v").sortWithinPartitions("c", "v").persist()


#: kinds of the rows the sketch step emits
PICKED, DISTINCT, DISTINCT_COUNT = 0, 1, 2


def _picker(offsets: dict[tuple[int, int], int], ranks: dict[int, Any], size: int) -> Any:
    """The per-partition step of the sketch. A column's run of sorted values in this partition starts at
    global rank `offset + 1`: the run gives its values at the column's wanted ranks (with the rank), its
    number of distinct values (capped at size + 1) and, when that is at most `size`, its distinct values
    with their counts. Equal values share a partition, so the column's distinct count is the sum."""

    def pick(batches: Iterator[Any]) -> Iterator[Any]:
        import numpy as np
        import pyarrow as pa
        from pyspark import TaskContext

        part = TaskContext.get().partitionId()  # type: ignore[union-attr]
        cs, vs = [], []
        for batch in batches:
            cs.append(batch.column(0).to_numpy())
            vs.append(batch.column(1).to_numpy())
        if not cs:
            return
        c, v = np.concatenate(cs), np.concatenate(vs)
        bounds = (np.flatnonzero(np.diff(c)) + 1).tolist()
        for start, stop in zip([0, *bounds], [*bounds, len(c)], strict=True):
            column, values = int(c[start]), v[start:stop]
            offset = offsets[(part, column)]
            wanted = ranks[column]
            local = wanted[(wanted > offset) & (wanted <= offset + len(values))]
            out_k = [np.full(len(local), PICKED)]
            out_v, out_w = [values[local - offset - 1]], [local]
            starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
            out_k.append(np.array([DISTINCT_COUNT]))
            out_v.append(np.array([np.nan]))
            out_w.append(np.array([min(len(starts), size + 1)]))
            if len(starts) <= size:
                out_k.append(np.full(len(starts), DISTINCT))
                out_v.append(values[starts])
                out_w.append(np.diff(np.append(starts, len(values))))
            kinds = np.concatenate(out_k)
            yield pa.record_batch(
                [
                    pa.array(np.full(len(kinds), column, dtype=np.int64)),
                    pa.array(kinds.astype(np.int64)),
                    pa.array(np.concatenate(out_v).astype(np.float64)),
                    pa.array(np.concatenate(out_w).astype(np.int64)),
                ],
                names=["c", "k", "v", "w"],
            )

    return pick


def _sketches(pairs: Any, numeric: int, size: int) -> dict[int, tuple[Any, Any, bool]]:
    """Per numeric column the sketch `summarize_sorted` gives for the whole column sorted at once:
    (values, weights, exact)."""
    import numpy as np
    from pyspark.sql import functions as F  # noqa: N812

    from mlgate.data.sketch import merge_ties, sketch_ranks

    runs = pairs.groupBy(F.spark_partition_id().alias("p"), "c").agg(F.count(F.lit(1)).alias("n")).collect()
    runs.sort(key=lambda r: (r["c"], r["p"]))
    count = Counter[int]()
    offsets: dict[tuple[int, int], int] = {}
    for r in runs:
        offsets[(r["p"], r["c"])] = count[r["c"]]
        count[r["c"]] += r["n"]
    ranks = {c: sketch_ranks(count[c], size) for c in range(numeric)}
    picked = pairs.mapInArrow(_picker(offsets, ranks, size), "c long, k long, v double, w long").toArrow()
    c_all, k_all = picked.column("c").to_numpy(), picked.column("k").to_numpy()
    v_all, w_all = picked.column("v").to_numpy(), picked.column("w").to_numpy()
    out: dict[int, tuple[Any, Any, bool]] = {}
    for c in range(numeric):
        mine = c_all == c
        if int(w_all[mine & (k_all == DISTINCT_COUNT)].sum()) <= size:  # every value kept, with its count
            rows = mine & (k_all == DISTINCT)
            order = np.argsort(v_all[rows], kind="stable")
            out[c] = (v_all[rows][order].astype(np.float64), w_all[rows][order].astype(np.int64), True)
            continue
        rows = mine & (k_all == PICKED)
        order = np.argsort(w_all[rows], kind="stable")  # the ranks, ascending
        values, ranks_c = v_all[rows][order], w_all[rows][order]
        merged_v, merged_w = merge_ties(values, np.diff(ranks_c, prepend=0).astype(np.int64))
        out[c] = (merged_v, merged_w, False)
    return out


def _histograms(pairs: Any, edges: dict[int, list[float]], counts: dict[int, int]) -> dict[int, list[int]]:
    """Values per right-closed, open-ended bin on each column's edges (one pass over the sorted pairs)."""
    import numpy as np
    from pyspark.sql import functions as F  # noqa: N812

    aggs = [
        F.count(F.when((F.col("c") == c) & (F.col("v") <= F.lit(float(e))), 1)).alias(f"h{c}_{k}")
        for c, column_edges in edges.items()
        for k, e in enumerate(column_edges)
    ]
    row = pairs.agg(*aggs).collect()[0].asDict() if aggs else {}
    out: dict[int, list[int]] = {}
    for c, column_edges in edges.items():
        at_most = [int(row[f"h{c}_{k}"]) for k in range(len(column_edges))]
        out[c] = np.diff(np.concatenate(([0], at_most, [counts[c]]))).astype(np.int64).tolist()
    return out


def _categories(df: Any, categorical: int) -> dict[int, tuple[Counter[str], bool]]:
    """Per categorical column its value counts in order of first appearance in the data (so ties rank
    as the default engine ranks them) and whether it has more than `MAX_TRACKED_CATEGORIES` values (then
    only the most frequent `MAX_TRACKED_CATEGORIES + 1` are kept)."""
    from pyspark.sql import functions as F  # noqa: N812

    from mlgate.data.profile_core import MAX_TRACKED_CATEGORIES

    at = F.struct(F.input_file_name().alias("f"), F.monotonically_increasing_id().alias("i"))
    tagged = df.select(at.alias("at"), *[F.col(f"s{j}") for j in range(categorical)])
    pairs = (
        tagged.select(
            "at",
            F.explode(
                F.array(
                    *[
                        F.struct(F.lit(j).cast("long").alias("c"), F.col(f"s{j}").alias("s"))
                        for j in range(categorical)
                    ]
                )
            ).alias("p"),
        )
        .select("p.c", "p.s", "at")
        .where(F.col("s").isNotNull())
    )
    groups = pairs.groupBy("c", "s").agg(F.count(F.lit(1)).alias("n"), F.min("at").alias("at")).persist()
    try:
        distinct = {int(r["c"]): int(r["count"]) for r in groups.groupBy("c").count().collect()}
        overflow = {c for c, d in distinct.items() if d > MAX_TRACKED_CATEGORIES}
        rows = [
            *groups.where(~F.col("c").isin(list(overflow)))
            .orderBy("c", F.col("at.f"), F.col("at.i"))
            .select("c", "s", "n")
            .collect()
        ]
        for c in sorted(overflow):
            rows += (
                groups.where(F.col("c") == c)
                .orderBy(F.desc("n"), F.col("at.f"), F.col("at.i"))
                .limit(MAX_TRACKED_CATEGORIES + 1)
                .select("c", "s", "n")
                .collect()
            )
    finally:
        groups.unpersist()
    out: dict[int, tuple[Counter[str], bool]] = {j: (Counter(), j in overflow) for j in range(categorical)}
    for r in rows:
        out[int(r["c"])][0][str(r["s"])] = int(r["n"])
    return out


def build_profile(path: Path, settings: ProfileSettings) -> dict[str, Any]:
    """The profile of `path` computed by Spark: the default engine's profile of the same data read in one
    chunk (see the module docstring for where the engines can differ)."""
    from mlgate.data.profile_core import (
        CategoricalAccumulator,
        NumericAccumulator,
        assemble_profile,
        check_columns,
        column_kinds,
    )

    found = arrow_schema(path)
    kinds = column_kinds(found, settings, path)
    numeric_names = [n for n, k in kinds.items() if k == "numeric"]
    categorical_names = [n for n, k in kinds.items() if k == "categorical"]
    df, totals = _open(path, settings.spark_master, found, numeric_names, categorical_names)
    rows = int(totals["rows"])
    numeric = {}
    for i, name in enumerate(numeric_names):
        n = int(totals[f"n_x{i}"])
        std = totals[f"std_x{i}"]
        numeric[name] = NumericAccumulator(
            settings.sketch_size,
            bins=settings.bins,
            rows=rows,
            count=n,
            mean=float(totals[f"mean_x{i}"] or 0.0),
            m2=float(std) ** 2 * (n - 1) if n > 1 and std is not None else 0.0,
            minimum=float(totals[f"min_x{i}"]) if n else math.inf,
            maximum=float(totals[f"max_x{i}"]) if n else -math.inf,
            chunks=1,
            infinite=int(totals[f"inf_x{i}"]),
        )
    categorical = {
        name: CategoricalAccumulator(rows=rows, count=int(totals[f"n_s{j}"]))
        for j, name in enumerate(categorical_names)
    }
    if rows == 0:
        raise GateInputError("has no rows", file=path, fix="profile a dataset with data", reason="empty-data")
    check_columns(path, kinds, numeric, categorical)

    def spark_work() -> dict[str, Any]:
        total = sum(a.count for a in numeric.values())
        pairs = _sorted_pairs(df, len(numeric_names), total) if numeric_names else None
        try:
            if pairs is not None:
                for i, (values, weights, exact) in _sketches(
                    pairs, len(numeric_names), settings.sketch_size
                ).items():
                    acc = numeric[numeric_names[i]]
                    acc.parts, acc.exact_parts = [(values, weights)], exact
            for j, (found_counts, overflow) in _categories(df, len(categorical_names)).items():
                acc_c = categorical[categorical_names[j]]
                acc_c.counts, acc_c.overflow = found_counts, overflow
            profile = assemble_profile(
                path, settings, found=found, kinds=kinds, rows=rows, numeric=numeric, categorical=categorical
            )
            columns = profile["columns"]
            edges = {i: columns[n]["histogram"]["edges"] for i, n in enumerate(numeric_names)}
            counts = {i: numeric[n].count for i, n in enumerate(numeric_names)}
            if pairs is not None:
                for i, hist in _histograms(pairs, edges, counts).items():
                    columns[numeric_names[i]]["histogram"]["counts"] = hist
            return profile
        finally:
            if pairs is not None:
                pairs.unpersist()

    return _run(path, spark_work)


# --- drift ---------------------------------------------------------------------------------------------


def _point_counter(points: dict[int, Any]) -> Any:
    """The per-partition step of drift: `PointCounts` of each numeric column at the profile's points."""

    def count(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        from mlgate.data.sketch import PointCounts
        from mlgate.data.statistics import numeric_values

        counters = {i: PointCounts(p) for i, p in points.items()}
        for batch in batches:
            for i, counter in counters.items():
                counter.add(numeric_values(batch.column(f"x{i}")))
        for i, counter in counters.items():
            yield pa.record_batch(
                [
                    pa.array([i], pa.int64()),
                    pa.array([counter.per_slot.tolist()], pa.list_(pa.int64())),
                    pa.array([counter.equal.tolist()], pa.list_(pa.int64())),
                ],
                names=["c", "per_slot", "equal"],
            )

    return count


def compare(
    profile: dict[str, Any],
    data: Path,
    settings: DriftSection,
    *,
    reference: Path | None = None,
) -> DriftReport:
    """`mlgate.drift.compare` with the new data read and counted by Spark; the same decisions."""
    import numpy as np
    from pyspark.sql import functions as F  # noqa: N812

    from mlgate.data.drift_core import CategoricalCurrent, check_schema, judge, new_numeric

    kinds, skipped = check_schema(profile, data)
    cols = profile["columns"]
    numeric_names = [n for n, k in kinds.items() if k == "numeric"]
    categorical_names = [n for n, k in kinds.items() if k == "categorical"]
    found = arrow_schema(data, numeric=numeric_names)
    df, totals = _open(data, settings.spark_master, found, numeric_names, categorical_names)
    rows = int(totals["rows"])
    numeric = {name: new_numeric(cols[name], keep_values=reference is not None) for name in numeric_names}
    for i, name in enumerate(numeric_names):
        acc = numeric[name]
        acc.rows, acc.count = rows, int(totals[f"n_x{i}"])
        acc.total, acc.infinite = float(totals[f"sum_x{i}"] or 0.0), int(totals[f"inf_x{i}"])
    categorical = {
        name: CategoricalCurrent(rows=rows, count=int(totals[f"n_s{j}"]))
        for j, name in enumerate(categorical_names)
    }
    countable = rows > 0 and all(a.count and not a.infinite for a in numeric.values())

    def spark_work() -> None:
        if numeric_names and countable:
            points = {i: numeric[n].points for i, n in enumerate(numeric_names)}
            xs = df.select(*[f"x{i}" for i in range(len(numeric_names))])
            schema_ddl = "c long, per_slot array<long>, equal array<long>"
            for r in xs.mapInArrow(_point_counter(points), schema_ddl).collect():
                counter = numeric[numeric_names[r["c"]]].counter
                counter.per_slot += np.asarray(r["per_slot"], dtype=np.int64)
                counter.equal += np.asarray(r["equal"], dtype=np.int64)
            for i, name in enumerate(numeric_names):
                acc = numeric[name]
                acc.counter.count = acc.count
                if acc.keep_values:
                    x = F.col(f"x{i}")
                    grouped = df.where(x.isNotNull() & ~F.isnan(x)).groupBy(x.alias("v")).count().toArrow()
                    acc.values = [
                        np.repeat(grouped.column("v").to_numpy(), grouped.column("count").to_numpy())
                    ]
        if categorical_names and rows:
            pairs = df.select(
                F.explode(
                    F.array(
                        *[
                            F.struct(F.lit(j).cast("long").alias("c"), F.col(f"s{j}").alias("s"))
                            for j in range(len(categorical_names))
                        ]
                    )
                ).alias("p")
            ).select("p.c", "p.s")
            table = pairs.where(F.col("s").isNotNull()).groupBy("c", "s").count().toArrow()
            for c, s, n in zip(*(table.column(k).to_pylist() for k in ("c", "s", "count")), strict=True):
                categorical[categorical_names[c]].counts[s] = n

    _run(data, spark_work)
    return judge(
        profile,
        data,
        settings,
        kinds=kinds,
        skipped=skipped,
        rows=rows,
        numeric=numeric,
        categorical=categorical,
        reference=reference,
    )
