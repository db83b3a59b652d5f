"""The two parts of a golden dataset: must-pass scenarios and a representative sample.

A golden dataset of key scenarios alone is saturated: every reasonable model gets every row right, all
metrics are 1.000 with a [1.000, 1.000] interval, and no comparison with the champion can tell a better
model from a worse one. So the golden dataset has two parts, told apart by one column
(`eval.golden_sets.column`):

    must-pass   key scenarios every model must get right: the absolute rules (`threshold`, segment
                `max_gap`) are judged on these rows only
    sample      a representative (hard) sample of the population: the comparisons with the champion
                (`max_regression`, `min_improvement`) and every bootstrap interval are computed on it

Without `golden_sets` every rule is judged on every row, as before. `split_golden` validates the column
and returns the row masks; it is a pure function of the frame and the section.
`read_golden` reads and checks the file, `features_for` selects a model's input columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.eval_gate.config import EvalSection, GoldenSets
from mlgate.gate import GateInputError

if TYPE_CHECKING:
    import pandas as pd

    from mlgate.registry.models import ModelHandle


@dataclass(frozen=True)
class GoldenParts:
    """Boolean row masks (numpy arrays) of the two parts; both all-true without `golden_sets`."""

    must_pass: Any
    sample: Any
    configured: bool

    @property
    def must_pass_rows(self) -> int:
        return int(self.must_pass.sum())

    @property
    def sample_rows(self) -> int:
        return int(self.sample.sum())


def split_golden(frame: pd.DataFrame, sets: GoldenSets | None, path: Path | str) -> GoldenParts:
    """The must-pass and sample rows of the golden dataset; one-line input errors when the column is
    missing, holds other values or leaves a part empty."""
    import numpy as np

    if sets is None:
        everything = np.ones(len(frame), dtype=bool)
        return GoldenParts(everything, everything, configured=False)
    if sets.column not in frame.columns:
        raise GateInputError(
            f"golden-set column {sets.column!r} is missing",
            file=path,
            field="eval.golden_sets.column",
            fix=f"add a column {sets.column!r} with {sets.must_pass!r} / {sets.sample!r} per row "
            "(regenerate the golden dataset), or remove `eval.golden_sets`",
        )
    values = frame[sets.column]
    if values.isna().any():
        raise GateInputError(
            f"golden-set column {sets.column!r} has {int(values.isna().sum())} empty value(s)",
            file=path,
            field="eval.golden_sets.column",
            fix=f"mark every row {sets.must_pass!r} or {sets.sample!r}",
        )
    text = values.astype(str).to_numpy()
    unknown = sorted(set(text.tolist()) - {sets.must_pass, sets.sample})
    if unknown:
        shown = ", ".join(map(repr, unknown[:5]))
        raise GateInputError(
            f"golden-set column {sets.column!r} holds {shown}, neither must-pass nor sample",
            file=path,
            field="eval.golden_sets",
            fix=f"use only {sets.must_pass!r} and {sets.sample!r} (or set `must_pass`/`sample` to yours)",
        )
    must_pass, sample = text == sets.must_pass, text == sets.sample
    for mask, key, what in ((must_pass, "must_pass", "must-pass scenarios"), (sample, "sample", "sample")):
        if not mask.any():
            raise GateInputError(
                f"has no {what} rows (no {getattr(sets, key)!r} in column {sets.column!r})",
                file=path,
                field=f"eval.golden_sets.{key}",
                fix="the golden dataset needs both parts: must-pass scenarios and a representative sample",
            )
    return GoldenParts(must_pass, sample, configured=True)


def _csv_header(path: Path) -> list[str]:
    import csv

    with path.open(encoding="utf-8-sig", newline="") as fh:
        return next(csv.reader(fh), [])


def read_golden(path: Path, section: EvalSection) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        raise GateInputError(
            "golden dataset not found",
            file=path,
            field="eval.golden_data",
            fix="run the data pipeline (`dvc repro`) or fix `eval.golden_data`",
        )
    try:
        frame = pd.read_parquet(path) if path.suffix in {".parquet", ".pq"} else pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the same input error
        raise GateInputError(
            f"cannot be read ({type(exc).__name__})", file=path, fix="write CSV with a header row, or Parquet"
        ) from None
    # pandas renames a repeated CSV header (`amount`, `amount.1`): read the header itself
    names = _csv_header(path) if path.suffix not in {".parquet", ".pq"} else [str(c) for c in frame.columns]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise GateInputError(
            f"column {repeated[0]!r} appears more than once", file=path, fix="give every column a unique name"
        )
    if section.label not in frame.columns:
        raise GateInputError(
            f"label column {section.label!r} is missing",
            file=path,
            field="eval.label",
            fix=f"columns are: {', '.join(map(str, frame.columns[:20]))}",
        )
    if len(frame) < 2:
        raise GateInputError("has fewer than 2 rows", file=path, fix="use a golden dataset with real rows")
    if section.task != "regression":
        labels = set(frame[section.label].dropna().unique().tolist())
        if not labels <= {0, 1} or frame[section.label].isna().any():
            shown = ", ".join(map(repr, sorted(labels, key=str)[:5]))
            raise GateInputError(
                f"label column {section.label!r} must hold 0/1 (or true/false) without gaps; found {shown}",
                file=path,
                field="eval.label",
                fix="encode the positive class as 1 and the rest as 0",
            )
    for seg in section.segments:
        if seg.column not in frame.columns:
            raise GateInputError(
                f"segment column {seg.column!r} is missing",
                file=path,
                field="eval.segments",
                fix="add the column or remove the segment rule",
            )
    split_golden(frame, section.golden_sets, path)  # fail fast on a bad golden-set column
    return frame


def features_for(
    frame: pd.DataFrame, section: EvalSection, handle: ModelHandle, golden: Path
) -> pd.DataFrame:
    not_features = (section.label, *section.exclude_columns)
    if section.golden_sets is not None:
        not_features = (*not_features, section.golden_sets.column)
    drop = [c for c in not_features if c in frame.columns]
    features = frame.drop(columns=drop)
    if handle.input_names is not None:
        missing = [c for c in handle.input_names if c not in features.columns]
        if missing:
            raise GateInputError(
                f"missing feature column(s) {', '.join(missing)} required by {handle.label}",
                file=golden,
                fix="regenerate the golden dataset with the model's features",
            )
        features = features[handle.input_names]
    return features
