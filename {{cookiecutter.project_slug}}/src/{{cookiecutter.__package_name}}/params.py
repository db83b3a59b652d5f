"""`params.yaml`: the pipeline's parameters, validated so a typo fails with the file, key and fix.

DVC reads the same file to decide which stages to re-run (`params:` in dvc.yaml), so every knob that
changes a result lives here, never in code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_PARAMS = Path("params.yaml")
# the files the train stage writes into `train.model_dir` (the service and the evaluation read them)
MODEL_FILE = "model.joblib"
MODEL_INFO_FILE = "model.json"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataParams(_Strict):
    seed: int = 42
    n_rows: int = Field(default=30_000, ge=1_000, description="rows of synthetic transactions to generate")
    fraud_rate: float = Field(default=0.02, gt=0, lt=0.5, description="expected share of fraudulent rows")
    test_size: float = Field(default=0.25, gt=0, lt=1)
    dir: Path = Path("data")


class HistGradientBoostingParams(_Strict):
    learning_rate: float = Field(default=0.1, gt=0)
    max_iter: int = Field(default=200, ge=1)
    max_leaf_nodes: int = Field(default=31, ge=2)
    l2_regularization: float = Field(default=1.0, ge=0)


class LogisticRegressionParams(_Strict):
    C: float = Field(default=1.0, gt=0)
    max_iter: int = Field(default=1000, ge=1)


class TrainParams(_Strict):
    seed: int = 42
    model: Literal["logistic_regression", "hist_gradient_boosting"] = "logistic_regression"
    hist_gradient_boosting: HistGradientBoostingParams = Field(default_factory=HistGradientBoostingParams)
    logistic_regression: LogisticRegressionParams = Field(default_factory=LogisticRegressionParams)
    experiment: str = "{{ cookiecutter.project_slug }}"
    registered_model_name: str = "{{ cookiecutter.project_slug }}"
    model_dir: Path = Path("models")


class EvaluateParams(_Strict):
    threshold: float = Field(default=0.2, gt=0, lt=1, description="score from which a row is fraud")
    segment_by: list[str] = ["country"]
    metrics_file: Path = Path("metrics.json")
    plots_dir: Path = Path("plots")


class Params(_Strict):
    data: DataParams = Field(default_factory=DataParams)
    train: TrainParams = Field(default_factory=TrainParams)
    evaluate: EvaluateParams = Field(default_factory=EvaluateParams)


class ParamsError(ValueError):
    """params.yaml is missing a value, has a wrong one or is not YAML."""


def load_params(path: Path = DEFAULT_PARAMS) -> Params:
    """Read and validate `path`; every problem becomes one line naming the key and the fix."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ParamsError(f"{path}: cannot read parameters ({exc})") from None
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise ParamsError(f"{path}: {key}: {first['msg']} (got {first.get('input')!r})") from None
