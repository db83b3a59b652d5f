"""Shared fixtures for generation tests: a tagged snapshot of this checkout and rendered projects."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.project import (
    ROOT,
    TEMPLATE_OPTIONS,
    render_project,
    run_in,
    snapshot_template,
    sync_project,
)

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


# -- the generated project's local stack (make canary-local, make monitor-local) --------------------------
#: not the default nginx config path: the commands must follow mlgate.yaml
STACK_NGINX_CONF = ".mlgate/nginx-under-test/nginx.conf"


def free_ports(count: int) -> list[int]:
    """`count` distinct ports free on 127.0.0.1 (all held open while choosing, so they differ)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


@pytest.fixture(scope="session")
def trained_project(tmp_path_factory: pytest.TempPathFactory, wheel_dir: Path) -> Path:
    """The default project, synced, with a trained model and data/golden.csv (`make pipeline`)."""
    path = render_project(tmp_path_factory.mktemp("gen"), wheel_dir=wheel_dir)
    sync_project(path, wheel_dir)
    run_in(path, "make", "pipeline", wheel_dir=wheel_dir, timeout=1800)
    assert (path / "models" / "model.joblib").is_file()
    assert (path / "data" / "golden.csv").is_file()
    return path


@pytest.fixture(scope="session")
def stack_ports(trained_project: Path) -> dict[str, int]:
    """Point the canary section of the generated mlgate.yaml at free ports and another nginx config."""
    chosen = dict(zip(("listen", "baseline", "canary", "prometheus"), free_ports(4), strict=True))
    config = trained_project / "mlgate.yaml"
    text = config.read_text(encoding="utf-8")
    for old, new in (
        ("    url: http://127.0.0.1:9090\n", f"    url: http://127.0.0.1:{chosen['prometheus']}\n"),
        (
            "  local:\n    listen: 127.0.0.1:8080\n",
            f"  local:\n    nginx_conf: {STACK_NGINX_CONF}\n    listen: 127.0.0.1:{chosen['listen']}\n",
        ),
        (
            "    baseline_upstream: 127.0.0.1:8001\n",
            f"    baseline_upstream: 127.0.0.1:{chosen['baseline']}\n",
        ),
        ("    canary_upstream: 127.0.0.1:8002\n", f"    canary_upstream: 127.0.0.1:{chosen['canary']}\n"),
    ):
        assert text.count(old) == 1, f"the generated mlgate.yaml no longer has {old!r}"
        text = text.replace(old, new)
    config.write_text(text, encoding="utf-8")
    return chosen
