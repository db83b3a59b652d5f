from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.__package_name }} import data


def test_generator_is_deterministic_per_seed() -> None:
    first = data.generate_transactions(3_000, seed=7)
    pd.testing.assert_frame_equal(first, data.generate_transactions(3_000, seed=7))
    assert not first.equals(data.generate_transactions(3_000, seed=8))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_about_two_percent_fraud(seed: int) -> None:
    df = data.generate_transactions(20_000, seed=seed)
    assert 0.015 <= df["is_fraud"].mean() <= 0.025


def test_columns_and_value_domains() -> None:
    df = data.generate_transactions(5_000, seed=3)
    assert tuple(df.columns) == data.COLUMNS
    assert df["transaction_id"].is_unique
    assert df["amount"].between(0.5, data.MAX_AMOUNT).all()
    assert df["hour"].between(0, 23).all()
    assert df["card_age_days"].between(0, data.MAX_CARD_AGE_DAYS).all()
    assert set(df["merchant_category"]) <= {c.value for c in data.MerchantCategory}
    assert set(df["country"]) <= {c.value for c in data.Country}
    assert set(df["device"]) <= {d.value for d in data.Device}


def test_fraud_is_more_likely_at_night_on_new_cards() -> None:
    df = data.generate_transactions(30_000, seed=5)
    risky = df[df["hour"].between(0, 5) & (df["card_age_days"] < 30)]
    assert risky["is_fraud"].mean() > 5 * df["is_fraud"].mean()


def test_golden_dataset_is_fixed_and_covers_every_scenario() -> None:
    golden = data.golden_dataset()
    assert len(golden) == data.GOLDEN_ROWS + data.GOLDEN_SAMPLE_ROWS
    pd.testing.assert_frame_equal(golden, data.golden_dataset())
    parts = golden.groupby(data.GOLDEN_SET_COLUMN)
    sizes = {data.KEY_SCENARIOS: data.GOLDEN_ROWS, data.REPRESENTATIVE_SAMPLE: data.GOLDEN_SAMPLE_ROWS}
    assert parts.size().to_dict() == sizes
    must_pass = parts.get_group(data.KEY_SCENARIOS)
    assert set(must_pass["scenario"]) == set(data.SCENARIOS)
    assert set(must_pass["is_fraud"]) == {0, 1}


def test_golden_sample_is_representative_and_has_enough_fraud_to_compare_models() -> None:
    sample = data.golden_sample()
    assert 0.01 <= sample["is_fraud"].mean() <= 0.03  # the population's rate, not an easy enriched set
    assert sample["is_fraud"].sum() >= 100  # enough positives for bootstrap intervals of useful width
    assert sample["transaction_id"].is_unique


def test_golden_labels_agree_with_the_ground_truth() -> None:
    golden = data.golden_scenarios()
    probability = 1 / (1 + np.exp(-(data.fraud_logit(golden) + data.reference_intercept())))
    assert (probability[golden["is_fraud"] == 1] > 0.5).all()
    assert (probability[golden["is_fraud"] == 0] < 0.05).all()


def test_prepare_writes_a_stratified_split(tmp_path: Path) -> None:
    files = data.prepare(tmp_path, n_rows=4_000, seed=1, fraud_rate=0.02, test_size=0.25)
    train, test = pd.read_csv(files["train"]), pd.read_csv(files["test"])
    assert len(train) + len(test) == 4_000
    assert abs(train["is_fraud"].mean() - test["is_fraud"].mean()) < 0.005
    assert set(train["transaction_id"]).isdisjoint(test["transaction_id"])
    assert len(pd.read_csv(files["golden"])) == data.GOLDEN_ROWS + data.GOLDEN_SAMPLE_ROWS
