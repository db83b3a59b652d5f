"""The generation matrix, read from cookiecutter.json (never a copied list of values).

- INTERACTING options change the same files together (the Python version and the MLflow tracking mode
  both shape pyproject.toml, ci.yml and the tests), so every combination of them is generated;
- ROTATED options touch files of their own (the licence), so their values are spread over those
  combinations, each value at least once;
- a combination is generated only when it is valid, and valid means exactly what the pre-generation hook
  accepts (`find_problems` returns nothing); everything else is covered by test_invalid_answers.py;
- MLGATE_QUICK=1 (or `make test-quick`) renders the default answers only.

A choice option that is neither interacting nor rotated fails test_matrix.py until it is classified.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Any

from tests.support.hooks import default_answers, load_hook, offered_options
from tests.support.project import TEMPLATE_OPTIONS

INTERACTING = ("python_version", "mlflow_tracking")
ROTATED = ("license", "cloud")

CHOICES: dict[str, list[str]] = {
    key: value
    for key, value in TEMPLATE_OPTIONS.items()
    if isinstance(value, list) and not key.startswith("_")
}


def quick() -> bool:
    return os.environ.get("MLGATE_QUICK", "").strip().lower() in {"1", "true", "yes"}


@dataclass(frozen=True)
class Combination:
    choices: tuple[tuple[str, str], ...]

    @property
    def answers(self) -> dict[str, str]:
        return dict(self.choices)

    @property
    def id(self) -> str:
        values = self.answers
        return "-".join(
            [f"py{values['python_version']}", values["mlflow_tracking"], *(values[k] for k in ROTATED)]
        )

    @property
    def is_default(self) -> bool:
        return all(CHOICES[key][0] == value for key, value in self.choices)


def is_valid(answers: dict[str, Any]) -> bool:
    """The validity rule: the combination passes the pre-generation hook's checks."""
    pre = load_hook("pre_gen_project")
    return not pre.find_problems(default_answers(**answers), offered_options())


def all_combinations() -> list[Combination]:
    combos = []
    product = list(itertools.product(*(CHOICES[key] for key in INTERACTING)))
    for index, values in enumerate(product):
        chosen = dict(zip(INTERACTING, values, strict=True))
        for key in ROTATED:
            chosen[key] = CHOICES[key][index % len(CHOICES[key])]
        combos.append(Combination(tuple(chosen.items())))
    return [combo for combo in combos if is_valid(combo.answers)]


def combinations() -> list[Combination]:
    combos = all_combinations()
    return [combo for combo in combos if combo.is_default] if quick() else combos
