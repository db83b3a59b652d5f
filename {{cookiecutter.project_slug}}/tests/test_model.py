from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from {{ cookiecutter.__package_name }} import evaluate, synthetic, train
from {{ cookiecutter.__package_name }}.features import split_xy
from {{ cookiecutter.__package_name }}.metrics import compute_metrics
from {{ cookiecutter.__package_name }}.params import Params, ParamsError, load_params


def test_model_beats_a_trivial_baseline_on_pr_auc(fitted: Pipeline, splits: tuple[pd.DataFrame, ...]) -> None:
    features, labels = split_xy(splits[1])
    scores = fitted.predict_proba(features)[:, 1]
    metrics = compute_metrics(labels, scores, threshold=0.5)
    baseline = labels.mean()  # PR AUC of a model that scores every transaction the same
    assert metrics["pr_auc"] > 3 * baseline
    assert metrics["roc_auc"] > 0.85


def test_golden_fraud_scenarios_score_above_legitimate_ones(fitted: Pipeline) -> None:
    golden = synthetic.golden_scenarios()
    features, labels = split_xy(golden)
    scores = fitted.predict_proba(features)[:, 1]
    assert compute_metrics(labels, scores, threshold=0.5)["roc_auc"] > 0.95


def test_gradient_boosting_is_a_working_alternative(params: Params, splits: tuple[pd.DataFrame, ...]) -> None:
    options = params.train.model_copy(update={"model": "hist_gradient_boosting"})
    options.hist_gradient_boosting.max_iter = 30  # enough to learn the signal, quick to fit
    model = train.fit(splits[0], options)
    features, labels = split_xy(splits[1])
    pr_auc = compute_metrics(labels, model.predict_proba(features)[:, 1], 0.5)["pr_auc"]
    assert pr_auc > 3 * labels.mean()


def test_evaluate_reports_overall_segment_and_golden_metrics(
    fitted: Pipeline, splits: tuple[pd.DataFrame, ...]
) -> None:
    metrics, pr, roc = evaluate.evaluate(
        fitted, splits[1], synthetic.golden_dataset(), threshold=0.5, segment_by=["country"]
    )
    for key in ("precision", "recall", "f1", "roc_auc", "pr_auc", "baseline_pr_auc", "threshold"):
        assert isinstance(metrics[key], float), key
    assert set(metrics["segments"]["country"]) == set(splits[1]["country"])
    assert metrics["golden"]["rows"] == synthetic.GOLDEN_ROWS  # the must-pass scenarios
    assert metrics["golden_sample"]["rows"] == synthetic.GOLDEN_SAMPLE_ROWS
    assert metrics["golden_sample"]["pr_auc"] < metrics["golden"]["pr_auc"]  # the sample is the hard part
    assert metrics["latency_ms"]["p95"] >= metrics["latency_ms"]["p50"] > 0
    assert list(pr.columns) == ["recall", "precision", "threshold"]
    assert len(pr) <= evaluate.CURVE_POINTS
    assert roc["tpr"].iloc[-1] == 1.0
    json.dumps(metrics)  # metrics.json must be plain JSON


def test_metrics_without_both_classes_leave_aucs_empty() -> None:
    metrics = compute_metrics([0, 0, 0], [0.1, 0.7, 0.2], threshold=0.5)
    assert metrics["roc_auc"] is None
    assert metrics["pr_auc"] is None
    assert metrics["precision"] == 0.0


def test_dvc_data_hash_comes_from_dvc_lock(tmp_path: Path) -> None:
    assert train.dvc_data_hash(Path("data/train.csv"), tmp_path) == train.UNTRACKED
    (tmp_path / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  prepare:\n    cmd: x\n    outs:\n"
        "    - path: data/train.csv\n      md5: 0123456789abcdef\n      size: 10\n",
        encoding="utf-8",
    )
    assert train.dvc_data_hash(Path("data/train.csv"), tmp_path) == "0123456789abcdef"


def test_a_typo_in_params_names_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "params.yaml"
    bad.write_text("train:\n  modle: logistic_regression\n", encoding="utf-8")
    with pytest.raises(ParamsError, match=r"train\.modle"):
        load_params(bad)
