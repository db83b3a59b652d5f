"""Generate every valid combination of options and check what a user gets.

Per combination: the exact file set, no leftover Jinja, every YAML/TOML/JSON file parses, the answers
reach the files, mlgate's actions are pinned to the release commit, and the workflows pass zizmor
(offline), actionlint and the GitHub workflow JSON schema. Rendering skips git/uv/dvc initialisation
(MLGATE_SKIP_INIT=1); test_post_gen.py covers that. `MLGATE_QUICK=1` renders the default answers only.
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.support.hooks import default_answers, load_hook
from tests.support.project import TEMPLATE_OPTIONS, git_sha
from tests.template.conftest import RELEASE_TAG, needs_template, tool, tool_env
from tests.template.expected_files import expected_files
from tests.template.matrix import CHOICES, INTERACTING, ROTATED, Combination, all_combinations, combinations

pytestmark = needs_template
COMBINATIONS = combinations()
#: `{{` not after `$` (GitHub expressions) nor opening a Prometheus alert template (`{{ $labels.job }}`)
LEFTOVER_JINJA = re.compile(r"(?<!\$)\{\{(?!\s*\$)|\{%|(?<![$])\{#")
PINS: dict[str, str] = TEMPLATE_OPTIONS["_action_pins"]
MLGATE_REPO = str(TEMPLATE_OPTIONS["mlgate_repo"])


def generated_files(project: Path) -> set[str]:
    return {
        p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file() and ".git" not in p.parts
    }


def workflow_files(project: Path) -> list[Path]:
    return sorted((project / ".github" / "workflows").glob("*.y*ml"))


@pytest.fixture(params=COMBINATIONS, ids=[combo.id for combo in COMBINATIONS])
def combo(request: pytest.FixtureRequest) -> Combination:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def project(combo: Combination, render_cached: Callable[..., Path]) -> Path:
    return render_cached(**combo.answers)


# ---------------------------------------------------------------------------------- the matrix itself


def test_every_choice_option_is_classified() -> None:
    assert set(INTERACTING) | set(ROTATED) == set(CHOICES), (
        "a choice option in cookiecutter.json is neither INTERACTING nor ROTATED in tests/template/matrix.py"
    )


def test_matrix_covers_every_value() -> None:
    combos = all_combinations()
    for key in CHOICES:
        assert {combo.answers[key] for combo in combos} == set(CHOICES[key]), key
    assert len({combo.id for combo in combos}) == len(combos)
    assert sum(combo.is_default for combo in combos) == 1


# ------------------------------------------------------------------------------------ per combination


def test_exact_file_set(combo: Combination, project: Path) -> None:
    expected = expected_files(default_answers(**combo.answers))
    actual = generated_files(project)
    assert not actual - expected, (
        f"generated but not listed in tests/template/expected_files.py: {sorted(actual - expected)}"
    )
    assert not expected - actual, (
        f"listed in tests/template/expected_files.py but not generated: {sorted(expected - actual)}"
    )


#: files cookiecutter copies without rendering (`_copy_without_render`): their braces are not Jinja
TEMPLATE_JSON = Path(__file__).resolve().parents[2] / "cookiecutter.json"
VERBATIM = json.loads(TEMPLATE_JSON.read_text(encoding="utf-8"))["_copy_without_render"]


def test_no_leftover_jinja(project: Path) -> None:
    leftovers = []
    for path in sorted(project.rglob("*")):
        if not path.is_file():
            continue
        if any(fnmatch.fnmatch(path.relative_to(project).as_posix(), p) for p in VERBATIM):
            continue  # copied without rendering on purpose (Grafana's own {{label}} templates)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if LEFTOVER_JINJA.search(line) or ("cookiecutter." in line and "{" in line):
                leftovers.append(f"{path.relative_to(project)}:{number}: {line.strip()}")
    assert not leftovers, "\n".join(leftovers)


def test_structured_files_parse(project: Path) -> None:
    for path in sorted(project.rglob("*")):
        if not path.is_file() or ".git" in path.parts:
            continue
        text = (
            path.read_text(encoding="utf-8") if path.suffix in {".yml", ".yaml", ".toml", ".json"} else None
        )
        if text is None:
            continue
        try:
            if path.suffix in {".yml", ".yaml"}:
                list(yaml.safe_load_all(text))
            elif path.suffix == ".toml":
                tomllib.loads(text)
            else:
                json.loads(text)
        except Exception as error:  # noqa: BLE001 -- any parser error is the finding
            pytest.fail(f"{path.relative_to(project)} does not parse: {error}")


def test_python_files_compile(project: Path) -> None:
    for path in sorted(project.rglob("*.py")):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")


AWKWARD = {
    "project_name": "Bob's Model: v2 #1 & <co>",
    "project_slug": "bob-model",
    "description": "Scores: 'fraud' & more # not a comment {x} [y] *z*",
    "author_name": "O'Brien, J. & Co: ML",
    "author_email": "o.brien+ml@sub.example.co.uk",
    "github_owner": "A-Team-42",
}


def test_awkward_but_valid_answers_render_cleanly(render_cached: Callable[..., Path]) -> None:
    """Quotes, colons, hashes, ampersands and brackets in free text still give parseable files."""
    project = render_cached(**AWKWARD)
    assert project.name == "bob-model"
    test_no_leftover_jinja(project)
    test_structured_files_parse(project)
    test_python_files_compile(project)
    cruft = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert {k: cruft["context"]["cookiecutter"][k] for k in AWKWARD} == AWKWARD


def test_answers_reach_the_project(combo: Combination, project: Path) -> None:
    answers = combo.answers
    assert (project / ".python-version").read_text(encoding="utf-8").strip() == answers["python_version"]
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["requires-python"] == f">={answers['python_version']}"
    assert pyproject["project"]["name"] == project.name
    cruft = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert {k: cruft["context"]["cookiecutter"][k] for k in answers} == answers


def test_actions_pinned_to_commits(project: Path, tagged_template: Path) -> None:
    """mlgate's actions at the release commit (`@<sha> # <tag>`), third-party ones from `_action_pins`."""
    release = git_sha(tagged_template, RELEASE_TAG)
    mlgate_uses = 0
    for path in workflow_files(project):
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.match(r"^\s*(?:-\s+)?uses:\s*(\S+)@(\S+)(.*)$", line)
            if not match:
                continue
            target, ref, rest = match.groups()
            if target.startswith(f"{MLGATE_REPO}/"):
                mlgate_uses += 1
                assert (ref, rest.strip()) == (release, f"# {RELEASE_TAG}"), line
            else:
                assert target.split("/")[0] + "/" + target.split("/")[1] in PINS, f"unlisted action: {line}"
                assert f"{ref}{rest}".strip() == PINS["/".join(target.split("/")[:2])], line
    assert mlgate_uses, "no workflow uses mlgate's actions"


