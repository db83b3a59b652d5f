"""Import the cookiecutter hooks as modules and build answers the way cookiecutter does.

The hooks are plain Python files whose only Jinja is inside string constants, so importing the
unrendered file gives the same functions cookiecutter runs.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config

from tests.support.project import ROOT

HOOKS = ROOT / "hooks"


def load_hook(name: str) -> ModuleType:
    """`load_hook("pre_gen_project")` -> the module (its `main()` does not run)."""
    path = HOOKS / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"mlgate_hook_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cookiecutter_context(**overrides: Any) -> dict[str, Any]:
    """The full context cookiecutter builds for `--no-input` with `overrides` (derived keys rendered)."""
    context = generate_context(context_file=str(ROOT / "cookiecutter.json"), extra_context=overrides)
    options = {k: v for k, v in context["cookiecutter"].items() if not k.startswith("_")}
    answers = prompt_for_config(context, no_input=True)
    return {"cookiecutter": answers, "_cookiecutter": options}


def default_answers(**overrides: Any) -> dict[str, Any]:
    return dict(cookiecutter_context(**overrides)["cookiecutter"])


def offered_options() -> dict[str, Any]:
    return dict(cookiecutter_context()["_cookiecutter"])


def hook_source(name: str) -> Path:
    return HOOKS / f"{name}.py"
