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
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from mlgate.config import Section
from mlgate.gate import GateInputError

if TYPE_CHECKING:
    import pandas as pd


class GoldenSets(Section):
    """Which golden rows are must-pass scenarios (absolute rules) and which the comparison sample."""

    column: str = Field(
        default="golden_set", description="Golden-dataset column naming the part each row belongs to."
    )
    must_pass: str = Field(
        default="must-pass",
        description="Value of rows every model must get right: thresholds and segment gaps use them.",
    )
    sample: str = Field(
        default="sample",
        description="Value of the representative sample: comparisons with the baseline and intervals.",
    )

    @model_validator(mode="after")
    def _distinct(self) -> GoldenSets:
        if self.must_pass == self.sample:
            raise ValueError("`must_pass` and `sample` must be different values")
        return self


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
