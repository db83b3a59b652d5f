"""`mlgate template-update`'s pieces: the release it picks, stale pins, never half-applying, bad input.

The whole update (cruft, uv lock, push, pull request) runs under act in
tests/workflows/test_template_update_workflow.py; these tests pin down the rules it relies on.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlgate import template_update
from mlgate.gate import GateInputError
from tests.support.bad_inputs import BadInput, check_bad_input
from tests.support.project import git, project_env

SHA = "3d3c42e5aac5ba805825da76410c181273ba90b1"


def _repo(path: Path, tags: list[str]) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text("x\n", encoding="utf-8")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "one")
    for tag in tags:
        git(path, "tag", tag)
    return path


def test_the_newest_release_is_chosen_by_version_not_by_text(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "mlgate", ["v0.1.0", "v0.2.0", "v0.10.0", "v1.0.0-rc.1", "latest", "v0.9.9"])
    assert template_update.newest_release(str(repo)) == "v0.10.0"
    assert template_update.newest_release(str(_repo(tmp_path / "none", ["nightly"]))) is None


def test_stale_references_name_every_place_still_on_the_old_release(tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text(
        "\n".join(
            [
                f"      - uses: mlgate-dev/mlgate/actions/lint@{SHA} # v0.2.0",
                f"      - uses: mlgate-dev/mlgate/actions/setup@{SHA} # v0.1.0",
                "      - uses: mlgate-dev/mlgate/actions/eval-gate@v0.1.0",
                f"      - uses: actions/checkout@{SHA} # v0.1.0",  # not mlgate's: not ours to move
            ]
        ),
        encoding="utf-8",
    )
    tf = tmp_path / "terraform" / "envs" / "prod"
    tf.mkdir(parents=True)
    (tf / "main.tf").write_text(
        '  source = "git::https://github.com/mlgate-dev/mlgate.git//terraform/modules/ml-bucket'
        f'?ref={SHA}" # v0.1.0\n',
        encoding="utf-8",
    )
    (tmp_path / "pyproject.toml").write_text(
        'dev = ["mlgate[data,eval]==0.1.0", "mlgate-x==0.1.0"]\n', "utf-8"
    )
    stale = template_update.stale_references(tmp_path, "mlgate-dev/mlgate", "v0.1.0", set())
    assert stale == [
        ".github/workflows/ci.yml:2",
        ".github/workflows/ci.yml:3",
        "terraform/envs/prod/main.tf:1",
        "pyproject.toml:1",
    ]
    # files with conflicts are left to the reviewer
    assert "pyproject.toml:1" not in template_update.stale_references(
        tmp_path, "mlgate-dev/mlgate", "v0.1.0", {"pyproject.toml"}
    )


def _project(tmp_path: Path, template: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    state = {
        "template": str(template),
        "commit": git(template, "rev-parse", "HEAD"),
        "context": {"cookiecutter": {"mlgate_ref": "v0.1.0", "mlgate_repo": "mlgate-dev/mlgate"}},
    }
    (project / ".cruft.json").write_text(json.dumps(state), encoding="utf-8")
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "generated")
    return project


def test_a_failed_update_leaves_the_project_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = _repo(tmp_path / "mlgate", ["v0.1.0"])  # not a cookiecutter template: cruft must fail
    project = _project(tmp_path, template)
    for name, value in project_env().items():
        monkeypatch.setenv(name, value)
    before = git(project, "rev-parse", "HEAD")
    state = template_update.read_cruft_state(project)
    with pytest.raises(GateInputError) as failure:
        template_update.apply_update(project, state, "v0.1.0", "mlgate/template-update", [])
    assert failure.value.reason == "update-failed"
    assert git(project, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git(project, "rev-parse", "HEAD") == before
    assert git(project, "status", "--porcelain") == ""
    assert "mlgate/template-update" not in git(project, "branch", "--list")


def _cruft(state: object) -> str:
    return json.dumps(state)


GOOD_STATE = {
    "template": "/nowhere",
    "context": {"cookiecutter": {"mlgate_ref": "v0.1.0", "mlgate_repo": "a/b"}},
}
CASES = [
    BadInput("no-cruft-json", ("template-update", "--no-push"), "invalid-input", ".cruft.json"),
    BadInput(
        "cruft-json-not-json",
        ("template-update", "--no-push"),
        "invalid-input",
        ".cruft.json",
        files={".cruft.json": "{"},
    ),
    BadInput(
        "cruft-json-without-ref",
        ("template-update", "--no-push"),
        "invalid-input",
        "context.cookiecutter.mlgate_ref",
        files={".cruft.json": _cruft({"template": "x", "context": {"cookiecutter": {}}})},
    ),
    BadInput(
        "cruft-json-a-list",
        ("template-update", "--no-push"),
        "invalid-input",
        ".cruft.json",
        files={".cruft.json": "[]"},
    ),
    BadInput(
        "to-is-not-a-release-tag",
        ("template-update", "--no-push", "--to", "main"),
        "no-release",
        "main",
        files={".cruft.json": _cruft(GOOD_STATE)},
        setup=lambda path: (
            git(path, "init", "-q", "-b", "main"),
            git(path, "add", "-A"),
            git(path, "commit", "-qm", "x"),
        ),
    ),
    BadInput(
        "template-unreachable",
        ("template-update", "--no-push"),
        "invalid-input",
        "template",
        files={".cruft.json": _cruft(GOOD_STATE)},
        setup=lambda path: (
            git(path, "init", "-q", "-b", "main"),
            git(path, "add", "-A"),
            git(path, "commit", "-qm", "x"),
        ),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_is_one_clear_error(
    case: BadInput, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in project_env().items():
        if name.startswith("GIT_"):
            monkeypatch.setenv(name, value)
    check_bad_input(case, tmp_path, monkeypatch, capsys)
