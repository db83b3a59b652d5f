"""The column statistics the data gates share: Arrow columns as values and counts, and the drift tests.

Columns (`mlgate profile` and `mlgate drift` both read them this way):
- `numeric_kind`: which columns are numeric, categorical or not described (timestamps, …);
- `numeric_values`: a numeric Arrow column's non-null, non-NaN values as float64, straight from its buffers;
- `category_values`: a categorical column's value counts;
- `in_parallel`: per-column work on a record batch, on one thread per core.

Drift statistics: pure functions on arrays, checked against scipy and independent computations.

- `psi`: population stability index of two count vectors over the same bins, the one PSI of mlgate
  (drift and the canary judge): every share floored at `SHARE_FLOOR` (0.0001), empty bins included.
- `ks_statistic_from_sketch`, `ks_p_value_asymptotic`: two-sample KS from a reference ECDF sketch and
  the new data's counts at its points; the p-value as `ks_2samp(method='asymp')` computes it.
- `chi_square`: goodness of fit of new category counts against reference frequencies.
- Minimum samples, below which a decision is *inconclusive* (neither drift nor a pass):
  `psi_noise` — under no drift, PSI over k bins is about `(1/n + 1/m) · χ²(k - 1)`, so a PSI
  threshold t can only be told from sampling noise when `(1/n + 1/m) · χ²₀.₉₉(k - 1) < t`
  (`psi_conclusive`; for 10 bins and t = 0.1, about 435 rows on each side); `ks_smallest_p` — the
  smallest p-value KS can give for samples of n and m values (`2 / C(n + m, n)`, reached at D = 1), so
  KS at level `a` needs `ks_smallest_p(n, m) ≤ a` (n = m = 4 at a = 0.05).
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pyarrow as pa

    FloatArray = npt.NDArray[np.float64]

#: the smallest share a bin counts for in PSI (and in the chi-square's expected frequencies): a share
#: below it, an empty bin included, counts as this, so PSI stays finite
SHARE_FLOOR = 0.0001
#: the PSI a column shows by sampling noise alone, at this quantile of its null distribution, must stay
#: below the threshold for a PSI decision to count
PSI_NOISE_QUANTILE = 0.99


def psi(reference_counts: Any, current_counts: Any) -> float:
    """Population stability index Σ (q - p) · ln(q / p) of two count vectors over the same bins.

    The one PSI of mlgate: `mlgate drift` (numeric bins, categories) and the canary judge (prediction
    scores) both use it. Empty-bin rule: each share is floored at `SHARE_FLOOR`, p = max(count / total,
    0.0001), on both sides. That keeps PSI finite and continuous in the counts: a bin holding one value
    in a million counts exactly as an empty one. (Replacing only exact zeros, Evidently's rule, is not
    monotone: where the reference has 10 % and a million new values leave the bin empty, the bin adds
    0.69; one new value in it, a step *towards* the reference, makes that 1.15.) The two rules agree
    whenever every share is 0 or at least 0.0001, so on samples under 10,000 values. Shares are not
    renormalised after flooring: each term (q - p) · ln(q / p) is ≥ 0, so PSI ≥ 0, and 0 exactly when
    the floored shares agree. Counts of different lengths, or no count on a side, are a ValueError."""
    import numpy as np

    p = np.asarray(reference_counts, dtype=np.float64)
    q = np.asarray(current_counts, dtype=np.float64)
    if p.shape != q.shape or p.ndim != 1:
        raise ValueError(f"PSI needs two count vectors over the same bins, not {p.shape} and {q.shape}")
    if not (p.sum() > 0 and q.sum() > 0):
        raise ValueError("PSI needs at least one value on each side")
    p = np.maximum(p / p.sum(), SHARE_FLOOR)
    q = np.maximum(q / q.sum(), SHARE_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def ks_p_value_asymptotic(d: float, n: int, m: int) -> float:
    """Two-sided p-value of a two-sample KS statistic, as `ks_2samp(method='asymp')` computes it."""
    from scipy.stats import kstwo

    big, small = sorted([float(n), float(m)], reverse=True)
    en = big * small / (big + small)
    return float(min(max(kstwo.sf(d, round(en)), 0.0), 1.0))


def ks_statistic_from_sketch(
    values: Any, weights: Any, *, error_bound: float, at_most: Any, below: Any, m: int
) -> float:
    """KS D between a reference sketch and the new data, given how many new values are ≤ and < each
    sketch value (`at_most[j]`, `below[j]` for sketch value j).

    Between sketch points the sketch CDF is constant and the new data's CDF rises monotonically, so the
    supremum of their difference is at an interval's ends: exact for the sketch CDF, which itself is
    within `error_bound / 2` of the reference's CDF (after centring the sketch's one-sided error)."""
    import numpy as np

    w = np.asarray(weights, dtype=np.float64)
    f_hat = np.concatenate(([0.0], np.cumsum(w) / w.sum()))  # on [v_j, v_j+1), j = 0 … K (v_0 = -inf)
    f_centred = np.minimum(f_hat + error_bound / 2, 1.0)
    g_start = np.concatenate(([0.0], np.asarray(at_most, dtype=np.float64) / m))  # G(v_j)
    g_end = np.concatenate((np.asarray(below, dtype=np.float64) / m, [1.0]))  # G(v_j+1 from the left)
    return float(max(np.max(np.abs(f_centred - g_start)), np.max(np.abs(f_centred - g_end))))


def cumulative_counts(sorted_values: Any, points: Any) -> tuple[Any, Any]:
    """(#values ≤ p, #values < p) for each point, from sorted values."""
    import numpy as np

    return (
        np.searchsorted(sorted_values, points, side="right"),
        np.searchsorted(sorted_values, points, side="left"),
    )


def chi_square(reference_counts: Any, current_counts: Any) -> tuple[float, float]:
    """Chi-square goodness of fit of current counts against reference frequencies (empty reference
    buckets get SHARE_FLOOR of the mass, so an unseen category gives a huge statistic, not inf)."""
    import numpy as np
    from scipy.stats import chisquare

    p = np.asarray(reference_counts, dtype=np.float64)
    q = np.asarray(current_counts, dtype=np.float64)
    p = p / p.sum()
    p = np.where(p == 0, SHARE_FLOOR, p)
    expected = p / p.sum() * q.sum()
    if len(q) < 2:
        return 0.0, 1.0
    result = chisquare(q, expected)
    return float(result.statistic), float(result.pvalue)


def psi_noise(n: int, m: int, bins: int, quantile: float = PSI_NOISE_QUANTILE) -> float:
    """The PSI that `quantile` of no-drift samples of n and m values over `bins` bins stay below
    (PSI ≈ (1/n + 1/m) · χ²(bins - 1) under no drift: the symmetric chi-square of two samples)."""
    from scipy.stats import chi2

    if bins < 2:
        return 0.0
    return float((1 / n + 1 / m) * chi2.ppf(quantile, bins - 1))


def psi_conclusive(n: int, m: int, bins: int, threshold: float) -> bool:
    """Whether PSI at `threshold` can tell drift from sampling noise for samples of n and m values."""
    return n > 0 and m > 0 and psi_noise(n, m, bins) < threshold


def ks_smallest_p(n: int, m: int) -> float:
    """The smallest two-sided p-value a two-sample KS test can give for n and m values: 2 / C(n+m, n),
    the chance of the two samples not interleaving at all (D = 1)."""
    if n <= 0 or m <= 0:
        return 1.0
    log_comb = math.lgamma(n + m + 1) - math.lgamma(n + 1) - math.lgamma(m + 1)
    return min(1.0, math.exp(math.log(2) - log_comb))


# --- columns -------------------------------------------------------------------------------------------


def numeric_kind(dtype: pa.DataType) -> str | None:
    """`numeric`, `categorical`, or None (a type the profile does not describe, e.g. timestamps)."""
    import pyarrow as pa

    if pa.types.is_boolean(dtype):
        return "categorical"
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "numeric"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or pa.types.is_dictionary(dtype):
        return "categorical"
    if pa.types.is_null(dtype):
        return "categorical"
    return None


def numeric_values(array: pa.Array | pa.ChunkedArray) -> FloatArray:
    """Non-null, non-NaN values of a numeric Arrow array as float64 (read-only: for a float64 column
    without nulls or NaN, the Arrow buffer itself). Read from the buffers directly: pyarrow's `to_numpy`
    imports pandas, seconds the data gates do not need."""
    import numpy as np
    import pyarrow as pa

    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    parts = [_chunk_values(chunk) for chunk in chunks]
    if len(parts) == 1:
        return parts[0]
    joined: FloatArray = np.concatenate(parts) if parts else np.empty(0, dtype=np.float64)
    return joined


def _chunk_values(chunk: pa.Array) -> FloatArray:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_float64(chunk.type):
        # integers beyond 2**53 (and decimals) become the nearest float64: a monotone map, so ranks,
        # histogram counts and KS stay exact up to ties between values closer than float64 resolves
        chunk = pc.cast(chunk, pa.float64(), safe=False)
    n = len(chunk)
    validity, data = chunk.buffers()[:2]
    if n == 0 or data is None:
        return np.empty(0, dtype=np.float64)
    values: FloatArray = np.frombuffer(data, dtype=np.float64, count=n, offset=chunk.offset * 8)
    keep = None
    if chunk.null_count:
        bits = np.unpackbits(
            np.frombuffer(validity, dtype=np.uint8), count=chunk.offset + n, bitorder="little"
        )
        keep = bits[chunk.offset :].view(np.bool_)
    nan = np.isnan(values)
    if nan.any():
        keep = ~nan if keep is None else keep & ~nan
    if keep is None:
        return values
    kept: FloatArray = values[keep]
    return kept


def category_values(array: pa.Array | pa.ChunkedArray) -> Counter[str]:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(array.type):
        array = pc.cast(array, pa.string())
    counts = pc.value_counts(pc.drop_null(array))
    return Counter(
        {
            str(v): int(c)
            for v, c in zip(counts.field(0).to_pylist(), counts.field(1).to_pylist(), strict=True)
        }
    )


def in_parallel(work: Callable[[Any], None], items: list[Any]) -> None:
    """Run `work` on every item on a few threads (one per core); the first error is raised."""
    workers = min(len(items), os.cpu_count() or 1)
    if workers <= 1:
        for item in items:
            work(item)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(work, item) for item in items]:
            future.result()
