"""The drift check itself, shared by both engines: the new data's per-column counts, the schema check
against the profile and the decisions (`judge`). `mlgate.data.drift` is the command around it; the spark
engine (`mlgate.data.spark_engine`) fills the same counts and calls the same `judge`.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.data.config import DriftSection
from mlgate.data.dataset import data_format, iter_batches, read_table, schema
from mlgate.data.drift_report import ColumnDrift, DriftReport
from mlgate.data.statistics import (
    category_values,
    chi_square,
    in_parallel,
    ks_p_value_asymptotic,
    ks_smallest_p,
    ks_statistic_from_sketch,
    numeric_kind,
    numeric_values,
    psi,
    psi_conclusive,
    psi_noise,
)
from mlgate.gate import (
    GateInputError,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pyarrow as pa

    FloatArray = npt.NDArray[np.float64]


#: Parquet rows read at once by the check: its counts add up over batches, so smaller batches change no
#: figure, only memory (1 MB per numeric column) and time (batches spanning row groups are costly to
#: build). CSV keeps `chunk_rows`: its column types are inferred from the first block.
READ_ROWS = 1 << 17
# --- streaming the new data ---------------------------------------------------------------------------


@dataclass
class NumericCurrent:
    """The new data of one numeric column, reduced chunk by chunk to counts at the profile's points (the
    sketch values and the bin edges): no sort, see `PointCounts`."""

    edges: Any
    sketch_values: Any
    keep_values: bool
    rows: int = 0
    count: int = 0
    total: float = 0.0
    #: infinite values seen: the column is refused (`infinite-value`), as `mlgate profile` refuses them
    infinite: int = 0
    values: list[Any] = field(default_factory=list)
    #: the sketch values and bin edges together, sorted; and the counts of the new data at them
    points: Any = field(init=False, default=None)
    counter: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        import numpy as np

        from mlgate.data.sketch import PointCounts

        self.points = np.unique(np.concatenate((self.sketch_values, self.edges)))
        self.counter = PointCounts(self.points)

    def add(self, array: pa.Array | pa.ChunkedArray) -> None:
        import numpy as np

        self.rows += len(array)
        vals = numeric_values(array)
        self.count += len(vals)
        chunk_total = float(vals.sum())
        if not np.isfinite(chunk_total):  # an infinity (or a sum overflowing float64): count the infs
            self.infinite += int(np.count_nonzero(np.isinf(vals)))
        self.total += chunk_total
        self.counter.add(vals)
        if self.keep_values:
            self.values.append(np.array(vals))

    def _at(self, wanted: Any) -> tuple[Any, Any]:
        import numpy as np

        where = np.searchsorted(self.points, wanted)  # every wanted point is one of self.points
        return self.counter.at_most()[where], self.counter.below()[where]

    @property
    def hist(self) -> Any:
        """Values per PSI bin (right-closed, open-ended)."""
        import numpy as np

        in_bins = self._at(self.edges)[0]  # values ≤ each edge
        return np.diff(np.concatenate(([0], in_bins, [self.count])))

    @property
    def at_most(self) -> Any:
        return self._at(self.sketch_values)[0]

    @property
    def below(self) -> Any:
        return self._at(self.sketch_values)[1]


@dataclass
class CategoricalCurrent:
    rows: int = 0
    count: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, array: pa.Array | pa.ChunkedArray) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        self.rows += len(array)
        if pa.types.is_null(array.type):
            return
        if pa.types.is_boolean(array.type):
            array = pc.cast(array, pa.string())
        for key, value in category_values(array).items():
            self.counts[key] = self.counts.get(key, 0) + value
            self.count += value


def check_schema(profile: dict[str, Any], data: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Column kinds to compare and columns skipped (with why); schema problems are input errors."""
    found = schema(data)
    names = set(found.names)
    expected: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for name, col in profile["columns"].items():
        if col.get("kind") == "skipped":
            skipped[name] = str(col.get("reason", "skipped in the profile"))
            continue
        if name not in names:
            raise GateInputError(
                "column in the reference profile is missing from the data",
                file=data,
                field=name,
                fix="restore the column, or rebuild the profile without it",
                reason="schema-mismatch",
            )
        kind = numeric_kind(found.field(name).type)
        if kind != col["kind"] and not (kind == "categorical" and pa_is_null(found.field(name).type)):
            raise GateInputError(
                f"column type changed: the profile has {col['kind']} ({col['dtype']}), the data has "
                f"{found.field(name).type}",
                file=data,
                field=name,
                fix="fix the column's values, or rebuild the profile if the change is intended",
                reason="schema-mismatch",
            )
        if col["kind"] == "categorical" and col.get("id_like"):
            skipped[name] = "id-like (almost every value distinct)"
            continue
        expected[name] = col["kind"]
    extra = sorted(names - set(profile["columns"]))
    if extra:
        raise GateInputError(
            "column is not in the reference profile",
            file=data,
            field=extra[0],
            fix="drop the column, or rebuild the profile so it includes it",
            reason="schema-mismatch",
        )
    return expected, skipped


