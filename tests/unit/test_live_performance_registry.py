"""`mlgate live-performance` reads each served version's eval figures from the registry of record, which
`mlgate promote` filled: the real eval gate judges a model, the real promote publishes it, the served
predictions of that version are joined with labels.

- GitOps: GTO tags pushed to a bare repository standing in for GitHub's remote, the `eval-gate.json`
  release asset on the recording GitHub API (read-only, as a `contents: read` job reads it).
- MLflow: a real `mlflow server` process (sqlite store, proxied artifacts); the result is an artifact of
  the version's run, named by the version's `mlgate.eval_result` tag.

Inputs that must fail: a served version the registry does not know and one published before results were
stored (`no-eval-result`), a stored result that is not the version's own (`eval-result-mismatch`), a
registry that does not answer (`registry-unreachable`).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlgate.cli import main
from mlgate.monitor.live import FAILURE_REASONS
from mlgate.monitor.live_evals import verify
from tests.support.bad_inputs import read_outputs
from tests.support.fake_github import FakeGitHub
from tests.support.mlflow_server import MlflowServer
from tests.support.models import golden_frame, save_classifier
from tests.unit.test_live_performance import simulate

NAME = "fraud"
REPO = "acme/fraud"
EVAL = f"""\
eval:
  golden_data: golden.csv
  label: is_fraud
  exclude_columns: [country]
  model_name: {NAME}
  metrics:
    precision: {{threshold: 0.1}}
    recall: {{threshold: 0.1}}
  latency: {{enabled: false}}
  bootstrap: {{resamples: 50}}
monitor:
  prediction_log: {{directory: log}}
  live: {{labels: labels.csv, kpi_max: 0.5}}
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def cli(root: Path, monkeypatch: pytest.MonkeyPatch, *argv: str, **env: str) -> tuple[int, dict[str, str]]:
    """`mlgate <argv>` in `root` as a workflow step runs it (GitHub Actions variables, outputs file)."""
    monkeypatch.chdir(root)
    (root / "gh_output").write_text("", encoding="utf-8")
    (root / "event.json").write_text(json.dumps({"ref": "refs/heads/main"}), encoding="utf-8")
    for key, value in {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(root / "gh_output"),
        "GITHUB_STEP_SUMMARY": str(root / "summary.md"),
        "GITHUB_EVENT_PATH": str(root / "event.json"),
        **env,
    }.items():
        monkeypatch.setenv(key, value)
    code = main(list(argv))
    return code, read_outputs(root / "gh_output")


def judge_and_publish(root: Path, monkeypatch: pytest.MonkeyPatch, model: Path, out: str, **env: str) -> Path:
    """The eval gate on `model`, then `mlgate promote` of it; returns the eval-gate.json."""
    code, outputs = cli(
        root, monkeypatch, "eval-gate", "--candidate", str(model), "--report-dir", out, "--no-comment", **env
    )
    assert code == 0, outputs
    result = root / out / "eval-gate.json"
    code, outputs = cli(
        root,
        monkeypatch,
        "promote",
        "--candidate",
        str(model),
        "--result",
        str(result),
        "--report-dir",
        f"{out}-promote",
        "--git-sha",
        git(root, "rev-parse", "HEAD") if (root / ".git").exists() else "deadbeef",
        "--pr-number",
        "7",
        **env,
    )
    assert code == 0, outputs
    return result


def live(
    root: Path, monkeypatch: pytest.MonkeyPatch, **env: str
) -> tuple[int, dict[str, Any], dict[str, str]]:
    code, outputs = cli(root, monkeypatch, "live-performance", "--no-issue", "--report-dir", "live", **env)
    result = json.loads((root / "live" / "live-performance.json").read_text(encoding="utf-8"))
    return code, {str(v["version"]): v for v in result["data"]["versions"]}, outputs


