"""Values that both `params.yaml` (the pipeline) and `mlgate.yaml` (the gates) hold must agree.

The pipeline trains and evaluates with `params.yaml`; the gates judge with `mlgate.yaml`. Where one
setting appears in both, a change to one file alone would make the gates judge something other than what
the pipeline built (another decision threshold, another registered model, another dataset): this test
fails until both say the same. It reads the two files only, so it runs in a second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[1]


def _load(name: str) -> dict[str, Any]:
    return yaml.safe_load((PROJECT / name).read_text(encoding="utf-8")) or {}


def _get(tree: dict[str, Any], dotted: str) -> Any:
    node: Any = tree
    for key in dotted.split("."):
        node = node[key]
    return node


PARAMS, GATES = _load("params.yaml"), _load("mlgate.yaml")
DATA_DIR = Path(_get(PARAMS, "data.dir"))

# (mlgate.yaml key, what params.yaml says it must be, where that comes from)
SHARED: list[tuple[str, Any, str]] = [
    ("eval.decision_threshold", _get(PARAMS, "evaluate.threshold"), "evaluate.threshold"),
    ("eval.model_name", _get(PARAMS, "train.registered_model_name"), "train.registered_model_name"),
    ("eval.golden_data", (DATA_DIR / "golden.csv").as_posix(), "data.dir + /golden.csv"),
    ("data.dataset", (DATA_DIR / "train.csv").as_posix(), "data.dir + /train.csv"),
]


@pytest.mark.parametrize(("gate_key", "expected", "source"), SHARED, ids=[row[0] for row in SHARED])
def test_mlgate_yaml_agrees_with_params_yaml(gate_key: str, expected: Any, source: str) -> None:
    actual = _get(GATES, gate_key)
    if isinstance(expected, float | int):
        assert actual == pytest.approx(expected), (
            f"mlgate.yaml {gate_key} is {actual!r} but params.yaml {source} is {expected!r}: make them equal"
        )
    else:
        assert str(actual) == str(expected), (
            f"mlgate.yaml {gate_key} is {actual!r} but params.yaml {source} is {expected!r}: make them equal"
        )


def test_every_gated_segment_is_evaluated_by_the_pipeline() -> None:
    evaluated = set(_get(PARAMS, "evaluate.segment_by"))
    gated = {segment["column"] for segment in _get(GATES, "eval").get("segments", [])}
    assert gated <= evaluated, (
        f"mlgate.yaml eval.segments {sorted(gated - evaluated)} are not in params.yaml evaluate.segment_by"
    )
