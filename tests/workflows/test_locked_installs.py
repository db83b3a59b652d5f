"""Every mlgate action runs on the locked versions of its libraries, never on a fresh resolve.

Each action step that runs mlgate is executed exactly as its `action.yml` spells it (the `run:` script is
read from the file), in a generated project whose environment is synced from its `uv.lock`. A probe on
`PYTHONPATH` (a `sitecustomize` module) records, when a process that imported mlgate exits, the version
of every distribution that interpreter would import, and where mlgate's code came from.

To tell "locked" from "resolved fresh, which happened to pick the same versions today", both locks are
first moved to an older `click` than the newest one (still allowed by every `pyproject.toml`): a line that
resolves (`uvx --from <action>`, or `uv run --with <action>` whose overlay is resolved on its own) gets
the newest click and fails; a line that runs from a lock gets the locked one.

- tool gates (`uv run --project <action> --frozen ...`) must match the action's own `uv.lock`;
- project gates (the action's code on the project's synced environment) must match the project's
  `uv.lock`. Either way the code that runs is the action's (`mlgate.__file__` under the action's copy).
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.act import clean_copy
from tests.support.project import ROOT, project_env, render_project, run_in, uv_bin

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("locked-installs")]

#: an older click than the newest release, allowed by mlgate's and the generated project's requirements
OLD_CLICK = "8.1.8"

#: which lock each mlgate-running action must honour (an action missing here fails the test)
LOCK_OF = {
    "canary-deploy": "action",
    "drift-check": "action",
    "repo-settings": "action",
    "terraform-apply": "action",
    "terraform-plan": "action",
    "template-update": "action",
    "lint": "project",
    "eval-gate": "project",
    "promote-model": "project",
    "validate-data": "project",
}

RUNS_MLGATE = re.compile(r"\buvx?\b[^\n]*\bmlgate [a-z]")

PROBE = """\
import atexit
import json
import os
import sys


def _record():
    if "mlgate.cli" not in sys.modules:  # build backends, hooks, uv's interpreter queries: not the gate
        return
    from importlib import metadata

    names = {dist.metadata["Name"] for dist in metadata.distributions() if dist.metadata["Name"]}
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)  # the copy this interpreter imports (first on sys.path)
        except metadata.PackageNotFoundError:
            pass
    record = {"code": sys.modules["mlgate"].__file__, "argv": sys.argv, "versions": versions}
    with open(os.environ["MLGATE_TEST_PROBE_LOG"], "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\\n")


atexit.register(_record)
"""


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions(lock: Path) -> dict[str, set[str]]:
    data = tomllib.loads(lock.read_text(encoding="utf-8"))
    found: dict[str, set[str]] = {}
    for package in data["package"]:
        if "version" in package:
            found.setdefault(canonical(package["name"]), set()).add(package["version"])
    return found


def mlgate_steps() -> list[tuple[str, int, dict[str, Any]]]:
    """(action, step index, step) for every step of every action whose script runs mlgate through uv."""
    found = []
    for path in sorted((ROOT / "actions").glob("*/action.yml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        for index, step in enumerate(spec["runs"].get("steps", [])):
            if RUNS_MLGATE.search(step.get("run", "")):
                found.append((path.parent.name, index, step))
    return found


STEPS = mlgate_steps()


def ran_the_actions_code(package: Path, action_src: Path) -> bool:
    """The mlgate package that ran has exactly the action's sources (not, e.g., the project's release)."""
    ours = action_src / "src" / "mlgate"
    return all(
        (package / path.relative_to(ours)).is_file()
        and (package / path.relative_to(ours)).read_bytes() == path.read_bytes()
        for path in ours.rglob("*.py")
    )


def downgrade_click(project: Path, **env: str) -> None:
    run_in(project, uv_bin(), "lock", "--upgrade-package", f"click=={OLD_CLICK}", **env)
    assert locked_versions(project / "uv.lock")["click"] == {OLD_CLICK}


@pytest.fixture(scope="module")
def action_src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What a pinned `uses: <mlgate_repo>/actions/<name>@<ref>` fetches, its lock on the older click."""
    src = clean_copy(ROOT, tmp_path_factory.mktemp("action-src"))
    init = src / "src" / "mlgate" / "__init__.py"  # the action's code differs from the project's release
    init.write_text(init.read_text(encoding="utf-8") + "# the action's copy\n", encoding="utf-8")
    downgrade_click(src)
    return src


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, wheel_dir: Path) -> Path:
    """The default generated project, its lock on the older click, synced as `actions/setup` does."""
    generated = render_project(tmp_path_factory.mktemp("gen"), wheel_dir=wheel_dir, init=True)
    downgrade_click(generated, UV_FIND_LINKS=str(wheel_dir))
    run_in(generated, uv_bin(), "sync", "--locked", "--all-groups", wheel_dir=wheel_dir)
    return generated


