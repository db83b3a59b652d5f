"""Evaluate the trained model: `metrics.json` for `dvc metrics` / the eval gate, curves for `dvc plots`.

    python -m {{ cookiecutter.__package_name }}.evaluate [--params params.yaml]

Reads `models/model.joblib`, `data/test.csv` and `data/golden.csv`; writes

    metrics.json            precision, recall, f1, roc_auc, pr_auc (test set, at `evaluate.threshold`),
                            baseline_pr_auc (a model that always predicts the base rate),
                            segments.<column>.<value>.* (per-segment metrics, e.g. per country),
                            golden.* (the must-pass golden scenarios), golden_sample.* (the golden
                            dataset's representative sample) and latency_ms.p50 / p95 (single-row predict)
    plots/pr_curve.csv      precision-recall curve (recall, precision, threshold)
    plots/roc_curve.csv     ROC curve (fpr, tpr, threshold)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .metrics import compute_metrics
from .params import DEFAULT_PARAMS, MODEL_FILE, load_params

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    import pandas as pd

CURVE_POINTS = 200


def segment_metrics(df: pd.DataFrame, scores: np.ndarray, by: str, threshold: float) -> dict[str, Any]:
    """`compute_metrics` for every value of column `by`."""
    import numpy as np

    result: dict[str, Any] = {}
    for value in sorted(df[by].astype(str).unique()):
        mask = (df[by].astype(str) == value).to_numpy()
        result[value] = compute_metrics(df.loc[mask, "is_fraud"], np.asarray(scores)[mask], threshold)
    return result


def predict_latency_ms(model: Any, features: pd.DataFrame, repeats: int = 100) -> dict[str, float]:
    """p50 / p95 wall time of single-row predictions, as the service makes them."""
    import numpy as np

    rows = [features.iloc[[i % len(features)]] for i in range(repeats)]
    timings = []
    for row in rows:
        start = time.perf_counter()
        model.predict_proba(row)
        timings.append((time.perf_counter() - start) * 1000)
    return {"p50": float(np.percentile(timings, 50)), "p95": float(np.percentile(timings, 95))}


def curves(labels: pd.Series, scores: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """PR and ROC curves, thinned to at most CURVE_POINTS rows each (small files for `dvc plots`)."""
    import numpy as np
    import pandas as pd
    from sklearn.metrics import precision_recall_curve, roc_curve

    precision, recall, pr_thresholds = precision_recall_curve(labels, scores)
    pr = pd.DataFrame({"recall": recall[:-1], "precision": precision[:-1], "threshold": pr_thresholds}).round(
        6
    )
    fpr, tpr, roc_thresholds = roc_curve(labels, scores)
    roc = pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": np.minimum(roc_thresholds, 1.0)}).round(6)

    def thin(frame: pd.DataFrame) -> pd.DataFrame:
        if len(frame) <= CURVE_POINTS:
            return frame
        keep = np.unique(np.linspace(0, len(frame) - 1, CURVE_POINTS).astype(int))
        return frame.iloc[keep]

    return thin(pr), thin(roc)


def evaluate(
    model: Any, test: pd.DataFrame, golden: pd.DataFrame, *, threshold: float, segment_by: Sequence[str]
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """metrics.json content and the two curves for a fitted model."""
    from .features import split_xy
    from .synthetic import GOLDEN_SET_COLUMN, KEY_SCENARIOS, REPRESENTATIVE_SAMPLE

    features, labels = split_xy(test)
    scores = model.predict_proba(features)[:, 1]
    metrics: dict[str, Any] = dict(compute_metrics(labels, scores, threshold))
    metrics["threshold"] = threshold
    metrics["baseline_pr_auc"] = float(labels.mean())
    metrics["segments"] = {column: segment_metrics(test, scores, column, threshold) for column in segment_by}
    golden_features, golden_labels = split_xy(golden)
    golden_scores = model.predict_proba(golden_features)[:, 1]
    # the two parts of the golden dataset (synthetic.GOLDEN_SET_COLUMN): must-pass scenarios and the sample
    part = golden[GOLDEN_SET_COLUMN].to_numpy() if GOLDEN_SET_COLUMN in golden else None
    for key, name in (("golden", KEY_SCENARIOS), ("golden_sample", REPRESENTATIVE_SAMPLE)):
        rows = (part == name) if part is not None else (golden_labels.to_numpy() >= 0)
        if not rows.any():
            continue
        labels_part, scores_part = golden_labels.to_numpy()[rows], golden_scores[rows]
        metrics[key] = compute_metrics(labels_part, scores_part, threshold)
        metrics[key]["accuracy"] = float(((scores_part >= threshold) == labels_part).mean())
    metrics["latency_ms"] = predict_latency_ms(model, features)
    pr, roc = curves(labels, scores)
    return metrics, pr, roc


def main(argv: list[str] | None = None) -> int:
    import joblib
    import pandas as pd

    parser = argparse.ArgumentParser(description="Evaluate the trained model.")
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS)
    args = parser.parse_args(argv)
    params = load_params(args.params)
    model = joblib.load(params.train.model_dir / MODEL_FILE)
    test = pd.read_csv(params.data.dir / "test.csv")
    golden = pd.read_csv(params.data.dir / "golden.csv")
    options = params.evaluate
    metrics, pr, roc = evaluate(
        model, test, golden, threshold=options.threshold, segment_by=options.segment_by
    )
    options.metrics_file.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    options.plots_dir.mkdir(parents=True, exist_ok=True)
    pr.to_csv(options.plots_dir / "pr_curve.csv", index=False)
    roc.to_csv(options.plots_dir / "roc_curve.csv", index=False)
    print(  # noqa: T201 - a pipeline stage reports what it wrote
        f"PR AUC {metrics['pr_auc']:.3f} (baseline {metrics['baseline_pr_auc']:.3f}), "
        f"ROC AUC {metrics['roc_auc']:.3f}, F1 {metrics['f1']:.3f} at threshold {options.threshold}\n"
        f"wrote {options.metrics_file}, {options.plots_dir}/pr_curve.csv and roc_curve.csv"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
