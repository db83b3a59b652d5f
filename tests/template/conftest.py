"""Shared fixtures for generation tests: a tagged snapshot of this checkout and rendered projects."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.project import ROOT, TEMPLATE_OPTIONS, render_project, snapshot_template

TOOLS_BIN = Path(sys.executable).parent
RELEASE_TAG = str(TEMPLATE_OPTIONS["mlgate_ref"])


needs_template = pytest.mark.skipif(
    not (ROOT / "{{cookiecutter.project_slug}}").is_dir(),
    reason="the template directory is not in this checkout",
)


def tool(name: str) -> str:
    """A linter installed with mlgate's dev dependencies (zizmor, actionlint, check-jsonschema, cruft)."""
    found = shutil.which(name, path=str(TOOLS_BIN)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run `uv sync --all-groups`")
    return found


def tool_env() -> dict[str, str]:
    """PATH with the dev tools first (actionlint finds shellcheck there)."""
    return {**os.environ, "PATH": f"{TOOLS_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.fixture(scope="session")
def tagged_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout's working tree as a git repository whose HEAD carries the release tag of
    `mlgate_ref` -- what `cookiecutter gh:OWNER/mlgate --checkout <tag>` clones."""
    return snapshot_template(tmp_path_factory.mktemp("template") / "mlgate", tag=RELEASE_TAG)


@pytest.fixture(scope="session")
def render_cached(
    tmp_path_factory: pytest.TempPathFactory, tagged_template: Path
) -> Iterator[Callable[..., Path]]:
    """render(**answers) -> project, rendered once per distinct answers (no git/uv/dvc init)."""
    cache: dict[tuple[tuple[str, str], ...], Path] = {}

    def render(**answers: str) -> Path:
        key = tuple(sorted(answers.items()))
        if key not in cache:
            cache[key] = render_project(
                tmp_path_factory.mktemp("project"), template=tagged_template, **answers
            )
        return cache[key]

    yield render
