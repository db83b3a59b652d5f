"""Which backend holds the registry of record, and opening it (see `record` for the interface).

Its own module so the backends (`gitops`, `mlflow_aliases`) import the shared types in `record`
without an import loop back to the code that chooses between them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlgate.registry.config import load_registry_section
from mlgate.registry.record import RegistryOfRecord

if TYPE_CHECKING:
    from mlgate.github import Runner


def open_registry(
    config: Path, *, model_name: str, alias: str, runner: Runner | None = None, announce: bool = True
) -> RegistryOfRecord:
    """The registry of record configured in `config` (see the module docstring for the fallback)."""
    from mlgate import github

    section = load_registry_section(config)
    runner = runner or github.Runner.from_env()
    chosen: RegistryOfRecord
    note = ""
    if section.backend == "github":
        from mlgate.registry.gitops import GitTagRegistry, local_fallback_reason

        reason = None if runner.in_actions else local_fallback_reason(runner, Path.cwd(), section.remote)
        if reason is None:
            chosen = GitTagRegistry.open(
                name=model_name, stage=section.stage, remote=section.remote, runner=runner
            )
        else:
            from mlgate.registry.mlflow_aliases import MlflowAliasRegistry

            chosen = MlflowAliasRegistry(name=model_name, alias=alias)
            note = f" ({reason}: using the local MLflow registry instead)"
    else:
        from mlgate.registry.mlflow_aliases import MlflowAliasRegistry

        chosen = MlflowAliasRegistry(name=model_name, alias=alias)
    if announce:
        runner.notice(f"champion registry: {chosen.where}{note}")
    return chosen