def _add_column(batch: pa.RecordBatch, job: tuple[str, NumericCurrent | CategoricalCurrent]) -> None:
    job[1].add(batch.column(job[0]))


def pa_is_null(dtype: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_null(dtype))


def _bin_labels(edges: list[float]) -> list[str]:
    if not edges:
        return ["all"]
    labels = [f"≤ {edges[0]:.4g}"]
    labels += [f"{lo:.4g} to {hi:.4g}" for lo, hi in itertools.pairwise(edges)]
    labels.append(f"> {edges[-1]:.4g}")
    return labels


def _import_in_background(module: str) -> None:
    """Import `module` on a thread while the data is read (scipy.stats takes seconds to import and is only
    needed for the p-values at the end); the later `import` waits for it to finish."""
    import importlib
    import sys
    import threading

    if module in sys.modules:
        return

    def work() -> None:
        with contextlib.suppress(Exception):  # the later import raises it where it is reported
            importlib.import_module(module)

    threading.Thread(target=work, name=f"mlgate-import-{module}", daemon=True).start()


def compare(
    profile: dict[str, Any],
    data: Path,
    settings: DriftSection,
    *,
    reference: Path | None = None,
    profile_path: Path | None = None,
) -> DriftReport:
    """Stream `data` once and compare every profiled column with the reference profile."""

    kinds, skipped = check_schema(profile, data)
    _import_in_background("scipy.stats")
    cols = profile["columns"]
    numeric: dict[str, NumericCurrent] = {}
    categorical: dict[str, CategoricalCurrent] = {}
    for name, kind in kinds.items():
        if kind == "numeric":
            numeric[name] = new_numeric(cols[name], keep_values=reference is not None)
        else:
            categorical[name] = CategoricalCurrent()
    rows = 0
    read_rows = settings.chunk_rows
    if data_format(data) == "parquet":
        read_rows = min(read_rows, READ_ROWS)
    for batch in iter_batches(data, chunk_rows=read_rows, columns=list(kinds), numeric=list(numeric)):
        rows += batch.num_rows
        jobs: list[Any] = [*numeric.items(), *categorical.items()]
        in_parallel(functools.partial(_add_column, batch), jobs)
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


def new_numeric(col: dict[str, Any], *, keep_values: bool) -> NumericCurrent:
    """The accumulator of a numeric column's new data, on the profile's sketch values and bin edges."""
    import numpy as np

    return NumericCurrent(
        edges=np.asarray(col["histogram"]["edges"], dtype=np.float64),
        sketch_values=np.asarray(col["sketch"]["values"], dtype=np.float64),
        keep_values=keep_values or bool(col["sketch"].get("exact")),
    )


