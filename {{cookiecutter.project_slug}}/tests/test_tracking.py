"""Training against a real MLflow store (a sqlite file in a temporary directory)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from {{ cookiecutter.__package_name }} import data, train
from {{ cookiecutter.__package_name }}.params import MODEL_INFO_FILE, DataParams, Params
from {{ cookiecutter.__package_name }}.serve import load_model


@pytest.mark.slow
def test_training_registers_a_tagged_model_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, params: Params
) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlruns.db'}")
    data.prepare(DataParams(dir=Path("data"), n_rows=4_000, seed=1, fraud_rate=0.02, test_size=0.25))
    Path("uv.lock").write_text("version = 1\n", encoding="utf-8")

    trained = train.train_and_register(params.train, Path("data"), threshold=0.5)

    version = MlflowClient().get_model_version(params.train.registered_model_name, trained.version)
    assert version.tags["run_id"] == trained.run_id
    assert version.tags["dvc_data_hash"] == train.UNTRACKED
    assert version.tags["git_sha"] == "unknown"
    assert version.tags["lockfile_sha256"] == train.lockfile_sha256()
    run = MlflowClient().get_run(trained.run_id)
    assert run.data.params["model"] == params.train.model
    assert run.data.metrics["pr_auc"] > 0
    assert (tmp_path / "mlartifacts").is_dir()  # artifacts stay inside the project

    local = json.loads((params.train.model_dir / MODEL_INFO_FILE).read_text(encoding="utf-8"))
    assert local["model_uri"] == f"models:/{params.train.registered_model_name}/{trained.version}"
    served = load_model(local["model_uri"])  # the service can load straight from the registry
    assert served.version == trained.version
    assert hasattr(served.model, "predict_proba")
