"""Tiny real models and a real MLflow registry (sqlite in a temp dir) for the model-gate tests.

    registry = MlflowRegistry.start(tmp)          # sets MLFLOW_TRACKING_URI, first use migrates the DB
    good = save_classifier(tmp / "good", quality="good")
    registry.register(good, "fraud", alias="champion")

`import mlflow` costs ~10 s and a new sqlite DB ~6 s, so tests share one registry per module.
Models are saved with explicit `pip_requirements` (no 13 s requirement-inference subprocess).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FEATURES = ["amount", "hour", "velocity"]


def golden_frame(rows: int = 600, seed: int = 7) -> Any:
    """Synthetic transactions: fraud depends on amount and velocity; a `country` column for segments."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "amount": rng.normal(size=rows),
            "hour": rng.normal(size=rows),
            "velocity": rng.normal(size=rows),
            "country": rng.choice(["DE", "FR", "NL"], size=rows),
        }
    )
    logit = 1.6 * frame["amount"] + 1.2 * frame["velocity"] - 0.8
    frame["is_fraud"] = (logit + rng.logistic(size=rows) > 0).astype(int)
    return frame


def save_classifier(path: Path, *, quality: str = "good", seed: int = 0) -> Path:
    """A logistic regression saved as an MLflow model folder.

    quality: `good` (all features, lots of data), `weak` (only the noise feature `hour`),
    `slightly-worse` (fewer training rows, one informative feature dropped).
    """
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    train = golden_frame(rows=3000, seed=100 + seed)
    x = train[FEATURES].copy()
    if quality == "weak":
        x["amount"] = 0.0
        x["velocity"] = 0.0
    elif quality == "slightly-worse":
        x["velocity"] = 0.0
    model = LogisticRegression(random_state=seed).fit(x, train["is_fraud"])
    mlflow.sklearn.save_model(
        model,
        str(path),
        pip_requirements=["scikit-learn"],
        signature=infer_signature(train[FEATURES], model.predict_proba(x)[:, 1]),
    )
    return path


def save_nan_model(path: Path) -> Path:
    import mlflow.pyfunc

    class NanModel(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
        def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
            import numpy as np

            return np.full(len(model_input), np.nan)

    mlflow.pyfunc.save_model(str(path), python_model=NanModel(), pip_requirements=["numpy"])
    return path


@dataclass
class MlflowRegistry:
    root: Path
    uri: str

    @classmethod
    def start(cls, root: Path) -> MlflowRegistry:
        import mlflow

        root.mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{root / 'mlflow.db'}"
        os.environ["MLFLOW_TRACKING_URI"] = uri
        os.environ["MLFLOW_REGISTRY_URI"] = uri
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        # runs' artifacts land in the temp dir, not in ./mlruns of whatever the working directory is
        if mlflow.get_experiment_by_name("mlgate-tests") is None:
            mlflow.create_experiment("mlgate-tests", artifact_location=(root / "artifacts").as_uri())
        mlflow.set_experiment("mlgate-tests")
        return cls(root, uri)

    def register(self, model_dir: Path, name: str, *, alias: str | None = None) -> str:
        """Log the folder as a run's artifacts, register it and optionally point `alias` at it."""
        import mlflow
        from mlflow import MlflowClient

        with mlflow.start_run() as run:
            mlflow.log_artifacts(str(model_dir), "model")
        version = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
        if alias:
            MlflowClient().set_registered_model_alias(name, alias, version.version)
        return str(version.version)

    def state(self, name: str) -> dict[str, Any]:
        """Everything promote may touch: versions, aliases and every version's tags."""
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        client = MlflowClient()
        try:
            model = client.get_registered_model(name)
        except MlflowException:
            return {}
        versions = client.search_model_versions(f"name='{name}'")
        return {
            "aliases": {alias: str(version) for alias, version in model.aliases.items()},
            "versions": {str(v.version): dict(v.tags) for v in versions},
        }


def fraud_cost(y_true: Any, y_score: Any) -> float:
    """A custom metric (lower is better): 10 per missed fraud, 1 per false alarm, per row."""
    import numpy as np

    flagged = np.asarray(y_score) >= 0.5
    truth = np.asarray(y_true) == 1
    return float((10 * np.sum(truth & ~flagged) + np.sum(~truth & flagged)) / truth.size)
