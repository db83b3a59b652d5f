"""`mlgate repo-settings`: the repository's rulesets and deployment environments, as code.

Inputs: `--settings-dir` (default `.github/settings`), `--apply/--plan` (default plan), `--report-dir`,
`--comment/--no-comment`. Outputs: `passed`, `failure-reason`, `has-changes`, `changes` (how many
rulesets and environments differ), `result-path`, `report-path`.

The files, reviewed in pull requests like any other change:

- `rulesets/<name>.json`: one ruleset each, in GitHub's own import/export format (Settings → Rules →
  Rulesets → Import/Export): `name`, `target`, `enforcement`, `conditions`, `rules`, `bypass_actors`.
  Fields GitHub adds on export (`id`, `source`, `node_id`, `_links`, timestamps) are ignored.
- `environments.yml`: deployment environments with their protection rules:

      environments:
        prod:
          reviewers: [octocat, acme/ml-platform]   # users by login, teams as org/team-slug (at most 6)
          prevent_self_review: true
          wait_timer: 0                            # minutes
          deployment_branches: protected           # protected | all

`plan` compares each file with what GitHub has and reports what would change (a diff per ruleset, field
by field per environment) without writing; `apply` writes only what differs, so a second apply changes
nothing. Rulesets and environments named in no file are left alone (this is not a sync that deletes).
Every API call goes through `mlgate.github`; a failure is `github-api-error` and stops before the next write.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import click
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlgate import github
from mlgate.gate import (
    COMMON_FAILURE_REASONS,
    GateInputError,
    GateResult,
    comment_option,
    finish,
    path_option,
    report_dir_option,
    run_gate,
)

GATE = "repo-settings"
FAILURE_REASONS: dict[str, str] = {
    **COMMON_FAILURE_REASONS,
    "invalid-settings": (
        "a settings file is not valid JSON/YAML, or not a ruleset or environment (the field is named)"
    ),
    "unknown-reviewer": "an environment names a reviewer GitHub does not know as a user or a team",
    "github-api-error": (
        "reading or writing the settings failed (status named; applying needs Administration: write)"
    ),
}
DEFAULT_SETTINGS_DIR = Path(".github/settings")

#: what a ruleset is, in GitHub's import format; everything else in an exported file is GitHub's bookkeeping
RULESET_FIELDS = ("name", "target", "enforcement", "conditions", "rules", "bypass_actors")
_EXPORT_ONLY = {"id", "source", "source_type", "node_id", "_links", "created_at", "updated_at"}
_EXPORT_ONLY |= {"current_user_can_bypass"}


class Environment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reviewers: list[str] = Field(default_factory=list, max_length=6)
    prevent_self_review: bool = False
    wait_timer: int = Field(default=0, ge=0, le=43200)
    deployment_branches: Literal["protected", "all"] = "protected"


class EnvironmentsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    environments: dict[str, Environment]


@dataclass
class Change:
    """One ruleset or environment: what it is, whether it differs, and how."""

    kind: Literal["ruleset", "environment"]
    name: str
    action: Literal["create", "update", "unchanged"]
    diff: str = ""
    #: the request that makes GitHub match the file (method, path, body); None when unchanged
    request: tuple[str, str, dict[str, Any]] | None = None


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)

    @property
    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.action != "unchanged"]


# -- reading the files ------------------------------------------------------------------------------------
def _load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise GateInputError(f"cannot read it ({exc})", file=path, reason="invalid-settings") from None
    except json.JSONDecodeError as exc:
        raise GateInputError(
            f"not valid JSON ({exc.msg})",
            file=path,
            line=exc.lineno,
            fix="use the file GitHub's ruleset export gives",
            reason="invalid-settings",
        ) from None
    if not isinstance(data, dict):
        raise GateInputError("must be a JSON object (one ruleset)", file=path, reason="invalid-settings")
    return data


def read_rulesets(settings_dir: Path) -> dict[str, dict[str, Any]]:
    """name -> ruleset (import fields only), from `rulesets/*.json`."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((settings_dir / "rulesets").glob("*.json")):
        data = _load_json(path)
        unknown = sorted(set(data) - set(RULESET_FIELDS) - _EXPORT_ONLY)
        if unknown:
            raise GateInputError(
                f"unknown ruleset field {unknown[0]!r}",
                file=path,
                field=unknown[0],
                fix=f"a ruleset has {', '.join(RULESET_FIELDS)} (GitHub's import format)",
                reason="invalid-settings",
            )
        for required, kind in (("name", str), ("target", str), ("enforcement", str), ("rules", list)):
            if not isinstance(data.get(required), kind):
                raise GateInputError(
                    f"missing or not a {kind.__name__}",
                    file=path,
                    field=required,
                    fix="export the ruleset from GitHub, or copy the fields of an existing file",
                    reason="invalid-settings",
                )
        if data["name"] in found:
            raise GateInputError(
                f"a second ruleset named {data['name']!r}", file=path, field="name", reason="invalid-settings"
            )
        found[data["name"]] = normalise_ruleset(data)
    return found


