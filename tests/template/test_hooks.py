"""The hooks' logic, imported from the hook files themselves (no cookiecutter run needed)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cookiecutter.utils import create_env_with_context

from tests.support.hooks import cookiecutter_context, default_answers, hook_source, load_hook, offered_options

pre = load_hook("pre_gen_project")
post = load_hook("post_gen_project")

JINJA_OPENERS = re.compile(r"\{\{|\{%|\{#")


# ---------------------------------------------------------------------------------------- hook files


@pytest.mark.parametrize("name", ["pre_gen_project", "post_gen_project"])
def test_hook_renders_to_itself_plus_the_answers(name: str) -> None:
    """Jinja touches only the JSON constants: the rendered hook is the tested module plus the answers."""
    source = hook_source(name).read_text(encoding="utf-8")
    raw_start = source.index("# {% raw %}")
    assert not JINJA_OPENERS.search(source[:raw_start].split('ANSWERS_JSON = r"""')[0]), (
        "Jinja in the docstring"
    )
    context = cookiecutter_context()
    rendered = create_env_with_context(context).from_string(source).render(**context)  # as cookiecutter does
    compile(rendered, name, "exec")
    constants = [line for line in source[:raw_start].splitlines() if line.endswith('"""') and "_JSON" in line]
    rendered_constants = dict(
        re.findall(r'^(\w+_JSON) = r"""(.*?)"""$', rendered, flags=re.MULTILINE | re.DOTALL)
    )
    assert len(rendered_constants) == len(constants)
    assert json.loads(rendered_constants["ANSWERS_JSON"])["project_slug"] == "fraud-detection"
    body = source[raw_start:].replace("# {% raw %}", "# ").replace("# {% endraw %}", "# ")
    assert rendered.endswith(body), "Jinja changed the hook's code"


@pytest.mark.parametrize("name", ["pre_gen_project", "post_gen_project"])
def test_unrendered_hook_refuses_to_run(name: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(hook_source(name))], capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 2
    assert "must be run by cookiecutter" in proc.stderr


# ---------------------------------------------------------------------------------- pre-generation


def test_default_answers_are_valid() -> None:
    assert pre.find_problems(default_answers(), offered_options()) == []


def test_every_offered_choice_is_valid() -> None:
    options = offered_options()
    choices = {field: values for field, values in options.items() if isinstance(values, list)}
    assert {"python_version", "license", "mlflow_tracking"} <= set(choices)
    for field, values in choices.items():
        for value in values:
            assert pre.find_problems(default_answers(**{field: value}), options) == [], (field, value)


INVALID = [
    # (answers to change, the value the message must quote, what the message must suggest)
    ({"project_slug": "My_Proj!"}, "My_Proj!", "'my-proj'"),
    ({"project_slug": "2fast"}, "2fast", "'ml-2fast'"),
    ({"project_slug": "double--hyphen"}, "double--hyphen", "'double-hyphen'"),
    ({"project_slug": "a" * 70}, "a" * 70, "64 or fewer"),
    ({"project_slug": "test"}, "test", "'test-model'"),
    ({"project_slug": "mlgate"}, "mlgate", "'mlgate-model'"),
    ({"project_slug": "sklearn"}, "sklearn", "'sklearn-model'"),
    ({"project_slug": "os"}, "os", "standard-library"),
    ({"project_slug": "class"}, "class", "keyword"),
    ({"project_name": "   "}, "project_name", "type a short line"),
    ({"description": 'Say "hi"'}, 'Say "hi"', "\"Say 'hi'\""),
    ({"author_name": "Back\\slash"}, "Back\\\\slash", "type it without"),
    ({"author_email": "not-an-email"}, "not-an-email", "ml-team@example.com"),
    ({"author_email": "a@b"}, "a@b", "ml-team@example.com"),
    ({"github_owner": "-acme-"}, "-acme-", "'acme'"),
    ({"github_owner": "acme corp"}, "acme corp", "'acme-corp'"),
    ({"mlgate_repo": "mlgate"}, "'mlgate'", "OWNER/REPO"),
    (
        {"mlgate_repo": "https://github.com/acme/mlgate.git"},
        "https://github.com/acme/mlgate.git",
        "'acme/mlgate'",
    ),
    ({"mlgate_repo": "a/b/c"}, "a/b/c", "OWNER/REPO"),
    ({"mlgate_ref": "main"}, "'main'", "v0.1.0"),
    ({"mlgate_ref": "3d3c42e"}, "3d3c42e", "40-character"),
    ({"mlgate_ref": "3D3C42E5AAC5BA805825DA76410C181273BA90B1"}, "3D3C42E5", "lower-case"),
    ({"python_version": "3.10"}, "'3.10'", "'3.11', '3.12', '3.13'"),
    ({"license": "GPL"}, "'GPL'", "'MIT'"),
    ({"mlflow_tracking": "postgres"}, "'postgres'", "'sqlite', 'server'"),
    # a conflicting combination: the generated repository would be mlgate itself
    (
        {"github_owner": "mlgate-dev", "project_name": "mlgate x", "project_slug": "mlgate"},
        "mlgate",
        "shadow",
    ),
    (
        {"github_owner": "acme", "mlgate_repo": "acme/fraud-detection"},
        "acme/fraud-detection",
        "mlgate itself",
    ),
]


