"""The drift statistics agree with scipy and with independent implementations on the same data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from mlgate.data.profile_core import NumericAccumulator
from mlgate.data.sketch import compress, sketch_cdf, summarize_sorted
from mlgate.data.statistics import (
    SHARE_FLOOR,
    chi_square,
    cumulative_counts,
    ks_p_value_asymptotic,
    ks_statistic_from_sketch,
    psi,
)


def ks_d_independent(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample KS D by brute force: both ECDFs evaluated at every observed value."""
    grid = np.concatenate([a, b])
    fa = np.array([np.count_nonzero(a <= x) for x in grid]) / len(a)
    fb = np.array([np.count_nonzero(b <= x) for x in grid]) / len(b)
    return float(np.max(np.abs(fa - fb)))


def test_psi_hand_computed() -> None:
    # (0.25-0.5)·ln(0.25/0.5) + (0.75-0.5)·ln(0.75/0.5)
    assert psi([50, 50], [25, 75]) == pytest.approx(0.25 * math.log(2) + 0.25 * math.log(1.5), rel=1e-12)
    assert psi([10, 20, 30], [10, 20, 30]) == 0.0


def test_psi_equals_symmetric_kl_divergence_from_scipy() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        p = rng.integers(1, 1000, 12)
        q = rng.integers(1, 1000, 12)
        expected = stats.entropy(p, q) + stats.entropy(q, p)  # PSI = KL(p‖q) + KL(q‖p)
        assert psi(p, q) == pytest.approx(expected, rel=1e-10)


def test_psi_empty_bin_counts_as_the_floor() -> None:
    # (0.4-0.5)·ln(0.4/0.5) twice + (0.2-0.0001)·ln(0.2/0.0001): the empty bin counts as 0.0001
    expected = 2 * (-0.1) * math.log(0.8) + (0.2 - 0.0001) * math.log(0.2 / 0.0001)
    assert psi([50, 50, 0], [40, 40, 20]) == pytest.approx(expected, rel=1e-12)
    # a share below the floor counts as the floor too: 1 of 1,000,000 is 0.0001, not 0.000001
    expected = (0.5 - 0.0001) * math.log(0.5 / 0.0001) + (0.5 - 0.999999) * math.log(0.5 / 0.999999)
    assert psi([1, 999_999], [1, 1]) == pytest.approx(expected, rel=1e-12)


def test_psi_matches_scipy_relative_entropy_of_the_floored_shares() -> None:
    """(q - p)·ln(q/p) = q·ln(q/p) + p·ln(p/q): PSI is the sum of scipy's elementwise relative entropies
    both ways, on shares floored at SHARE_FLOOR (counts with empty bins and shares far below the floor)."""
    from scipy.special import rel_entr

    rng = np.random.default_rng(11)
    for _ in range(200):
        k = int(rng.integers(1, 25))
        p = rng.choice([0, 1, 3, 50, 10_000, 2_000_000], size=k)
        q = rng.choice([0, 1, 7, 400, 90_000, 5_000_000], size=k)
        p[0], q[-1] = max(p[0], 1), max(q[-1], 1)
        fp = np.maximum(p / p.sum(), SHARE_FLOOR)
        fq = np.maximum(q / q.sum(), SHARE_FLOOR)
        expected = float(np.sum(rel_entr(fq, fp) + rel_entr(fp, fq)))
        assert psi(p, q) == pytest.approx(expected, rel=1e-12, abs=1e-15)
        assert psi(p, q) >= 0.0


def test_psi_is_continuous_where_a_bin_empties() -> None:
    # the reference puts 10 % in each of 10 bins; a million new values leave bin 0 empty, or hold one
    # value there: one value more in that bin is a step towards the reference and cannot raise PSI
    # (replacing only exact zeros would: 0.69 for the empty bin, 1.15 with one value in it)
    reference = [100] * 10
    empty = [0] + [111_111] * 9
    one = [1] + [111_111] * 9
    assert psi(reference, one) <= psi(reference, empty)
    assert psi(reference, one) == pytest.approx(psi(reference, empty), abs=1e-5)
    assert psi(reference, empty) > 0.6


@pytest.mark.parametrize(("reference", "current"), [([1, 2], [1, 2, 3]), ([0, 0], [1, 1]), ([3], [0])])
def test_psi_refuses_counts_it_cannot_compare(reference: list[int], current: list[int]) -> None:
    with pytest.raises(ValueError, match="PSI needs"):
        psi(reference, current)


