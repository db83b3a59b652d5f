"""Train the fraud model, log it to MLflow and register a version tagged with where it came from.

    python -m {{ cookiecutter.__package_name }}.train [--params params.yaml]

Reads `data/train.csv` and `data/test.csv`; writes `models/model.joblib` (what the service and the
evaluation load) and `models/model.json` (registered name, version, run id, tags). The MLflow run holds
the parameters, test-set metrics and the model; the registered version is tagged with:

    git_sha          commit of the code that trained it ("unknown" outside a git repository)
    dvc_data_hash    md5 of the training data as recorded by DVC (dvc.lock or a .dvc file; "untracked")
    run_id           the MLflow run
    lockfile_sha256  sha256 of uv.lock (the exact environment; "missing" without one)

Tracking: `MLFLOW_TRACKING_URI` (default `sqlite:///mlruns.db` in the project, with artifacts under
`mlartifacts/`, both git-ignored); set it to a server's URL to use a shared tracking server.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .features import TARGET, build_preprocessor, split_xy
from .metrics import compute_metrics
from .params import DEFAULT_PARAMS, MODEL_FILE, MODEL_INFO_FILE, TrainParams, load_params

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

DEFAULT_TRACKING_URI = "sqlite:///mlruns.db"
LOCAL_ARTIFACT_DIR = Path("mlartifacts")
UNTRACKED = "untracked"
# Types the MLflow model (saved with skops, not pickle) may contain beyond skops' defaults; reviewed: the
# spline transformer's B-splines, scipy's array helper and gradient-boosted trees' node arrays.
SKOPS_TRUSTED_TYPES = [
    "scipy._lib.array_api_compat.numpy._aliases.asarray",
    "scipy.interpolate._bsplines.BSpline",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
]


@dataclass
class TrainedModel:
    """What a training run produced and where it was recorded."""

    name: str
    version: str
    run_id: str
    tracking_uri: str
    model_uri: str
    threshold: float
    metrics: dict[str, float]
    tags: dict[str, str] = field(default_factory=dict)


def build_model(params: TrainParams) -> Pipeline:
    """Preprocessing and classifier in one scikit-learn Pipeline (what gets pickled and served)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    if params.model == "logistic_regression":
        lr = params.logistic_regression
        classifier: Any = LogisticRegression(C=lr.C, max_iter=lr.max_iter, random_state=params.seed)
    else:
        hgb = params.hist_gradient_boosting
        classifier = HistGradientBoostingClassifier(
            learning_rate=hgb.learning_rate,
            max_iter=hgb.max_iter,
            max_leaf_nodes=hgb.max_leaf_nodes,
            l2_regularization=hgb.l2_regularization,
            early_stopping=False,
            random_state=params.seed,
        )
    return Pipeline([("features", build_preprocessor()), ("classifier", classifier)])


def fit(train: pd.DataFrame, params: TrainParams) -> Pipeline:
    """Fit the pipeline on a training frame (no tracking: the pure part tests use)."""
    features, labels = split_xy(train)
    return build_model(params).fit(features, labels)


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def git_sha(cwd: Path = Path()) -> str:
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=False
        )
    except OSError:
        return "unknown"
    return proc.stdout.strip() if proc.returncode == 0 else "unknown"


def dvc_data_hash(data_file: Path, project: Path = Path()) -> str:
    """md5 DVC recorded for `data_file` (in dvc.lock, else in `<file>.dvc`); "untracked" otherwise."""
    wanted = data_file.as_posix()
    lock = project / "dvc.lock"
    if lock.exists():
        stages = (yaml.safe_load(lock.read_text(encoding="utf-8")) or {}).get("stages", {})
        for stage in stages.values():
            for out in stage.get("outs", []):
                if out.get("path") == wanted and out.get("md5"):
                    return str(out["md5"])
    dvc_file = project / f"{wanted}.dvc"
    if dvc_file.exists():
        for out in (yaml.safe_load(dvc_file.read_text(encoding="utf-8")) or {}).get("outs", []):
            if out.get("md5"):
                return str(out["md5"])
    return UNTRACKED