def test_workflows_pass_linters(project: Path) -> None:
    workflows = [str(p) for p in workflow_files(project)]
    assert workflows
    for args in (
        [tool("zizmor"), "--offline", "--no-progress", str(project / ".github" / "workflows")],
        [tool("actionlint"), *workflows],
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *workflows],
    ):
        proc = subprocess.run(
            args, cwd=project, env=tool_env(), capture_output=True, text=True, check=False, timeout=300
        )
        assert proc.returncode == 0, (
            f"{Path(args[0]).name} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )


# Distribution name -> import name, where they differ.
IMPORT_NAMES = {"scikit-learn": "sklearn", "pyyaml": "yaml", "prometheus-client": "prometheus_client"}


def test_reserved_package_names_cover_the_projects_dependencies(render_cached: Callable[..., Path]) -> None:
    """A project named after one of its own dependencies would shadow it: the hook must refuse those."""
    pre = load_hook("pre_gen_project")
    pyproject = tomllib.loads((render_cached() / "pyproject.toml").read_text(encoding="utf-8"))
    requirements = list(pyproject["project"]["dependencies"])
    for group in pyproject.get("dependency-groups", {}).values():
        requirements += [item for item in group if isinstance(item, str)]
    for extra in pyproject["project"].get("optional-dependencies", {}).values():
        requirements += extra
    for requirement in requirements:
        name = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower()
        module = IMPORT_NAMES.get(name, name.replace("-", "_"))
        assert module in pre.RESERVED_PACKAGES, f"{requirement}: add {module!r} to RESERVED_PACKAGES"