def read_environments(settings_dir: Path) -> dict[str, Environment]:
    path = settings_dir / "environments.yml"
    if not path.exists():
        return {}
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise GateInputError(
            f"not valid YAML ({getattr(exc, 'problem', exc)})",
            file=path,
            line=mark.line + 1 if mark is not None else None,
            reason="invalid-settings",
        ) from None
    try:
        return EnvironmentsFile.model_validate(raw).environments
    except ValidationError as exc:
        error = exc.errors()[0]
        raise GateInputError(
            error["msg"],
            file=path,
            field=".".join(str(p) for p in error["loc"]) or "environments",
            fix="see the example at the top of the file (reviewers, prevent_self_review, wait_timer, "
            "deployment_branches)",
            reason="invalid-settings",
        ) from None


# -- comparing ------------------------------------------------------------------------------------------
def normalise_ruleset(data: dict[str, Any]) -> dict[str, Any]:
    """The import fields in a canonical order: rules by type, status checks by context, actors by id."""
    ruleset = {key: data[key] for key in RULESET_FIELDS if key in data}
    ruleset.setdefault("bypass_actors", [])
    ruleset.setdefault("conditions", {})
    rules = []
    for given in sorted(ruleset.get("rules") or [], key=lambda r: str(r.get("type", ""))):
        rule = dict(given)
        params = dict(rule.get("parameters") or {})
        if isinstance(params.get("required_status_checks"), list):
            params["required_status_checks"] = sorted(
                params["required_status_checks"], key=lambda c: str(c.get("context", ""))
            )
        if params or "parameters" in rule:
            rule["parameters"] = params
        rules.append(rule)
    ruleset["rules"] = rules
    ruleset["bypass_actors"] = sorted(
        ruleset["bypass_actors"], key=lambda a: (str(a.get("actor_type")), str(a.get("actor_id")))
    )
    return ruleset


def _canonical(value: Any) -> list[str]:
    return json.dumps(value, indent=2, sort_keys=True).splitlines()


def plan_rulesets(runner: github.Runner, repo: str, desired: dict[str, dict[str, Any]]) -> list[Change]:
    existing = {r["name"]: r["id"] for r in runner.api("GET", f"/repos/{repo}/rulesets") or []}
    changes = []
    for name, ruleset in desired.items():
        if name not in existing:
            diff = "\n".join(difflib.unified_diff([], _canonical(ruleset), "github", "file", lineterm=""))
            changes.append(
                Change("ruleset", name, "create", diff, ("POST", f"/repos/{repo}/rulesets", ruleset))
            )
            continue
        current = normalise_ruleset(runner.api("GET", f"/repos/{repo}/rulesets/{existing[name]}"))
        if current == ruleset:
            changes.append(Change("ruleset", name, "unchanged"))
            continue
        diff = "\n".join(
            difflib.unified_diff(_canonical(current), _canonical(ruleset), "github", "file", lineterm="")
        )
        request = ("PUT", f"/repos/{repo}/rulesets/{existing[name]}", ruleset)
        changes.append(Change("ruleset", name, "update", diff, request))
    return changes