def candidate_figures(result: Path) -> dict[str, float]:
    data = json.loads(result.read_text(encoding="utf-8"))["data"]
    return {m["name"]: m["candidate"] for m in data["metrics"]}


def serve(root: Path, *versions: str) -> None:
    """A fresh prediction log of `versions` (false positive rate 0.02) and their labels."""
    for path in (root / "log").glob("*"):
        path.unlink()
    simulate(root / "log", root / "labels.csv", versions=dict.fromkeys(versions, 0.02), rows=300)


# ---------------------------------------------------------------------------------------------------------
# GitOps: GTO tags + GitHub release assets
# ---------------------------------------------------------------------------------------------------------


@dataclass
class GitOps:
    clone: Path
    fake: FakeGitHub
    results: dict[str, Path]

    def env(self) -> dict[str, str]:
        return {"GITHUB_REPOSITORY": REPO, "GITHUB_API_URL": self.fake.url, "GITHUB_TOKEN": "t"}


@pytest.fixture(scope="module")
def gitops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitOps]:
    root = tmp_path_factory.mktemp("live-gitops")
    clone = root / "clone"
    clone.mkdir()
    git(clone, "init", "-q", "-b", "main")
    git(clone, "config", "user.name", "mlgate tests")
    git(clone, "config", "user.email", "tests@mlgate.dev")
    git(clone, "commit", "-q", "--allow-empty", "-m", "initial")
    bare = root / "remote.git"
    git(root, "clone", "-q", "--bare", str(clone), str(bare))
    git(clone, "remote", "add", "origin", str(bare))
    (clone / "mlgate.yaml").write_text(EVAL + "registry:\n  backend: github\n", encoding="utf-8")
    golden_frame(rows=300).to_csv(clone / "golden.csv", index=False)
    with FakeGitHub(git_dir=bare) as fake, pytest.MonkeyPatch.context() as monkeypatch:
        world = GitOps(clone, fake, {})
        world.results["1.0.0"] = judge_and_publish(
            clone, monkeypatch, save_classifier(root / "m1", quality="good", seed=1), "eval-1", **world.env()
        )
        yield world


def test_promote_stores_the_eval_result_as_a_release_asset(gitops: GitOps) -> None:
    import hashlib

    tag = f"{NAME}@v1.0.0"
    release = gitops.fake.releases()[tag]
    assert sorted(a["name"] for a in release["assets"]) == [
        "eval-gate.json",
        f"{NAME}-v1.0.0.tar.gz",
        f"{NAME}-v1.0.0.tar.gz.sha256",
    ]
    stored = gitops.fake.asset_content(tag, "eval-gate.json")
    assert stored == gitops.results["1.0.0"].read_bytes()
    message = git(gitops.clone, "tag", "-l", "--format=%(contents)", tag)
    assert f'"eval_result_sha256": "{hashlib.sha256(stored).hexdigest()}"' in message


