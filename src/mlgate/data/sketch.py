"""The ECDF sketch of a numeric column and the counts drift needs at its points.

The sketch keeps `size` points `(value, weight)` chosen at evenly spaced ranks. Its empirical CDF
`F̂(x) = Σ weight[value ≤ x] / count` never exceeds the true CDF and falls short of it by less than the
profile's `error_bound` (`1/size` for data read in one chunk, `2/size` after merging chunks, 0 when every
value is kept). `PointCounts` counts, chunk by chunk and without sorting, how many values are ≤ and <
each of a few sorted points (the sketch values and PSI bin edges).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]
    IntArray = npt.NDArray[np.int64]


def summarize_sorted(values: FloatArray, size: int) -> tuple[FloatArray, IntArray, bool]:
    """`size` points of sorted `values` at ranks ceil(k·n/size), each weighted by the ranks it stands for;
    every distinct value with its count (exact) when there are at most `size` of them."""
    import numpy as np

    n = len(values)
    changes = values[1:] != values[:-1]
    if 1 + int(np.count_nonzero(changes)) <= size:  # few distinct values: keep them all
        starts = np.flatnonzero(np.concatenate(([True], changes)))
        counts = np.diff(np.append(starts, n))
        return values[starts].astype(np.float64), counts.astype(np.int64), True
    ranks = sketch_ranks(n, size)
    picked = values[ranks - 1]
    weights = np.diff(ranks, prepend=0)
    merged_values, merged_weights = merge_ties(picked, weights)
    return merged_values, merged_weights, False


def sketch_ranks(n: int, size: int) -> IntArray:
    """The 1-based ranks ceil(k·n/size), k = 1 … size, whose values a sketch of n values keeps."""
    import numpy as np

    ranks: IntArray = np.ceil(np.arange(1, size + 1, dtype=np.float64) * n / size).astype(np.int64)
    return ranks


def merge_ties(values: FloatArray, weights: IntArray) -> tuple[FloatArray, IntArray]:
    import numpy as np

    uniq, inverse = np.unique(values, return_inverse=True)
    merged = np.bincount(inverse, weights=weights, minlength=len(uniq)).astype(np.int64)
    return uniq.astype(np.float64), merged


def compress(values: FloatArray, weights: IntArray, size: int) -> tuple[FloatArray, IntArray]:
    """Reduce weighted points to at most `size`, pushing each dropped point's weight onto the next kept
    one (so the sketch CDF still never exceeds the true one; adds < 1/size to the error)."""
    import numpy as np

    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cum = np.cumsum(w)
    if len(v) <= size:
        return merge_ties(v, w)
    total = cum[-1]
    targets = np.ceil(np.arange(1, size + 1, dtype=np.float64) * total / size)
    keep = np.unique(np.searchsorted(cum, targets, side="left"))
    kept_cum = cum[keep]
    return merge_ties(v[keep], np.diff(kept_cum, prepend=0).astype(np.int64))


def sketch_cdf(values: FloatArray, weights: IntArray, points: FloatArray) -> FloatArray:
    """The sketch's CDF at `points` (a lower bound of the true CDF)."""
    import numpy as np

    cum = np.concatenate(([0], np.cumsum(weights))).astype(np.float64)
    cdf: FloatArray = cum[np.searchsorted(values, points, side="right")] / cum[-1]
    return cdf


def sketch_quantile(values: FloatArray, weights: IntArray, prob: float) -> float:
    import numpy as np

    cum = np.cumsum(weights)
    index = int(np.searchsorted(cum, prob * cum[-1], side="left"))
    return float(values[min(index, len(values) - 1)])


