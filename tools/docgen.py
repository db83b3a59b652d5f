"""Generate each action's inputs/outputs tables from its action.yml.

    uv run python tools/docgen.py --write    regenerate the tables in place
    uv run python tools/docgen.py --check    exit 1 listing READMEs that drifted (what CI runs)

The tables live between `<!-- mlgate:inputs -->` and `<!-- /mlgate:inputs -->` in
`actions/<name>/README.md` and, when it exists, `docs/actions/<name>.md`. Both modes also fail when an
input or output lacks a description, an optional input lacks an explicit `default`, or a name is not
kebab-case — so the tables can always be generated and never hide an undocumented input.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
BEGIN = "<!-- mlgate:inputs -->"
END = "<!-- /mlgate:inputs -->"
_KEBAB = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")


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


def sync(root: Path, *, write: bool) -> list[str]:
    """Check (or rewrite) every action's README and docs page; return the problems found."""
    problems: list[str] = []
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
            if BEGIN not in text or END not in text:
                problems.append(f"{relative}: no `{BEGIN}` … `{END}` block for the generated tables")
                continue
            start, end = text.index(BEGIN), text.index(END, text.index(BEGIN)) + len(END)
            updated = text[:start] + block + text[end:]
            if updated == text:
                continue
            if write:
                target.write_text(updated, encoding="utf-8")
                print(f"updated {relative}")
            else:
                problems.append(f"{relative}: inputs/outputs tables differ from action.yml")
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
