"""The generated project's pipeline end to end, as a new user runs it: `make setup pipeline`.

One project with the default answers: DVC runs prepare -> train -> evaluate, MLflow (embedded sqlite)
holds a registered version tagged with git SHA, DVC data hash, run id and lock-file hash, `metrics.json`
and the plot files are there for `dvc metrics` / `dvc plots`, a second run is a DVC cache hit, and the
data and model reach the local DVC remote.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from tests.support.latency import measured_single_row_budget_ms, set_single_row_budget
from tests.support.project import render_project, run_in, sync_project, uv_bin

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, wheel_dir: Path) -> Path:
    path = render_project(tmp_path_factory.mktemp("gen"), wheel_dir=wheel_dir, init=True)
    if not (path / "uv.lock").exists():  # the post-generation hook locks when uv is present
        run_in(path, uv_bin(), "lock", wheel_dir=wheel_dir)
    if not (path / ".git").exists():  # ... and makes the first commit when git is present
        run_in(path, "git", "init", "-q", "-b", "main")
        run_in(path, "git", "add", "-A")
        run_in(path, "git", "commit", "-q", "-m", "Initial commit")
    # the eval gate's latency budget from a measurement on this machine, not the template's fixed 50 ms
    set_single_row_budget(path, measured_single_row_budget_ms(path))
    run_in(path, "git", "commit", "-qam", "Latency budget measured on this machine")
    sync_project(path, wheel_dir)
    return path


@pytest.fixture(scope="module")
def pipeline_output(project: Path, wheel_dir: Path) -> str:
    return run_in(project, "make", "pipeline", wheel_dir=wheel_dir).stdout


def test_pipeline_runs_every_stage_and_says_where_results_are(pipeline_output: str, project: Path) -> None:
    for stage in ("prepare", "profile", "train", "evaluate"):
        assert f"Running stage '{stage}'" in pipeline_output
    assert "metrics.json" in pipeline_output
    assert "sqlite:///mlruns.db" in pipeline_output
    lock = yaml.safe_load((project / "dvc.lock").read_text(encoding="utf-8"))
    assert set(lock["stages"]) == {"prepare", "profile", "train", "evaluate"}


def test_metrics_beat_the_baseline_and_cover_every_country(pipeline_output: str, project: Path) -> None:
    metrics = json.loads((project / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["pr_auc"] > 3 * metrics["baseline_pr_auc"]
    assert 0.5 < metrics["roc_auc"] <= 1.0
    assert {"precision", "recall", "f1"} <= set(metrics)
    assert len(metrics["segments"]["country"]) == 8
    assert metrics["golden"]["rows"] == 500
    for plot in ("pr_curve.csv", "roc_curve.csv"):
        assert len((project / "plots" / plot).read_text(encoding="utf-8").splitlines()) > 10


def test_dvc_reads_the_declared_metrics_and_plots(
    pipeline_output: str, project: Path, wheel_dir: Path
) -> None:
    shown = json.loads(
        run_in(project, uv_bin(), "run", "dvc", "metrics", "show", "--json", wheel_dir=wheel_dir).stdout
    )
    workspace = next(iter(shown.values()))["data"]["metrics.json"]["data"]  # keyed "" (workspace) in DVC 3
    assert workspace["pr_auc"] == json.loads((project / "metrics.json").read_text(encoding="utf-8"))["pr_auc"]
    run_in(project, uv_bin(), "run", "dvc", "plots", "show", wheel_dir=wheel_dir)
    assert (project / "dvc_plots" / "index.html").exists()


def test_registered_version_is_tagged_with_its_origin(pipeline_output: str, project: Path) -> None:
    info = json.loads((project / "models" / "model.json").read_text(encoding="utf-8"))
    with sqlite3.connect(project / "mlruns.db") as db:
        tags = dict(
            db.execute(
                "SELECT key, value FROM model_version_tags WHERE name = ? AND version = ?",
                (info["name"], int(info["version"])),
            ).fetchall()
        )
    head = run_in(project, "git", "rev-parse", "HEAD").stdout.strip()
    lock = yaml.safe_load((project / "dvc.lock").read_text(encoding="utf-8"))
    train_md5 = next(o["md5"] for o in lock["stages"]["prepare"]["outs"] if o["path"] == "data/train.csv")
    assert tags == {
        "git_sha": head,
        "dvc_data_hash": train_md5,
        "run_id": info["run_id"],
        "lockfile_sha256": hashlib.sha256((project / "uv.lock").read_bytes()).hexdigest(),
    }
    assert (project / "mlartifacts").is_dir()  # artifacts inside the project, git-ignored
    paths = ("mlruns.db", "mlartifacts/x", ".dvc-remote/x")
    assert run_in(project, "git", "check-ignore", *paths).stdout.split() == list(paths)


def test_second_run_is_a_cache_hit_and_data_reaches_the_local_remote(
    pipeline_output: str, project: Path, wheel_dir: Path
) -> None:
    again = run_in(project, "make", "pipeline", wheel_dir=wheel_dir).stdout
    assert "Running stage" not in again
    run_in(project, uv_bin(), "run", "dvc", "push", wheel_dir=wheel_dir)
    assert any(p.is_file() for p in (project / ".dvc-remote").rglob("*"))


def test_make_validate_runs_the_pull_request_gates_locally(
    pipeline_output: str, project: Path, wheel_dir: Path
) -> None:
    """`make validate` runs the data contract, drift and the eval gate on what the pipeline produced."""
    run_in(project, "make", "validate", wheel_dir=wheel_dir)
    reports = project / ".mlgate" / "reports"
    for gate in ("validate-data", "drift", "eval-gate"):
        result = json.loads((reports / f"{gate}.json").read_text(encoding="utf-8"))
        assert result["passed"] is True, (gate, result["failure_reason"])
    eval_report = (reports / "eval-gate.md").read_text(encoding="utf-8")
    assert "no baseline" in eval_report.lower() or "first model" in eval_report.lower(), eval_report[:800]
