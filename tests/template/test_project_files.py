"""What each generator option changes in the generated project's files (fast: rendering only).

The generation matrix checks file sets, leftovers and the project's own tests and lint; these tests
check the content an option is meant to change: the licence text, Python version, MLflow tracking
source, and that `mlgate.yaml` is valid and points at the schema of the pinned mlgate.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from mlgate.config import check_config
from tests.support.project import ROOT, TEMPLATE_OPTIONS

LICENCE_FIRST_LINES = {
    "Apache-2.0": "Apache License",
    "MIT": "MIT License",
    "BSD-3-Clause": "BSD 3-Clause License",
    "Proprietary": "All rights reserved.",
}


def render_project(out_dir: Path, **answers: str) -> Path:
    """The rendered files only (no post-generation hook: no git, DVC or uv runs), for speed."""
    from cookiecutter.main import cookiecutter

    path = cookiecutter(
        str(ROOT), no_input=True, output_dir=str(out_dir), extra_context=answers, accept_hooks=False
    )
    return Path(path)


@pytest.fixture(scope="module")
def default_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_project(tmp_path_factory.mktemp("default"))


@pytest.mark.parametrize("licence", TEMPLATE_OPTIONS["license"])
def test_licence_text_and_metadata_follow_the_choice(tmp_path: Path, licence: str) -> None:
    project = render_project(tmp_path, license=licence, author_name="Ada Lovelace")
    text = (project / "LICENSE").read_text(encoding="utf-8")
    assert LICENCE_FIRST_LINES[licence] in text.splitlines()[0] + text.splitlines()[-1]
    if licence != "Apache-2.0":
        assert "Ada Lovelace" in text
    assert text.endswith("\n") and not text.endswith("\n\n")
    metadata = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert metadata["license"] == ("LicenseRef-Proprietary" if licence == "Proprietary" else licence)


@pytest.mark.parametrize("python_version", TEMPLATE_OPTIONS["python_version"])
def test_python_version_reaches_every_place_that_names_it(tmp_path: Path, python_version: str) -> None:
    project = render_project(tmp_path, python_version=python_version)
    assert (project / ".python-version").read_text(encoding="utf-8").strip() == python_version
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["requires-python"] == f">={python_version}"
    assert pyproject["tool"]["ruff"]["target-version"] == "py" + python_version.replace(".", "")
    assert f"FROM python:{python_version}-slim" in (project / "Dockerfile").read_text(encoding="utf-8")
    ci = yaml.safe_load((project / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    steps = [step for job in ci["jobs"].values() for step in job["steps"]]
    setups = [step for step in steps if "/actions/setup@" in step.get("uses", "")]
    assert setups and all(s["with"]["python-version"] == python_version for s in setups)


@pytest.mark.parametrize("tracking", TEMPLATE_OPTIONS["mlflow_tracking"])
def test_tracking_server_uri_comes_from_a_secret_only_when_chosen(tmp_path: Path, tracking: str) -> None:
    project = render_project(tmp_path, mlflow_tracking=tracking)
    ci = yaml.safe_load((project / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    test_env = {k: v for step in ci["jobs"]["test"]["steps"] for k, v in step.get("env", {}).items()}
    if tracking == "server":
        assert test_env["MLFLOW_TRACKING_URI"] == "${{ secrets.MLFLOW_TRACKING_URI }}"
    else:
        assert "MLFLOW_TRACKING_URI" not in test_env  # embedded sqlite: nothing to configure
    registry = yaml.safe_load((project / "mlgate.yaml").read_text(encoding="utf-8"))["registry"]
    assert registry["backend"] == ("mlflow" if tracking == "server" else "github")
    # live-performance reads each served version's eval result from the same registry of record, read-only
    monitor = yaml.safe_load((project / ".github/workflows/monitor.yml").read_text(encoding="utf-8"))
    performance = monitor["jobs"]["performance"]
    assert {k: v for k, v in performance["permissions"].items() if k != "id-token"} == {
        "contents": "read",
        "issues": "write",
    }
    (step,) = [s for s in performance["steps"] if "mlgate live-performance" in s.get("run", "")]
    assert "--eval-report" not in step["run"]  # the registry, not committed files
    assert step["env"]["GITHUB_TOKEN"] == "${{ github.token }}"
    if tracking == "server":
        assert step["env"]["MLFLOW_TRACKING_URI"] == "${{ secrets.MLFLOW_TRACKING_URI }}"
    else:
        assert "MLFLOW_TRACKING_URI" not in step["env"]


def test_ci_workflow_is_least_privilege_and_cancels_superseded_runs(default_project: Path) -> None:
    ci = yaml.safe_load((default_project / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    assert ci["permissions"] == {}
    assert ci["concurrency"]["cancel-in-progress"] is True
    assert {"lint", "test", "validate-data", "train", "eval-gate"} <= set(ci["jobs"])
    for name, job in ci["jobs"].items():
        # the repository is read-only everywhere; a gate may write only its pull-request comment
        extra = {k: v for k, v in job["permissions"].items() if k != "contents"}
        assert job["permissions"]["contents"] == "read", name
        assert extra in ({}, {"pull-requests": "write"}), (name, extra)
        checkout = job["steps"][0]
        assert checkout["uses"].startswith("actions/checkout@")
        assert checkout["with"]["persist-credentials"] is False
    assert ci["jobs"]["eval-gate"]["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert ci["jobs"]["train"]["permissions"] == {"contents": "read"}
    uses = [s.get("uses", "") for s in ci["jobs"]["lint"]["steps"]]
    assert any(u.startswith(f"{TEMPLATE_OPTIONS['mlgate_repo']}/actions/lint@") for u in uses)


def test_mlgate_yaml_is_valid_and_points_at_the_pinned_schema(default_project: Path) -> None:
    path = default_project / "mlgate.yaml"
    check_config(path)  # raises GateInputError on any problem
    repo, ref = TEMPLATE_OPTIONS["mlgate_repo"], TEMPLATE_OPTIONS["mlgate_ref"]
    url = f"https://raw.githubusercontent.com/{repo}/{ref}/schema/mlgate.schema.json"
    text = path.read_text(encoding="utf-8")
    assert text.startswith(f"# yaml-language-server: $schema={url}\n")
    assert yaml.safe_load(text)["$schema"] == url


def test_dvc_pipeline_declares_metrics_plots_and_a_local_remote(default_project: Path) -> None:
    stages = yaml.safe_load((default_project / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    assert list(stages) == ["prepare", "profile", "train", "evaluate"]
    assert [next(iter(m)) for m in stages["evaluate"]["metrics"]] == ["metrics.json"]
    plots = {next(iter(p)) for p in stages["evaluate"]["plots"]}
    assert plots == {"plots/pr_curve.csv", "plots/roc_curve.csv"}
    config = (default_project / ".dvc" / "config").read_text(encoding="utf-8")
    assert re.search(r"remote = local", config)
    assert ".dvc-remote/" in (default_project / ".gitignore").read_text(encoding="utf-8").splitlines()


def test_pre_commit_hooks_are_local_system_tools_only(default_project: Path) -> None:
    config = yaml.safe_load((default_project / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    hooks = config["repos"][0]["hooks"]
    assert all(hook["language"] == "system" for hook in hooks)
    assert {"ruff-check", "ruff-format", "check-yaml", "check-toml", "check-added-large-files"} <= {
        hook["id"] for hook in hooks
    }


def test_model_gate_jobs_pass_the_candidate_as_an_artifact(default_project: Path) -> None:
    ci = yaml.safe_load((default_project / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    train, gate = ci["jobs"]["train"], ci["jobs"]["eval-gate"]
    assert gate["needs"] == "train"
    upload = next(s for s in train["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    download = next(s for s in gate["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
    assert upload["with"]["name"] == download["with"]["name"] == "candidate-model"
    eval_step = next(s for s in gate["steps"] if "/actions/eval-gate@" in s.get("uses", ""))
    assert eval_step["with"]["candidate"] == "candidate/model"


def test_cd_promotes_behind_an_environment_and_only_the_registry_and_card_jobs_write(
    default_project: Path,
) -> None:
    """Default answers: the registry of record is the repository (GTO tags + releases), so promotion and
    rollback write tags (behind the environment); training and the gate only read; the card job writes
    a branch and a pull request. The eval gate reads the champion with `contents: read`."""
    cd = yaml.safe_load((default_project / ".github/workflows/cd.yml").read_text(encoding="utf-8"))
    assert cd["permissions"] == {}
    assert cd["concurrency"]["cancel-in-progress"] is False  # never cancel a promotion half-way
    assert cd[True]["push"]["branches"] == ["main"]  # YAML 1.1 reads the key `on` as True
    jobs = cd["jobs"]
    assert jobs["promote"]["environment"] == jobs["rollback"]["environment"] == "model-production"
    writers = {name for name, job in jobs.items() if job["permissions"].get("contents") != "read"}
    assert writers == {"promote", "rollback", "model-card", "champion-rollback"}
    # the champion follows a failed canary back: tags and the PR comment, nothing else
    assert jobs["champion-rollback"]["permissions"] == {"contents": "write", "pull-requests": "write"}
    # only the image job pushes packages and signs attestations
    assert jobs["image"]["permissions"] == {
        "contents": "read",
        "packages": "write",
        "id-token": "write",
        "attestations": "write",
    }
    assert [n for n, job in jobs.items() if "packages" in job["permissions"]] == ["image"]
    assert [n for n, job in jobs.items() if "attestations" in job["permissions"]] == ["image"]
    assert jobs["gate"]["permissions"] == {"contents": "read"}
    for name in ("promote", "rollback"):
        assert jobs[name]["permissions"] == {"contents": "write"}, name
        checkout = next(s for s in jobs[name]["steps"] if s.get("uses", "").startswith("actions/checkout@"))
        assert checkout["with"]["persist-credentials"] is False  # the token reaches git explicitly
    assert jobs["model-card"]["permissions"] == {"contents": "write", "pull-requests": "write"}
    config = yaml.safe_load((default_project / "mlgate.yaml").read_text(encoding="utf-8"))
    assert config["registry"]["backend"] == "github"
    ci = yaml.safe_load((default_project / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    steps = ci["jobs"]["eval-gate"]["steps"]
    eval_step = next(s for s in steps if "/actions/eval-gate@" in s.get("uses", ""))
    assert "tracking-uri" not in eval_step["with"]  # no per-job registry for the gate
    assert "MLFLOW_TRACKING_URI" not in str(jobs["model-card"])  # the writer never sees the registry
    promote = next(s for s in jobs["promote"]["steps"] if "/actions/promote-model@" in s.get("uses", ""))
    assert promote["with"]["result"] == "candidate/reports/eval-gate.json"


def test_dockerfile_is_multi_stage_non_root_and_its_healthcheck_probes_healthz(default_project: Path) -> None:
    """No Docker engine here: check the image's shape, and run the HEALTHCHECK command itself against a
    local server answering /healthz (and failing when the path is anything else)."""
    import json as _json
    import subprocess
    import sys
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    text = (default_project / "Dockerfile").read_text(encoding="utf-8")
    lines = [line.strip() for line in text.replace("\\\n", " ").splitlines() if line.strip()]
    stages = [i for i, line in enumerate(lines) if line.startswith("FROM ")]
    assert len(stages) >= 2, "multi-stage build expected"
    final = lines[stages[-1] :]
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}, "the runtime stage must drop root"
    assert [i for i, line in enumerate(final) if line.startswith("USER ")][-1] < next(
        i for i, line in enumerate(final) if line.startswith("CMD ")
    )
    health = next(line for line in final if line.startswith("HEALTHCHECK "))
    argv = _json.loads(health[health.index("CMD ") + 4 :])
    assert argv[0] == "python" and "/healthz" in argv[-1]

    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {"PORT": str(server.server_address[1]), "PATH": "/usr/bin:/bin"}
        probe = subprocess.run(
            [sys.executable, *argv[1:]], env=env, capture_output=True, timeout=30, check=False
        )
        assert probe.returncode == 0, probe.stderr
        assert seen == ["/healthz"]
    finally:
        server.shutdown()
        server.server_close()
    dead = subprocess.run([sys.executable, *argv[1:]], env=env, capture_output=True, timeout=30, check=False)
    assert dead.returncode != 0, "the probe must fail when the service does not answer"


@pytest.mark.parametrize("cloud", TEMPLATE_OPTIONS["cloud"])
def test_dependabot_groups_updates_and_leaves_mlgate_to_the_template_update(
    tmp_path: Path, cloud: str
) -> None:
    import subprocess
    import sys

    project = render_project(tmp_path, cloud=cloud)
    path = project / ".github" / "dependabot.yml"
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "check-jsonschema"),
            "--builtin-schema",
            "vendor.dependabot",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    updates = {u["package-ecosystem"]: u for u in yaml.safe_load(path.read_text(encoding="utf-8"))["updates"]}
    expected = {"github-actions", "uv", "docker"} | ({"terraform"} if cloud != "none" else set())
    assert set(updates) == expected
    # action pins move together: one group takes every action
    assert updates["github-actions"]["groups"]["actions"]["patterns"] == ["*"]
    # mlgate's actions and package move only with the template update (pins, package and module refs at once)
    assert {"dependency-name": f"{TEMPLATE_OPTIONS['mlgate_repo']}*"} in updates["github-actions"]["ignore"]
    assert {"dependency-name": "mlgate"} in updates["uv"]["ignore"]


@pytest.mark.parametrize("cloud", TEMPLATE_OPTIONS["cloud"])
def test_codeowners_guard_the_gates_and_the_pr_template_has_a_model_checklist(
    tmp_path: Path, cloud: str
) -> None:
    project = render_project(tmp_path, cloud=cloud, github_owner="globex")
    rules = [
        line.split()
        for line in (project / ".github" / "CODEOWNERS").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert all(len(rule) >= 2 and all(o.startswith("@") for o in rule[1:]) for rule in rules), rules
    owned = {rule[0] for rule in rules if "@globex" in rule[1:]}
    assert {"*", "/mlgate.yaml", "/gx/", "/data/reference_profile.json", "/.github/"} <= owned
    assert ("/terraform/" in owned) is (cloud != "none")
    checklist = (project / ".github" / "pull_request_template.md").read_text(encoding="utf-8")
    boxes = re.findall(r"^- \[ \] \*\*(.+?)\*\*", checklist, flags=re.MULTILINE)
    assert {"Data", "Drift baseline", "Eval gate", "Golden set", "Rollback"} <= set(boxes)
    security = (project / "SECURITY.md").read_text(encoding="utf-8")
    assert "Report a vulnerability" in security and TEMPLATE_OPTIONS["author_email"] in security
