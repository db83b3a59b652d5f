from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.__package_name }} import data, schema, synthetic
from {{ cookiecutter.__package_name }}.params import DataParams


def test_generator_is_deterministic_per_seed() -> None:
    first = synthetic.generate_transactions(3_000, seed=7)
    pd.testing.assert_frame_equal(first, synthetic.generate_transactions(3_000, seed=7))
    assert not first.equals(synthetic.generate_transactions(3_000, seed=8))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_about_two_percent_fraud(seed: int) -> None:
    df = synthetic.generate_transactions(20_000, seed=seed)
    assert 0.015 <= df["is_fraud"].mean() <= 0.025


def test_columns_and_value_domains() -> None:
    df = synthetic.generate_transactions(5_000, seed=3)
    assert tuple(df.columns) == schema.COLUMNS
    assert df["transaction_id"].is_unique
    assert df["amount"].between(0.5, schema.MAX_AMOUNT).all()
    assert df["hour"].between(0, 23).all()
    assert df["card_age_days"].between(0, schema.MAX_CARD_AGE_DAYS).all()
    assert set(df["merchant_category"]) <= {c.value for c in schema.MerchantCategory}
    assert set(df["country"]) <= {c.value for c in schema.Country}
    assert set(df["device"]) <= {d.value for d in schema.Device}


def test_fraud_is_more_likely_at_night_on_new_cards() -> None:
    df = synthetic.generate_transactions(30_000, seed=5)
    risky = df[df["hour"].between(0, 5) & (df["card_age_days"] < 30)]
    assert risky["is_fraud"].mean() > 5 * df["is_fraud"].mean()


def test_golden_dataset_is_fixed_and_covers_every_scenario() -> None:
    golden = synthetic.golden_dataset()
    assert len(golden) == synthetic.GOLDEN_ROWS + synthetic.GOLDEN_SAMPLE_ROWS
    pd.testing.assert_frame_equal(golden, synthetic.golden_dataset())
    parts = golden.groupby(synthetic.GOLDEN_SET_COLUMN)
    sizes = {
        synthetic.KEY_SCENARIOS: synthetic.GOLDEN_ROWS,
        synthetic.REPRESENTATIVE_SAMPLE: synthetic.GOLDEN_SAMPLE_ROWS,
    }
    assert parts.size().to_dict() == sizes
    must_pass = parts.get_group(synthetic.KEY_SCENARIOS)
    assert set(must_pass["scenario"]) == set(synthetic.SCENARIOS)
    assert set(must_pass["is_fraud"]) == {0, 1}


def test_golden_sample_is_representative_and_has_enough_fraud_to_compare_models() -> None:
    sample = synthetic.golden_sample()
    assert 0.01 <= sample["is_fraud"].mean() <= 0.03  # the population's rate, not an easy enriched set
    assert sample["is_fraud"].sum() >= 100  # enough positives for bootstrap intervals of useful width
    assert sample["transaction_id"].is_unique


def test_golden_labels_agree_with_the_ground_truth() -> None:
    golden = synthetic.golden_scenarios()
    probability = 1 / (1 + np.exp(-(synthetic.fraud_logit(golden) + synthetic.reference_intercept())))
    assert (probability[golden["is_fraud"] == 1] > 0.5).all()
    assert (probability[golden["is_fraud"] == 0] < 0.05).all()


def test_prepare_writes_the_raw_snapshot_and_a_stratified_split(tmp_path: Path) -> None:
    files = data.prepare(DataParams(dir=tmp_path, n_rows=4_000, seed=1, fraud_rate=0.02, test_size=0.25))
    raw, train, test = (pd.read_csv(files[name]) for name in ("raw", "train", "test"))
    assert files["raw"] == tmp_path / "raw" / "transactions.csv"
    assert tuple(raw.columns) == schema.COLUMNS
    assert len(train) + len(test) == len(raw) == 4_000
    assert abs(train["is_fraud"].mean() - test["is_fraud"].mean()) < 0.005
    assert set(train["transaction_id"]).isdisjoint(test["transaction_id"])
    assert len(pd.read_csv(files["golden"])) == synthetic.GOLDEN_ROWS + synthetic.GOLDEN_SAMPLE_ROWS


def test_prepare_is_deterministic(tmp_path: Path) -> None:
    params = {"n_rows": 3_000, "seed": 4, "fraud_rate": 0.02, "test_size": 0.25}
    first = data.prepare(DataParams(dir=tmp_path / "a", **params))
    second = data.prepare(DataParams(dir=tmp_path / "b", **params))
    for name in ("raw", "train", "test", "golden"):
        assert first[name].read_bytes() == second[name].read_bytes(), name


def test_raw_data_that_fits_the_contract_passes() -> None:
    frame = synthetic.generate_transactions(1_000, seed=2)
    frame["extra"] = 1  # extra columns are dropped
    checked = schema.check_raw(frame)
    assert tuple(checked.columns) == schema.COLUMNS
    assert len(checked) == 1_000


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda df: df.drop(columns=["country"]), "lacks column(s) country"),
        (lambda df: df.assign(amount=df["amount"].where(df.index != 3)), "column amount has 1 empty values"),
        (lambda df: df.assign(hour="noon"), "column hour is not numeric"),
        (lambda df: df.assign(is_fraud=2), "is_fraud holds values other than 0 and 1"),
        (lambda df: df.assign(is_fraud=0), "is_fraud needs both classes"),
        (lambda df: df.assign(transaction_id="tx-1"), "transaction_id has duplicate values"),
        (lambda df: df.iloc[0:0], "has no rows"),
    ],
)
def test_raw_data_that_breaks_the_contract_fails_with_one_line(
    breakage: Callable[[pd.DataFrame], pd.DataFrame], message: str
) -> None:
    frame = breakage(synthetic.generate_transactions(1_000, seed=2))
    with pytest.raises(schema.RawDataError, match=re.escape(message)) as error:
        schema.check_raw(frame)
    assert "load_raw() in raw.py" in str(error.value)
    assert "\n" not in str(error.value)
