"""The documentation site: option help complete, options page in sync, strict build, a page per action."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from tests.support.project import ROOT, TEMPLATE_OPTIONS


def load_tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"mlgate_tool_{name}", ROOT / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


options_table = load_tool("options_table")


def mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


def test_every_option_has_help_and_nothing_else() -> None:
    help_text = yaml.safe_load((ROOT / "cookiecutter.help.yaml").read_text(encoding="utf-8"))
    public = [key for key in TEMPLATE_OPTIONS if not key.startswith("_")]
    assert sorted(help_text) == sorted(public)
    assert all(str(text).strip() for text in help_text.values())


def test_options_page_is_generated_from_the_options() -> None:
    """docs/options.md is exactly what tools/options_table.py renders (run it with --write to fix)."""
    options, help_text = options_table.load()
    assert options_table.help_problems(options, help_text) == []
    expected = options_table.render_page(options, help_text)
    assert (ROOT / "docs" / "options.md").read_text(encoding="utf-8") == expected, (
        "docs/options.md is out of date: run `uv run python tools/options_table.py --write`"
    )
    for key, value in options.items():
        if not key.startswith("_"):
            assert f"| `{key}` |" in expected
            for choice in value if isinstance(value, list) else []:
                assert f"`{choice}`" in expected
    assert "`fraud-detection` (derived)" in expected


def test_options_table_reports_undocumented_options() -> None:
    options = json.loads((ROOT / "cookiecutter.json").read_text(encoding="utf-8"))
    help_text = yaml.safe_load((ROOT / "cookiecutter.help.yaml").read_text(encoding="utf-8"))
    options["new_option"] = "x"
    help_text["gone_option"] = "help for an option that no longer exists"
    assert options_table.help_problems(options, help_text) == [
        "cookiecutter.help.yaml has no entry for option 'new_option'",
        "cookiecutter.help.yaml documents 'gone_option', which is not an option",
    ]


def test_site_builds_strict_with_a_page_per_action(tmp_path: Path) -> None:
    proc = mkdocs_build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert proc.returncode == 0, proc.stderr[-4000:]
    site = tmp_path / "site"
    index = (site / "index.html").read_text(encoding="utf-8")
    for page in ("getting-started.html", "options.html", "changelog.html", "actions/index.html"):
        assert (site / page).is_file(), page
        assert page in index, f"{page} is not in the navigation"
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8").splitlines()
    assert any(line.startswith("## ") for line in changelog)
    assert "Unreleased" in (site / "changelog.html").read_text(encoding="utf-8")
    for action_yml in sorted(ROOT.glob("actions/*/action.yml")):
        name = action_yml.parent.name
        page = (site / "actions" / f"{name}.html").read_text(encoding="utf-8")
        assert f"actions/{name}.html" in index
        for key in yaml.safe_load(action_yml.read_text(encoding="utf-8")).get("inputs") or {}:
            assert key in page, f"input {key} of {name} missing from its reference page"


def test_a_new_action_gets_a_page_without_editing_the_docs(tmp_path: Path) -> None:
    """Copy the docs next to a repository with one brand-new action (no README yet) and build strict."""
    for name in ("mkdocs.yml", "CHANGELOG.md"):
        shutil.copy2(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copytree(ROOT / "tools", tmp_path / "tools")
    shutil.copytree(ROOT / "actions", tmp_path / "actions")  # guides link to the existing actions' pages
    new = tmp_path / "actions" / "brand-new"
    new.mkdir(parents=True)
    (new / "action.yml").write_text(
        "name: brand new\ndescription: Does a new thing.\n"
        "inputs:\n  some-input:\n    description: An input.\n    required: false\n    default: x\n"
        "outputs:\n  passed:\n    description: Whether it passed.\n    value: ${{ steps.a.outputs.passed }}\n"
        "runs:\n  using: composite\n  steps: []\n",
        encoding="utf-8",
    )
    readme_action = tmp_path / "actions" / "with-readme"
    readme_action.mkdir()
    (readme_action / "action.yml").write_text(
        "name: r\ndescription: R.\nruns:\n  using: composite\n  steps: []\n"
    )
    (readme_action / "README.md").write_text("# with-readme\n\nSee [the code](../../src/mlgate/cli.py).\n")
    (tmp_path / "docs" / "guides").mkdir(exist_ok=True)
    (tmp_path / "docs" / "guides" / "a-guide.md").write_text("# A guide\n")
    proc = mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert proc.returncode == 0, proc.stderr[-4000:]
    site = tmp_path / "site"
    page = (site / "actions" / "brand-new.html").read_text(encoding="utf-8")
    assert "Does a new thing." in page and "some-input" in page and "passed" in page
    readme_page = (site / "actions" / "with-readme.html").read_text(encoding="utf-8")
    assert (
        "https://github.com/mlgate-dev/mlgate/blob/main/actions/with-readme/../../src/mlgate/cli.py"
        in readme_page
    )
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "actions/brand-new.html" in index and "guides/a-guide.html" in index
    assert 'href="brand-new.html"' in (site / "actions" / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", ["mkdocs.yml"])
def test_site_needs_no_network(path: str) -> None:
    """No plugin that downloads at build time, no web fonts at view time."""
    config = (ROOT / path).read_text(encoding="utf-8")
    assert "font: false" in config
    for plugin in ("social", "privacy", "git-revision", "git-committers"):
        assert plugin not in config
