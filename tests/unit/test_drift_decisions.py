"""Drift decisions that must be right (issue 11): exact sketches are exact, a sample compared with its
own profile is never drift, and below the minimum sample a decision is inconclusive, not drift.

Statistics are checked against scipy (`ks_2samp`, `chi2`) and an independent PSI computation, on
self-comparison, tiny samples and ties.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlgate.data.config import DriftSection, ProfileSettings
from mlgate.data.drift import drift_gate
from mlgate.data.profile import profile_gate
from mlgate.data.profile_core import build_profile
from mlgate.data.profile_format import load_profile
from mlgate.data.statistics import SHARE_FLOOR, ks_smallest_p, psi, psi_conclusive, psi_noise
from mlgate.gate import GateInputError


def profiled(tmp_path: Path, df: pd.DataFrame, name: str = "ref", **settings: int) -> Path:
    data = tmp_path / f"{name}.csv"
    df.to_csv(data, index=False)
    output = tmp_path / f"{name}.json"
    profile_gate(data, output, ProfileSettings(**settings))
    return output


def write(tmp_path: Path, df: pd.DataFrame, name: str) -> Path:
    path = tmp_path / f"{name}.csv"
    df.to_csv(path, index=False)
    return path


# --- the defects of issue 11 ---------------------------------------------------------------------------


def test_ks_of_the_profiled_data_against_its_own_exact_profile_is_no_drift(tmp_path: Path) -> None:
    # 16 significant digits: the profile used to round its "exact" sketch to 12, collapsing the values
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"reading": 1e12 + rng.uniform(0, 1, 3000)})
    ref = profiled(tmp_path, df)
    assert load_profile(ref)["columns"]["reading"]["sketch"]["exact"] is True
    result = drift_gate(tmp_path / "ref.csv", ref, DriftSection(numeric_test="ks"))
    column = result.data["columns"][0]
    assert result.passed, result.summary_md
    assert column["ks_d"] == 0.0 and column["ks_p"] == 1.0


def test_exact_sketch_holds_the_data_values(tmp_path: Path) -> None:
    values = np.array([0.1 + 0.2, 1 / 3, 2**60 + 0.0, -1e-300, 123456789.123456789])
    ref = profiled(tmp_path, pd.DataFrame({"x": values}))
    sketch = load_profile(ref)["columns"]["x"]["sketch"]
    assert sketch["values"] == sorted(values.tolist())


def wine() -> pd.DataFrame:
    from sklearn.datasets import load_wine

    return load_wine(as_frame=True).frame


@pytest.mark.parametrize("numeric_test", ["psi", "ks"])
def test_half_of_a_178_row_dataset_against_a_profile_of_the_other_half_is_never_drift(
    tmp_path: Path, numeric_test: str
) -> None:
    data = wine()
    assert len(data) == 178
    settings = DriftSection(numeric_test=numeric_test)  # type: ignore[arg-type]
    for split in range(10):
        order = np.random.default_rng(split).permutation(len(data))
        half, other = data.iloc[order[:89]], data.iloc[order[89:]]
        ref = profiled(tmp_path, half, name=f"half{split}")
        result = drift_gate(write(tmp_path, other, f"other{split}"), ref, settings)
        assert result.failure_reason != "data-drift", (split, result.summary_md)
        assert not result.data["dataset_drift"]
        if numeric_test == "psi":
            # 89 rows a side: sampling noise alone reaches PSI 0.49, far above the threshold 0.1
            assert result.failure_reason == "inconclusive"
            assert result.data["inconclusive_columns"] == list(data.columns)
            assert "inconclusive" in result.summary_md
        else:  # KS judges samples this size: a pass
            assert result.passed, (split, result.summary_md)


def test_inconclusive_can_be_a_warning(tmp_path: Path) -> None:
    data = wine()
    ref = profiled(tmp_path, data.iloc[:89])
    result = drift_gate(write(tmp_path, data.iloc[89:], "other"), ref, DriftSection(inconclusive="warn"))
    assert result.passed and result.outputs["inconclusive-columns"]
    assert result.summary_md.startswith("### ⚠️ mlgate drift: inconclusive")


def test_drift_still_fails_when_other_columns_are_inconclusive(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    ref = profiled(tmp_path, pd.DataFrame({"a": rng.normal(0, 1, 40), "b": rng.normal(0, 1, 40)}))
    shifted = pd.DataFrame({"a": rng.normal(5, 1, 40), "b": rng.normal(5, 1, 40)})
    result = drift_gate(write(tmp_path, shifted, "new"), ref, DriftSection(numeric_test="ks"))
    assert result.failure_reason == "data-drift"


def test_tiny_samples_are_inconclusive_not_drift(tmp_path: Path) -> None:
    ref = profiled(tmp_path, pd.DataFrame({"x": [1.0, 2.0, 3.0]}))
    far = write(tmp_path, pd.DataFrame({"x": [100.0, 200.0, 300.0]}), "far")
    for test in ("ks", "psi"):
        result = drift_gate(far, ref, DriftSection(numeric_test=test))  # type: ignore[arg-type]
        assert result.failure_reason == "inconclusive", test
        assert result.data["columns"][0]["inconclusive"] is True
    # with four values a side KS can judge: fully separated samples give p = 2 / C(8, 4) = 0.029
    ref4 = profiled(tmp_path, pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}), name="ref4")
    far4 = write(tmp_path, pd.DataFrame({"x": [100.0, 200.0, 300.0, 400.0]}), "far4")
    assert drift_gate(far4, ref4, DriftSection(numeric_test="ks")).failure_reason == "data-drift"


@pytest.mark.parametrize(("sketch_size", "verdict"), [(5000, "passed"), (50, "inconclusive")])
def test_sketch_ks_of_the_data_against_its_own_profile_is_never_drift(
    tmp_path: Path, sketch_size: int, verdict: str
) -> None:
    """The sketch's error bound is used in the test: the same data is never drift; with the shipped
    sketch size it passes, with a coarse sketch the bound allows either answer, so it is inconclusive."""
    rng = np.random.default_rng(11)
    df = pd.DataFrame({"x": rng.lognormal(0, 2, 60_000), "y": rng.integers(0, 10**9, 60_000)})
    ref = profiled(tmp_path, df, sketch_size=sketch_size, chunk_rows=20_000)  # merged, inexact sketches
    sketch = load_profile(ref)["columns"]["x"]["sketch"]
    assert sketch["exact"] is False and sketch["error_bound"] > 0
    result = drift_gate(tmp_path / "ref.csv", ref, DriftSection(numeric_test="ks"))
    assert result.failure_reason == ("" if verdict == "passed" else "inconclusive"), result.summary_md
    for column in result.data["columns"]:
        assert not column["drifted"]
        assert column["ks_d"] <= column["ks_error"] + 1e-12  # the true D is 0


def test_integers_beyond_2_to_the_53_are_profiled(tmp_path: Path) -> None:
    big = np.array([2**62 + i for i in range(0, 4000, 3)], dtype=np.int64)
    data = tmp_path / "ids.parquet"
    pd.DataFrame({"big": big}).to_parquet(data)
    profile_gate(data, tmp_path / "ids.json", ProfileSettings())
    column = load_profile(tmp_path / "ids.json")["columns"]["big"]
    assert column["count"] == len(big)
    assert column["min"] == pytest.approx(float(big.min()), rel=1e-11)
    assert drift_gate(data, tmp_path / "ids.json", DriftSection(numeric_test="ks")).passed


# --- statistics against independent computations ---------------------------------------------------------


def psi_by_hand(reference: list[int], current: list[int]) -> float:
    total_p, total_q = sum(reference), sum(current)
    value = 0.0
    for r, c in zip(reference, current, strict=True):
        p = max(r / total_p, SHARE_FLOOR)
        q = max(c / total_q, SHARE_FLOOR)
        value += (q - p) * math.log(q / p)
    return value


@pytest.mark.parametrize(
    ("reference", "current"),
    [
        ([10, 20, 30, 40], [10, 20, 30, 40]),  # self-comparison
        ([5, 5, 5, 5], [50, 50, 50, 50]),  # same shares, other size
        ([1, 0, 3], [0, 2, 2]),  # empty bins on both sides
        ([100], [3]),  # one bin (a constant column)
        ([7, 7, 7, 7, 7], [35, 0, 0, 0, 0]),  # every new value tied in one bin
        ([1, 99_999, 0], [60_000, 0, 3]),  # shares below the floor (1e-5, 3e-5) count as the floor
    ],
)
def test_psi_matches_an_independent_computation(reference: list[int], current: list[int]) -> None:
    assert psi(reference, current) == pytest.approx(psi_by_hand(reference, current), abs=1e-12)
    if [r / sum(reference) for r in reference] == [c / sum(current) for c in current]:
        assert psi(reference, current) == 0.0


def test_psi_noise_bounds_the_psi_of_samples_without_drift() -> None:
    rng = np.random.default_rng(5)
    bins, shares = 10, np.full(10, 0.1)
    for n, m in ((500, 500), (2000, 300)):
        null = [psi(rng.multinomial(n, shares), rng.multinomial(m, shares)) for _ in range(3000)]
        above = np.mean(np.asarray(null) > psi_noise(n, m, bins))
        assert above < 0.025, (n, m, above)  # ~1 % by construction (chi-square approximation)
    # at 89 rows a side, most samples without drift already show PSI ≥ 0.1: PSI cannot judge there
    small = [psi(rng.multinomial(89, shares), rng.multinomial(89, shares)) for _ in range(2000)]
    assert np.mean(np.asarray(small) >= 0.1) > 0.5
    assert not psi_conclusive(89, 89, bins, 0.1) and psi_conclusive(450, 450, bins, 0.1)


@pytest.mark.parametrize(("n", "m"), [(1, 1), (2, 3), (3, 3), (4, 4), (5, 7), (10, 10), (1, 30)])
def test_ks_smallest_p_is_scipys_exact_p_of_separated_samples(n: int, m: int) -> None:
    separated = stats.ks_2samp(np.arange(n), np.arange(n, n + m), method="exact")
    assert ks_smallest_p(n, m) == pytest.approx(separated.pvalue, rel=1e-9)


def test_exact_ks_with_ties_matches_scipy(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    reference = rng.integers(0, 6, 700).astype(float)  # heavy ties
    current = rng.integers(0, 7, 500).astype(float)
    ref = profiled(tmp_path, pd.DataFrame({"x": reference}))
    result = drift_gate(
        write(tmp_path, pd.DataFrame({"x": current}), "new"), ref, DriftSection(numeric_test="ks")
    )
    expected = stats.ks_2samp(reference, current)
    column = result.data["columns"][0]
    assert column["ks_d"] == pytest.approx(expected.statistic) and column["ks_p"] == pytest.approx(
        expected.pvalue
    )
    self_result = drift_gate(tmp_path / "ref.csv", ref, DriftSection(numeric_test="ks"))
    assert self_result.data["columns"][0]["ks_d"] == stats.ks_2samp(reference, reference).statistic == 0.0


# --- faults: what the gates guard is unchanged after a failure ----------------------------------------------


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_failed_profile_run_leaves_the_previous_profile_as_it_was(tmp_path: Path) -> None:
    ref = profiled(tmp_path, wine())
    before = digest(ref)
    bad = tmp_path / "bad.csv"
    bad.write_text("alcohol,malic_acid\n1.0,inf\n2.0,3.0\n", encoding="utf-8")
    with pytest.raises(GateInputError):
        profile_gate(bad, ref, ProfileSettings())
    assert digest(ref) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "ref.csv", "ref.json"]  # no temp file


def test_drift_never_writes_the_profile(tmp_path: Path) -> None:
    data = wine()
    ref = profiled(tmp_path, data)
    before = digest(ref)
    shifted = data.assign(alcohol=data["alcohol"] + 5)
    drift_gate(write(tmp_path, shifted, "shifted"), ref, DriftSection())  # fails: drift
    with pytest.raises(GateInputError):
        drift_gate(write(tmp_path, data.drop(columns=["hue"]), "missing"), ref, DriftSection())
    assert digest(ref) == before


def test_profile_build_is_the_same_as_the_written_profile(tmp_path: Path) -> None:
    data = write(tmp_path, wine(), "w")
    built = build_profile(data, ProfileSettings())
    profile_gate(data, tmp_path / "w.json", ProfileSettings())
    assert load_profile(tmp_path / "w.json")["columns"] == built["columns"]
