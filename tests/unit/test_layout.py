"""The package layout rule (issue 13), enforced: no import loops in `src/mlgate`, no module over 800 lines,
every `config.SECTIONS` entry is `mlgate.<package>.config:<Name>Section`, every CLI command imports.

The import graph is read with `ast` from the source, not by importing it: every `import` and
`from … import …` anywhere in a module counts (module level, inside functions, under `TYPE_CHECKING`),
because a function-level import that closes a loop is still a loop — it only fails later, at run time.
Importing `a.b.c` also imports the packages `a` and `a.b` (their `__init__`), so those are edges too.
Strings handed to `importlib.import_module` (the lazy `cli.COMMANDS` and `config.SECTIONS` tables) are not.

The checker is tried on small synthetic packages first, so each check is shown to fail when it should.
"""

from __future__ import annotations

import ast
import importlib
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from mlgate.cli import COMMANDS
from mlgate.config import SECTIONS, Section

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "mlgate"
MAX_LINES = 800
SECTION_TARGET = re.compile(r"^mlgate\.(?P<package>[a-z_]+)\.config:(?P<name>[A-Z][A-Za-z]*)Section$")
#: modules that sit at the bottom of the package and belong to no gate (see CONTRIBUTING.md)
BOTTOM = {"mlgate", "mlgate.errors", "mlgate.gate", "mlgate.config", "mlgate.cli", "mlgate.github"}
#: bottom helpers of one bottom module (`event_payload` is read by `github` only)
BOTTOM_HELPERS = {"mlgate.event_payload"}
#: run by an action step directly, with the project's interpreter, before anything else: no command, and
#: the standard library only (the project's environment need not have mlgate's dependencies)
ACTION_HELPERS = {"mlgate.bytecode"}

#: cases that fail until the branches that move the modules are merged; the integrator removes each
#: entry when its branch lands (a strict xfail that starts passing fails, and so does an entry whose case
#: no longer exists: see test_every_pending_case_exists)
PENDING: dict[str, str] = {}


# -- the checker --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Module:
    name: str  # dotted, e.g. mlgate.terraform.config
    path: Path
    is_package: bool  # an __init__.py


def modules(package_dir: Path) -> dict[str, Module]:
    """Every module of the package rooted at `package_dir`, by dotted name."""
    root_name = package_dir.name
    found: dict[str, Module] = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        dotted = ".".join((root_name, *(parts[:-1] if is_package else parts)))
        found[dotted] = Module(dotted, path, is_package)
    return found


def _imported_names(module: Module, tree: ast.AST) -> Iterator[str]:
    """Every dotted name an import statement in `tree` may load (the module, or `pkg.name` for
    `from pkg import name`, which is a submodule when one exists)."""
    own_package = module.name if module.is_package else module.name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = own_package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            yield base
            for alias in node.names:
                yield f"{base}.{alias.name}"


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """module -> the modules of the same package it imports (directly, anywhere in its source)."""
    known = modules(package_dir)
    graph: dict[str, set[str]] = {name: set() for name in known}
    for module in known.values():
        tree = ast.parse(module.path.read_text(encoding="utf-8"), filename=str(module.path))
        for name in _imported_names(module, tree):
            parts = name.split(".")
            # `a.b.c` loads `a`, `a.b` and `a.b.c`: each one that is ours is an edge
            for end in range(1, len(parts) + 1):
                target = ".".join(parts[:end])
                if target in known and target != module.name:
                    graph[module.name].add(target)
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path that returns to its start) per strongly connected group of modules that
    import each other, found with Tarjan's algorithm."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_in(group, graph) for group in groups]


def _cycle_in(group: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest path from the group's first module back to itself, inside the group (breadth first)."""
    start = min(group)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for nxt in sorted(graph[node] & group):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if nxt not in came_from:
                    came_from[nxt] = node
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"no cycle in {sorted(group)}")  # pragma: no cover - Tarjan gave a loop


def oversized(package_dir: Path, limit: int = MAX_LINES) -> dict[str, int]:
    """module -> its line count, for every module over `limit` lines."""
    sizes = {
        m.name: len(m.path.read_text(encoding="utf-8").splitlines()) for m in modules(package_dir).values()
    }
    return {name: lines for name, lines in sizes.items() if lines > limit}


def _cases(ids: list[str], prefix: str) -> list[object]:
    """pytest params, the pending ones marked strict xfail (they must fail now and pass after the merge)."""
    params: list[object] = []
    for case_id in ids:
        full = f"{prefix}-{case_id}"
        marks = [pytest.mark.xfail(strict=True, reason=PENDING[full])] if full in PENDING else []
        params.append(pytest.param(case_id, id=full, marks=marks))
    return params


# -- the checker, on synthetic packages: each check can fail ------------------------------------------------
def _write_package(root: Path, files: dict[str, str]) -> Path:
    package = root / "pkg"
    for relative, text in files.items():
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return package


def test_checker_finds_a_loop_closed_by_a_function_level_import(tmp_path: Path) -> None:
    package = _write_package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from pkg.b import thing\n",
            "b.py": "def thing():\n    from pkg import a\n    return a\n",
            "c.py": "import pkg.a\n",
        },
    )
    assert import_cycles(import_graph(package)) == [["pkg.a", "pkg.b", "pkg.a"]]


