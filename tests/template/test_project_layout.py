"""The generated project's shape, checked on rendered files (fast: no environment to install).

- its package has no import loop (every import counted, also those inside functions);
- its own `tests/test_settings_agree.py` passes as shipped and fails when `params.yaml` and
  `mlgate.yaml` disagree on a value they share;
- the README's gate table lists exactly the jobs of `.github/workflows/*.yml`, and the action each row
  names is one its job uses.
"""

from __future__ import annotations

import ast
import graphlib
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.template.conftest import needs_template

pytestmark = needs_template

PACKAGE = "fraud_detection"


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """module -> the modules of the same package it imports (relative or absolute, at any depth)."""
    modules = {path.stem for path in package_dir.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in package_dir.glob("*.py"):
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level == 0 and not base.startswith(package_dir.name):
                    continue
                inner = base.removeprefix(package_dir.name).lstrip(".") if node.level == 0 else base
                if inner:
                    edges.add(inner.split(".")[0])
                else:  # `from . import x` / `from pkg import x`
                    edges |= {alias.name for alias in node.names}
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith(f"{package_dir.name}."):
                        edges.add(alias.name.split(".")[1])
        graph[path.stem] = {edge for edge in edges if edge in modules and edge != path.stem}
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        return list(error.args[1])
    return None


def test_generated_package_has_no_import_loop(render_cached: Callable[..., Path]) -> None:
    graph = import_graph(render_cached() / "src" / PACKAGE)
    assert {"raw", "schema", "synthetic", "data", "metrics", "train", "evaluate"} <= set(graph)
    assert cycle(graph) is None, f"import loop: {' -> '.join(cycle(graph) or [])}"
    assert "evaluate" not in graph["train"] and "train" not in graph["evaluate"]
    assert graph["schema"] == set(), "the data contract is the bottom of the package"


def test_the_loop_check_finds_a_loop_inside_a_function(
    render_cached: Callable[..., Path], tmp_path: Path
) -> None:
    package = tmp_path / PACKAGE
    shutil.copytree(render_cached() / "src" / PACKAGE, package)
    for module, imported in (
        ("train", "from .evaluate import segment_metrics"),
        ("evaluate", "from .train import fit"),
    ):
        path = package / f"{module}.py"  # the loop the package had: both import the other, one lazily
        path.write_text(
            path.read_text(encoding="utf-8") + f"\n\ndef _late() -> None:\n    {imported}\n", encoding="utf-8"
        )
    found = cycle(import_graph(package))
    assert found is not None and {"train", "evaluate"} <= set(found)


# --- params.yaml and mlgate.yaml agree ------------------------------------------------------------------


def run_settings_test(project: Path) -> subprocess.CompletedProcess[str]:
    """The generated project's own agreement test, run with pytest as `make test` runs it (it reads YAML
    only, so this checkout's environment can run it; --noconftest: the fixtures need the project's)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/test_settings_agree.py",
            "--noconftest",
            "-p",
            "no:cacheprovider",
            "-q",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_settings_agreement_test_passes_as_shipped(render_cached: Callable[..., Path]) -> None:
    proc = run_settings_test(render_cached())
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "5 passed" in proc.stdout


@pytest.mark.parametrize(
    "change",
    [
        (
            "mlgate.yaml",
            "decision_threshold: 0.2",
            "decision_threshold: 0.3",
            "eval.decision_threshold is 0.3",
        ),
        ("params.yaml", "threshold: 0.2 ", "threshold: 0.25 ", "params.yaml evaluate.threshold is 0.25"),
        (
            "params.yaml",
            "registered_model_name: fraud-detection",
            "registered_model_name: fraud-v2",
            "eval.model_name is 'fraud-detection'",
        ),
        ("params.yaml", "  dir: data", "  dir: datasets", "data.dataset is 'data/train.csv'"),
        (
            "mlgate.yaml",
            "- column: country\n",
            "- column: device\n",
            "['device'] are not in params.yaml",
        ),
    ],
    ids=["threshold-in-mlgate", "threshold-in-params", "model-name", "data-dir", "segment"],
)
def test_the_settings_agreement_test_fails_when_the_files_disagree(
    render_cached: Callable[..., Path], tmp_path: Path, change: tuple[str, str, str, str]
) -> None:
    file, old, new, message = change
    project = tmp_path / "project"
    shutil.copytree(render_cached(), project)
    text = (project / file).read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    (project / file).write_text(text.replace(old, new), encoding="utf-8")
    proc = run_settings_test(project)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert message in proc.stdout, proc.stdout[-3000:]


# --- the README's gate table is the workflows' job list ------------------------------------------------


def workflow_jobs(project: Path) -> dict[tuple[str, str], set[str]]:
    """(workflow file, job id) -> the mlgate actions (`actions/<name>`) its steps use."""
    jobs: dict[tuple[str, str], set[str]] = {}
    for path in sorted((project / ".github" / "workflows").glob("*.yml")):
        workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
        for job_id, job in workflow["jobs"].items():
            uses = {step.get("uses", "") for step in job.get("steps", [])}
            jobs[(path.name, job_id)] = {
                match.group(1) for use in uses if (match := re.search(r"/(actions/[a-z-]+)@", use))
            }
    return jobs


def readme_gate_rows(project: Path) -> dict[tuple[str, str], str]:
    """(workflow, job) -> the row's text, from the table under `## Gates` of the README."""
    readme = (project / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Gates\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[tuple[str, str], str] = {}
    for line in section.splitlines():
        match = re.match(r"^\| `([\w.-]+\.yml)` \| `([\w-]+)` \|(.*)\|$", line)
        if match:
            key = (match.group(1), match.group(2))
            assert key not in rows, f"README lists {key} twice"
            rows[key] = match.group(3)
    return rows


@pytest.mark.parametrize(
    "answers", [{}, {"cloud": "aws", "mlflow_tracking": "server"}], ids=["default", "aws"]
)
def test_readme_gate_table_lists_exactly_the_workflow_jobs(
    render_cached: Callable[..., Path], answers: dict[str, str]
) -> None:
    project = render_cached(**answers)
    jobs, rows = workflow_jobs(project), readme_gate_rows(project)
    assert set(rows) == set(jobs), (
        f"jobs missing from the README: {sorted(set(jobs) - set(rows))}; "
        f"README rows without a job: {sorted(set(rows) - set(jobs))}"
    )
    for key, text in rows.items():
        named = set(re.findall(r"`(actions/[a-z-]+)`", text))
        assert named <= jobs[key], f"README row {key} names {sorted(named)}; the job uses {sorted(jobs[key])}"
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert "later" not in readme.split("\n## Gates\n", 1)[1].split("\n## ", 1)[0].lower()


def test_readme_gate_check_sees_a_missing_and_an_extra_job(
    render_cached: Callable[..., Path], tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(render_cached(), project)
    readme = project / "README.md"
    text = readme.read_text(encoding="utf-8")
    without_drift = "\n".join(line for line in text.splitlines() if not line.startswith("| `monitor.yml`"))
    readme.write_text(without_drift + "\n", encoding="utf-8")
    assert ("monitor.yml", "drift") in set(workflow_jobs(project)) - set(readme_gate_rows(project))
    ci = project / ".github" / "workflows" / "ci.yml"
    workflow = yaml.safe_load(ci.read_text(encoding="utf-8"))
    del workflow["jobs"]["train"], workflow["jobs"]["eval-gate"]
    ci.write_text(yaml.safe_dump(workflow), encoding="utf-8")
    assert ("ci.yml", "train") in set(readme_gate_rows(project)) - set(workflow_jobs(project))


# --- the runbook's rollback steps match cd.yml ----------------------------------------------------------


@pytest.mark.parametrize("answers", [{}, {"mlflow_tracking": "server"}], ids=["github-registry", "mlflow"])
def test_runbook_rollback_steps_match_the_cd_workflow(
    render_cached: Callable[..., Path], answers: dict[str, str]
) -> None:
    project = render_cached(**answers)
    runbook = (project / "docs" / "runbook.md").read_text(encoding="utf-8")
    steps = runbook.split("\n## Rollback\n", 1)[1].split("\n## ", 1)[0]
    cd = yaml.safe_load((project / ".github" / "workflows" / "cd.yml").read_text(encoding="utf-8"))
    dispatch = cd[True]["workflow_dispatch"]["inputs"]  # PyYAML reads the key `on` as True
    assert dispatch["rollback"]["type"] == "boolean"
    assert "gh workflow run cd.yml --ref main -f rollback=true" in steps
    rollback = cd["jobs"]["rollback"]
    assert f"`{rollback['environment']}` environment" in steps
    promote = next(step for step in rollback["steps"] if "actions/promote-model@" in step.get("uses", ""))
    assert promote["with"]["rollback"] == "true"
    assert '`rollback: "true"`' in steps and "`actions/promote-model`" in steps
    assert "rollback" in cd["jobs"]["model-card"]["needs"] and "`model-card` job" in steps
    registry = "champion` alias" if answers else "uvx gto show"
    assert registry in steps


# --- the model card keeps its hand-written sections in CD ------------------------------------------------


def test_cd_renders_into_the_shipped_model_card_which_keeps_its_hand_written_sections(
    render_cached: Callable[..., Path],
) -> None:
    from mlgate.registry.model_card import BEGIN_MARKER, END_MARKER, merge_card

    project = render_cached()
    card = project / "docs" / "model_card.md"
    shipped = card.read_text(encoding="utf-8")
    assert shipped.startswith(BEGIN_MARKER) and shipped.count(END_MARKER) == 1
    hand_written = shipped.split(END_MARKER, 1)[1]
    assert "## Ethical considerations and fairness" in hand_written
    merged = merge_card("# Model card: fraud-detection v3\n\nrendered", shipped, path=card)
    assert merged.endswith(hand_written) and "rendered" in merged and "Not rendered yet" not in merged

    cd = yaml.safe_load((project / ".github" / "workflows" / "cd.yml").read_text(encoding="utf-8"))
    for job in ("promote", "rollback"):
        steps = cd["jobs"][job]["steps"]
        render = next(step for step in steps if "actions/promote-model@" in step.get("uses", ""))
        upload = next(step for step in steps if "actions/upload-artifact@" in step.get("uses", ""))
        assert render["with"]["model-card"] == upload["with"]["path"] == "docs/model_card.md", job
