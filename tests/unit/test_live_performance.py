"""`mlgate live-performance`: live precision, recall and false positive rate per model version from the
prediction log (written by the real `PredictionLog`) joined with delayed labels on `transaction_id`.

Wilson intervals agree with scipy's; a version whose false positive rate is clearly above its band fails
and opens one issue on the fake GitHub, a second run updates it, a healthy run closes it; an estimate above
the band whose interval still reaches into it is `watch` (passes); too few labels are not judged; live
precision far below the eval gate's figure for the same version is reported as a regression.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlgate import cli
from mlgate.monitor.config import LivePerformanceSettings, PredictionLogSettings
from mlgate.monitor.live import FAILURE_REASONS, wilson
from mlgate.monitor.prediction_log import PredictionLog
from tests.support.bad_inputs import BadInput, check_bad_input, read_outputs
from tests.support.fake_github import FakeGitHub


@pytest.mark.parametrize(("k", "n"), [(0, 20), (3, 40), (37, 50), (500, 1000), (1, 1)])
def test_wilson_matches_scipy(k: int, n: int) -> None:
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = wilson(k, n, 0.95)
    assert low == pytest.approx(ci.low, abs=1e-9) and high == pytest.approx(ci.high, abs=1e-9)


def simulate(
    directory: Path, labels: Path, *, versions: dict[str, float], rows: int = 1500, seed: int = 0
) -> None:
    """Served predictions of each version (false positive rate `versions[v]`, recall 0.9) and their labels."""
    rng = random.Random(seed)  # noqa: S311 - test data
    log = PredictionLog(PredictionLogSettings(directory=str(directory), sample_rate=1.0, rows_per_file=500))
    lines = ["transaction_id,is_fraud"]
    for version, fpr in versions.items():
        for i in range(rows):
            fraud = rng.random() < 0.05
            flagged = rng.random() < (0.9 if fraud else fpr)
            request_id = f"{version}-{i}"
            log.record(
                {"transaction_id": request_id, "amount": 1.0},
                score=0.5,
                decision=flagged,
                model_version=version,
            )
            if i % 4:  # a quarter of the labels have not arrived yet
                lines.append(f"{request_id},{int(fraud)}")
    log.close()
    labels.write_text("\n".join(lines) + "\n", encoding="utf-8")


def config(tmp_path: Path, **live: object) -> Path:
    path = tmp_path / "mlgate.yaml"
    import yaml

    path.write_text(
        yaml.safe_dump(
            {
                "monitor": {
                    "prediction_log": {"directory": str(tmp_path / "log")},
                    "live": {"labels": str(tmp_path / "labels.csv"), "kpi_max": 0.05, **live},
                }
            }
        ),
        encoding="utf-8",
    )
    return path


def eval_report(tmp_path: Path, version: str, **metrics: float) -> Path:
    path = tmp_path / f"eval-{version}.json"
    data = {
        "candidate": {"version": version, "name": "fraud-detection"},
        "metrics": [{"name": name, "candidate": value} for name, value in metrics.items()],
    }
    path.write_text(json.dumps({"gate": "eval-gate", "passed": True, "data": data}), encoding="utf-8")
    return path


@pytest.fixture
def actions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    monkeypatch.chdir(tmp_path)
    with FakeGitHub() as fake:
        for key, value in fake.actions_env(tmp_path).items():
            monkeypatch.setenv(key, value)
        yield fake


def reports(tmp_path: Path, *versions: str) -> list[str]:
    """--eval-report arguments for `versions` (eval precision 0.7, recall 0.9)."""
    args = []
    for version in versions:
        args += ["--eval-report", str(eval_report(tmp_path, version, precision=0.7, recall=0.9))]
    return args


def run(tmp_path: Path, *args: str) -> tuple[int, dict[str, object], dict[str, str]]:
    (tmp_path / "gh_output").write_text("", encoding="utf-8")
    code = cli.main(
        ["live-performance", "--config", str(tmp_path / "mlgate.yaml"), "--report-dir", "out", *args]
    )
    result = json.loads((tmp_path / "out" / "live-performance.json").read_text(encoding="utf-8"))
    return code, result, read_outputs(tmp_path / "gh_output")


def versions(result: dict[str, object]) -> dict[str, dict[str, object]]:
    data = result["data"]
    assert isinstance(data, dict)
    return {str(v["version"]): v for v in data["versions"]}


def test_a_kpi_out_of_band_opens_then_updates_then_closes_one_issue(
    tmp_path: Path, actions: FakeGitHub
) -> None:
    simulate(tmp_path / "log", tmp_path / "labels.csv", versions={"3": 0.01, "4": 0.2})
    config(tmp_path)
    report3 = eval_report(tmp_path, "3", precision=0.7, recall=0.9)
    report4 = eval_report(tmp_path, "4", precision=0.7, recall=0.9)
    code, result, outputs = run(tmp_path, "--eval-report", str(report3), "--eval-report", str(report4))
    assert code == 1 and result["failure_reason"] == "kpi-out-of-band"
    by_version = versions(result)
    assert by_version["3"]["kpi_status"] == "ok" and by_version["4"]["kpi_status"] == "out"
    fpr = by_version["4"]["metrics"]["false_positive_rate"]  # type: ignore[index]
    assert fpr["low"] > 0.05 and fpr["low"] < fpr["value"] < fpr["high"]  # type: ignore[index,operator]
    assert by_version["4"]["labelled"] == 1125  # three quarters of 1500: only labelled predictions count
    assert by_version["4"]["regressions"] == ["precision"]  # live precision far below the eval gate's 0.7
    assert by_version["3"]["regressions"] == []
    assert outputs["out-of-band-versions"] == "4" and outputs["issue-action"] == "opened"
    (issue,) = actions.state.issues.values()
    assert (
        issue["state"] == "open"
        and "false_positive_rate" in issue["title"]
        and "version(s) 4" in issue["title"]
    )
    assert [label["name"] for label in issue["labels"]] == ["model-performance"]

    code, _, outputs = run(tmp_path, *reports(tmp_path, "3", "4"))
    assert code == 1 and outputs["issue-action"] == "updated" and len(actions.state.issues) == 1

    for path in (tmp_path / "log").iterdir():
        path.unlink()
    simulate(tmp_path / "log", tmp_path / "labels.csv", versions={"5": 0.01}, seed=1)
    code, result, outputs = run(tmp_path, *reports(tmp_path, "5"))
    assert code == 0 and outputs["issue-action"] == "closed"
    assert issue["state"] == "closed"


def test_an_estimate_above_the_band_within_the_interval_is_watch(tmp_path: Path, actions: FakeGitHub) -> None:
    simulate(tmp_path / "log", tmp_path / "labels.csv", versions={"3": 0.06}, rows=400, seed=3)
    config(tmp_path)
    code, result, _ = run(tmp_path, *reports(tmp_path, "3"))
    fpr = versions(result)["3"]["metrics"]["false_positive_rate"]  # type: ignore[index]
    assert fpr["value"] > 0.05 >= fpr["low"], fpr  # type: ignore[index,operator]
    assert versions(result)["3"]["kpi_status"] == "watch"
    assert code == 0 and not actions.state.issues


def test_too_few_labels_are_not_judged(tmp_path: Path, actions: FakeGitHub) -> None:
    simulate(tmp_path / "log", tmp_path / "labels.csv", versions={"3": 0.5}, rows=40)
    config(tmp_path, min_labelled=100)
    code, result, outputs = run(tmp_path, *reports(tmp_path, "3"))
    assert code == 0 and versions(result)["3"]["kpi_status"] == "too few"
    assert outputs["issue-action"] == "none" and not actions.state.issues


def test_a_github_failure_is_a_failure_reason(
    tmp_path: Path, actions: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    simulate(tmp_path / "log", tmp_path / "labels.csv", versions={"4": 0.2})
    config(tmp_path)
    monkeypatch.setattr("mlgate.github.time.sleep", lambda _seconds: None)  # no backoff waits
    actions.fail_next(20, status=500)
    (tmp_path / "gh_output").write_text("", encoding="utf-8")
    argv = ["live-performance", "--config", str(tmp_path / "mlgate.yaml"), *reports(tmp_path, "4")]
    assert cli.main(argv) == 1
    assert read_outputs(tmp_path / "gh_output")["failure-reason"] == "github-api-error"
    assert "github-api-error" in FAILURE_REASONS and not actions.state.issues


def test_a_version_no_eval_report_names_fails_with_its_own_reason(
    tmp_path: Path, actions: FakeGitHub
) -> None:
    """--eval-report replaces the registry: a logged version none of the files names is not silently
    left without a comparison, even with its KPI in band."""
    simulate(tmp_path / "log", tmp_path / "labels.csv", versions={"3": 0.01, "4": 0.01})
    config(tmp_path)
    code, result, outputs = run(tmp_path, *reports(tmp_path, "v3"))  # a GTO-style `v3` names version 3
    assert code == 1 and result["failure_reason"] == "no-eval-result", result
    by_version = versions(result)
    assert by_version["3"]["eval_reason"] == "" and by_version["3"]["eval_metrics"]["precision"] == 0.7  # type: ignore[index]
    assert by_version["4"]["eval_reason"] == "no-eval-result" and by_version["4"]["eval_metrics"] == {}
    assert "no --eval-report names version 4" in str(by_version["4"]["eval_problem"])
    assert outputs["unverified-versions"] == "4" and outputs["out-of-band-versions"] == ""
    assert "no-eval-result" in FAILURE_REASONS
    code, result, _ = run(tmp_path, *reports(tmp_path, "3", "4"))
    assert code == 0 and result["failure_reason"] == "", result


def test_the_kpi_can_be_a_floor(tmp_path: Path, actions: FakeGitHub) -> None:
    simulate(tmp_path / "log", tmp_path / "labels.csv", versions={"3": 0.01})
    config(tmp_path, kpi="recall", kpi_min=0.97, kpi_max=None)  # recall is about 0.9: clearly below
    code, result, _ = run(tmp_path, *reports(tmp_path, "3"))
    assert code == 1 and versions(result)["3"]["kpi_status"] == "out"
    config(tmp_path, kpi="recall", kpi_min=0.8, kpi_max=None)
    code, result, _ = run(tmp_path, *reports(tmp_path, "3"))
    assert code == 0 and versions(result)["3"]["kpi_status"] == "ok"


LIVE = "monitor:\n  prediction_log:\n    directory: log\n  live:\n    labels: labels.csv\n"
CASES = [
    BadInput(
        id="labels-missing",
        argv=("live-performance",),
        reason="invalid-input",
        names="labels.csv",
        files={"mlgate.yaml": LIVE},
    ),
    BadInput(
        id="label-not-binary",
        argv=("live-performance",),
        reason="invalid-input",
        names="labels.csv: is_fraud",
        files={"mlgate.yaml": LIVE, "labels.csv": "transaction_id,is_fraud\nt1,maybe\n"},
    ),
    BadInput(
        id="label-column-absent",
        argv=("live-performance",),
        reason="invalid-input",
        names="labels.csv: is_fraud",
        files={"mlgate.yaml": LIVE, "labels.csv": "transaction_id,label\nt1,1\n"},
    ),
    BadInput(
        id="eval-report-without-version",
        argv=("live-performance", "--eval-report", "eval.json"),
        reason="invalid-input",
        names="eval.json: data.candidate.version",
        files={
            "mlgate.yaml": LIVE,
            "labels.csv": "transaction_id,is_fraud\nt1,1\n",
            "eval.json": json.dumps({"gate": "eval-gate", "data": {"metrics": []}}),
        },
    ),
    BadInput(
        id="an-id-labelled-both-ways",
        argv=("live-performance",),
        reason="invalid-input",
        names="labels.csv: transaction_id",
        files={"mlgate.yaml": LIVE, "labels.csv": "transaction_id,is_fraud\nt1,1\nt2,0\nt1,0\n"},
    ),
    BadInput(
        # labels, but the log this runner reads is empty (or uses other ids): nothing judged is no pass
        id="labels-match-no-logged-prediction",
        argv=("live-performance",),
        reason="no-matching-predictions",
        names="labels.csv: transaction_id",
        files={
            "mlgate.yaml": LIVE,
            "labels.csv": "transaction_id,is_fraud\nt1,1\n",
            "log/predictions-0.jsonl": json.dumps(
                {"transaction_id": "other", "_decision": True, "_model_version": "3"}
            )
            + "\n",
        },
    ),
    BadInput(
        # the registry of record is GitOps, but this is no git clone: said, not a silent comparison-free pass
        id="github-registry-without-a-clone",
        argv=("live-performance", "--no-issue"),
        reason="invalid-input",
        names="registry.remote",
        files={
            "mlgate.yaml": LIVE + "registry:\n  backend: github\n",
            "labels.csv": "transaction_id,is_fraud\nt1,1\n",
            "log/predictions-0.jsonl": json.dumps(
                {"transaction_id": "t1", "_decision": True, "_model_version": "1.0.0"}
            )
            + "\n",
        },
    ),
    BadInput(
        id="no-band",
        argv=("live-performance",),
        reason="invalid-input",
        names="mlgate.yaml: monitor.live",
        files={"mlgate.yaml": "monitor:\n  live:\n    kpi_max: null\n"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(
    case: BadInput, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    check_bad_input(case, tmp_path, monkeypatch, capsys)


def test_settings_refuse_an_empty_band() -> None:
    with pytest.raises(ValueError, match=r"kpi_min .* must be below kpi_max"):
        LivePerformanceSettings(kpi_min=0.5, kpi_max=0.1)