def judge(
    profile: dict[str, Any],
    data: Path,
    settings: DriftSection,
    *,
    kinds: dict[str, str],
    skipped: dict[str, str],
    rows: int,
    numeric: dict[str, NumericCurrent],
    categorical: dict[str, CategoricalCurrent],
    reference: Path | None = None,
) -> DriftReport:
    """Decide every column from the new data's accumulators (whichever engine filled them)."""
    cols = profile["columns"]
    if rows == 0:
        raise GateInputError("has no rows", file=data, fix="check the data export", reason="empty-data")
    _refuse_infinities(data, numeric)

    reference_values: dict[str, Any] = {}
    if reference is not None and numeric:
        table = read_table(reference, columns=list(numeric))
        reference_values = {n: numeric_values(table.column(n)) for n in numeric}

    results: list[ColumnDrift] = []
    for name, kind in kinds.items():
        col = cols[name]
        acc_any: NumericCurrent | CategoricalCurrent = (
            numeric[name] if kind == "numeric" else categorical[name]
        )
        if acc_any.count == 0:
            raise GateInputError(
                "column has no values (every row is null)",
                file=data,
                field=name,
                fix="check the data export; list the column under `drift.exclude` if intended",
                reason="all-null-column",
            )
        null_ref = float(col["null_rate"])
        null_cur = 1 - acc_any.count / acc_any.rows
        if kind == "numeric":
            result = _numeric_drift(name, col, numeric[name], settings, reference_values.get(name))
        else:
            result = _categorical_drift(name, col, categorical[name], settings)
        result.null_rate_reference, result.null_rate_current = null_ref, null_cur
        if null_cur - null_ref > settings.max_null_rate_increase:
            result.drifted = True
            result.reasons.append(f"null rate {null_ref:.1%} → {null_cur:.1%}")
        results.append(result)
    drifted = sum(r.drifted for r in results)
    share = drifted / len(results) if results else 0.0
    return DriftReport(
        columns=results,
        skipped=skipped,
        reference_rows=int(profile["source"]["rows"]),
        current_rows=rows,
        share=share,
        dataset_drift=bool(results) and share >= settings.dataset_drift_share,
        settings=settings,
    )


def _refuse_infinities(data: Path, numeric: dict[str, NumericCurrent]) -> None:
    for name, acc in numeric.items():
        if acc.infinite:
            raise GateInputError(
                f"column holds {acc.infinite:,} infinite value(s) (inf or -inf)",
                file=data,
                field=name,
                fix="replace them with null or a finite value at the source, or list the column under "
                "`drift.exclude`",
                reason="infinite-value",
            )


def _numeric_drift(
    name: str, col: dict[str, Any], acc: NumericCurrent, settings: DriftSection, reference_values: Any
) -> ColumnDrift:
    import numpy as np
    from scipy.stats import ks_2samp

    ref_counts = np.asarray(col["histogram"]["counts"], dtype=np.float64)
    hist = acc.hist
    psi_value = psi(ref_counts, hist)
    sk = col["sketch"]
    n, m = int(col["count"]), acc.count
    exact = reference_values is not None or bool(sk.get("exact"))
    p_range: tuple[float, float] | None = None
    error = 0.0
    if exact:
        ref = (
            reference_values
            if reference_values is not None
            else np.repeat(
                np.asarray(sk["values"], dtype=np.float64), np.asarray(sk["weights"], dtype=np.int64)
            )
        )
        current = np.concatenate(acc.values) if acc.values else np.empty(0)
        ks = ks_2samp(ref, current)
        d, p = float(ks.statistic), float(ks.pvalue)
    else:
        error = float(sk["error_bound"]) / 2
        d = ks_statistic_from_sketch(
            sk["values"],
            sk["weights"],
            error_bound=float(sk["error_bound"]),
            at_most=acc.at_most,
            below=acc.below,
            m=m,
        )
        p = ks_p_value_asymptotic(d, n, m)
        if settings.numeric_test == "ks":
            # only where KS decides: for large samples one p-value can take scipy ~0.5 s
            p_range = (
                ks_p_value_asymptotic(d + error, n, m),
                ks_p_value_asymptotic(max(d - error, 0.0), n, m),
            )
    ref_shares = (ref_counts / ref_counts.sum()).tolist()
    cur_shares = (np.asarray(hist, dtype=np.float64) / max(acc.count, 1)).tolist()
    undecided = ""
    if settings.numeric_test == "psi":
        test, stat, threshold, drifted = (
            "PSI",
            psi_value,
            settings.psi_threshold,
            psi_value >= settings.psi_threshold,
        )
        if not psi_conclusive(n, m, len(ref_counts), settings.psi_threshold):
            undecided = _psi_too_few(n, m, len(ref_counts), settings.psi_threshold)
    else:
        test, stat, threshold, drifted = "KS p", p, settings.ks_p_value, p <= settings.ks_p_value
        if ks_smallest_p(n, m) > settings.ks_p_value:
            undecided = (
                f"too few values for KS at p ≤ {settings.ks_p_value:g} ({n:,} and {m:,}: even fully "
                f"separated samples give p = {ks_smallest_p(n, m):.3g})"
            )
        elif p_range is not None and p_range[0] <= threshold < p_range[1]:
            # the sketch's error bound allows both answers: decide neither way
            undecided = (
                "KS decision within the sketch's error bound: rerun with `--reference` for an exact test"
            )
    if undecided:
        drifted = False
    result = ColumnDrift(
        name=name,
        kind="numeric",
        test=test,
        statistic=stat,
        threshold=threshold,
        drifted=bool(drifted),
        psi=psi_value,
        ks_d=d,
        ks_p=p,
        ks_exact=exact,
        ks_error=error,
        ks_p_range=p_range,
        reference_shares=ref_shares,
        current_shares=cur_shares,
        bin_labels=_bin_labels(col["histogram"]["edges"]),
        mean_reference=float(col["mean"]),
        mean_current=acc.total / max(acc.count, 1),
    )
    if drifted:
        result.reasons.append(f"{test} {stat:.4g} {'≥' if test == 'PSI' else '≤'} {threshold:g}")
    if undecided:
        result.inconclusive, result.note = True, f"inconclusive: {undecided}"
    return result


