"""Bad inputs of the eval gate's golden sets and latency procedure, and of the drift gate's baseline check:
each one line naming the file or field, a documented failure-reason, exit 1, never a traceback.

The eval-gate cases fail while reading the configuration or the golden dataset, before any model is
opened (the gate checks its data first), so no model or registry is needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgate.data.config import ProfileSettings
from mlgate.data.profile_core import build_profile
from tests.support.bad_inputs import BadInput, check_bad_input

EVAL = """\
eval:
  golden_data: golden.csv
  label: is_fraud
  golden_sets: {column: golden_set, must_pass: must-pass, sample: sample}
  metrics: {pr_auc: {threshold: 0.5}}
"""
HEADER = "amount,golden_set,is_fraud\n"
GOLDEN = HEADER + "1.0,must-pass,1\n2.0,must-pass,0\n3.0,sample,1\n4.0,sample,0\n"
GATE = ("eval-gate", "--candidate", "no-model-needed")


def eval_case(id: str, *, config: str = EVAL, golden: str = GOLDEN, names: str) -> BadInput:
    return BadInput(id, GATE, "invalid-input", names, files={"mlgate.yaml": config, "golden.csv": golden})


def with_latency(block: str) -> str:
    return EVAL + f"  latency: {block}\n"


def profile_files(root: Path) -> None:
    """data.csv, its profile as the base branch's (base.json) and an edited copy (proposed.json)."""
    (root / "data.csv").write_text("amount\n" + "".join(f"{i % 50}.5\n" for i in range(400)))
    import json

    profile = build_profile(root / "data.csv", ProfileSettings())
    (root / "base.json").write_text(json.dumps(profile))


DRIFT = "data:\n  dataset: data.csv\ndrift:\n  profile: base.json\n"

CASES = [
    eval_case(
        "golden-set-column-missing",
        golden="amount,is_fraud\n1.0,1\n2.0,0\n",
        names="golden-set column 'golden_set' is missing",
    ),
    eval_case(
        "golden-set-unknown-value",
        golden=GOLDEN + "5.0,holdout,0\n",
        names="eval.golden_sets",
    ),
    eval_case("golden-set-empty-value", golden=GOLDEN + "5.0,,0\n", names="eval.golden_sets.column"),
    eval_case(
        "golden-set-no-must-pass-rows",
        golden=HEADER + "3.0,sample,1\n4.0,sample,0\n",
        names="eval.golden_sets.must_pass",
    ),
    eval_case(
        "golden-set-no-sample-rows",
        golden=HEADER + "1.0,must-pass,1\n2.0,must-pass,0\n",
        names="eval.golden_sets.sample",
    ),
    eval_case(
        "golden-set-same-values",
        config=EVAL.replace("sample: sample", "sample: must-pass"),
        names="eval.golden_sets",
    ),
    eval_case(
        "golden-set-unknown-key",
        config=EVAL.replace("must_pass: must-pass", "must-pass: must-pass"),
        names="eval.golden_sets",
    ),
    eval_case("latency-clock-unknown", config=with_latency("{clock: gpu}"), names="eval.latency.clock"),
    eval_case("latency-no-rounds", config=with_latency("{rounds: 0}"), names="eval.latency.rounds"),
    eval_case("latency-too-many-rounds", config=with_latency("{rounds: 500}"), names="eval.latency.rounds"),
    eval_case(
        "latency-confirm-not-bool", config=with_latency("{confirm: maybe}"), names="eval.latency.confirm"
    ),
    BadInput(
        "drift-proposed-profile-missing",
        ("drift", "--proposed-profile", "gone.json"),
        "missing-file",
        "gone.json",
        files={"mlgate.yaml": DRIFT},
        setup=profile_files,
    ),
    BadInput(
        "drift-base-profile-missing",
        ("drift", "--profile", "no-base.json", "--proposed-profile", "base.json"),
        "missing-file",
        "no-base.json",
        files={"mlgate.yaml": DRIFT},
        setup=profile_files,
    ),
    BadInput(
        "drift-empty-approval-label",
        ("drift", "--proposed-profile", "base.json"),
        "invalid-input",
        "drift.baseline_approval_label",
        files={"mlgate.yaml": DRIFT + '  baseline_approval_label: ""\n'},
        setup=profile_files,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(
    case: BadInput, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    check_bad_input(case, tmp_path, monkeypatch, capsys)


def test_the_catalogue_has_distinct_cases() -> None:
    assert len({c.id for c in CASES}) == len(CASES) >= 10