def run_step(step: dict[str, Any], action_dir: Path, project: Path, work: Path) -> list[dict[str, Any]]:
    """Run `step`'s script as the runner would (bash -eo pipefail, the action's path, a runner temp dir),
    without inputs: the gate may stop on them, what matters is the environment it started in."""
    work.mkdir(parents=True, exist_ok=True)
    probe_dir = work / "probe"
    probe_dir.mkdir(exist_ok=True)
    (probe_dir / "sitecustomize.py").write_text(PROBE, encoding="utf-8")
    log = work / "probe.jsonl"
    script = work / "step.sh"
    script.write_text(step["run"], encoding="utf-8")
    runner_temp = work.parent / "runner-temp"  # shared by the steps, as on one runner
    runner_temp.mkdir(exist_ok=True)
    env = project_env(
        GITHUB_ACTION_PATH=str(action_dir),
        GITHUB_ACTIONS="true",
        GITHUB_OUTPUT=str(work / "output"),
        GITHUB_STEP_SUMMARY=str(work / "summary.md"),
        GITHUB_WORKSPACE=str(project),
        GITHUB_REPOSITORY="acme/fraud-detection",
        GITHUB_API_URL="http://127.0.0.1:9",  # nothing listens: an API call fails at once
        RUNNER_TEMP=str(runner_temp),
        PYTHONPATH=str(probe_dir),
        MLGATE_TEST_PROBE_LOG=str(log),
    )
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    records = (
        [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
    )
    assert records, f"mlgate did not run ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return records


def test_every_action_that_runs_mlgate_is_covered() -> None:
    actions = {action for action, _index, _step in STEPS}
    assert actions == set(LOCK_OF), f"add the new action to LOCK_OF: {sorted(actions ^ set(LOCK_OF))}"


@pytest.mark.parametrize("case", STEPS, ids=[f"{a}-step{i}" for a, i, _s in STEPS])
def test_an_action_runs_on_its_locked_versions(
    case: tuple[str, int, dict[str, Any]], action_src: Path, project: Path, tmp_path: Path
) -> None:
    action, index, step = case
    lock = action_src / "uv.lock" if LOCK_OF[action] == "action" else project / "uv.lock"
    locked = locked_versions(lock)
    action_dir = action_src / "actions" / action
    for record in run_step(step, action_dir, project, tmp_path / f"{action}-{index}"):
        versions = {canonical(name): version for name, version in record["versions"].items()}
        assert versions.get("click") == OLD_CLICK, (
            f"{action}: click {versions.get('click')}, locked {OLD_CLICK}"
        )
        drift = {
            name: (version, sorted(locked.get(name, ())))
            for name, version in versions.items()
            if version not in locked.get(name, ())
        }
        assert not drift, f"{action} ran on versions its lock ({lock.name}) does not name: {drift}"
        assert ran_the_actions_code(Path(record["code"]).parent, action_src), f"{action}: {record['code']}"


def test_the_probe_sees_a_fresh_resolve(action_src: Path, project: Path, tmp_path: Path) -> None:
    """The check can fail: the line the actions used before (`uvx --from <action>`) resolves click afresh."""
    step = {"run": 'uvx --from "$GITHUB_ACTION_PATH/../.." mlgate repo-settings'}
    (record,) = run_step(step, action_src / "actions" / "repo-settings", project, tmp_path / "uvx")
    assert record["versions"]["click"] != OLD_CLICK, record["versions"]


#: what a CI job's `actions/setup` installs (ci.yml's `groups` / `install-project`) must leave out
SLIM_JOBS = {
    "lint": {"mlflow", "scikit-learn", "dvc", "great-expectations", "pandas", "pyspark"},
    "train": {"dvc", "great-expectations", "pre-commit", "pytest"},
    "eval-gate": {"dvc", "great-expectations", "pre-commit", "pytest"},
    # the project's tests need the project (whose service writes its prediction log with mlgate core),
    # pytest and httpx: no DVC, GX or lint tools
    "test": {"dvc", "great-expectations", "pre-commit", "ruff"},
    # the data gates need the project (dvc repro prepare), DVC and mlgate[data]: no test or lint tools
    "validate-data": {"pytest", "pre-commit", "ruff"},
}


def setup_inputs(project: Path, job: str) -> dict[str, str]:
    ci = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    (setup,) = [s for s in ci["jobs"][job]["steps"] if "/actions/setup@" in s.get("uses", "")]
    return {key: str(value) for key, value in setup.get("with", {}).items()}


@pytest.mark.parametrize("job", sorted(SLIM_JOBS))
def test_a_ci_job_installs_only_what_it_runs(job: str, project: Path, wheel_dir: Path) -> None:
    inputs = setup_inputs(project, job)
    groups = inputs.get("groups", "all")
    assert groups not in {"all", "default"}, f"ci.yml's {job} job installs every group"
    listed = groups.replace(",", " ").split() if groups != "none" else []
    if inputs.get("install-project", "true") == "false":  # as actions/setup passes them to uv sync
        args = [arg for group in listed for arg in ("--only-group", group)]
    else:
        args = ["--no-default-groups", *(arg for group in listed for arg in ("--group", group))]
    exported = run_in(
        project,
        uv_bin(),
        "export",
        "--frozen",
        "--no-hashes",
        "--no-annotate",
        "--no-header",
        "--no-emit-project",
        *args,
        wheel_dir=wheel_dir,
    ).stdout
    names = {canonical(re.split(r"[=<>;@ \[]", line, maxsplit=1)[0]) for line in exported.splitlines()}
    names.discard("")
    assert "mlgate" in names or job in {"train", "test"}, f"{job}: mlgate not installed ({sorted(names)})"
    needed = {"test": {"pytest", "httpx"}, "validate-data": {"dvc", "great-expectations"}}.get(job, set())
    assert needed <= names, f"{job} lacks {sorted(needed - names)}"
    assert not names & SLIM_JOBS[job], f"{job} installs {sorted(names & SLIM_JOBS[job])}"
