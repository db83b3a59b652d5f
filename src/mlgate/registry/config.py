"""Section `registry` of mlgate.yaml: which registry of record holds the champion (see `record`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from mlgate.config import Section, load_section


class RegistrySection(Section):
    """Where the champion lives (the registry of record of `eval-gate`, `promote` and `model-card`)."""

    backend: Literal["github", "mlflow"] = Field(
        default="mlflow",
        description=(
            "`github`: versions and the production stage as GTO git tags, model bytes as GitHub release "
            "assets (no server needed); `mlflow`: MLflow registry aliases on a tracking server."
        ),
    )
    stage: str = Field(
        default="production",
        pattern=r"^[a-z][a-z0-9-]*[a-z0-9]$",
        description="GTO stage that marks the champion (github backend).",
    )
    remote: str = Field(default="origin", description="Git remote holding the tags (github backend).")


def load_registry_section(config: Path) -> RegistrySection:
    return load_section(config, "registry", RegistrySection)