@pytest.mark.parametrize(("changes", "quoted", "suggestion"), INVALID, ids=[str(c) for c, _, _ in INVALID])
def test_invalid_answer_is_explained(changes: dict[str, Any], quoted: str, suggestion: str) -> None:
    answers = {**default_answers(), **changes}
    if "project_slug" in changes:
        answers["__package_name"] = changes["project_slug"].replace("-", "_")
    problems = pre.find_problems(answers, offered_options())
    assert problems, f"{changes} was accepted"
    message = " ".join(problems)
    assert quoted in message
    assert suggestion in message


def test_all_problems_are_reported_at_once() -> None:
    answers = {**default_answers(), "author_email": "x", "mlgate_ref": "main", "github_owner": "-"}
    assert len(pre.find_problems(answers, offered_options())) == 3


@pytest.mark.parametrize(
    ("text", "slug"),
    [("My Model 2!", "my-model-2"), ("__x__", "x"), ("42", "ml-42"), ("", "ml"), ("Ünïcode", "n-code")],
)
def test_suggested_slug_is_valid(text: str, slug: str) -> None:
    assert pre.suggest_slug(text) == slug
    assert pre.check_slug(pre.suggest_slug(text)) == []


@pytest.mark.parametrize(
    "ref", ["v0.1.0", "v1.2.3-rc.1", "1.0.0", "3d3c42e5aac5ba805825da76410c181273ba90b1"]
)
def test_valid_refs(ref: str) -> None:
    assert pre.check_mlgate_ref(ref) == []


# --------------------------------------------------------------------------------- post-generation

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "      - uses: mlgate-dev/mlgate/actions/lint@v0.1.0",
            f"      - uses: mlgate-dev/mlgate/actions/lint@{SHA} # v0.1.0",
        ),
        (
            "        uses: mlgate-dev/mlgate/actions/setup@v0.1.0  # the release",
            f"        uses: mlgate-dev/mlgate/actions/setup@{SHA} # v0.1.0",
        ),
        (
            "    uses: 'mlgate-dev/mlgate/actions/x@v0.1.0'",
            f"    uses: 'mlgate-dev/mlgate/actions/x@{SHA}' # v0.1.0",
        ),
        (
            "    uses: mlgate-dev/mlgate/.github/workflows/r.yml@v0.1.0",
            f"    uses: mlgate-dev/mlgate/.github/workflows/r.yml@{SHA} # v0.1.0",
        ),
    ],
)
def test_mlgate_uses_are_pinned_to_the_sha(line: str, expected: str) -> None:
    text, count = post.pin_action_refs(line + "\n", "mlgate-dev/mlgate", "v0.1.0", SHA)
    assert (text, count) == (expected + "\n", 1)


@pytest.mark.parametrize(
    "line",
    [
        "      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1",
        "      - uses: other/mlgate/actions/lint@v0.1.0",
        "      - uses: mlgate-dev/mlgate-fork/actions/lint@v0.1.0",
        "      - uses: mlgate-dev/mlgate/actions/lint@v0.1.01",
        "      # uses: mlgate-dev/mlgate/actions/lint@v0.1.0 in a comment",
    ],
)
def test_other_lines_are_left_alone(line: str) -> None:
    assert post.pin_action_refs(line, "mlgate-dev/mlgate", "v0.1.0", SHA) == (line, 0)


def test_cruft_state_records_answers_not_machine_paths() -> None:
    answers = {
        **default_answers(),
        "_template": "gh:x/y",
        "_repo_dir": "/home/me/.cookiecutters/y",
        "_output_dir": "/home/me",
        "_checkout": None,
    }
    state = post.cruft_state(answers, "https://github.com/x/y.git", SHA)
    assert state["template"] == "https://github.com/x/y.git"
    assert state["commit"] == SHA
    assert state["checkout"] is None and state["directory"] is None
    context = state["context"]["cookiecutter"]
    assert context["project_slug"] == "fraud-detection"
    assert context["_template"] == "https://github.com/x/y.git" and context["_commit"] == SHA
    assert not {"_repo_dir", "_output_dir", "_checkout"} & set(context)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("gh:mlgate-dev/mlgate", "https://github.com/mlgate-dev/mlgate.git"),
        ("https://github.com/mlgate-dev/mlgate.git", "https://github.com/mlgate-dev/mlgate.git"),
        ("git+ssh://git@github.com/mlgate-dev/mlgate.git", "ssh://git@github.com/mlgate-dev/mlgate.git"),
        ("git@github.com:mlgate-dev/mlgate.git", "git@github.com:mlgate-dev/mlgate.git"),
    ],
)
def test_remote_template_source(template: str, expected: str) -> None:
    assert post.template_source({"_template": template}, None) == expected


