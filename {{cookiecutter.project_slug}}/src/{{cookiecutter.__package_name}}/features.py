"""Model inputs: which columns the model sees and how they are turned into numbers.

The preprocessing is built only from scikit-learn and numpy parts, so a pickled model loads anywhere
scikit-learn is installed (an MLflow registry, the Docker image) without this package on the path.

- amount, card age: `log1p` then standardised (both are long-tailed);
- hour: periodic splines, so 23:00 and 01:00 are neighbours;
- merchant category, country, device: one-hot over the known values (unknown values are ignored).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .schema import TARGET, Country, Device, MerchantCategory

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.compose import ColumnTransformer

LOG_SCALED_FEATURES = ("amount", "card_age_days")
CYCLIC_FEATURES = ("hour",)
CATEGORICAL_FEATURES = ("merchant_category", "country", "device")
FEATURE_COLUMNS = (*LOG_SCALED_FEATURES, *CYCLIC_FEATURES, *CATEGORICAL_FEATURES)
CATEGORIES = {
    "merchant_category": [c.value for c in MerchantCategory],
    "country": [c.value for c in Country],
    "device": [d.value for d in Device],
}


def build_preprocessor() -> ColumnTransformer:
    """The ColumnTransformer that turns raw transaction columns into model features."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, SplineTransformer, StandardScaler

    return ColumnTransformer(
        [
            (
                "log_scaled",
                make_pipeline(
                    FunctionTransformer(np.log1p, feature_names_out="one-to-one"), StandardScaler()
                ),
                list(LOG_SCALED_FEATURES),
            ),
            (
                "hour",
                SplineTransformer(
                    n_knots=7, degree=3, knots=np.linspace(0, 24, 7).reshape(-1, 1), extrapolation="periodic"
                ),
                list(CYCLIC_FEATURES),
            ),
            (
                "categorical",
                OneHotEncoder(
                    categories=[CATEGORIES[c] for c in CATEGORICAL_FEATURES],
                    handle_unknown="ignore",
                    sparse_output=False,
                ),
                list(CATEGORICAL_FEATURES),
            ),
        ],
        remainder="drop",
        verbose_feature_names_out=False,
    )


def split_xy(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Model inputs and labels of a dataset with the transaction columns."""
    missing = [c for c in (*FEATURE_COLUMNS, TARGET) if c not in df.columns]
    if missing:
        raise KeyError(f"dataset lacks column(s) {', '.join(missing)}")
    return df.loc[:, list(FEATURE_COLUMNS)], df[TARGET].astype(int)