def lockfile_sha256(project: Path = Path()) -> str:
    lock = project / "uv.lock"
    return hashlib.sha256(lock.read_bytes()).hexdigest() if lock.exists() else "missing"


def pip_requirements() -> list[str]:
    """Pinned requirements of the logged model (given explicitly: MLflow's inference takes ~13 s)."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in ("scikit-learn", "numpy", "pandas", "scipy", "skops")]


def _ensure_experiment(name: str, uri: str) -> str:
    import mlflow

    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return str(experiment.experiment_id)
    local = uri.startswith(("sqlite:", "file:")) or "://" not in uri
    location = LOCAL_ARTIFACT_DIR.resolve().as_uri() if local else None
    return str(mlflow.create_experiment(name, artifact_location=location))


def train_and_register(params: TrainParams, data_dir: Path, threshold: float) -> TrainedModel:
    """Fit, log params/metrics/model to MLflow, register the model and tag the version."""
    import joblib
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature
    from mlflow.tracking import MlflowClient

    train_file, test_file = data_dir / "train.csv", data_dir / "test.csv"
    train, test = pd.read_csv(train_file), pd.read_csv(test_file)
    model = fit(train, params)
    test_features, test_labels = split_xy(test)
    scores = model.predict_proba(test_features)[:, 1]
    metrics = {k: v for k, v in compute_metrics(test_labels, scores, threshold).items() if v is not None}

    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    experiment_id = _ensure_experiment(params.experiment, uri)
    tags = {
        "git_sha": git_sha(),
        "dvc_data_hash": dvc_data_hash(train_file),
        "lockfile_sha256": lockfile_sha256(),
    }
    # the signature's integer columns are integers on purpose (hour, card age): the service validates them
    warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer", category=UserWarning)
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params(
            {
                "model": params.model,
                "seed": params.seed,
                "threshold": threshold,
                "train_rows": len(train),
                "train_fraud_rate": round(float(train[TARGET].mean()), 6),
                **{f"{params.model}.{k}": v for k, v in getattr(params, params.model).model_dump().items()},
            }
        )
        mlflow.log_metrics(metrics)
        mlflow.set_tags(tags)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name=params.registered_model_name,
            signature=infer_signature(test_features.head(100), scores[:100]),
            input_example=test_features.head(3),
            pip_requirements=pip_requirements(),
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
        )
    version = str(info.registered_model_version)
    tags["run_id"] = run.info.run_id
    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(params.registered_model_name, version, key, value)

    trained = TrainedModel(
        name=params.registered_model_name,
        version=version,
        run_id=run.info.run_id,
        tracking_uri=uri,
        model_uri=f"models:/{params.registered_model_name}/{version}",
        threshold=threshold,
        metrics=metrics,
        tags=tags,
    )
    params.model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, params.model_dir / MODEL_FILE)
    (params.model_dir / MODEL_INFO_FILE).write_text(
        json.dumps(asdict(trained), indent=2) + "\n", encoding="utf-8"
    )
    return trained


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train, log and register the model.")
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS)
    parser.add_argument(
        "--export",
        type=Path,
        metavar="DIR",
        help="also download the registered version as an MLflow model folder into DIR (what CI hands "
        "to the eval gate), in this process: MLflow is imported once",
    )
    args = parser.parse_args(argv)
    params = load_params(args.params)
    trained = train_and_register(params.train, params.data.dir, params.evaluate.threshold)
    if args.export is not None:
        import mlflow

        args.export.mkdir(parents=True, exist_ok=True)
        mlflow.artifacts.download_artifacts(artifact_uri=trained.model_uri, dst_path=str(args.export))
    print(  # noqa: T201 - a pipeline stage reports what it produced
        f"registered {trained.model_uri} (run {trained.run_id}) in {trained.tracking_uri}\n"
        f"test PR AUC {trained.metrics.get('pr_auc', float('nan')):.3f}; "
        f"local copy in {params.train.model_dir}/"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
