"""Every third-party `uses:` is pinned to a full commit SHA from `_action_pins` in cookiecutter.json.

Checked: mlgate's composite actions, this repository's workflows, and the template's workflows as raw
text (there a pin may also be the Jinja lookup `{{ cookiecutter._action_pins['owner/repo'] }}`, which
renders the same `SHA # tag`). Local actions (`./…`) and mlgate's own actions
(`{{cookiecutter.mlgate_repo}}/actions/<name>@{{cookiecutter.mlgate_ref}}`) are fine.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "{{cookiecutter.project_slug}}"
PINS: dict[str, str] = json.loads((ROOT / "cookiecutter.json").read_text(encoding="utf-8"))["_action_pins"]

_USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>.+?)\s*$")
_PIN = re.compile(r"^[0-9a-f]{40} # v\d+\.\d+\.\d+$")
_JINJA_PIN = re.compile(r"^\{\{\s*cookiecutter\._action_pins\[['\"](?P<key>[^'\"]+)['\"]\]\s*\}\}$")
_OWN = re.compile(
    r"^\{\{\s*cookiecutter\.mlgate_repo\s*\}\}/actions/[a-z0-9-]+@\{\{\s*cookiecutter\.mlgate_ref\s*\}\}$"
)
_CALL = re.compile(r"^(?P<action>[\w.-]+/[\w.-]+)(?P<path>/[\w./-]+)?@(?P<rest>.+)$")


def pin_problems(text: str, *, template: bool) -> list[str]:
    """Each `uses:` line that is not local, not mlgate's own and not pinned from the table."""
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _USES.match(line)
        if not match:
            continue
        ref = match["ref"].strip("'\"")
        if ref.startswith("./") or (template and _OWN.match(ref)):
            continue
        call = _CALL.match(ref)
        if call is None:
            problems.append(f"line {number}: `{ref}` is not an owner/repo@ref action reference")
            continue
        action, rest = call["action"], call["rest"].strip()
        jinja = _JINJA_PIN.match(rest)
        if template and jinja:
            if jinja["key"] != action:
                problems.append(f"line {number}: {action} looks up the pin of {jinja['key']}")
            elif action not in PINS:
                problems.append(f"line {number}: {action} has no entry in _action_pins")
            continue
        if action not in PINS:
            problems.append(f"line {number}: {action} is not in _action_pins (add it there first)")
        elif rest != PINS[action]:
            problems.append(f"line {number}: {action}@{rest} is not the table's pin `{PINS[action]}`")
    return problems


def files_to_check() -> list[tuple[Path, bool]]:
    found = [(p, False) for p in sorted((ROOT / "actions").glob("*/action.y*ml"))]
    found += [(p, False) for p in sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))]
    found += [(p, True) for p in sorted((TEMPLATE / ".github" / "workflows").glob("*.y*ml"))]
    return found


@pytest.mark.parametrize("value", sorted(PINS.values()), ids=sorted(PINS))
def test_pin_table_values_are_full_shas_with_a_release_tag(value: str) -> None:
    assert _PIN.match(value), f"`{value}` is not `<40 hex> # v<major>.<minor>.<patch>`"


@pytest.mark.parametrize(
    ("path", "template"), files_to_check(), ids=[p.relative_to(ROOT).as_posix() for p, _ in files_to_check()]
)
def test_every_uses_is_pinned_from_the_table(path: Path, template: bool) -> None:
    problems = pin_problems(path.read_text(encoding="utf-8"), template=template)
    assert not problems, f"{path.relative_to(ROOT)}:\n" + "\n".join(problems)


def test_the_composite_actions_are_checked() -> None:
    checked = {p.relative_to(ROOT).as_posix() for p, _ in files_to_check()}
    assert {"actions/setup/action.yml", "actions/lint/action.yml"} <= checked


def test_the_checker_catches_unpinned_and_off_table_refs() -> None:
    sha, tag = PINS["actions/checkout"].split(" # ")
    text = "\n".join(
        [
            "steps:",
            "  - uses: actions/checkout@v7",
            f"  - uses: actions/checkout@{sha}",
            f"  - uses: actions/checkout@{'0' * 40} # {tag}",
            "  - uses: someone/unknown-action@" + "a" * 40 + " # v1.0.0",
            "    uses: {{ cookiecutter._action_pins['actions/cache'] }}",
            f"  - uses: actions/checkout@{PINS['actions/checkout']}",
            "  - uses: ./actions/lint",
            "  - uses: github/codeql-action/upload-sarif@"
            "{{ cookiecutter._action_pins['github/codeql-action'] }}",
            "  - uses: actions/cache@{{ cookiecutter._action_pins['actions/checkout'] }}",
            "  - uses: {{cookiecutter.mlgate_repo}}/actions/lint@{{cookiecutter.mlgate_ref}}",
        ]
    )
    problems = pin_problems(text, template=True)
    assert [p.split(":")[0] for p in problems] == [
        "line 2",
        "line 3",
        "line 4",
        "line 5",
        "line 6",
        "line 10",
    ]
    # outside the template the Jinja form and mlgate's template refs are not allowed
    assert any(p.startswith("line 9") for p in pin_problems(text, template=False))
    assert any(p.startswith("line 11") for p in pin_problems(text, template=False))
