"""Shared fixtures: a small dataset and model built from params.yaml, so the tests run in seconds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.pipeline import Pipeline

from {{ cookiecutter.__package_name }} import data, synthetic, train
from {{ cookiecutter.__package_name }}.params import MODEL_FILE, MODEL_INFO_FILE, Params, load_params
from {{ cookiecutter.__package_name }}.serve import create_app

PROJECT = Path(__file__).resolve().parents[1]
TEST_ROWS = 8_000  # params.yaml's size scaled down: enough fraud cases to learn from, fast to fit


@pytest.fixture(scope="session")
def params() -> Params:
    loaded = load_params(PROJECT / "params.yaml")
    loaded.data.n_rows = TEST_ROWS
    return loaded


@pytest.fixture(scope="session")
def splits(params: Params) -> tuple[pd.DataFrame, pd.DataFrame]:
    df = synthetic.generate_transactions(
        params.data.n_rows, seed=params.data.seed, fraud_rate=params.data.fraud_rate
    )
    train_df, test_df = data.stratified_split(df, test_size=params.data.test_size, seed=params.data.seed)
    return train_df, test_df


@pytest.fixture(scope="session")
def fitted(params: Params, splits: tuple[pd.DataFrame, pd.DataFrame]) -> Pipeline:
    return train.fit(splits[0], params.train)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, fitted: Pipeline) -> Path:
    """A directory laid out like the train stage's output (models/)."""
    import joblib

    directory = tmp_path_factory.mktemp("models")
    joblib.dump(fitted, directory / MODEL_FILE)
    info = {"name": "test-model", "version": "7", "run_id": "test", "threshold": 0.5}
    (directory / MODEL_INFO_FILE).write_text(json.dumps(info), encoding="utf-8")
    return directory


@pytest.fixture
def log_config(tmp_path: Path) -> Path:
    """mlgate.yaml with the project's `monitor` section, its prediction log in a temporary directory."""
    import yaml

    raw = yaml.safe_load((PROJECT / "mlgate.yaml").read_text(encoding="utf-8"))
    section = {**raw["monitor"]["prediction_log"], "sink": "local"}
    section["directory"] = str(tmp_path / "predictions")
    config = tmp_path / "mlgate.yaml"
    config.write_text(yaml.safe_dump({"monitor": {"prediction_log": section}}), encoding="utf-8")
    return config


@pytest.fixture
def client(model_dir: Path, log_config: Path) -> Iterator[TestClient]:
    with TestClient(create_app(str(model_dir), config=log_config)) as test_client:
        yield test_client
