"""Exact tests the canary judge runs on counts: a stratified conditional (Fisher) test of two arms, and the
binned KS test for score histograms (their PSI is `mlgate.data.statistics.psi`, the one PSI of mlgate).

One stratum is one rollout step: (canary events, canary trials, baseline events, baseline trials). Within a
step the canary's share of traffic is fixed, so comparing the arms inside each step and adding the
evidence up (the sum of the canary's events, each step conditioned on its margins) stays valid when the
baseline's rate changes over time and the share changes between steps — pooling the raw counts would not
(Simpson's paradox). Conditioned on its margins a stratum's canary count follows Fisher's noncentral
hypergeometric distribution with the arms' odds ratio; with odds ratio 1 (no difference) it is Fisher's
exact test. The distribution of the sum is the convolution of the strata's distributions, computed
exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

#: (canary events, canary trials, baseline events, baseline trials)
Stratum = tuple[int, int, int, int]


def _log_choose(n: int, k: np.ndarray) -> np.ndarray:
    import numpy as np
    from scipy.special import gammaln

    return np.asarray(gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1), dtype=float)


def stratum_pmf(n_c: int, n_b: int, total: int, log_odds: float = 0.0) -> tuple[int, np.ndarray]:
    """(lowest value, probabilities) of the canary's count in one stratum given its margins."""
    import numpy as np

    lo, hi = max(0, total - n_b), min(n_c, total)
    if hi < lo:
        raise ValueError(f"impossible stratum: {total} events in {n_c} + {n_b} trials")
    x = np.arange(lo, hi + 1)
    logp = _log_choose(n_c, x) + _log_choose(n_b, total - x) + x * log_odds
    logp -= logp.max()
    p = np.exp(logp)
    return lo, p / p.sum()


def _convolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    import numpy as np

    if len(a) * len(b) > 200_000:
        from scipy.signal import fftconvolve

        return np.asarray(np.clip(fftconvolve(a, b), 0.0, None), dtype=float)
    return np.convolve(a, b)


def check_strata(strata: Sequence[Stratum]) -> None:
    """ValueError on counts that cannot be right (negative, more events than trials, not finite)."""
    for x_c, n_c, x_b, n_b in strata:
        for value in (x_c, n_c, x_b, n_b):
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"count {value} is negative or not finite")
        if x_c > n_c or x_b > n_b:
            raise ValueError(f"more events than trials ({x_c}/{n_c}, {x_b}/{n_b})")


def stratified_tails(strata: Sequence[Stratum], log_odds: float = 0.0) -> tuple[float, float]:
    """(P(S ≥ s), P(S ≤ s)) for S the canary's events summed over the strata, each stratum conditioned on
    its margins, when the canary's odds are exp(`log_odds`) times the baseline's; s is the observed sum.

    With one stratum and `log_odds` 0 these are the one-sided p-values of Fisher's exact test."""
    import numpy as np

    check_strata(strata)
    offset, dist, observed = 0, np.ones(1), 0
    for x_c, n_c, x_b, n_b in strata:
        total = x_c + x_b
        observed += x_c
        if total == 0 or n_c == 0 or n_b == 0:
            offset += x_c  # a degenerate stratum: its count is fixed by the margins
            continue
        lo, pmf = stratum_pmf(n_c, n_b, total, log_odds)
        offset += lo
        dist = _convolve(dist, pmf)
    index = observed - offset
    dist = dist / dist.sum()
    upper = float(dist[max(0, index) :].sum()) if index < len(dist) else 0.0
    lower = float(dist[: index + 1].sum()) if index >= 0 else 0.0
    return min(1.0, upper), min(1.0, lower)


def binomial_above(events: int, trials: int, rate: float) -> float:
    """P(X ≥ events) for X ~ Binomial(trials, rate): evidence that the true rate is above `rate`."""
    from scipy import stats

    if trials <= 0:
        return 1.0
    return float(stats.binom.sf(events - 1, trials, rate))


def binomial_below(events: int, trials: int, rate: float) -> float:
    """P(X ≤ events) for X ~ Binomial(trials, rate): evidence that the true rate is below `rate`."""
    from scipy import stats

    if trials <= 0:
        return 1.0
    return float(stats.binom.cdf(events, trials, rate))


def rate_lower_bound(events: int, trials: int, level: float) -> float:
    """One-sided Clopper-Pearson lower confidence bound of a rate (0 without events)."""
    from scipy import stats

    if events <= 0 or trials <= 0:
        return 0.0
    return float(stats.beta.ppf(level, events, trials - events + 1))


def binned_ks(baseline_counts: Sequence[float], canary_counts: Sequence[float]) -> tuple[float, float]:
    """(D, p) of a two-sample KS test on binned data (asymptotic; binning makes it conservative)."""
    import numpy as np
    from scipy import stats

    b = np.cumsum(np.asarray(baseline_counts, dtype=float))
    c = np.cumsum(np.asarray(canary_counts, dtype=float))
    d = float(np.max(np.abs(b / b[-1] - c / c[-1])))
    n_eff = b[-1] * c[-1] / (b[-1] + c[-1])
    return d, float(stats.kstwobign.sf(d * math.sqrt(n_eff)))
