"""A data scientist's day in the generated project, in its own environment (slow: renders with
initialisation, `uv sync`s it with mlgate from a wheel of this checkout).

- `make setup` installs the pre-commit hooks (and skips them, harmlessly, outside a git repository);
- the `nbstripout` hook strips a notebook's outputs, through the real pre-commit and through `git commit`;
  the starter notebook's code runs;
- the README's recipe for real data works: `load_raw()` replaced by a CSV reader, `dvc repro` trains
  on the CSV, re-runs when it changes, and stops with one line when it breaks the contract.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.support.project import render_project, run_in, sync_project, uv_bin
from tests.template.conftest import needs_template

pytestmark = [needs_template, pytest.mark.slow]

PACKAGE = "fraud_detection"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, wheel_dir: Path) -> Path:
    path = render_project(tmp_path_factory.mktemp("workbench"), wheel_dir=wheel_dir, init=True)
    assert (path / ".git").is_dir() and (path / "uv.lock").is_file(), "the post-generation hook did not init"
    sync_project(path, wheel_dir)
    return path


# --- make setup ------------------------------------------------------------------------------------------


def test_make_setup_installs_the_pre_commit_hooks(project: Path, wheel_dir: Path) -> None:
    hook = project / ".git" / "hooks" / "pre-commit"
    assert not hook.exists()
    out = run_in(project, "make", "setup", wheel_dir=wheel_dir).stdout
    assert "pre-commit installed at .git/hooks/pre-commit" in out
    assert "pre-commit" in hook.read_text(encoding="utf-8")


@pytest.mark.parametrize("where", ["no-repository", "inside-another-repository"])
def test_make_setup_skips_the_hooks_outside_the_top_of_a_repository(
    project: Path, tmp_path: Path, where: str
) -> None:
    """`UV=true`: the dependency step does nothing here, the hook step runs as written."""
    directory = tmp_path / "project"
    if where == "inside-another-repository":
        run_in(tmp_path, "git", "init", "-q")
    directory.mkdir()
    shutil.copy(project / "Makefile", directory / "Makefile")
    proc = run_in(directory, "make", "setup", "UV=true")
    assert "pre-commit hooks not installed" in proc.stdout
    assert not (tmp_path / ".git" / "hooks" / "pre-commit").exists()


# --- notebooks -------------------------------------------------------------------------------------------


def notebook_with_outputs() -> dict[str, object]:
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": 3,
                "id": "a1",
                "metadata": {"scrolled": True},
                "outputs": [
                    {"name": "stdout", "output_type": "stream", "text": ["card 4111 1111 1111 1111\n"]}
                ],
                "source": ["print('card 4111 1111 1111 1111')"],
            }
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def test_the_nbstripout_hook_strips_outputs(project: Path, wheel_dir: Path) -> None:
    path = project / "notebooks" / "scratch.ipynb"
    path.write_text(json.dumps(notebook_with_outputs(), indent=1) + "\n", encoding="utf-8")
    run_in(project, "git", "add", "notebooks/scratch.ipynb")  # pre-commit sees changes to staged files
    hook = (uv_bin(), "run", "pre-commit", "run", "nbstripout", "--files", "notebooks/scratch.ipynb")
    try:
        first = run_in(project, *hook, wheel_dir=wheel_dir, check=False)
        assert first.returncode == 1 and "files were modified by this hook" in first.stdout, first.stdout
        cell = json.loads(path.read_text(encoding="utf-8"))["cells"][0]
        assert cell["outputs"] == [] and cell["execution_count"] is None
        assert "4111" not in json.dumps(cell["outputs"])  # the printed card number is gone, the code stays
        run_in(project, "git", "add", "notebooks/scratch.ipynb")
        again = run_in(project, *hook, wheel_dir=wheel_dir, check=False)
        assert again.returncode == 0, again.stdout  # stripped: passes
    finally:
        run_in(project, "git", "rm", "-q", "--cached", "notebooks/scratch.ipynb")
        path.unlink()


def test_shipped_notebook_is_stripped_and_its_code_runs(project: Path, wheel_dir: Path) -> None:
    shipped = "notebooks/01-explore-raw-data.ipynb"
    hook = run_in(
        project, uv_bin(), "run", "pre-commit", "run", "nbstripout", "--files", shipped, check=False
    )
    assert hook.returncode == 0, hook.stdout
    cells = json.loads((project / shipped).read_text(encoding="utf-8"))["cells"]
    code = "\n\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
    script = project / "notebooks" / "as_script.py"
    script.write_text(code + "\nprint(len(raw), sorted(raw.columns))\n", encoding="utf-8")
    try:
        out = run_in(
            project / "notebooks", uv_bin(), "run", "python", "as_script.py", wheel_dir=wheel_dir
        ).stdout
    finally:
        script.unlink()
    assert "30000 ['amount', 'card_age_days', 'country', 'device', 'hour', 'is_fraud'" in out


def test_jupyter_is_an_optional_extra_that_make_notebook_installs(project: Path) -> None:
    import tomllib

    lock = tomllib.loads((project / "uv.lock").read_text(encoding="utf-8"))
    own = next(package for package in lock["package"] if package["name"] == "fraud-detection")
    assert {dep["name"] for dep in own["optional-dependencies"]["notebooks"]} == {"ipykernel", "jupyterlab"}
    dev = {dep["name"] for dep in own["dev-dependencies"]["dev"]}
    assert "jupyterlab" not in dev and "nbstripout" in dev  # make setup: the hook's tool, not Jupyter
    dry_run = run_in(project, "make", "-n", "notebook").stdout
    assert "run --extra notebooks jupyter lab notebooks/" in dry_run


def test_git_commit_with_the_hooks_installed_refuses_notebook_outputs(project: Path, wheel_dir: Path) -> None:
    run_in(project, "make", "setup", wheel_dir=wheel_dir)
    path = project / "notebooks" / "committed.ipynb"
    path.write_text(json.dumps(notebook_with_outputs(), indent=1) + "\n", encoding="utf-8")
    run_in(project, "git", "add", "notebooks/committed.ipynb")
    commit = run_in(
        project, "git", "commit", "-m", "a notebook with outputs", wheel_dir=wheel_dir, check=False
    )
    assert commit.returncode != 0, commit.stdout
    assert (
        "notebooks/committed.ipynb"
        not in run_in(project, "git", "ls-tree", "-r", "HEAD", "--name-only").stdout
    )
    assert json.loads(path.read_text(encoding="utf-8"))["cells"][0]["outputs"] == []
    run_in(project, "git", "reset", "-q", "notebooks/committed.ipynb")
    path.unlink()


# --- bring your own data: the README's recipe through dvc repro -------------------------------------------


def readme_recipe(project: Path) -> str:
    """The `load_raw()` the README shows for a CSV export."""
    readme = (project / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Bring your own data\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(def load_raw\(.*?)```", section, flags=re.DOTALL)
    assert match, "the README shows no load_raw() for a CSV"
    return match.group(1)


def write_csv(project: Path, wheel_dir: Path, rows: int, *, drop: str | None = None) -> None:
    """A CSV export: the project's own generator with another seed, an extra column, maybe one missing."""
    code = (
        "from pathlib import Path\n"
        f"from {PACKAGE}.synthetic import generate_transactions\n"
        f"frame = generate_transactions({rows}, seed=11).assign(merchant_name='acme')\n"
        + (f"frame = frame.drop(columns=[{drop!r}])\n" if drop else "")
        + "Path('data/external').mkdir(parents=True, exist_ok=True)\n"
        "frame.to_csv('data/external/transactions.csv', index=False)\n"
    )
    run_in(project, uv_bin(), "run", "python", "-c", code, wheel_dir=wheel_dir)


