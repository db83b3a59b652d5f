"""Pull-request changes to a generated project's training, each committed the way a contributor would.

- `risk_flags`: a genuinely better model. The generator's ground truth has step effects the default
  features cannot express (a card younger than 30 / 180 days, a night-time transaction, and the two
  together), while the default model sees card age and hour only as smooth terms. The change adds those
  flags and their pairwise interactions as one more column transformer of scikit-learn and numpy parts
  (so the pickled model still loads without the package, and a single-row predict stays within the
  latency rule: about 1.3x the default's). On the golden sample the model's PR AUC rises from 0.281 to
  0.309, with the paired bootstrap interval of the difference above 0 ([+0.0047, +0.0502] with the
  gate's 1,000 resamples): the eval gate shows it better, not merely within the 10 % rule.
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

_RISK_FLAGS = """    return ColumnTransformer(
        [
            (
                # step effects the smooth terms miss: night (hour < 6), card age bands (< 6, < 30,
                # < 180 days) and their pairs
                "risk_flags",
                make_pipeline(
                    FunctionTransformer(np.digitize, kw_args={"bins": [6, 30, 180]}),
                    OneHotEncoder(
                        categories=[[0, 1], [0, 1, 2, 3]], handle_unknown="ignore", sparse_output=False
                    ),
                    PolynomialFeatures(degree=2, interaction_only=True, include_bias=False),
                ),
                ["hour", "card_age_days"],
            ),"""


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
            git(project, "revert", "--no-edit", head)