def test_gitops_live_figures_come_from_the_versions_release(
    gitops: GitOps, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(gitops.clone, "1.0.0")
    code, versions, outputs = live(gitops.clone, monkeypatch, **gitops.env())
    assert code == 0, (versions, outputs)
    served = versions["1.0.0"]
    figures = candidate_figures(gitops.results["1.0.0"])
    assert served["eval_reason"] == ""
    assert served["eval_metrics"] == {k: figures[k] for k in ("precision", "recall")}
    assert "eval-gate.json on the release of fraud@v1.0.0" in served["eval_source"]
    assert outputs["unverified-versions"] == ""


def test_gitops_a_version_without_a_stored_result_fails(
    gitops: GitOps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A version the registry does not know, and one published without the asset (before results were
    stored): each reported with `no-eval-result`, the known version still compared."""
    release = gitops.fake.releases()[f"{NAME}@v1.0.0"]
    serve(gitops.clone, "1.0.0", "v9.0.0")
    code, versions, outputs = live(gitops.clone, monkeypatch, **gitops.env())
    assert (code, outputs["failure-reason"]) == (1, "no-eval-result"), versions
    assert versions["1.0.0"]["eval_reason"] == "" and versions["1.0.0"]["eval_metrics"]
    assert versions["v9.0.0"]["eval_reason"] == "no-eval-result"
    assert "no version tag fraud@v9.0.0" in versions["v9.0.0"]["eval_problem"]
    assert outputs["unverified-versions"] == "v9.0.0"

    asset = next(a for a in release["assets"] if a["name"] == "eval-gate.json")
    with gitops.fake._lock:
        (stored,) = (r for r in gitops.fake.state.releases.values() if r["id"] == release["id"])
        stored["assets"] = [a for a in stored["assets"] if a["id"] != asset["id"]]
    try:
        serve(gitops.clone, "1.0.0")
        code, versions, outputs = live(gitops.clone, monkeypatch, **gitops.env())
        assert (code, outputs["failure-reason"]) == (1, "no-eval-result")
        assert "has no eval-gate.json asset" in versions["1.0.0"]["eval_problem"]
    finally:
        with gitops.fake._lock:
            stored["assets"].append(asset)


def test_gitops_a_result_that_is_not_the_versions_own_fails(
    gitops: GitOps, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = f"{NAME}@v1.0.0"
    original = gitops.fake.asset_content(tag, "eval-gate.json")
    forged = json.loads(original)
    for metric in forged["data"]["metrics"]:
        metric["candidate"] = 0.99  # better figures than the gate measured
    try:
        gitops.fake.tamper_asset(tag, "eval-gate.json", json.dumps(forged).encode())
        serve(gitops.clone, "1.0.0")
        code, versions, outputs = live(gitops.clone, monkeypatch, **gitops.env())
        assert (code, outputs["failure-reason"]) == (1, "eval-result-mismatch"), versions
        assert versions["1.0.0"]["eval_metrics"] == {}
        assert "sha256" in versions["1.0.0"]["eval_problem"]
    finally:
        gitops.fake.tamper_asset(tag, "eval-gate.json", original)


def test_gitops_an_asset_its_tag_does_not_vouch_for_fails(
    gitops: GitOps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The version tag rewritten without `eval_result_sha256` (as a tag from before results were stored,
    with an asset added afterwards): the asset's bytes cannot be checked, so no figures."""
    tag = f"{NAME}@v1.0.0"
    bare = gitops.clone.parent / "remote.git"
    message = git(bare, "tag", "-l", "--format=%(contents)", tag)
    commit = git(bare, "rev-list", "-n", "1", tag)
    start = message.find("{")
    record = json.loads(message[start:])
    assert record.pop("eval_result_sha256")
    try:
        git(bare, "tag", "-f", "-a", tag, commit, "-m", message[:start] + json.dumps(record))
        serve(gitops.clone, "1.0.0")
        code, versions, outputs = live(gitops.clone, monkeypatch, **gitops.env())
        assert (code, outputs["failure-reason"]) == (1, "no-eval-result"), versions
        assert versions["1.0.0"]["eval_metrics"] == {}
        assert "records no eval_result_sha256" in versions["1.0.0"]["eval_problem"]
    finally:
        git(bare, "tag", "-f", "-a", tag, commit, "-m", message)
        git(gitops.clone, "fetch", "-q", "--force", "origin", f"refs/tags/{tag}:refs/tags/{tag}")


def test_gitops_an_unreachable_registry_fails(gitops: GitOps, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mlgate.github.time.sleep", lambda _seconds: None)  # no backoff waits
    serve(gitops.clone, "1.0.0")
    gitops.fake.fail_next(50, status=503)
    try:
        code, outputs = cli(gitops.clone, monkeypatch, "live-performance", "--no-issue", **gitops.env())
    finally:
        gitops.fake.state.failures.clear()
    assert (code, outputs["failure-reason"]) == (1, "registry-unreachable")
    assert "registry-unreachable" in FAILURE_REASONS


def test_the_override_reads_no_registry(gitops: GitOps, monkeypatch: pytest.MonkeyPatch) -> None:
    """--eval-report (offline): the registry is not asked — not even an unreachable one."""
    serve(gitops.clone, "1.0.0")
    report = json.loads(gitops.results["1.0.0"].read_text(encoding="utf-8"))
    report["data"]["candidate"]["version"] = "1.0.0"
    (gitops.clone / "offline.json").write_text(json.dumps(report), encoding="utf-8")
    code, outputs = cli(
        gitops.clone,
        monkeypatch,
        "live-performance",
        "--no-issue",
        "--eval-report",
        "offline.json",
        **{**gitops.env(), "GITHUB_API_URL": "http://127.0.0.1:9"},
    )
    assert code == 0, outputs


# ---------------------------------------------------------------------------------------------------------
# the stored result is checked against the version's record
# ---------------------------------------------------------------------------------------------------------


RESULT = {"gate": "eval-gate", "passed": True, "data": {"digest": {"combined": "abc"}, "metrics": []}}


@pytest.mark.parametrize(
    ("document", "expected_digest", "problem"),
    [
        (RESULT, "abd", "not the one recorded with the version"),
        (RESULT, "", "records no eval result digest"),
        ({**RESULT, "passed": False}, "abc", "not a passed eval-gate result"),
        ({**RESULT, "gate": "drift-check"}, "abc", "not a passed eval-gate result"),
        ({"gate": "eval-gate"}, "abc", "not an eval-gate result"),
    ],
    ids=["other-digest", "no-recorded-digest", "not-passed", "other-gate", "no-data"],
)
def test_a_stored_result_must_be_the_versions_own(
    document: dict[str, Any], expected_digest: str, problem: str
) -> None:
    figures = verify(
        json.dumps(document).encode(), source="s", expected_digest=expected_digest, expected_sha256=""
    )
    assert figures.reason == "eval-result-mismatch" and problem in figures.problem
    ok = verify(json.dumps(RESULT).encode(), source="s", expected_digest="abc", expected_sha256="")
    assert ok.reason == "" and ok.metrics == {}


# ---------------------------------------------------------------------------------------------------------
# MLflow: a real tracking server
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Mlflow:
    root: Path
    server: MlflowServer
    result: Path

    def env(self) -> dict[str, str]:
        return {"MLFLOW_TRACKING_URI": self.server.url, "MLFLOW_REGISTRY_URI": self.server.url}


@pytest.fixture(scope="module")
def mlflow_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mlflow]:
    import mlflow

    root = tmp_path_factory.mktemp("live-mlflow")
    before = (mlflow.get_tracking_uri(), mlflow.get_registry_uri())
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    (root / "mlgate.yaml").write_text(EVAL + "registry:\n  backend: mlflow\n", encoding="utf-8")
    golden_frame(rows=300).to_csv(root / "golden.csv", index=False)
    with MlflowServer.start(root / "server") as server, pytest.MonkeyPatch.context() as monkeypatch:
        mlflow.set_tracking_uri(server.url)
        mlflow.set_registry_uri(server.url)
        # runs go to this server's default experiment, not to the experiment an earlier test in this
        # worker made active on another store (mlflow keeps it process-wide: "No Experiment with id=1")
        mlflow.set_experiment("Default")
        world = Mlflow(root, server, root / "unset")
        try:
            world.result = judge_and_publish(
                root,
                monkeypatch,
                save_classifier(root / "m1", quality="good", seed=1),
                "eval-1",
                **world.env(),
            )
            yield world
        finally:
            mlflow.set_tracking_uri(before[0])
            mlflow.set_registry_uri(before[1])
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def test_promote_logs_the_eval_result_on_the_versions_run(mlflow_world: Mlflow) -> None:
    import mlflow

    client = mlflow.MlflowClient()
    version = client.get_model_version(NAME, "1")
    uri = dict(version.tags)["mlgate.eval_result"]
    assert uri == f"runs:/{version.run_id}/mlgate/eval-gate.json"
    stored = Path(
        mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(mlflow_world.root / "dl"))
    )
    assert stored.read_bytes() == mlflow_world.result.read_bytes()


def test_mlflow_live_figures_come_from_the_versions_run(
    mlflow_world: Mlflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(mlflow_world.root, "1", "5")
    code, versions, outputs = live(mlflow_world.root, monkeypatch, **mlflow_world.env())
    assert (code, outputs["failure-reason"]) == (1, "no-eval-result"), versions
    figures = candidate_figures(mlflow_world.result)
    assert versions["1"]["eval_reason"] == ""
    assert versions["1"]["eval_metrics"] == {k: figures[k] for k in ("precision", "recall")}
    assert versions["5"]["eval_reason"] == "no-eval-result"
    assert "not a registered version" in versions["5"]["eval_problem"]

    serve(mlflow_world.root, "1")
    code, versions, outputs = live(mlflow_world.root, monkeypatch, **mlflow_world.env())
    assert code == 0 and outputs["unverified-versions"] == "", versions


def test_mlflow_a_result_that_is_not_the_versions_own_fails(
    mlflow_world: Mlflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    client = mlflow.MlflowClient()
    run_id = client.get_model_version(NAME, "1").run_id
    original = mlflow_world.result.read_text(encoding="utf-8")
    other = json.loads(original)
    other["data"]["digest"]["combined"] = "0" * 64  # the result of another model, data or rules
    try:
        client.log_text(run_id, json.dumps(other), "mlgate/eval-gate.json")
        serve(mlflow_world.root, "1")
        code, versions, outputs = live(mlflow_world.root, monkeypatch, **mlflow_world.env())
        assert (code, outputs["failure-reason"]) == (1, "eval-result-mismatch"), versions
        assert "not the one recorded with the version" in versions["1"]["eval_problem"]
    finally:
        client.log_text(run_id, original, "mlgate/eval-gate.json")


def test_mlflow_a_version_promoted_before_results_were_stored_fails(
    mlflow_world: Mlflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    client = mlflow.MlflowClient()
    uri = dict(client.get_model_version(NAME, "1").tags)["mlgate.eval_result"]
    client.delete_model_version_tag(NAME, "1", "mlgate.eval_result")
    try:
        serve(mlflow_world.root, "1")
        code, versions, outputs = live(mlflow_world.root, monkeypatch, **mlflow_world.env())
        assert (code, outputs["failure-reason"]) == (1, "no-eval-result"), versions
        assert "no `mlgate.eval_result` tag" in versions["1"]["eval_problem"]
    finally:
        client.set_model_version_tag(NAME, "1", "mlgate.eval_result", uri)


def test_mlflow_an_unreachable_server_fails(mlflow_world: Mlflow, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow

    from tests.support.act import free_port

    monkeypatch.setattr("mlgate.registry.models.time.sleep", lambda _seconds: None)  # no backoff waits
    gone = f"http://127.0.0.1:{free_port()}"
    serve(mlflow_world.root, "1")
    mlflow.set_tracking_uri(gone)
    mlflow.set_registry_uri(gone)
    try:
        code, outputs = cli(
            mlflow_world.root,
            monkeypatch,
            "live-performance",
            "--no-issue",
            MLFLOW_TRACKING_URI=gone,
            MLFLOW_REGISTRY_URI=gone,
            MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
            MLFLOW_HTTP_REQUEST_TIMEOUT="5",
        )
    finally:
        mlflow.set_tracking_uri(mlflow_world.server.url)
        mlflow.set_registry_uri(mlflow_world.server.url)
    assert (code, outputs["failure-reason"]) == (1, "registry-unreachable")
