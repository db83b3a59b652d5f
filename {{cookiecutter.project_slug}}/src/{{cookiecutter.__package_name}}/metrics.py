"""Classification metrics shared by training (logged to MLflow) and evaluation (metrics.json)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    import pandas as pd


def compute_metrics(
    labels: Sequence[int] | pd.Series, scores: Sequence[float] | np.ndarray, threshold: float
) -> dict[str, float | None]:
    """Classification metrics at `threshold`; AUCs are None when only one class is present."""
    import numpy as np
    from sklearn.metrics import (
        average_precision_score,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    y = np.asarray(labels, dtype=int)
    s = np.asarray(scores, dtype=float)
    predicted = (s >= threshold).astype(int)
    both_classes = len(np.unique(y)) == 2
    return {
        "precision": float(precision_score(y, predicted, zero_division=0)),
        "recall": float(recall_score(y, predicted, zero_division=0)),
        "f1": float(f1_score(y, predicted, zero_division=0)),
        "roc_auc": float(roc_auc_score(y, s)) if both_classes else None,
        "pr_auc": float(average_precision_score(y, s)) if both_classes else None,
        "fraud_rate": float(y.mean()) if len(y) else 0.0,
        "rows": len(y),
    }
