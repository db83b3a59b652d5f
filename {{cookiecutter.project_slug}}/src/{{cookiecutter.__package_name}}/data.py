"""The `prepare` stage: raw transactions in, the train/test split and the golden dataset out.

    python -m {{ cookiecutter.__package_name }}.data [--params params.yaml]

Reads the data through `raw.load_raw()` (the one function to replace to bring real data; synthetic
transactions by default), checks it against the contract in `schema.py`, and writes

    data/raw/transactions.csv   exactly what load_raw() returned, checked (the DVC-versioned snapshot)
    data/train.csv              the training split (stratified on `is_fraud`, seeded: `data.seed`)
    data/test.csv               the held-out split (`data.test_size` of the rows)
    data/golden.csv             the golden dataset the eval gate judges models on (synthetic.py)

The same parameters and the same raw data give byte-identical files, so DVC only re-runs later stages
when something really changed.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from .params import DEFAULT_PARAMS, DataParams, load_params
from .raw import load_raw
from .schema import ID_COLUMN, TARGET, RawDataError, check_raw
from .synthetic import golden_dataset

if TYPE_CHECKING:
    import pandas as pd

RAW_FILE = Path("raw") / "transactions.csv"  # inside `data.dir`


def stratified_split(df: pd.DataFrame, *, test_size: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and test frames with the same fraud rate (scikit-learn's seeded stratified split)."""
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(df, test_size=test_size, random_state=seed, stratify=df[TARGET])
    return train, test


def prepare(params: DataParams) -> dict[str, Path]:
    """Load the raw data through the seam, check it, split it and write the datasets; returns the files."""
    raw = check_raw(load_raw(params))
    files = {
        "raw": params.dir / RAW_FILE,
        "train": params.dir / "train.csv",
        "test": params.dir / "test.csv",
        "golden": params.dir / "golden.csv",
    }
    files["raw"].parent.mkdir(parents=True, exist_ok=True)
    raw.to_csv(files["raw"], index=False)
    train, test = stratified_split(raw, test_size=params.test_size, seed=params.seed)
    train.sort_values(ID_COLUMN).to_csv(files["train"], index=False)
    test.sort_values(ID_COLUMN).to_csv(files["test"], index=False)
    golden_dataset().to_csv(files["golden"], index=False)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS)
    args = parser.parse_args(argv)
    try:
        files = prepare(load_params(args.params).data)
    except RawDataError as exc:
        parser.exit(1, f"error: {exc}\n")
    for name, path in files.items():
        print(f"{name:>6}: {path}")  # noqa: T201 - a pipeline stage reports what it wrote
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
