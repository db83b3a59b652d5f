"""Building a profile, shared by both engines: the per-column accumulators, `check_columns` and
`assemble_profile`. `mlgate.data.profile` is the command around it; the spark engine
(`mlgate.data.spark_engine`) fills the same accumulators.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate import __version__
from mlgate.data.config import ProfileSettings
from mlgate.data.dataset import data_format, iter_batches
from mlgate.data.profile_format import SCHEMA_VERSION
from mlgate.data.sketch import (
    PointCounts,
    compress,
    histogram_edges,
    merge_ties,
    sketch_quantile,
    summarize_sorted,
)
from mlgate.data.statistics import category_values, in_parallel, numeric_kind, numeric_values
from mlgate.gate import (
    GateInputError,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pyarrow as pa

    FloatArray = npt.NDArray[np.float64]
    IntArray = npt.NDArray[np.int64]


QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
#: categorical columns with more distinct values than this stop counting (ids, free text)
MAX_TRACKED_CATEGORIES = 100_000
# --- per-column accumulators ---------------------------------------------------------------------------


@dataclass
class NumericAccumulator:
    """Streaming moments, extremes, an ECDF sketch and (when edges are known) histogram counts."""

    sketch_size: int
    #: PSI bins: with them, the first chunk's histogram is counted while its values are sorted (the
    #: profile of data read in one chunk then needs no second pass)
    bins: int | None = None
    rows: int = 0
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    chunks: int = 0
    parts: list[tuple[Any, Any]] = field(default_factory=list)
    #: every chunk so far was kept whole (no more distinct values than the sketch holds)
    exact_parts: bool = True
    #: infinite values seen (the profile refuses the column: no mean, bin or KS is defined with them)
    infinite: int = 0
    #: (edges, counts) of the first chunk's values on the edges its own sketch gives
    first_histogram: tuple[list[float], list[int]] | None = None

    def add(self, array: pa.Array | pa.ChunkedArray) -> None:
        import numpy as np

        self.rows += len(array)
        values = numeric_values(array)
        if not len(values):
            return
        values = np.sort(values)
        if math.isinf(values[0]) or math.isinf(values[-1]):
            self.infinite += int(np.count_nonzero(np.isinf(values)))
            return
        n = len(values)
        mean = float(values.mean())
        m2 = float(((values - mean) ** 2).sum())
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.count * n / total
        self.count = total
        self.minimum = min(self.minimum, float(values[0]))
        self.maximum = max(self.maximum, float(values[-1]))
        self.chunks += 1
        part_values, part_weights, exact = summarize_sorted(values, self.sketch_size)
        self.exact_parts = self.exact_parts and exact
        self.parts.append((part_values, part_weights))
        if self.chunks == 1 and self.bins is not None:
            edges = histogram_edges(part_values, part_weights, self.bins)
            in_bins = np.searchsorted(values, np.asarray(edges, dtype=np.float64), side="right")
            counts = np.diff(np.concatenate(([0], in_bins, [n])))  # right-closed bins, open ends
            self.first_histogram = (edges, counts.tolist())

    def sketch(self) -> tuple[FloatArray, IntArray, float, bool]:
        """(values, weights, one-sided error bound, exact)."""
        import numpy as np

        values = np.concatenate([p[0] for p in self.parts])
        weights = np.concatenate([p[1] for p in self.parts])
        exact = self.exact_parts
        if len(values) > self.sketch_size:
            values, weights = compress(values, weights, self.sketch_size)
            exact = False
        else:
            values, weights = merge_ties(values, weights)
        if exact:
            return values, weights, 0.0, True
        return values, weights, (1.0 if self.chunks == 1 else 2.0) / self.sketch_size, False

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / (self.count - 1)) if self.count > 1 else 0.0


@dataclass
class CategoricalAccumulator:
    rows: int = 0
    count: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    overflow: bool = False

    def add(self, array: pa.Array | pa.ChunkedArray) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        self.rows += len(array)
        if pa.types.is_null(array.type):
            return
        if pa.types.is_boolean(array.type):
            array = pc.cast(array, pa.string())
        if self.overflow:
            self.count += len(array) - array.null_count
            return
        found = category_values(array)
        self.count += sum(found.values())
        self.counts.update(found)
        if len(self.counts) > MAX_TRACKED_CATEGORIES:
            self.overflow = True


# --- the profile ---------------------------------------------------------------------------------------


def _round(value: float) -> float:
    return float(f"{value:.12g}")


def _count_column(batch: pa.RecordBatch, job: tuple[str, PointCounts]) -> None:
    job[1].add(numeric_values(batch.column(job[0])))


def _histogram_counts(
    path: Path,
    settings: ProfileSettings,
    kept: list[pa.RecordBatch] | None,
    numeric: dict[str, NumericAccumulator],
    columns: dict[str, Any],
) -> None:
    """Fill the numeric columns' histogram counts on their own bin edges: from the single chunk's sort
    (`kept` holds that chunk), else in a second pass over the data."""
    import functools

    import numpy as np

    second_pass: dict[str, PointCounts] = {}
    for name, acc in numeric.items():
        edges = columns[name]["histogram"]["edges"]
        if kept is not None and acc.first_histogram is not None and acc.first_histogram[0] == edges:
            columns[name]["histogram"]["counts"] = acc.first_histogram[1]
        else:
            second_pass[name] = PointCounts(edges)
    if not second_pass:
        return
    batches = (
        kept
        if kept is not None
        else iter_batches(path, chunk_rows=settings.chunk_rows, columns=list(second_pass))
    )
    for batch in batches:
        in_parallel(functools.partial(_count_column, batch), list(second_pass.items()))
    for name, counter in second_pass.items():
        in_bins = counter.at_most()  # values ≤ each edge: bins are right-closed, the outer ones open
        columns[name]["histogram"]["counts"] = np.diff(
            np.concatenate(([0], in_bins, [counter.count]))
        ).tolist()


def column_kinds(schema: pa.Schema, settings: ProfileSettings, path: Path) -> dict[str, str | None]:
    """column -> `numeric` | `categorical` | None (excluded or neither), as both engines profile them; an
    excluded column that is not in the data is a schema mismatch."""
    missing = [c for c in settings.exclude if c not in schema.names]
    if missing:
        raise GateInputError(
            "excluded column is not in the data",
            file=path,
            field=missing[0],
            fix="remove it from `drift.exclude` in mlgate.yaml",
            reason="schema-mismatch",
        )
    return {f.name: (None if f.name in settings.exclude else numeric_kind(f.type)) for f in schema}


def build_profile(path: Path, settings: ProfileSettings) -> dict[str, Any]:
    """Stream `path` once (twice when it spans several chunks) and return the profile mapping."""

    batches = iter_batches(path, chunk_rows=settings.chunk_rows)
    first = next(batches, None)
    if first is None:
        raise GateInputError("has no rows", file=path, fix="profile a dataset with data", reason="empty-data")
    second = next(batches, None)
    single = second is None
    kinds = column_kinds(first.schema, settings, path)
    numeric = {
        n: NumericAccumulator(settings.sketch_size, bins=settings.bins)
        for n, k in kinds.items()
        if k == "numeric"
    }
    categorical = {n: CategoricalAccumulator() for n, k in kinds.items() if k == "categorical"}

    def consume(batch: pa.RecordBatch) -> None:
        # numpy sorts and pyarrow kernels release the GIL: columns are summarised in parallel
        jobs: list[Any] = [*numeric.items(), *categorical.items()]
        in_parallel(lambda job: job[1].add(batch.column(job[0])), jobs)

    consume(first)
    if second is not None:
        consume(second)
        for batch in batches:
            consume(batch)
    rows = (
        next(iter(numeric.values())).rows
        if numeric
        else (next(iter(categorical.values())).rows if categorical else first.num_rows)
    )
    profile = assemble_profile(
        path,
        settings,
        found=first.schema,
        kinds=kinds,
        rows=rows,
        numeric=numeric,
        categorical=categorical,
    )
    _histogram_counts(path, settings, [first] if single else None, numeric, profile["columns"])
    return profile


def check_columns(
    path: Path,
    kinds: dict[str, str | None],
    numeric: dict[str, NumericAccumulator],
    categorical: dict[str, CategoricalAccumulator],
) -> None:
    """Refuse, in column order, a numeric column holding infinities and a column without values."""
    for name, kind in kinds.items():
        if kind is None:
            continue
        if kind == "numeric" and numeric[name].infinite:
            raise GateInputError(
                f"column holds {numeric[name].infinite:,} infinite value(s) (inf or -inf)",
                file=path,
                field=name,
                fix="replace them with null or a finite value, or list the column under `drift.exclude`",
                reason="infinite-value",
            )
        if (numeric[name].count if kind == "numeric" else categorical[name].count) == 0:
            raise GateInputError(
                "column has no values (every row is null)",
                file=path,
                field=name,
                fix="fill the column, or list it under `drift.exclude` in mlgate.yaml",
                reason="all-null-column",
            )


def assemble_profile(
    path: Path,
    settings: ProfileSettings,
    *,
    found: pa.Schema,
    kinds: dict[str, str | None],
    rows: int,
    numeric: dict[str, NumericAccumulator],
    categorical: dict[str, CategoricalAccumulator],
) -> dict[str, Any]:
    """The profile mapping from the columns' accumulators (both engines fill them; the numeric columns'
    histogram counts are left for the engine to fill on the edges given here)."""
    if rows == 0:
        raise GateInputError("has no rows", file=path, fix="profile a dataset with data", reason="empty-data")
    check_columns(path, kinds, numeric, categorical)
    columns: dict[str, Any] = {}
    for name, kind in kinds.items():
        dtype = str(found.field(name).type)
        if kind is None:
            columns[name] = {
                "kind": "skipped",
                "dtype": dtype,
                "reason": "excluded in mlgate.yaml" if name in settings.exclude else "type not profiled",
            }
            continue
        acc_rows = numeric[name].rows if kind == "numeric" else categorical[name].rows
        count = numeric[name].count if kind == "numeric" else categorical[name].count
        base = {
            "kind": kind,
            "dtype": dtype,
            "count": count,
            "nulls": acc_rows - count,
            "null_rate": _round((acc_rows - count) / acc_rows),
        }
        if kind == "numeric":
            acc = numeric[name]
            values, weights, bound, exact = acc.sketch()
            base.update(
                {
                    "min": _round(acc.minimum),
                    "max": _round(acc.maximum),
                    "mean": _round(acc.mean),
                    "std": _round(acc.std),
                    "quantiles": {str(q): _round(sketch_quantile(values, weights, q)) for q in QUANTILES},
                    "histogram": {"edges": histogram_edges(values, weights, settings.bins)},
                    "sketch": {
                        # full precision (JSON floats round-trip): an exact sketch holds the data's values
                        "values": values.tolist(),
                        "weights": weights.tolist(),
                        "error_bound": bound,
                        "exact": exact,
                    },
                }
            )
        else:
            cat = categorical[name]
            top = cat.counts.most_common(settings.top_categories)
            kept = sum(c for _, c in top)
            base.update(
                {
                    "distinct": len(cat.counts) if not cat.overflow else None,
                    "distinct_at_least": len(cat.counts),
                    "categories": dict(top),
                    "other_count": count - kept,
                    "id_like": cat.overflow or (len(cat.counts) > 0.5 * count and count > 100),
                }
            )
        columns[name] = base

    return {
        "schema_version": SCHEMA_VERSION,
        "mlgate_version": __version__,
        "source": {"path": str(path), "format": data_format(path), "rows": rows},
        "settings": {
            "bins": settings.bins,
            "sketch_size": settings.sketch_size,
            "top_categories": settings.top_categories,
            "exclude": list(settings.exclude),
        },
        "columns": columns,
    }
