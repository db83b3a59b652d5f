"""Validate every answer before cookiecutter writes a single file.

Input: the answers, rendered into ANSWERS_JSON (and the offered choices into OPTIONS_JSON) by cookiecutter.
Output: nothing when the answers are valid; otherwise one `ERROR: ...` line per problem on stderr (each
quoting the bad value and saying what to type instead) and exit status 1, which cookiecutter turns into
`FailedHookException` and cruft into a failed command.

Everything below the two JSON constants is plain Python: the tests import this file with importlib
(unrendered, `__name__` is not "__main__") and call `find_problems` directly. Cookiecutter copies only
this file to a temporary location before running it, so it imports nothing from the template.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
from typing import Any

ANSWERS_JSON = r"""{{ cookiecutter | jsonify }}"""
OPTIONS_JSON = r"""{{ _cookiecutter | default({}) | jsonify }}"""
# {% raw %}  (everything below is copied verbatim by Jinja)

SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
SLUG_MAX = 64
EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`|~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
# GitHub user / organisation names: 1-39 characters, letters, digits and single inner hyphens.
OWNER_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
REPO_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
# A release tag: v1.2.3, optionally with a pre-release / build suffix (v1.2.3-rc.1).
TAG_RE = re.compile(r"^v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$")
# Characters that would break the TOML/YAML/Markdown files the answers are written into.
FREE_TEXT_FORBIDDEN = ('"', "\\", "\n", "\r", "\t", "`")

# Package names that would shadow a top-level directory of the generated project, mlgate itself, or a
# package the project imports or runs (its dependencies and dev tools).
RESERVED_PACKAGES = frozenset(
    {
        "mlgate", "test", "tests", "src", "docs", "notebooks", "conftest", "setup",
        "sklearn", "scikit_learn", "numpy", "pandas", "scipy", "mlflow", "dvc", "fastapi", "starlette",
        "uvicorn", "pydantic", "prometheus_client", "httpx", "great_expectations", "gx", "pytest", "yaml",
        "click", "joblib", "pyarrow", "boto3", "requests", "ruff", "pre_commit", "pre_commit_hooks",
        "nbstripout", "jupyterlab", "ipykernel",
    }
)  # fmt: skip


def suggest_slug(text: str) -> str:
    """A valid slug close to `text` ('My Model 2!' -> 'my-model-2'), for 'type this instead' hints."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if not slug or not slug[0].isalpha():
        slug = f"ml-{slug}".strip("-")
    return slug[:SLUG_MAX].rstrip("-") or "my-model"


def check_slug(slug: str) -> list[str]:
    if not SLUG_RE.match(slug):
        return [
            f"project_slug {slug!r} is not valid: use lowercase letters, digits and single hyphens, "
            f"starting with a letter, e.g. {suggest_slug(slug)!r}."
        ]
    if len(slug) > SLUG_MAX:
        return [
            f"project_slug {slug!r} is {len(slug)} characters long: keep it to {SLUG_MAX} or fewer, "
            f"e.g. {slug[:SLUG_MAX].rstrip('-')!r}."
        ]
    return []


def check_package_name(package: str, slug: str) -> list[str]:
    """The import name derived from the slug (hyphens become underscores)."""
    if not package.isidentifier():
        return [
            f"the package name {package!r} (derived from project_slug {slug!r}) is not a Python "
            f"identifier: choose a project_slug such as {suggest_slug(slug)!r}."
        ]
    why = ""
    if keyword.iskeyword(package) or keyword.issoftkeyword(package):
        why = "a Python keyword"
    elif package in sys.stdlib_module_names:
        why = "a standard-library module"
    elif package in RESERVED_PACKAGES:
        why = "reserved (a directory of the generated project, or a package it imports or runs)"
    if why:
        return [
            f"the package name {package!r} (derived from project_slug {slug!r}) is {why} and would "
            f"shadow it: choose a more specific project_slug, e.g. '{slug}-model'."
        ]
    return []


def check_free_text(field: str, value: str, *, required: bool = True) -> list[str]:
    if required and not value.strip():
        return [f"{field} is empty: type a short line of text."]
    bad = [c for c in FREE_TEXT_FORBIDDEN if c in value]
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        cleaned = value
        for c in FREE_TEXT_FORBIDDEN:
            cleaned = cleaned.replace(c, "'" if c in '"`' else " ")
        return [
            f"{field} {value!r} contains {shown}, which would break the generated TOML/YAML: "
            f"type it without, e.g. {cleaned.strip()!r}."
        ]
    return []


def check_email(email: str) -> list[str]:
    if not EMAIL_RE.match(email):
        return [f"author_email {email!r} is not an e-mail address: type one like 'ml-team@example.com'."]
    return []