class PointCounts:
    """How many values are ≤ and < each of a few sorted points, summed over chunks of values, without
    sorting the values: a few vectorised passes per chunk instead of an O(n log n) sort.

    A value's cell on a uniform grid over the points' range, `floor((x - lo) · scale)` clipped to the
    grid, is a monotone function of the value (each floating-point step is), so every point in an
    earlier cell is below the value and every point in a later cell above it. The number of points below
    a value is then the number in earlier cells plus a comparison with each of the (at most `STEPS`)
    points sharing its cell; values in crowded cells (dense spots, the clipped tails) are located by
    binary search instead. The counts are exact for any data: the grid only decides what a value costs.
    Where most of the points crowd (an extremely skewed column, too few or non-finite points) each chunk
    is sorted instead, with the same result. NaN must be removed before `add`."""

    #: points compared one by one in a value's cell; values in more crowded cells use binary search
    STEPS = 2
    #: grid cells per point
    CELLS_PER_POINT = 8
    #: values handled at once (the temporaries stay in the CPU cache)
    BLOCK = 1 << 16

    def __init__(self, points: Any) -> None:
        import numpy as np

        pts = np.asarray(points, dtype=np.float64)
        k = len(pts)
        self.points = pts
        self.count = 0
        #: values in (p[i-1], p[i]] for i = 0 … k (p[-1] = -inf, p[k] = +inf), and values equal to p[i]
        self.per_slot = np.zeros(k + 1, dtype=np.int64)
        self.equal = np.zeros(k + 1, dtype=np.int64)
        self.next_point = np.concatenate((pts, [np.inf]))
        self.grid: tuple[float, float, int, Any, Any] | None = None
        trim = k // 100  # the outer 1 % of the points may crowd the end cells (outliers stretch the range)
        if k < 2 or k - 1 - 2 * trim < 1:
            return
        lo, hi = float(pts[trim]), float(pts[k - 1 - trim])
        cells = max(self.CELLS_PER_POINT * k, 16)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            scale = cells / (hi - lo)
        if not (math.isfinite(lo) and math.isfinite(hi) and math.isfinite(scale) and scale > 0):
            return
        point_cells = self._cells(pts, lo, scale, cells)
        first = np.searchsorted(point_cells, np.arange(cells), side="left").astype(np.intp)
        per_cell = np.bincount(point_cells, minlength=cells)
        crowded = per_cell > self.STEPS
        if per_cell[crowded].sum() > k / 2:
            return  # most values would need the binary search: sorting is cheaper
        self.grid = (lo, scale, cells, first, crowded)

    @staticmethod
    def _cells(values: Any, lo: float, scale: float, cells: int) -> Any:
        import numpy as np

        with np.errstate(over="ignore", invalid="ignore"):
            position = (values - lo) * scale
        np.clip(position, 0, cells - 1, out=position)
        return position.astype(np.intp)

    def add(self, values: FloatArray) -> None:
        """Count a chunk of values (no NaN)."""
        import numpy as np

        self.count += len(values)
        if not len(values):
            return
        if self.grid is None:
            ordered = np.sort(values)
            at_most = np.searchsorted(ordered, self.points, side="right")
            below = np.searchsorted(ordered, self.points, side="left")
            self.per_slot[:-1] += np.diff(at_most, prepend=0)
            self.per_slot[-1] += len(values) - (int(at_most[-1]) if len(at_most) else 0)
            self.equal[:-1] += at_most - below
            return
        lo, scale, cells, first, crowded = self.grid
        slots = len(self.per_slot)
        for start in range(0, len(values), self.BLOCK):
            x = values[start : start + self.BLOCK]
            cell = self._cells(x, lo, scale, cells)
            index = first[cell]  # points in earlier cells: all below x
            for _ in range(self.STEPS):
                index += self.next_point[index] < x
            hard = np.flatnonzero(crowded[cell])
            if len(hard):
                index[hard] = np.searchsorted(self.points, x[hard], side="left")
            self.per_slot += np.bincount(index, minlength=slots)
            same = self.next_point[index] == x
            if same.any():
                self.equal += np.bincount(index[same], minlength=slots)

    def at_most(self) -> IntArray:
        """#values ≤ each point."""
        import numpy as np

        cum: IntArray = np.cumsum(self.per_slot[:-1])
        return cum

    def below(self) -> IntArray:
        """#values < each point."""
        result: IntArray = self.at_most() - self.equal[:-1]
        return result


def histogram_edges(values: FloatArray, weights: IntArray, bins: int) -> list[float]:
    """Inner bin edges at the reference's quantiles k/bins (duplicates dropped for discrete data).
    Bins are right-closed, the first and last open-ended: (-inf, e1], (e1, e2], …, (e_last, +inf)."""
    edges = sorted({sketch_quantile(values, weights, k / bins) for k in range(1, bins)})
    top = float(values[-1])
    return [e for e in edges if e < top] or ([float(values[0])] if float(values[0]) < top else [])


def bin_counts(values: FloatArray, edges: list[float]) -> IntArray:
    import numpy as np

    index = np.searchsorted(np.asarray(edges, dtype=np.float64), values, side="left")
    return np.bincount(index, minlength=len(edges) + 1).astype(np.int64)
