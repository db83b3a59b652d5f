"""Every action's README (and docs page) carries the inputs/outputs tables generated from its action.yml."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
ACTIONS = sorted(p.parent.name for p in (ROOT / "actions").glob("*/action.yml"))
REGENERATE = "uv run python tools/docgen.py --write"


def _load_docgen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docgen", ROOT / "tools" / "docgen.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


docgen = _load_docgen()


def copy_action(tmp_path: Path, name: str) -> Path:
    """A repository root holding only one action, to break on purpose."""
    shutil.copytree(ROOT / "actions" / name, tmp_path / "actions" / name)
    return tmp_path


def test_there_are_actions() -> None:
    assert {"setup", "lint"} <= set(ACTIONS)


@pytest.mark.parametrize("name", ACTIONS)
def test_action_docs_are_current(name: str, tmp_path: Path) -> None:
    root = copy_action(tmp_path, name)
    docs_page = ROOT / "docs" / "actions" / f"{name}.md"
    if docs_page.exists():
        (root / "docs" / "actions").mkdir(parents=True)
        shutil.copy(docs_page, root / "docs" / "actions" / docs_page.name)
    problems = docgen.sync(root, write=False)
    assert not problems, "\n".join([*problems, f"regenerate with `{REGENERATE}`"])


def test_whole_repository_check_passes() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "docgen.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_drifted_readme_is_detected_and_rewritten(tmp_path: Path) -> None:
    root = copy_action(tmp_path, "lint")
    action_yml = root / "actions" / "lint" / "action.yml"
    action_yml.write_text(
        action_yml.read_text(encoding="utf-8").replace(
            "  skip:\n",
            "  fail-fast:\n    description: Stop at the first failing hook.\n    required: false\n"
            '    default: "false"\n  skip:\n',
        ),
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "docgen.py"), "--check", "--root", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "actions/lint/README.md: inputs/outputs tables differ from action.yml" in proc.stderr
    assert "tools/docgen.py --write" in proc.stderr

    assert docgen.sync(root, write=True) == []
    readme = (root / "actions" / "lint" / "README.md").read_text(encoding="utf-8")
    assert "| `fail-fast` | Stop at the first failing hook. | no | `false` |" in readme
    assert readme.startswith("# mlgate/actions/lint")  # the prose is kept
    assert docgen.sync(root, write=False) == []


def test_docs_page_with_markers_is_kept_in_sync(tmp_path: Path) -> None:
    root = copy_action(tmp_path, "setup")
    page = root / "docs" / "actions" / "setup.md"
    page.parent.mkdir(parents=True)
    page.write_text(
        "# setup\n\n<!-- mlgate:inputs -->\nold table\n<!-- /mlgate:inputs -->\n", encoding="utf-8"
    )
    assert docgen.sync(root, write=False) == [
        "docs/actions/setup.md: inputs/outputs tables differ from action.yml"
    ]
    docgen.sync(root, write=True)
    assert "| `python-version` |" in page.read_text(encoding="utf-8")


def test_missing_description_and_default_are_problems(tmp_path: Path) -> None:
    root = copy_action(tmp_path, "lint")
    action_yml = root / "actions" / "lint" / "action.yml"
    text = action_yml.read_text(encoding="utf-8")
    text = text.replace("    description: Comma-separated ids of hooks to skip (pre-commit's `SKIP`).\n", "")
    text = text.replace("  report-dir:\n", "  undocumented_default:\n    description: x\n  report-dir:\n")
    action_yml.write_text(text, encoding="utf-8")
    problems = docgen.sync(root, write=True)
    assert "actions/lint/action.yml: input `skip` has no description" in problems
    assert any("optional input `undocumented_default` has no explicit default" in p for p in problems)
    assert "actions/lint/action.yml: input `undocumented_default` is not kebab-case" in problems


def test_readme_without_markers_is_a_problem(tmp_path: Path) -> None:
    root = copy_action(tmp_path, "setup")
    (root / "actions" / "setup" / "README.md").write_text("# setup\n\nNo tables here.\n", encoding="utf-8")
    (problem,) = docgen.sync(root, write=True)
    assert problem.startswith("actions/setup/README.md: no `<!-- mlgate:inputs -->`")


def test_failure_reasons_page_lists_every_gates_reasons_from_the_code() -> None:
    from mlgate.cli import COMMANDS
    from mlgate.eval_gate.rules import FAILURE_REASONS as EVAL_REASONS

    page = (ROOT / "docs" / "reference" / "failure-reasons.md").read_text(encoding="utf-8")
    assert page == docgen.render_reasons_page()
    for command in COMMANDS:
        assert f"## `mlgate {command}`" in page
        assert "| `invalid-input` |" in docgen.reasons_table(docgen.gate_reasons(command))
    for reason, meaning in EVAL_REASONS.items():
        assert f"| `{reason}` | {docgen._text(meaning)} |" in page


def test_a_new_failure_reason_is_a_drift_until_documented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Adding a reason is one line in the gate's FAILURE_REASONS; --check then names every place to update."""
    from mlgate.registry import promote

    root = copy_action(tmp_path, "promote-model")
    (root / "mkdocs.yml").write_text("site_name: x\n", encoding="utf-8")
    assert docgen.sync(root, write=True) == []  # writes docs/reference/failure-reasons.md
    assert docgen.sync(root, write=False) == []
    monkeypatch.setitem(promote.FAILURE_REASONS, "registry-conflict", "someone else moved the alias")
    problems = docgen.sync(root, write=False)
    assert "docs/reference/failure-reasons.md: differs from the gates' FAILURE_REASONS" in problems
    assert (
        "actions/promote-model/README.md: failure-reason table differs from the gates' FAILURE_REASONS"
        in (problems)
    )
    assert "actions/promote-model/action.yml: output `failure-reason` does not name `registry-conflict`" in (
        problems
    )
    docgen.sync(root, write=True)
    readme = (root / "actions" / "promote-model" / "README.md").read_text(encoding="utf-8")
    assert "| `registry-conflict` | someone else moved the alias |" in readme
    assert "| `registry-conflict` |" in (root / "docs" / "reference" / "failure-reasons.md").read_text()


def test_readme_without_reasons_markers_is_a_problem(tmp_path: Path) -> None:
    root = copy_action(tmp_path, "lint")
    readme = root / "actions" / "lint" / "README.md"
    readme.write_text(
        readme.read_text(encoding="utf-8").replace("<!-- mlgate:failure-reasons -->", ""), encoding="utf-8"
    )
    (problem,) = docgen.sync(root, write=False)
    assert problem.startswith("actions/lint/README.md: no `<!-- mlgate:failure-reasons -->`")