def check_owner(field: str, owner: str) -> list[str]:
    if not OWNER_RE.match(owner):
        example = re.sub(r"[^A-Za-z0-9]+", "-", owner).strip("-")[:39] or "acme"
        return [
            f"{field} {owner!r} is not a GitHub user or organisation name: use 1-39 letters, digits or "
            f"single inner hyphens, e.g. {example!r}."
        ]
    return []


def check_mlgate_repo(repo: str) -> list[str]:
    parts = repo.split("/")
    url = re.match(r"^(?:https?://|git@)?(?:www\.)?github\.com[/:]([^/\s]+)/([^/\s]+?)(?:\.git)?/?$", repo)
    example = f"{url[1]}/{url[2]}" if url else "mlgate-dev/mlgate"
    hint = f"type it as OWNER/REPO, e.g. {example!r} (no https://github.com/ and no .git)"
    if len(parts) != 2 or not all(parts):
        return [f"mlgate_repo {repo!r} is not OWNER/REPO: {hint}."]
    owner, name = parts
    if not OWNER_RE.match(owner) or not REPO_RE.match(name) or name in {".", ".."} or name.endswith(".git"):
        return [f"mlgate_repo {repo!r} is not a valid GitHub repository: {hint}."]
    return []


def check_mlgate_ref(ref: str) -> list[str]:
    if SHA_RE.match(ref) or TAG_RE.match(ref):
        return []
    if re.fullmatch(r"[0-9a-fA-F]{7,39}", ref):
        why = "is an abbreviated commit SHA"
    elif re.fullmatch(r"[0-9A-F]{40}", ref, flags=re.IGNORECASE):
        why = "is a commit SHA with upper-case letters"
    else:
        why = "looks like a branch or an unknown ref (branches move, so workflows would change under you)"
    return [
        f"mlgate_ref {ref!r} {why}: type a release tag such as 'v0.1.0' or a full 40-character "
        "lower-case commit SHA."
    ]


def check_choice(field: str, value: Any, choices: list[Any] | None) -> list[str]:
    if not choices or value in choices:
        return []
    listed = ", ".join(repr(c) for c in choices)
    return [f"{field} {value!r} is not offered: type one of {listed}."]


def find_problems(answers: dict[str, Any], options: dict[str, Any] | None = None) -> list[str]:
    """Every problem with the answers, one message each; an empty list means generation may go ahead.

    `options` are the options as cookiecutter.json offers them (a list of values per choice option).
    Without them (cruft renders without) choices are not checked here: cookiecutter itself refuses a
    value outside a choice list before any hook runs.
    """
    options = options or {}
    problems: list[str] = []
    slug = str(answers.get("project_slug", ""))
    problems += check_free_text("project_name", str(answers.get("project_name", "")))
    slug_problems = check_slug(slug)
    problems += slug_problems
    if not slug_problems:
        package = str(answers.get("__package_name") or slug.replace("-", "_"))
        problems += check_package_name(package, slug)
    problems += check_free_text("description", str(answers.get("description", "")))
    problems += check_free_text("author_name", str(answers.get("author_name", "")))
    problems += check_email(str(answers.get("author_email", "")))
    owner = str(answers.get("github_owner", ""))
    problems += check_owner("github_owner", owner)
    repo = str(answers.get("mlgate_repo", ""))
    problems += check_mlgate_repo(repo)
    problems += check_mlgate_ref(str(answers.get("mlgate_ref", "")))
    for field, offered in options.items():  # choice options: a list of values in cookiecutter.json
        if isinstance(offered, list):
            problems += check_choice(field, answers.get(field), offered)
    # Combinations.
    if repo.lower() == f"{owner}/{slug}".lower() and repo:
        problems.append(
            f"mlgate_repo {repo!r} is the repository being generated (github_owner {owner!r} + "
            f"project_slug {slug!r}): mlgate_repo must point at mlgate itself, e.g. 'mlgate-dev/mlgate'."
        )
    return problems


def load_rendered(text: str) -> dict[str, Any] | None:
    """The JSON cookiecutter rendered into this file, or None when the file was not rendered."""
    if text.lstrip().startswith("{{"):
        return None
    loaded = json.loads(text)
    return loaded if isinstance(loaded, dict) else {}


def main() -> int:
    answers = load_rendered(ANSWERS_JSON)
    if answers is None:
        print("ERROR: this hook must be run by cookiecutter (it was not rendered).", file=sys.stderr)
        return 2
    problems = find_problems(answers, load_rendered(OPTIONS_JSON))
    for problem in problems:
        print(f"ERROR: {problem}", file=sys.stderr)
    if problems:
        print(
            f"ERROR: {len(problems)} answer(s) need fixing; nothing was generated. Run cookiecutter again "
            "with the values suggested above.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
# {% endraw %}
