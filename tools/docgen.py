"""Generate each action's inputs/outputs tables from its action.yml, and every gate's failure-reason
table from its code.

    uv run python tools/docgen.py --write    regenerate the tables in place
    uv run python tools/docgen.py --check    exit 1 listing READMEs that drifted (what CI runs)

The inputs/outputs tables live between `<!-- mlgate:inputs -->` and `<!-- /mlgate:inputs -->` in
`actions/<name>/README.md` and, when it exists, `docs/actions/<name>.md`. Both modes also fail when an
input or output lacks a description, an optional input lacks an explicit `default`, or a name is not
kebab-case — so the tables can always be generated and never hide an undocumented input.

The failure-reason tables come from each gate module's `FAILURE_REASONS` (reason -> one-line meaning)
plus `mlgate.gate.COMMON_FAILURE_REASONS`: `docs/reference/failure-reasons.md` (one section per
`mlgate` command, generated whole) and the block between `<!-- mlgate:failure-reasons -->` and
`<!-- /mlgate:failure-reasons -->` in each action's README (the reasons of the commands it runs, see
`ACTION_GATES`). An action's `failure-reason` output description must name every one of them.

The layout table (action -> `mlgate` command -> package -> `mlgate.yaml` section) comes from the actions,
`ACTION_GATES`, `mlgate.cli.COMMANDS` and `mlgate.config.SECTIONS`; it sits between `<!-- mlgate:layout -->`
and `<!-- /mlgate:layout -->` in CONTRIBUTING.md and docs/architecture.md.

The docs site renders every action table with this module too (tools/mkdocs_hooks.py): an action's page
when it has no README yet (`render_action_page`) and the index of actions (`render_actions_index`).
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
BEGIN = "<!-- mlgate:inputs -->"
END = "<!-- /mlgate:inputs -->"
_KEBAB = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
REASONS_BEGIN = "<!-- mlgate:failure-reasons -->"
REASONS_END = "<!-- /mlgate:failure-reasons -->"
REASONS_PAGE = Path("docs/reference/failure-reasons.md")
LAYOUT_BEGIN = "<!-- mlgate:layout -->"
LAYOUT_END = "<!-- /mlgate:layout -->"
#: pages that carry the generated layout table (checked when they exist; markers required then)
LAYOUT_PAGES = (Path("CONTRIBUTING.md"), Path("docs/architecture.md"))
#: action folder -> the `mlgate` commands it runs (whose failure-reasons its step can report)
ACTION_GATES: dict[str, tuple[str, ...]] = {
    "lint": ("lint",),
    "eval-gate": ("eval-gate",),
    "promote-model": ("promote", "model-card"),
    "terraform-plan": ("tf-plan",),
    "terraform-apply": ("tf-apply",),
    "validate-data": ("validate-data", "drift"),
    "drift-check": ("drift-check",),
    "canary-deploy": ("canary",),
    "repo-settings": ("repo-settings",),
    "template-update": ("template-update",),
}


def _text(value: Any) -> str:
    """A description on one table line: whitespace collapsed, pipes escaped."""
    return " ".join(str(value).split()).replace("|", "\\|")


def _default(spec: dict[str, Any]) -> str:
    if "default" not in spec:
        return ""
    value = spec["default"]
    if isinstance(value, bool):
        value = str(value).lower()
    text = "" if value is None else str(value)
    return f"`{text}`" if text else '`""`'


def render_tables(action: dict[str, Any]) -> str:
    """The Markdown between the markers: an inputs table and an outputs table."""
    inputs: dict[str, Any] = action.get("inputs") or {}
    outputs: dict[str, Any] = action.get("outputs") or {}
    lines = [BEGIN, ""]
    if inputs:
        lines += ["| input | description | required | default |", "|---|---|---|---|"]
        for name, raw_spec in inputs.items():
            spec = raw_spec or {}
            required = "yes" if spec.get("required") in (True, "true") else "no"
            lines.append(
                f"| `{name}` | {_text(spec.get('description', ''))} | {required} | {_default(spec)} |"
            )
    else:
        lines.append("This action has no inputs.")
    lines.append("")
    if outputs:
        lines += ["| output | description |", "|---|---|"]
        for name, spec in outputs.items():
            lines.append(f"| `{name}` | {_text((spec or {}).get('description', ''))} |")
    else:
        lines.append("This action has no outputs.")
    lines += ["", END]
    return "\n".join(lines)


def render_action_page(name: str, action: dict[str, Any]) -> str:
    """The reference page of an action that has no README yet: its name, description and tables."""
    title = action.get("name") or name
    return f"# {title}\n\n{_text(action.get('description', ''))}\n\n{render_tables(action)}\n"


def render_actions_index(actions: dict[str, dict[str, Any]]) -> str:
    """The table of every action (linking its page) and what it does, for docs/actions/index.md."""
    lines = ["| action | what it does |", "|---|---|"]
    for name, action in actions.items():
        lines.append(f"| [`{name}`]({name}.md) | {_text(action.get('description', ''))} |")
    return "\n".join(lines) + "\n"


def _package_of(module: str) -> str:
    """`mlgate.canary.command` -> `mlgate.canary` (a gate package); `mlgate.lint` stays (a single module)."""
    parent = module.rpartition(".")[0]
    return module if parent == "mlgate" else parent


def render_layout_table(action_names: list[str]) -> str:
    """Every action -> the `mlgate` commands it runs -> the package or module behind each -> the
    `mlgate.yaml` sections that package owns."""
    from mlgate.cli import COMMANDS
    from mlgate.config import SECTIONS

    lines = [
        "| action | `mlgate` command | package | command module | `mlgate.yaml` section |",
        "|---|---|---|---|---|",
    ]
    for name in action_names:
        commands = ACTION_GATES.get(name, ())
        entry_modules = [COMMANDS[c].partition(":")[0] for c in commands]
        packages = list(dict.fromkeys(_package_of(module) for module in entry_modules))
        sections = [
            section
            for section, target in sorted(SECTIONS.items())
            for package in packages
            if target.partition(":")[0] == package or target.startswith(f"{package}.")
        ]
        cells = [
            f"`{name}`",
            ", ".join(f"`{c}`" for c in commands) or "—",
            ", ".join(f"`{p}`" for p in packages) or "—",
            ", ".join(f"`{m}`" for m in entry_modules) or "—",
            ", ".join(f"`{s}`" for s in sections) or "—",
        ]
        lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines)


def _layout_problems(root: Path, write: bool) -> list[str]:
    problems: list[str] = []
    names = sorted(p.parent.name for p in (root / "actions").glob("*/action.yml"))
    block = f"{LAYOUT_BEGIN}\n\n{render_layout_table(names)}\n\n{LAYOUT_END}"
    for page in LAYOUT_PAGES:
        path = root / page
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        updated = _replace_block(text, LAYOUT_BEGIN, LAYOUT_END, block)
        if updated is None:
            problems.append(f"{page.as_posix()}: no `{LAYOUT_BEGIN}` … `{LAYOUT_END}` block")
        elif updated != text:
            if write:
                path.write_text(updated, encoding="utf-8")
                print(f"updated {page.as_posix()}")
            else:
                problems.append(f"{page.as_posix()}: the layout table differs from the actions and the code")
    return problems


def action_problems(name: str, action: dict[str, Any]) -> list[str]:
    """What makes an action.yml undocumentable: missing descriptions or defaults, non-kebab names."""
    problems: list[str] = []
    where = f"actions/{name}/action.yml"
    if not str(action.get("description", "")).strip():
        problems.append(f"{where}: the action has no description")
    for kind in ("inputs", "outputs"):
        for key, raw_spec in (action.get(kind) or {}).items():
            spec = raw_spec or {}
            if not _KEBAB.match(str(key)):
                problems.append(f"{where}: {kind[:-1]} `{key}` is not kebab-case")
            if not str(spec.get("description", "")).strip():
                problems.append(f"{where}: {kind[:-1]} `{key}` has no description")
            if kind == "inputs" and spec.get("required") not in (True, "true") and "default" not in spec:
                problems.append(
                    f"{where}: optional input `{key}` has no explicit default "
                    '(add `default: ""` if empty means "not set")'
                )
    return problems


def gate_reasons(command: str) -> dict[str, str]:
    """A command's failure-reasons -> meaning: its module's FAILURE_REASONS, then the common ones."""
    from mlgate.cli import COMMANDS
    from mlgate.gate import COMMON_FAILURE_REASONS

    module = importlib.import_module(COMMANDS[command].partition(":")[0])
    own: dict[str, str] = dict(getattr(module, "FAILURE_REASONS", {}))
    # the gate's own reasons first (in its order), then the common ones (its own meaning wins)
    first = {k: v for k, v in own.items() if k not in COMMON_FAILURE_REASONS}
    return {**first, **{k: own.get(k, v) for k, v in COMMON_FAILURE_REASONS.items()}}


def reasons_table(reasons: dict[str, str]) -> str:
    lines = ["| failure-reason | meaning |", "|---|---|"]
    lines += [f"| `{reason}` | {_text(meaning)} |" for reason, meaning in reasons.items()]
    return "\n".join(lines)


def action_reasons(name: str) -> dict[str, str]:
    """The reasons of every command the action runs, in order, the common ones last."""
    from mlgate.gate import COMMON_FAILURE_REASONS

    merged: dict[str, str] = {}
    for command in ACTION_GATES.get(name, ()):
        for reason, meaning in gate_reasons(command).items():
            merged.setdefault(reason, meaning)
    common = {k: merged.pop(k) for k in COMMON_FAILURE_REASONS if k in merged}
    return {**merged, **common}


def render_reasons_page() -> str:
    from mlgate.cli import COMMANDS

    out = [
        "# Failure reasons",
        "",
        "<!-- generated by tools/docgen.py from each gate's FAILURE_REASONS: do not edit by hand -->",
        "",
        "Every `mlgate` command that fails sets the `failure-reason` output (and `failure_reason` in its",
        "JSON result) to one of the reasons below, and exits 1 (2 for a command-line usage error, which",
        "is reported as `invalid-input`). A reason not listed here is never reported.",
    ]
    for command in sorted(COMMANDS):
        out += ["", f"## `mlgate {command}`", "", reasons_table(gate_reasons(command))]
    return "\n".join(out) + "\n"


def _reasons_problems(root: Path, write: bool) -> list[str]:
    problems: list[str] = []
    page = root / REASONS_PAGE
    text = render_reasons_page()
    if not page.exists() or page.read_text(encoding="utf-8") != text:
        if write:
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(text, encoding="utf-8")
            print(f"updated {REASONS_PAGE.as_posix()}")
        else:
            problems.append(f"{REASONS_PAGE.as_posix()}: differs from the gates' FAILURE_REASONS")
    return problems


def _replace_block(text: str, begin: str, end: str, block: str) -> str | None:
    """`text` with the block between the markers replaced; None when the markers are missing."""
    if begin not in text or end not in text:
        return None
    start = text.index(begin)
    stop = text.index(end, start) + len(end)
    return text[:start] + block + text[stop:]


def sync(root: Path, *, write: bool) -> list[str]:
    """Check (or rewrite) every action's README and docs page; return the problems found."""
    problems: list[str] = []
    if (root / "mkdocs.yml").is_file():  # a whole checkout (tests check single actions in a bare root)
        problems += _reasons_problems(root, write)
        problems += _layout_problems(root, write)
    for action_file in sorted((root / "actions").glob("*/action.yml")):
        name = action_file.parent.name
        action = yaml.safe_load(action_file.read_text(encoding="utf-8")) or {}
        problems += action_problems(name, action)
        block = render_tables(action)
        targets = [action_file.parent / "README.md"]
        docs_page = root / "docs" / "actions" / f"{name}.md"
        if docs_page.exists():
            targets.append(docs_page)
        for target in targets:
            relative = target.relative_to(root).as_posix()
            if not target.exists():
                problems.append(f"{relative}: missing (write prose, then a `{BEGIN}` … `{END}` block)")
                continue
            text = target.read_text(encoding="utf-8")
            updated = _replace_block(text, BEGIN, END, block)
            if updated is None:
                problems.append(f"{relative}: no `{BEGIN}` … `{END}` block for the generated tables")
                continue
            drifted = ["inputs/outputs tables differ from action.yml"] if updated != text else []
            if name in ACTION_GATES and target.name == "README.md":
                reasons = action_reasons(name)
                with_reasons = _replace_block(
                    updated,
                    REASONS_BEGIN,
                    REASONS_END,
                    f"{REASONS_BEGIN}\n\n{reasons_table(reasons)}\n\n{REASONS_END}",
                )
                if with_reasons is None:
                    problems.append(f"{relative}: no `{REASONS_BEGIN}` … `{REASONS_END}` block")
                elif with_reasons != updated:
                    drifted.append("failure-reason table differs from the gates' FAILURE_REASONS")
                    updated = with_reasons
                described = str(
                    ((action.get("outputs") or {}).get("failure-reason") or {}).get("description")
                )
                problems += [
                    f"actions/{name}/action.yml: output `failure-reason` does not name `{reason}`"
                    for reason in reasons
                    if f"`{reason}`" not in described
                ]
            if not drifted:
                continue
            if write:
                target.write_text(updated, encoding="utf-8")
                print(f"updated {relative}")
            else:
                problems += [f"{relative}: {what}" for what in drifted]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate the tables in place")
    mode.add_argument("--check", action="store_true", help="exit 1 when a table drifted")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    args = parser.parse_args(argv)
    problems = sync(args.root, write=args.write)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems and args.check:
        print("run `uv run python tools/docgen.py --write` to regenerate the tables", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
