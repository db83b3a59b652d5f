"""The golden dataset's two parts (`mlgate.eval_gate.golden`) and how the eval gate's rules use them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlgate.eval_gate.config import EvalSection, GoldenSets, MetricRule
from mlgate.eval_gate.golden import features_for, split_golden
from mlgate.eval_gate.rules import judge_metric
from mlgate.gate import GateInputError


def frame(parts: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"x": range(len(parts)), "golden_set": parts})


def test_without_golden_sets_every_row_is_in_both_parts() -> None:
    parts = split_golden(frame(["a", "b"]), None, "g.csv")
    assert not parts.configured and parts.must_pass.all() and parts.sample.all()


def test_rows_are_split_by_the_column() -> None:
    parts = split_golden(frame(["must-pass", "sample", "sample"]), GoldenSets(), "g.csv")
    assert parts.configured
    assert parts.must_pass.tolist() == [True, False, False]
    assert (parts.must_pass_rows, parts.sample_rows) == (1, 2)


@pytest.mark.parametrize(
    ("parts", "field"),
    [
        (["must-pass", "sample", "other"], "eval.golden_sets"),
        (["sample", "sample"], "eval.golden_sets.must_pass"),
        (["must-pass"], "eval.golden_sets.sample"),
    ],
)
def test_bad_parts_name_the_field(parts: list[str], field: str) -> None:
    with pytest.raises(GateInputError) as err:
        split_golden(frame(parts), GoldenSets(), "g.csv")
    assert err.value.field == field


def test_thresholds_are_judged_on_the_must_pass_value_and_changes_on_the_sample() -> None:
    rule = MetricRule.model_validate({"threshold": 0.9, "max_regression": {"relative": 0.1}})
    # sample: 0.30 vs champion 0.31 (3 % worse: allowed); must-pass scenarios: 1.0 (meets the floor)
    checks = judge_metric("pr_auc", rule, True, 0.30, 0.31, must_pass=1.0)
    assert [c.passed for c in checks] == [True, True]
    assert "must-pass scenarios 1.0000" in checks[0].detail
    checks = judge_metric("pr_auc", rule, True, 0.30, 0.31, must_pass=0.8)  # a scenario missed
    assert [c.reason for c in checks if c.passed is False] == ["metric-threshold"]
    checks = judge_metric("pr_auc", rule, True, 0.20, 0.31, must_pass=1.0)  # much worse on the sample
    assert [c.reason for c in checks if c.passed is False] == ["metric-regression"]


def test_section_drops_the_golden_set_column_from_the_features() -> None:
    section = EvalSection.model_validate(
        {"label": "y", "golden_sets": {"column": "part"}, "metrics": {"roc_auc": {}}}
    )

    class Handle:
        input_names = None
        label = "m"

    golden = pd.DataFrame({"x": [1.0, 2.0], "part": ["must-pass", "sample"], "y": [0, 1]})
    features = features_for(golden, section, Handle(), "g.csv")  # type: ignore[arg-type]
    assert list(features.columns) == ["x"]
    assert np.array_equal(features["x"].to_numpy(), [1.0, 2.0])