def resolve_reviewer(runner: github.Runner, name: str) -> dict[str, Any]:
    """`login` -> a User reviewer, `org/team-slug` -> a Team reviewer, as the environments API takes them."""
    try:
        if "/" in name:
            org, _, slug = name.partition("/")
            team = runner.api("GET", f"/orgs/{org}/teams/{slug}")
            return {"type": "Team", "id": int(team["id"])}
        user = runner.api("GET", f"/users/{name}")
    except github.GitHubAPIError as exc:
        if exc.status == 404:
            raise GateInputError(
                f"no GitHub user or team {name!r}",
                file="environments.yml",
                field="reviewers",
                fix="name users by login and teams as org/team-slug",
                reason="unknown-reviewer",
            ) from None
        raise
    if user.get("type") != "User":
        raise GateInputError(
            f"{name!r} is an {str(user.get('type', 'account')).lower()}, not a user",
            file="environments.yml",
            field="reviewers",
            fix=f"name a team of it instead, e.g. {name}/ml-platform",
            reason="unknown-reviewer",
        )
    return {"type": "User", "id": int(user["id"])}


def _environment_state(current: dict[str, Any] | None) -> dict[str, Any] | None:
    """GitHub's environment (GET) in the shape of the request that creates it (PUT)."""
    if current is None:
        return None
    state: dict[str, Any] = {"wait_timer": 0, "prevent_self_review": False, "reviewers": []}
    for rule in current.get("protection_rules") or []:
        if rule.get("type") == "wait_timer":
            state["wait_timer"] = int(rule.get("wait_timer") or 0)
        elif rule.get("type") == "required_reviewers":
            state["prevent_self_review"] = bool(rule.get("prevent_self_review"))
            state["reviewers"] = sorted(
                ({"type": r["type"], "id": int(r["reviewer"]["id"])} for r in rule.get("reviewers") or []),
                key=lambda r: (r["type"], r["id"]),
            )
    policy = current.get("deployment_branch_policy")
    state["deployment_branch_policy"] = (
        {"protected_branches": bool(policy.get("protected_branches")), "custom_branch_policies": False}
        if policy
        else None
    )
    return state


def plan_environments(runner: github.Runner, repo: str, desired: dict[str, Environment]) -> list[Change]:
    changes = []
    for name, env in desired.items():
        body = {
            "wait_timer": env.wait_timer,
            "prevent_self_review": env.prevent_self_review,
            "reviewers": sorted(
                (resolve_reviewer(runner, r) for r in env.reviewers), key=lambda r: (r["type"], r["id"])
            ),
            "deployment_branch_policy": (
                {"protected_branches": True, "custom_branch_policies": False}
                if env.deployment_branches == "protected"
                else None
            ),
        }
        try:
            current = runner.api("GET", f"/repos/{repo}/environments/{name}")
        except github.GitHubAPIError as exc:
            if exc.status != 404:
                raise
            current = None
        state = _environment_state(current)
        if state == body:
            changes.append(Change("environment", name, "unchanged"))
            continue
        lines = [
            f"{key}: {json.dumps((state or {}).get(key))} → {json.dumps(value)}"
            for key, value in body.items()
            if state is None or state.get(key) != value
        ]
        changes.append(
            Change(
                "environment",
                name,
                "create" if state is None else "update",
                "\n".join(lines),
                ("PUT", f"/repos/{repo}/environments/{name}", body),
            )
        )
    return changes