def test_a_csv_source_runs_through_dvc_repro(project: Path, wheel_dir: Path) -> None:
    raw_py = project / "src" / PACKAGE / "raw.py"
    text = raw_py.read_text(encoding="utf-8")
    raw_py.write_text(text[: text.index("\ndef load_raw(") + 1] + readme_recipe(project), encoding="utf-8")
    dvc_yaml = project / "dvc.yaml"
    stages = dvc_yaml.read_text(encoding="utf-8")
    anchor = f"      - src/{PACKAGE}/data.py\n"
    assert stages.count(anchor) == 1
    dvc_yaml.write_text(
        stages.replace(anchor, "      - data/external/transactions.csv\n" + anchor), encoding="utf-8"
    )
    write_csv(project, wheel_dir, 6_000)
    run_in(project, uv_bin(), "run", "dvc", "add", "data/external/transactions.csv", wheel_dir=wheel_dir)

    out = run_in(project, uv_bin(), "run", "dvc", "repro", wheel_dir=wheel_dir, timeout=1500).stdout
    assert "Running stage 'prepare'" in out and "Running stage 'evaluate'" in out
    import pandas as pd

    raw = pd.read_csv(project / "data" / "raw" / "transactions.csv")
    assert len(raw) == 6_000 and "merchant_name" not in raw.columns  # extra columns are dropped
    split = [pd.read_csv(project / "data" / name) for name in ("train.csv", "test.csv")]
    assert sum(len(frame) for frame in split) == 6_000
    assert json.loads((project / "metrics.json").read_text(encoding="utf-8"))["rows"] == len(split[1])
    ignored = run_in(
        project, "git", "check-ignore", "data/raw/transactions.csv", "data/external/transactions.csv"
    )
    assert ignored.stdout.split() == ["data/raw/transactions.csv", "data/external/transactions.csv"]

    # a new export re-runs prepare (the CSV is a dependency); one without `country` stops it in one line
    write_csv(project, wheel_dir, 5_000)
    run_in(project, uv_bin(), "run", "dvc", "add", "data/external/transactions.csv", wheel_dir=wheel_dir)
    again = run_in(project, uv_bin(), "run", "dvc", "repro", "prepare", wheel_dir=wheel_dir).stdout
    assert "Running stage 'prepare'" in again
    assert len(pd.read_csv(project / "data" / "raw" / "transactions.csv")) == 5_000
    write_csv(project, wheel_dir, 5_000, drop="country")
    broken = run_in(
        project, uv_bin(), "run", "python", "-m", f"{PACKAGE}.data", wheel_dir=wheel_dir, check=False
    )
    assert broken.returncode == 1
    assert broken.stderr.strip().splitlines() == [
        "error: raw data lacks column(s) country: fix load_raw() in raw.py (the contract is in schema.py)"
    ]
