"""Bad inputs of the registry of record (`registry` section, GTO tags on a git remote), through the real
CLI: each is one line naming the field, a documented failure-reason, never a traceback, never a pass."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.bad_inputs import BadInput, check_bad_input

EVAL = "eval:\n  model_name: fraud\n  golden_data: golden.csv\n  label: is_fraud\n"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _clone_with_remote(remote: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        _git(root, "init", "-q", "-b", "main")
        _git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "one")
        if remote == "bare":
            _git(root.parent, "init", "-q", "--bare", str(root.parent / f"{root.name}-remote.git"))
            _git(root, "remote", "add", "origin", str(root.parent / f"{root.name}-remote.git"))
        else:
            _git(root, "remote", "add", "origin", remote)

    return setup


CASES = [
    BadInput(
        id="unknown-backend",
        argv=("promote", "--rollback"),
        reason="invalid-input",
        names="registry.backend",
        files={"mlgate.yaml": EVAL + "registry:\n  backend: gitlab\n"},
    ),
    BadInput(
        id="bad-stage-name",
        argv=("promote", "--rollback"),
        reason="invalid-input",
        names="registry.stage",
        files={"mlgate.yaml": EVAL + "registry:\n  backend: github\n  stage: Production Now\n"},
    ),
    BadInput(
        id="not-a-git-clone",
        argv=("promote", "--rollback"),
        reason="invalid-input",
        names="registry.remote",
        files={"mlgate.yaml": EVAL + "registry:\n  backend: github\n"},
    ),
    BadInput(
        id="remote-unreachable",
        argv=("promote", "--rollback"),
        reason="registry-unreachable",
        names="registry",
        files={"mlgate.yaml": EVAL + "registry:\n  backend: github\n"},
        setup=_clone_with_remote("/nonexistent/remote.git"),
    ),
    BadInput(
        id="rollback-without-an-earlier-champion",
        argv=("promote", "--rollback"),
        reason="no-previous",
        names="--rollback",
        files={"mlgate.yaml": EVAL + "registry:\n  backend: github\n"},
        setup=_clone_with_remote("bare"),
    ),
    BadInput(
        id="model-card-without-a-champion",
        argv=("model-card",),
        reason="invalid-input",
        names="--version",
        files={"mlgate.yaml": EVAL + "registry:\n  backend: github\n"},
        setup=_clone_with_remote("bare"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_registry_input_is_one_clear_line(
    case: BadInput, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    check_bad_input(case, tmp_path, monkeypatch, capsys)
