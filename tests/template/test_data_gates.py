"""The generated project's data gates work on its own data: the shipped GX contract passes on the
generated transactions, the shipped reference profile is exactly what `mlgate profile` rebuilds, a calm
production sample shows no drift and the simulated drifted one does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlgate import cli
from tests.support.project import render_project

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = render_project(tmp_path_factory.mktemp("rendered"))
    env = {**os.environ, "PYTHONPATH": str(path / "src")}
    subprocess.run(
        [sys.executable, "-m", "fraud_detection.data"], cwd=path, env=env, check=True, capture_output=True
    )
    for args in (["--output", "calm.csv"], ["--drift", "--output", "drifted.csv"]):
        subprocess.run(
            [sys.executable, "-m", "fraud_detection.simulate", *args],
            cwd=path,
            env=env,
            check=True,
            capture_output=True,
        )
    return path


@pytest.fixture
def in_project(project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MLGATE_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.chdir(project)
    return tmp_path


def test_shipped_files_are_valid(project: Path) -> None:
    assert cli.main(["config", "check", "--config", str(project / "mlgate.yaml")]) == 0
    suite = json.loads((project / "gx" / "expectations" / "transactions.json").read_text())
    types = {e["type"] for e in suite["expectations"]}
    assert {
        "expect_table_columns_to_match_ordered_list",
        "expect_table_row_count_to_be_between",
        "expect_column_values_to_be_unique",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_be_of_type",
        "expect_column_mean_to_be_between",
        "expect_column_median_to_be_between",
    } <= types
    dvc = (project / "dvc.yaml").read_text()
    assert "mlgate profile --data data/train.csv --output data/reference_profile.json" in dvc


def test_contract_passes_on_the_generated_data(in_project: Path, project: Path) -> None:
    assert cli.main(["validate-data", "--report-dir", str(in_project / "r")]) == 0
    report = (in_project / "r" / "validate-data.md").read_text()
    assert "expectations met" in report


def test_contract_fails_on_broken_data(in_project: Path, project: Path) -> None:
    import pandas as pd

    df = pd.read_csv(project / "data" / "train.csv")
    df.loc[0, "country"] = "XX"
    df.loc[1, "amount"] = -5.0
    df.to_csv(in_project / "broken.csv", index=False)
    assert (
        cli.main(
            ["validate-data", "--data", str(in_project / "broken.csv"), "--report-dir", str(in_project / "r")]
        )
        == 1
    )
    report = (in_project / "r" / "validate-data.md").read_text()
    assert "transaction_id=tx-" in report and "country=XX" in report and "amount=-5.0" in report


def test_shipped_profile_is_what_the_pipeline_builds(in_project: Path, project: Path) -> None:
    shipped = json.loads((project / "data" / "reference_profile.json").read_text())
    assert cli.main(["profile", "--data", "data/train.csv", "--output", str(in_project / "p.json")]) == 0
    rebuilt = json.loads((in_project / "p.json").read_text())
    rebuilt["source"]["path"] = shipped["source"]["path"]
    assert rebuilt == shipped


def test_calm_traffic_passes_and_simulated_drift_fails(in_project: Path) -> None:
    assert cli.main(["drift", "--data", "calm.csv", "--report-dir", str(in_project / "r")]) == 0
    assert cli.main(["drift", "--data", "drifted.csv", "--report-dir", str(in_project / "r")]) == 1
    result = json.loads((in_project / "r" / "drift.json").read_text())["data"]
    assert result["dataset_drift"] and {"amount", "hour", "country"} <= set(result["drifted_columns"])