def test_local_template_source_is_absolute(tmp_path: Path) -> None:
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "cookiecutter.json").write_text("{}")
    found = post.resolve_template_dir({"_repo_dir": "tpl"}, pwd=str(tmp_path))
    assert found == (tmp_path / "tpl").resolve()
    assert post.template_source({"_template": "tpl"}, found) == str(found)
    assert post.resolve_template_dir({"_repo_dir": "missing"}, pwd=str(tmp_path)) is None


def test_prune_removes_deselected_files_and_empty_directories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "a.txt").write_text("a")
    (tmp_path / "empty" / "nested").mkdir(parents=True)
    (tmp_path / "server.txt").write_text("only with a server")
    monkeypatch.setattr(
        post, "PRUNE", [("server.txt", lambda answers: answers["mlflow_tracking"] != "server")]
    )
    removed = post.prune(tmp_path, {"mlflow_tracking": "sqlite"})
    assert sorted(removed) == ["empty/", "empty/nested/", "server.txt"]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["keep", "keep/a.txt"]


def test_next_commands_start_where_the_project_is() -> None:
    commands = post.next_commands(default_answers(), git_ready=False, committed=False)
    assert commands[0] == "cd fraud-detection"
    assert "git init -b main" in commands
    assert commands[-2] == "git remote add origin https://github.com/acme/fraud-detection.git"
    assert "git init -b main" not in post.next_commands(default_answers(), git_ready=True, committed=True)
    elsewhere = post.next_commands(default_answers(), git_ready=True, committed=True, where="/tmp/my dir/x")
    assert elsewhere[0] == "cd '/tmp/my dir/x'"


def test_project_path_for_cd(tmp_path: Path) -> None:
    project = tmp_path / "out" / "fraud-detection"
    project.mkdir(parents=True)
    assert post.project_path_for_cd(project, str(tmp_path)) == "out/fraud-detection"
    assert post.project_path_for_cd(project, str(tmp_path / "elsewhere")) == str(project)
    assert post.project_path_for_cd(project, None) == str(project)


@pytest.mark.parametrize(
    ("value", "expected"), [("1", True), ("yes", True), ("0", False), ("", False), (None, False)]
)
def test_skip_init_switch(value: str | None, expected: bool) -> None:
    assert post.truthy(value) is expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            'source = "git::https://github.com/mlgate-dev/mlgate.git//modules/b?ref=v0.1.0"',
            f'source = "git::https://github.com/mlgate-dev/mlgate.git//modules/b?ref={SHA}" # v0.1.0',
        ),
        (
            '  source = "github.com/mlgate-dev/mlgate//terraform/modules/x?depth=1&ref=v0.1.0" # release',
            f'  source = "github.com/mlgate-dev/mlgate//terraform/modules/x?depth=1&ref={SHA}" # v0.1.0',
        ),
    ],
)
def test_terraform_module_sources_are_pinned(line: str, expected: str) -> None:
    assert post.pin_module_sources(line, "mlgate-dev/mlgate", "v0.1.0", SHA) == (expected, 1)


def test_other_terraform_sources_are_left_alone() -> None:
    for line in (
        'source = "git::https://github.com/other/mlgate.git//m?ref=v0.1.0"',
        'source = "hashicorp/consul/aws"',
        'source = "../modules/local"',
    ):
        assert post.pin_module_sources(line, "mlgate-dev/mlgate", "v0.1.0", SHA) == (line, 0)


def test_pinning_walks_workflows_local_actions_and_terraform(tmp_path: Path) -> None:
    files = {
        ".github/workflows/ci.yml": "      - uses: mlgate-dev/mlgate/actions/lint@v0.1.0\n",
        ".github/actions/local/action.yml": "    - uses: mlgate-dev/mlgate/actions/setup@v0.1.0\n",
        "terraform/envs/prod/main.tf": 'source = "git::https://github.com/mlgate-dev/mlgate.git//terraform/m?ref=v0.1.0"\n',
        "README.md": "uses: mlgate-dev/mlgate/actions/lint@v0.1.0\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert post.pin_workflows(tmp_path, "mlgate-dev/mlgate", "v0.1.0", SHA) == 3
    assert (tmp_path / "README.md").read_text() == files["README.md"]
    assert f"@{SHA} # v0.1.0" in (tmp_path / ".github/actions/local/action.yml").read_text()
    assert f'?ref={SHA}" # v0.1.0' in (tmp_path / "terraform/envs/prod/main.tf").read_text()