def make_plan(runner: github.Runner, repo: str, settings_dir: Path) -> Plan:
    rulesets, environments = read_rulesets(settings_dir), read_environments(settings_dir)
    if not rulesets and not environments:
        raise GateInputError(
            "holds no rulesets/*.json and no environments.yml",
            file=settings_dir,
            fix="add them (the generated project has .github/settings/) or point --settings-dir at them",
            reason="invalid-settings",
        )
    return Plan(plan_rulesets(runner, repo, rulesets) + plan_environments(runner, repo, environments))


def apply_plan(runner: github.Runner, plan: Plan) -> None:
    for change in plan.pending:
        if change.request is None:
            continue
        method, path, body = change.request

        def created(path: str = path, name: str = change.name) -> Any:
            """The ruleset a POST that failed ambiguously may have created (then it is not posted again)."""
            return next((r for r in runner.api("GET", path) or [] if r.get("name") == name), None)

        runner.api(method, path, json_body=body, landed=created if method == "POST" else None)


# -- report ---------------------------------------------------------------------------------------------
def render(plan: Plan, *, applied: bool, repo: str) -> GateResult:
    pending = plan.pending
    verb = "Applied" if applied else "Would change"
    if not pending:
        headline = f"### ✅ Repository settings: `{repo}` already matches the files"
    else:
        icon = "✅" if applied else "📝"
        headline = f"### {icon} Repository settings: {verb.lower()} {len(pending)} of {len(plan.changes)}"
    rows = ["| kind | name | change |", "|---|---|---|"]
    rows += [f"| {c.kind} | `{c.name}` | {c.action} |" for c in plan.changes]
    details = []
    for change in pending:
        details.append(
            f"<details><summary>{change.kind} <code>{change.name}</code>: {change.action}</summary>\n\n"
            f"```diff\n{change.diff}\n```\n</details>"
        )
    if pending and not applied:
        details.append("Merging this pull request applies these changes (`mlgate repo-settings --apply`).")
    return GateResult(
        gate=GATE,
        passed=True,
        summary_md=headline + "\n\n" + "\n".join(rows),
        details_md="\n\n".join(details),
        data={
            "applied": applied,
            "changes": [{"kind": c.kind, "name": c.name, "action": c.action} for c in plan.changes],
        },
        outputs={"has-changes": "true" if pending else "false", "changes": str(len(pending))},
    )


@click.command(name=GATE)
@path_option(
    "--settings-dir", help="Folder with rulesets/*.json and environments.yml.", default=DEFAULT_SETTINGS_DIR
)
@click.option(
    "--apply/--plan",
    default=False,
    envvar="MLGATE_APPLY",
    help="Write what differs (apply) or only report it (plan, the default).",
)
@report_dir_option()
@comment_option(False, help="Upsert the plan as a pull request comment.")
def command(settings_dir: Path, apply: bool, report_dir: Path, comment: bool) -> int:
    """Show (plan) or make (apply) the changes that bring rulesets and environments in line with the files."""

    def work() -> int:
        if not settings_dir.is_dir():
            raise GateInputError(
                "is not a folder",
                file=settings_dir,
                field="--settings-dir",
                fix="point it at .github/settings",
            )
        runner = github.Runner.from_env()
        repo = runner.repository
        if not repo:
            raise GateInputError(
                "no repository to configure",
                field="GITHUB_REPOSITORY",
                fix="run in GitHub Actions, or set GITHUB_REPOSITORY=owner/name and GITHUB_TOKEN",
            )
        try:
            plan = make_plan(runner, repo, settings_dir)
            if apply:
                apply_plan(runner, plan)
        except github.GitHubAPIError as exc:
            raise GateInputError(
                str(exc),
                field="GITHUB_TOKEN",
                fix="use a GitHub App token with Administration: write (GITHUB_TOKEN cannot change settings)",
                reason="github-api-error",
            ) from None
        result = render(plan, applied=apply, repo=repo)
        return finish(result, report_dir=report_dir, comment_key="settings" if comment else None)

    return run_gate(GATE, work)