def _psi_too_few(n: int, m: int, bins: int, threshold: float) -> str:
    return (
        f"too few values for PSI at {threshold:g} over {bins} bins ({n:,} reference, {m:,} new: "
        f"sampling noise alone reaches PSI {psi_noise(n, m, bins):.3g})"
    )


def _categorical_drift(
    name: str, col: dict[str, Any], acc: CategoricalCurrent, settings: DriftSection
) -> ColumnDrift:
    categories: dict[str, int] = col["categories"]
    keys = list(categories)
    ref_counts = [categories[k] for k in keys]
    cur_counts = [acc.counts.get(k, 0) for k in keys]
    other_ref = int(col.get("other_count", 0))
    other_cur = acc.count - sum(cur_counts)
    labels = list(keys)
    if other_ref or other_cur:
        ref_counts.append(other_ref)
        cur_counts.append(other_cur)
        labels.append("(other)")
    psi_value = psi(ref_counts, cur_counts)
    chi2_stat, chi2_p = chi_square(ref_counts, cur_counts)
    unseen = [k for k in acc.counts if k not in categories]
    undecided = ""
    if settings.categorical_test == "psi":
        test, stat, threshold, drifted = (
            "PSI",
            psi_value,
            settings.psi_threshold,
            psi_value >= settings.psi_threshold,
        )
        n, m = int(col["count"]), acc.count
        if not psi_conclusive(n, m, len(ref_counts), settings.psi_threshold):
            undecided, drifted = _psi_too_few(n, m, len(ref_counts), settings.psi_threshold), False
    else:
        test, stat, threshold, drifted = (
            "chi² p",
            chi2_p,
            settings.chi2_p_value,
            chi2_p <= settings.chi2_p_value,
        )
    ref_total, cur_total = sum(ref_counts) or 1, sum(cur_counts) or 1
    result = ColumnDrift(
        name=name,
        kind="categorical",
        test=test,
        statistic=stat,
        threshold=threshold,
        drifted=bool(drifted),
        psi=psi_value,
        chi2=chi2_stat,
        chi2_p=chi2_p,
        reference_shares=[c / ref_total for c in ref_counts],
        current_shares=[c / cur_total for c in cur_counts],
        bin_labels=labels,
    )
    if drifted:
        result.reasons.append(f"{test} {stat:.4g} {'≥' if test == 'PSI' else '≤'} {threshold:g}")
    if unseen and other_ref == 0:
        shown = ", ".join(f"`{k}`" for k in sorted(unseen)[:5])
        result.note = f"values not in the reference: {shown}" + (" …" if len(unseen) > 5 else "")
    if undecided:
        result.inconclusive = True
        result.note = "; ".join(part for part in (f"inconclusive: {undecided}", result.note) if part)
    return result
