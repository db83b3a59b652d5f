"""A drift baseline a pull request cannot move: the pure core (`mlgate.data.drift_baseline`), the labels read
from the event payload (`Runner.pr_labels`) and `mlgate drift --proposed-profile` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlgate.data.config import ProfileSettings
from mlgate.data.drift_baseline import FAILURE_REASON, baseline_change, with_baseline_change
from mlgate.data.profile_core import build_profile
from mlgate.gate import GateResult
from mlgate.github import Runner
from tests.support.bad_inputs import run_mlgate

LABEL = "approve-baseline-change"


def result(passed: bool = True, reason: str = "") -> GateResult:
    return GateResult("drift", passed, reason, summary_md="### ✅ mlgate drift: no drift in 1 columns")


def test_an_unchanged_profile_is_no_baseline_change(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"x": 1}')
    (tmp_path / "b.json").write_text('{"x": 1}')
    change = baseline_change(tmp_path / "a.json", tmp_path / "b.json", [], LABEL)
    assert not change.changed and change.judged_against == tmp_path / "a.json"
    out = with_baseline_change(result(), change)
    assert out.passed and out.summary_md == result().summary_md
    assert out.outputs["baseline-changed"] == "false"


def test_an_unapproved_change_fails_with_its_own_reason_and_says_so_first(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"x": 1}')
    (tmp_path / "b.json").write_text('{"x": 2}')
    change = baseline_change(tmp_path / "a.json", tmp_path / "b.json", ["bug"], LABEL)
    assert change.changed and not change.approved
    assert change.judged_against == tmp_path / "a.json"  # the base branch's profile decides
    for drifted in (result(), result(False, "data-drift")):
        out = with_baseline_change(drifted, change)
        assert (out.passed, out.failure_reason) == (False, FAILURE_REASON)  # ahead of data-drift
        assert out.summary_md.splitlines()[0].startswith(
            "> ❌ **This pull request changes the drift baseline**"
        )
        assert LABEL in out.summary_md.splitlines()[0]
        assert out.data["baseline"]["approved"] is False


def test_an_approved_change_is_reported_and_judged_against_the_new_profile(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"x": 1}')
    (tmp_path / "b.json").write_text('{"x": 2}')
    change = baseline_change(tmp_path / "a.json", tmp_path / "b.json", [LABEL], LABEL)
    assert change.approved and change.judged_against == tmp_path / "b.json"
    out = with_baseline_change(result(), change)
    assert out.passed and "changes the drift baseline" in out.summary_md.splitlines()[0]
    drifted = with_baseline_change(result(False, "data-drift"), change)
    assert (drifted.passed, drifted.failure_reason) == (False, "data-drift")  # approval is not a waiver


def test_labels_come_from_the_event_payload(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 3, "labels": [{"name": LABEL}, {"name": "x"}]}}))
    assert Runner.from_env({"GITHUB_EVENT_PATH": str(event)}).pr_labels() == [LABEL, "x"]
    event.write_text(json.dumps({"pull_request": {"number": 3}}))
    assert Runner.from_env({"GITHUB_EVENT_PATH": str(event)}).pr_labels() == []
    assert Runner.from_env({}).pr_labels() == []


@pytest.mark.parametrize(("labels", "verdict"), [([], ("false", FAILURE_REASON)), ([LABEL], ("true", ""))])
def test_drift_command_with_a_proposed_profile(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    labels: list[str],
    verdict: tuple[str, str],
) -> None:
    data = tmp_path / "data.csv"
    # 1,000 rows: above PSI's minimum sample (~435 at 10 bins), so the statistics can judge (not inconclusive)
    data.write_text("amount\n" + "".join(f"{i % 50}.5\n" for i in range(1000)))
    profile = build_profile(data, ProfileSettings())
    (tmp_path / "base.json").write_text(json.dumps(profile))
    (tmp_path / "proposed.json").write_text(json.dumps(profile, indent=1))  # same statistics, new bytes
    (tmp_path / "mlgate.yaml").write_text("data:\n  dataset: data.csv\ndrift:\n  profile: base.json\n")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 4, "labels": [{"name": n} for n in labels]}}))
    run = run_mlgate(
        ("drift", "--proposed-profile", "proposed.json"),
        tmp_path,
        env={"GITHUB_EVENT_PATH": str(event)},
        monkeypatch=monkeypatch,
        capsys=capsys,
    )
    assert (run.outputs["passed"], run.outputs["failure-reason"]) == verdict, run.stdout
    assert run.outputs["baseline-changed"] == "true"
    assert run.summary.lstrip().startswith("> ")  # the baseline change is the first thing said
    assert "changes the drift baseline" in run.summary.splitlines()[0]
