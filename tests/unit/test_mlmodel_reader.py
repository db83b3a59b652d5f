"""`mlgate.registry.mlmodel`: a local model's MLmodel and scikit-learn estimator read without MLflow give
exactly what MLflow gives, and anything the reader does not verify is read by MLflow itself."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from mlgate.gate import GateInputError
from mlgate.registry.mlmodel import UnverifiedError, _sklearn_file, load_sklearn, read_mlmodel
from mlgate.registry.models import _mlflow_mlmodel, load_predictor, open_model
from tests.support.models import FEATURES, golden_frame, save_classifier, save_nan_model


def save_sklearn(path: Path, fmt: str, *, signature: bool = True) -> Path:
    """A fitted pipeline (scaler + logistic regression) saved by MLflow in serialisation format `fmt`."""
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train = golden_frame(rows=800, seed=3)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(train[FEATURES], train["is_fraud"])
    mlflow.sklearn.save_model(
        model,
        str(path),
        serialization_format=fmt,
        pip_requirements=["scikit-learn"],
        signature=infer_signature(train[FEATURES], model.predict_proba(train[FEATURES])[:, 1])
        if signature
        else None,
    )
    return path


def save_tensor_model(path: Path) -> Path:
    """A model whose signature has an unnamed tensor input (numpy in, numpy out)."""
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    train = golden_frame(rows=400, seed=5)
    x = train[FEATURES].to_numpy()
    model = LogisticRegression().fit(x, train["is_fraud"])
    mlflow.sklearn.save_model(
        model, str(path), pip_requirements=["scikit-learn"], signature=infer_signature(x, model.predict(x))
    )
    return path


def edit_mlmodel(path: Path, change: Any) -> Path:
    meta = yaml.safe_load((path / "MLmodel").read_text(encoding="utf-8"))
    change(meta)
    (path / "MLmodel").write_text(yaml.safe_dump(meta), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {
        "skops": save_sklearn(root / "skops", "skops"),
        "pickle": save_sklearn(root / "pickle", "pickle"),
        "cloudpickle": save_sklearn(root / "cloudpickle", "cloudpickle"),
        "no-signature": save_sklearn(root / "no-signature", "skops", signature=False),
        "tensor": save_tensor_model(root / "tensor"),
        "classifier": save_classifier(root / "classifier"),
        "pyfunc": save_nan_model(root / "pyfunc"),
    }


@pytest.mark.parametrize(
    "name", ["skops", "pickle", "cloudpickle", "no-signature", "tensor", "classifier", "pyfunc"]
)
def test_the_mlmodel_reads_as_mlflow_reads_it(models: dict[str, Path], name: str) -> None:
    read = read_mlmodel(models[name])
    assert read is not None, "a model MLflow writes is read without MLflow"
    assert read == _mlflow_mlmodel(models[name], name, "candidate")


@pytest.mark.parametrize("fmt", ["skops", "pickle", "cloudpickle"])
def test_the_estimator_predicts_exactly_as_mlflows(models: dict[str, Path], fmt: str) -> None:
    import mlflow.sklearn

    flavors, _ = _mlflow_mlmodel(models[fmt], fmt, "candidate")
    ours = load_sklearn(models[fmt], flavors["sklearn"])
    theirs = mlflow.sklearn.load_model(str(models[fmt]))
    frame = golden_frame(rows=500, seed=11)[FEATURES]
    assert type(ours) is type(theirs)
    assert np.array_equal(ours.predict_proba(frame), theirs.predict_proba(frame))


@pytest.mark.parametrize(
    ("case", "change"),
    [
        ("unknown top-level key", lambda m: m.update(resources={"api_version": 1})),
        ("signature params", lambda m: m["signature"].update(params='[{"name": "k", "type": "long"}]')),
        ("input of another kind", lambda m: m["signature"].update(inputs='[{"type": "array", "items": {}}]')),
        ("inputs not JSON", lambda m: m["signature"].update(inputs="[{unclosed")),
        ("flavors not a mapping", lambda m: m.update(flavors=["sklearn"])),
    ],
)
def test_what_the_reader_does_not_verify_goes_to_mlflow(
    tmp_path: Path, models: dict[str, Path], case: str, change: Any
) -> None:
    import shutil

    path = edit_mlmodel(shutil.copytree(models["skops"], tmp_path / "model"), change)
    assert read_mlmodel(path) is None, case


def test_a_garbled_mlmodel_is_still_mlflows_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "garbled"
    path.mkdir()
    (path / "MLmodel").write_text("flavors: [unclosed\n", encoding="utf-8")
    assert read_mlmodel(path) is None
    with pytest.raises(GateInputError, match="has a corrupt MLmodel file"):
        open_model(str(path))


@pytest.mark.parametrize(
    ("case", "change"),
    [
        ("code paths", lambda f: f.update(code="code")),
        ("unknown format", lambda f: f.update(serialization_format="joblib")),
        ("file outside the folder", lambda f: f.update(pickled_model="../elsewhere.pkl")),
        ("unknown key", lambda f: f.update(extra=1)),
    ],
)
def test_an_sklearn_flavour_it_does_not_verify_is_loaded_by_mlflow(
    tmp_path: Path, models: dict[str, Path], case: str, change: Any
) -> None:
    """Not verified: MLflow's own loader runs, so the outcome (estimator or error) is MLflow's."""
    import shutil

    import mlflow.sklearn

    path = shutil.copytree(models["pickle"], tmp_path / "model")
    shutil.copy(path / "model.pkl", tmp_path / "elsewhere.pkl")
    edit_mlmodel(path, lambda m: change(m["flavors"]["sklearn"]))
    conf = yaml.safe_load((path / "MLmodel").read_text(encoding="utf-8"))["flavors"]["sklearn"]
    with pytest.raises(UnverifiedError):
        _sklearn_file(path, conf)
    frame = golden_frame(rows=50, seed=2)[FEATURES]

    def outcome(load: Any) -> tuple[str, Any]:
        try:
            return "loaded", load().predict_proba(frame).tolist()
        except Exception as exc:  # noqa: BLE001 - whatever MLflow raises, both must raise it
            return "raised", type(exc).__name__

    ours = outcome(lambda: load_sklearn(path, conf))
    assert ours == outcome(lambda: mlflow.sklearn.load_model(str(path))), case


def test_mlflows_pickle_switch_still_refuses(
    monkeypatch: pytest.MonkeyPatch, models: dict[str, Path]
) -> None:
    """MLFLOW_ALLOW_PICKLE_DESERIALIZATION=false: the model is not unpickled, the gate reports a broken
    model (prediction-error) exactly as when MLflow loaded every model."""
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
    handle = open_model(str(models["skops"]))
    with pytest.raises(
        GateInputError, match=r"cannot be loaded.*MLFLOW_ALLOW_PICKLE_DESERIALIZATION"
    ) as raised:
        load_predictor(handle, want_scores=True)
    assert raised.value.reason == "prediction-error"


def test_the_eval_gate_on_local_models_does_not_import_mlflow(
    tmp_path: Path, models: dict[str, Path]
) -> None:
    frame = golden_frame(rows=300, seed=21)
    frame.to_csv(tmp_path / "golden.csv", index=False)
    (tmp_path / "mlgate.yaml").write_text(
        textwrap.dedent(
            """\
            eval:
              golden_data: golden.csv
              label: is_fraud
              metrics: {roc_auc: {threshold: 0.5}, recall: {}}
              latency: {enabled: false}
              bootstrap: {resamples: 100}
            """
        ),
        encoding="utf-8",
    )
    script = (
        "import sys\n"
        "from mlgate.cli import main\n"
        "rc = main(sys.argv[1:])\n"
        "print('mlflow imported:', 'mlflow' in sys.modules)\n"
        "sys.exit(rc)\n"
    )
    args = ["--candidate", str(models["skops"]), "--baseline", str(models["classifier"]), "--no-comment"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLGATE_"))}
    done = subprocess.run(
        [sys.executable, "-c", script, "eval-gate", *args, "--report-dir", str(tmp_path / "out")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "mlflow imported: False" in done.stdout