def test_checker_finds_a_loop_through_relative_imports_and_a_package_init(tmp_path: Path) -> None:
    package = _write_package(
        tmp_path,
        {
            "__init__.py": "",
            "sub/__init__.py": "from .core import run\n",
            "sub/core.py": "from ..util import helper\n",
            "util.py": "from pkg.sub import run\n",
        },
    )
    cycles = import_cycles(import_graph(package))
    assert len(cycles) == 1
    assert set(cycles[0]) == {"pkg.sub", "pkg.sub.core", "pkg.util"}
    assert cycles[0][0] == cycles[0][-1]


def test_checker_passes_a_package_without_loops(tmp_path: Path) -> None:
    package = _write_package(
        tmp_path,
        {
            "__init__.py": "",
            "errors.py": "class Oops(Exception):\n    pass\n",
            "gate/__init__.py": "",
            "gate/config.py": "from pkg.errors import Oops\n",
            "gate/command.py": (
                "from pkg.gate.config import Oops\n\ndef run():\n    from pkg.gate import config\n"
            ),
        },
    )
    graph = import_graph(package)
    assert graph["pkg.gate.command"] == {"pkg", "pkg.gate", "pkg.gate.config"}
    assert import_cycles(graph) == []


def test_checker_finds_an_oversized_module(tmp_path: Path) -> None:
    package = _write_package(
        tmp_path,
        {"__init__.py": "", "small.py": "x = 1\n" * MAX_LINES, "big.py": "x = 1\n" * (MAX_LINES + 1)},
    )
    assert oversized(package) == {"pkg.big": MAX_LINES + 1}


# -- the rule, on src/mlgate ------------------------------------------------------------------------------
def test_no_import_loops_in_mlgate() -> None:
    graph = import_graph(PACKAGE)
    assert len(graph) > 20  # the walk found the package
    cycles = import_cycles(graph)
    assert not cycles, "import loops in src/mlgate:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_bottom_imports_no_gate() -> None:
    """errors, gate, config, cli, github (and event_payload) import only each other: the gates build on
    them, never the reverse (cli and config reach gates through the COMMANDS / SECTIONS strings)."""
    graph = import_graph(PACKAGE)
    upward = {
        module: sorted(graph[module] - BOTTOM - BOTTOM_HELPERS)
        for module in sorted(BOTTOM | BOTTOM_HELPERS)
        if graph[module] - BOTTOM - BOTTOM_HELPERS
    }
    assert not upward, f"bottom modules importing a gate: {upward}"


MODULE_NAMES = sorted(modules(PACKAGE))


@pytest.mark.parametrize("name", _cases(MODULE_NAMES, "size"))
def test_module_is_at_most_800_lines(name: str) -> None:
    path = modules(PACKAGE)[name].path
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, (
        f"{path.relative_to(ROOT)} has {lines} lines (limit {MAX_LINES}): split it by concern "
        "(see the layout rule in CONTRIBUTING.md)"
    )


@pytest.mark.parametrize("section", _cases(sorted(SECTIONS), "section"))
def test_section_lives_in_its_package_config(section: str) -> None:
    target = SECTIONS[section]
    match = SECTION_TARGET.match(target)
    assert match, (
        f"config.SECTIONS[{section!r}] = {target!r}: must read 'mlgate.<package>.config:<Name>Section'"
    )
    module_name, _, attribute = target.partition(":")
    model = getattr(importlib.import_module(module_name), attribute)
    assert isinstance(model, type) and issubclass(model, Section), f"{target} is not a mlgate.config.Section"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_imports_to_a_click_command(name: str) -> None:
    module_name, _, attribute = COMMANDS[name].partition(":")
    command = getattr(importlib.import_module(module_name), attribute)
    assert isinstance(command, click.Command), (
        f"cli.COMMANDS[{name!r}] = {COMMANDS[name]!r} is no click command"
    )
    assert command.name == name, f"{COMMANDS[name]} is the command {command.name!r}, registered as {name!r}"


@pytest.mark.parametrize("case", _cases(["modules"], "top-level"))
def test_top_level_modules_are_the_bottom_or_single_module_gates(case: str) -> None:
    """A loose module in src/mlgate is a bottom module or a single-module gate (a `cli.COMMANDS` entry of
    its own, no `mlgate.yaml` section); anything else belongs in a gate's package."""
    single_gates = {target.partition(":")[0] for target in COMMANDS.values()} - BOTTOM
    single_gates = {name for name in single_gates if name.count(".") == 1}
    with_section = {target.partition(":")[0] for target in SECTIONS.values()}
    top_level = {m.name for m in modules(PACKAGE).values() if m.name.count(".") == 1 and not m.is_package}
    loose = sorted(top_level - BOTTOM - BOTTOM_HELPERS - ACTION_HELPERS - single_gates)
    assert not loose, f"modules outside any gate's package: {', '.join(loose)}"
    sectioned = sorted(single_gates & with_section)
    assert not sectioned, f"gates with an mlgate.yaml section must be packages (config.py): {sectioned}"


def test_every_pending_case_exists() -> None:
    """An entry of PENDING whose case is gone (the module moved) is stale: remove it."""
    ids = {f"size-{n}" for n in MODULE_NAMES} | {f"section-{s}" for s in SECTIONS} | {"top-level-modules"}
    stale = sorted(set(PENDING) - ids)
    assert not stale, f"remove these entries from PENDING in tests/unit/test_layout.py: {stale}"


@pytest.mark.parametrize("name", sorted(ACTION_HELPERS))
def test_action_helpers_import_the_standard_library_only(name: str) -> None:
    tree = ast.parse(modules(PACKAGE)[name].path.read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    standard = sys.stdlib_module_names | {"__future__"}
    outside = sorted(m for m in imported if m.partition(".")[0] not in standard)
    assert not outside, f"{name} imports {outside}: an action helper runs on the standard library only"
