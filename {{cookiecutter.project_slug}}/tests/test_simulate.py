from __future__ import annotations

from pathlib import Path

from {{ cookiecutter.__package_name }} import schema, simulate, synthetic


def test_calm_sample_looks_like_training_data() -> None:
    sample = simulate.production_sample(4_000, drift=False)
    train = synthetic.generate_transactions(4_000, seed=42)
    assert tuple(sample.columns) == schema.COLUMNS
    assert abs(sample["amount"].median() - train["amount"].median()) < 0.15 * train["amount"].median()


def test_drifted_sample_shifts_but_stays_in_domain() -> None:
    calm = simulate.production_sample(4_000, drift=False)
    drifted = simulate.production_sample(4_000, drift=True)
    assert drifted["amount"].median() > 1.5 * calm["amount"].median()
    assert drifted["hour"].between(0, 5).mean() > 2 * calm["hour"].between(0, 5).mean()
    assert drifted["amount"].between(0.5, schema.MAX_AMOUNT).all()
    assert drifted["card_age_days"].between(0, schema.MAX_CARD_AGE_DAYS).all()
    assert set(drifted["country"]) <= {c.value for c in schema.Country}


def test_command_writes_the_sample(tmp_path: Path) -> None:
    target = tmp_path / "sample.csv"
    assert simulate.main(["--drift", "--rows", "500", "--output", str(target)]) == 0
    assert len(target.read_text().splitlines()) == 501
