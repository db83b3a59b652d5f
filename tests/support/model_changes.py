"""Pull-request changes to a generated project's training, each committed the way a contributor would.

- `risk_flags`: a genuinely better model. The generator's ground truth has step effects the default
  features cannot express (a card younger than 30 / 180 days, a night-time transaction, and the three
  together with a card-not-present device), while the default model sees card age and hour only as
  smooth terms. The change adds those flags and their interactions (scikit-learn and numpy parts only,
  so the pickled model still loads without the package). On the golden sample the model's PR AUC rises
  from 0.281 to 0.314, with the paired bootstrap interval of the difference above 0 ([+0.0075, +0.0555]
  with 1,000 resamples): the eval gate shows it better, not merely within the 10 % rule.
- `balanced_class_weight`: a model the eval gate passes but production must not take. Re-weighting the
  classes barely changes the ranking (PR AUC stays within the rule, must-pass recall rises), but every
  score is inflated: the positive rate at the decision threshold jumps several-fold and the score
  distribution shifts. The canary's prediction-shift check sees it and rolls back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.project import git

PACKAGE = "fraud_detection"

_RISK_FLAGS = """    # step effects the smooth terms miss: night, card age under 30 or 180 days,
    # no card present, and their interactions
    flags = ColumnTransformer(
        [
            (
                "night",
                make_pipeline(
                    FunctionTransformer(np.digitize, kw_args={"bins": [6]}),
                    OneHotEncoder(categories=[[0]], handle_unknown="ignore", sparse_output=False),
                ),
                ["hour"],
            ),
            (
                "new_card",
                make_pipeline(
                    FunctionTransformer(np.digitize, kw_args={"bins": [30, 180]}),
                    OneHotEncoder(categories=[[0, 1]], handle_unknown="ignore", sparse_output=False),
                ),
                ["card_age_days"],
            ),
            (
                "card_not_present",
                OneHotEncoder(categories=[["web", "mobile"]], handle_unknown="ignore", sparse_output=False),
                ["device"],
            ),
        ]
    )
    risk_flags = make_pipeline(flags, PolynomialFeatures(degree=3, interaction_only=True, include_bias=False))
    return ColumnTransformer(
        [
            ("risk_flags", risk_flags, ["hour", "card_age_days", "device"]),"""


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    if old not in text:
        raise AssertionError(f"{path}: the generated code changed, {old!r} not found: update this change")
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def apply_risk_flags(project: Path) -> None:
    # the MLflow model is saved with skops, which loads only reviewed types: np.digitize is one more
    _replace(
        project / "src" / PACKAGE / "train.py",
        '    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",\n]',
        '    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",\n    "numpy.digitize",\n]',
    )
    features = project / "src" / PACKAGE / "features.py"
    _replace(features, "    return ColumnTransformer(\n        [", _RISK_FLAGS)
    _replace(
        features,
        "FunctionTransformer, OneHotEncoder, SplineTransformer, StandardScaler",
        "FunctionTransformer, OneHotEncoder, PolynomialFeatures, SplineTransformer, StandardScaler",
    )


def apply_balanced_class_weight(project: Path) -> None:
    _replace(
        project / "src" / PACKAGE / "train.py",
        "LogisticRegression(C=lr.C, max_iter=lr.max_iter, random_state=params.seed)",
        'LogisticRegression(C=lr.C, max_iter=lr.max_iter, random_state=params.seed, class_weight="balanced")',
    )


@contextmanager
def committed(project: Path, change: str, message: str, *, keep: bool = False) -> Iterator[str]:
    """Apply `change` ("risk_flags" or "balanced_class_weight"), commit it; yield the commit; revert it
    afterwards unless `keep` (a merged change stays on main)."""
    {"risk_flags": apply_risk_flags, "balanced_class_weight": apply_balanced_class_weight}[change](project)
    git(project, "commit", "-qam", message)
    head = git(project, "rev-parse", "HEAD")
    try:
        yield head
    finally:
        if not keep:
            git(project, "revert", "--no-edit", "-q", head)
