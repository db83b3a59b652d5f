"""The paired bootstrap: the same seeded resamples of the golden rows for every metric and both models;
percentile intervals of the candidate's metric and of the delta candidate - baseline."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlgate.eval_gate.metrics import CurveCounts, Metric


def resample_indices(seed: int, n: int, resamples: int, chunk: int | None = None) -> Iterator[Any]:
    """Row indices of each bootstrap resample, `chunk` resamples at a time (arrays of shape (m, n)).

    n uniform draws with replacement per resample, in one seeded stream: the draws do not depend on
    `chunk` (numpy's generator fills arrays sequentially), so the chunk size is a memory knob only.
    """
    import numpy as np

    if chunk is None:
        chunk = max(1, min(256, (1 << 20) // max(n, 1)))  # ~8 MB of indices per chunk
    rng = np.random.default_rng(seed)
    done = 0
    while done < resamples:
        m = min(chunk, resamples - done)
        yield rng.integers(0, n, size=(m, n))
        done += m


def _counts(idx: Any, n: int) -> Any:
    import numpy as np

    m = idx.shape[0]
    flat = (idx + (np.arange(m) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=m * n).reshape(m, n)


def _category_counts(codes: Any, size: int, idx: Any) -> Any:
    """How many of each resample's rows fall in each category: (m, size) from row categories `codes`.

    One bincount per resample: faster than one over the whole chunk (the rows of one resample stay in
    cache) and exact (integer counts)."""
    import numpy as np

    counts = np.empty((idx.shape[0], size), dtype=np.int64)
    for r in range(idx.shape[0]):
        counts[r] = np.bincount(codes.take(idx[r]), minlength=size)
    return counts


class _CurveCodes:
    """Rows of one model in 3K+1 categories: with u_1 > … > u_K the distinct scores of positive rows (plus
    any decision thresholds), a row is a positive with score u_k, a negative tied with u_k, or a negative
    strictly between u_k and u_{k+1} (gap 0 above u_1, gap K below u_K). Both curves change shape only
    at positive scores, so counting negatives per gap instead of per score loses nothing; K is at most
    the number of positive rows plus the thresholds, and a decision at threshold t is read off the
    cumulative counts at t."""

    def __init__(self, y: Any, s: Any, thresholds: Sequence[float] = ()) -> None:
        import numpy as np

        u = np.unique(np.concatenate([s[y == 1], np.asarray(thresholds, dtype=float)]))[::-1]
        k = u.size
        above = k - np.searchsorted(u[::-1], s, side="right")  # how many u are strictly greater
        tied = np.zeros(s.size, dtype=bool)
        inside = above < k
        tied[inside] = u[above[inside]] == s[inside]
        codes = np.where(y == 1, above, np.where(tied, k + above, 2 * k + above))
        self.codes = codes.astype(np.intp)
        self.k = k
        #: threshold -> its index k among the u (scores ≥ u_k are predicted positive)
        self.at = {t: int(np.flatnonzero(u == t)[0]) for t in thresholds}

    def counts(self, idx: Any) -> CurveCounts:
        import numpy as np

        k = self.k
        c = _category_counts(self.codes, 3 * k + 1, idx)
        pos, ties, gaps = c[:, :k], c[:, k : 2 * k], c[:, 2 * k :]
        tps = np.cumsum(pos, axis=1)
        fps = np.cumsum(gaps[:, :k] + ties, axis=1)
        return CurveCounts(
            pos.astype(float),
            ties.astype(float),
            tps.astype(float),
            fps.astype(float),
            pos.sum(axis=1).astype(float),
            (ties.sum(axis=1) + gaps.sum(axis=1)).astype(float),
        )

    def confusion(self, c: CurveCounts, t: float) -> tuple[Any, ...]:
        """(true positives, predicted positives, positives, correct, rows) of the decision score ≥ t."""
        tp, fp = c.tps[:, self.at[t]], c.fps[:, self.at[t]]
        return tp, tp + fp, c.n_pos, tp + c.n_neg - fp, c.n_pos + c.n_neg


#: tally key -> one model's statistics per scored model (the candidate first, then the baseline if any)
Tallies = dict[tuple[Any, ...], tuple[Any, ...]]


def _tallies(keys: set[tuple[Any, ...]], y: Any, s_cand: Any, s_base: Any | None) -> Callable[[Any], Tallies]:
    """idx (m, n) -> {tally key: (candidate statistics, baseline statistics if there is a baseline)}.

    Ranking metrics count rows by score rank and label per model (`_CurveCodes`); decision metrics
    share those counts when a ranking metric is configured too (the thresholds are split points),
    otherwise they count one joint category per row — label x candidate decision x baseline decision —
    for both models at once. Each is one bincount per resample and model."""
    import numpy as np

    thresholds = sorted({key[1] for key in keys if key[0] == "confusion"})
    parts: list[Callable[[Any, Tallies], None]] = []
    if ("curve",) in keys:
        codes = [_CurveCodes(y, s, thresholds) for s in (s_cand, s_base) if s is not None]

        def curve(idx: Any, out: Tallies) -> None:
            counts = [c.counts(idx) for c in codes]
            out[("curve",)] = tuple(counts)
            for t in thresholds:
                out[("confusion", t)] = tuple(c.confusion(n, t) for c, n in zip(codes, counts, strict=True))

        parts.append(curve)
    else:
        for t in thresholds:
            pred_b = (s_base >= t) if s_base is not None else np.zeros(y.size, dtype=bool)
            joint = (4 * (y == 1) + 2 * (s_cand >= t) + pred_b).astype(np.intp)

            def confusion(idx: Any, out: Tallies, t: float = t, joint: Any = joint) -> None:
                c = _category_counts(joint, 8, idx)
                cells = np.arange(8)
                label = cells >= 4

                def model(bit: int) -> tuple[Any, ...]:
                    pred = (cells & bit) > 0
                    groups = (pred & label, pred, label, pred == label, cells >= 0)
                    return tuple(c[:, g].sum(axis=1).astype(float) for g in groups)

                out[("confusion", t)] = (model(2), model(1)) if s_base is not None else (model(2),)

            parts.append(confusion)
    for key in keys:
        if key[0] == "error":
            squared = bool(key[1])
            errors = [(y - s) ** 2 if squared else np.abs(y - s) for s in (s_cand, s_base) if s is not None]

            def mean_error(idx: Any, out: Tallies, key: Any = key, errors: Any = errors) -> None:
                out[key] = tuple(np.take(e, idx).mean(axis=1) for e in errors)

            parts.append(mean_error)

    def run(idx: Any) -> Tallies:
        out: Tallies = {}
        for part in parts:
            part(idx, out)
        return out

    return run


@dataclass
class Interval:
    low: float
    high: float


@dataclass
class BootstrapOutcome:
    candidate: Interval
    delta: Interval | None
    #: per-resample deltas (candidate - baseline); kept for tests and benchmarks, not serialised
    deltas: Any = field(default=None, repr=False)


def paired_bootstraps(
    metrics: dict[str, Metric],
    y: Any,
    s_cand: Any,
    s_base: Any | None,
    *,
    resamples: int,
    confidence: float,
    seed: int,
    chunk: int | None = None,
) -> dict[str, BootstrapOutcome]:
    """Percentile intervals of each metric of the candidate and of its paired delta (candidate - baseline).

    Every metric and both models see the same resampled rows (`resample_indices(seed, …)`). The metric on
    a resample is computed from how many of its rows fall into a few categories (`Metric.tally`): the
    counts are computed once per resample for all metrics sharing a tally, and cost O(rows) — no sort,
    no float cumulative sum over all rows. Metrics without a tally fall back to per-row resample weights
    (`Metric.weighted`) or to `Metric.value` on every resample's rows."""
    import numpy as np

    n = y.size
    binary = bool(np.isin(y, (0.0, 1.0)).all())
    keys = {m.tally for m in metrics.values() if m.tally is not None and (binary or m.tally[0] == "error")}
    tallies = _tallies(keys, y, s_cand, s_base)
    scores = [s for s in (s_cand, s_base) if s is not None]
    #: metric -> per model (candidate, then baseline) -> the metric on each chunk of resamples
    values: dict[str, list[list[Any]]] = {name: [[] for _ in scores] for name in metrics}
    with np.errstate(all="ignore"):
        for idx in resample_indices(seed, n, resamples, chunk):
            stats = tallies(idx)
            weights = None
            for name, metric in metrics.items():
                if metric.tally in stats and metric.from_tally is not None:
                    chunks = [metric.from_tally(model) for model in stats[metric.tally]]
                elif metric.weighted is not None:
                    weights = _counts(idx, n) if weights is None else weights
                    chunks = [metric.weighted(y, s, weights) for s in scores]
                else:
                    chunks = [np.array([metric.value(y[i], s[i]) for i in idx]) for s in scores]
                for per_model, chunk_values in zip(values[name], chunks, strict=True):
                    per_model.append(chunk_values)
    return {
        name: _percentile_intervals(*per_model, confidence=confidence) for name, per_model in values.items()
    }


def _percentile_intervals(
    cand_vals: list[Any], base_vals: list[Any] | None = None, *, confidence: float
) -> BootstrapOutcome:
    import numpy as np

    alpha = (1 - confidence) / 2
    qs = [100 * alpha, 100 * (1 - alpha)]
    cand = np.concatenate(cand_vals)
    with np.errstate(all="ignore"):
        c_lo, c_hi = np.nanpercentile(cand, qs) if np.isfinite(cand).any() else (math.nan, math.nan)
        if base_vals is None:
            return BootstrapOutcome(Interval(float(c_lo), float(c_hi)), None)
        deltas = cand - np.concatenate(base_vals)
        d_lo, d_hi = np.nanpercentile(deltas, qs) if np.isfinite(deltas).any() else (math.nan, math.nan)
    return BootstrapOutcome(Interval(float(c_lo), float(c_hi)), Interval(float(d_lo), float(d_hi)), deltas)


def paired_bootstrap(
    metric: Metric,
    y: Any,
    s_cand: Any,
    s_base: Any | None,
    *,
    resamples: int,
    confidence: float,
    seed: int,
    chunk: int | None = None,
) -> BootstrapOutcome:
    """Percentile intervals of the candidate's metric and of the paired delta (same rows for both models)."""
    return paired_bootstraps(
        {metric.name: metric},
        y,
        s_cand,
        s_base,
        resamples=resamples,
        confidence=confidence,
        seed=seed,
        chunk=chunk,
    )[metric.name]