def test_chi_square_matches_scipy_and_formula() -> None:
    ref, cur = np.array([400, 300, 200, 100]), np.array([90, 110, 60, 40])
    stat, p = chi_square(ref, cur)
    expected = ref / ref.sum() * cur.sum()
    assert stat == pytest.approx(float(np.sum((cur - expected) ** 2 / expected)), rel=1e-12)
    assert p == pytest.approx(float(stats.chi2.sf(stat, df=3)), rel=1e-12)
    assert (stat, p) == pytest.approx(tuple(stats.chisquare(cur, expected)), rel=1e-12)


@pytest.mark.parametrize("n", [5, 200, 4000])
def test_exact_sketch_keeps_every_value(n: int) -> None:
    values = np.sort(np.random.default_rng(n).integers(0, 50, n).astype(float))
    v, w, exact = summarize_sorted(values, 100)
    assert exact  # at most 50 distinct values fit in 100 points
    assert np.array_equal(np.repeat(v, w), values)


@pytest.mark.parametrize("chunks", [1, 7])
@pytest.mark.parametrize("size", [20, 200])
def test_sketch_cdf_bound_holds(chunks: int, size: int) -> None:
    rng = np.random.default_rng(size + chunks)
    data = rng.lognormal(0, 1.5, 10_000)
    acc = NumericAccumulator(size)
    import pyarrow as pa

    for part in np.array_split(data, chunks):
        acc.add(pa.array(part))
    v, w, bound, exact = acc.sketch()
    assert not exact
    assert bound == pytest.approx((1 if chunks == 1 else 2) / size)
    grid = np.sort(np.concatenate([data, rng.lognormal(0, 1.5, 2000)]))
    true_cdf = np.searchsorted(np.sort(data), grid, side="right") / len(data)
    approx = sketch_cdf(v, w, grid)
    assert np.all(approx <= true_cdf + 1e-12)  # one-sided: never above the true CDF
    assert np.max(true_cdf - approx) < bound


def test_compress_keeps_total_weight() -> None:
    rng = np.random.default_rng(3)
    values, weights = rng.normal(size=5000), rng.integers(1, 9, 5000)
    v, w = compress(values, weights, 100)
    assert len(v) <= 100 and w.sum() == weights.sum() and np.all(np.diff(v) > 0)


@pytest.mark.parametrize("shift", [0.0, 0.05, 0.3])
@pytest.mark.parametrize("size", [30, 500])
def test_ks_from_sketch_within_stated_bound_of_exact(shift: float, size: int) -> None:
    rng = np.random.default_rng(int(shift * 100) + size)
    ref = rng.normal(0, 1, 3000)
    cur = rng.normal(shift, 1, 800)
    acc = NumericAccumulator(size)
    import pyarrow as pa

    acc.add(pa.array(ref))
    v, w, bound, _ = acc.sketch()
    at_most, below = cumulative_counts(np.sort(cur), v)
    approx = ks_statistic_from_sketch(v, w, error_bound=bound, at_most=at_most, below=below, m=len(cur))
    exact = stats.ks_2samp(ref, cur).statistic
    assert exact == pytest.approx(ks_d_independent(ref, cur), abs=1e-12)
    assert abs(approx - exact) <= bound / 2 + 1e-12


def test_ks_from_exact_sketch_is_exact() -> None:
    rng = np.random.default_rng(9)
    ref, cur = rng.integers(0, 30, 2000).astype(float), rng.integers(2, 32, 700).astype(float)
    v, w, exact = summarize_sorted(np.sort(ref), 1000)
    assert exact
    at_most, below = cumulative_counts(np.sort(cur), v)
    d = ks_statistic_from_sketch(v, w, error_bound=0.0, at_most=at_most, below=below, m=len(cur))
    assert d == pytest.approx(stats.ks_2samp(ref, cur).statistic, abs=1e-12)
    assert d == pytest.approx(ks_d_independent(ref, cur), abs=1e-12)


def test_asymptotic_p_value_is_scipys() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.normal(0, 1, 20_000), rng.normal(0.02, 1, 15_000)
    result = stats.ks_2samp(a, b, method="asymp")
    assert ks_p_value_asymptotic(float(result.statistic), len(a), len(b)) == pytest.approx(
        result.pvalue, rel=1e-12
    )
