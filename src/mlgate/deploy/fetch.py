"""Fetch one exact version of the model from the registry of record into a folder (a serving arm's model).

With `registry.backend: github` the version's release archive is downloaded and checked against its
`.sha256` asset and the version tag's digests (the same checks as the eval gate's champion); with
`backend: mlflow` the registry version's files are downloaded and checked against the model digest
recorded at promotion. A version whose bytes do not match is refused, never served.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from mlgate.errors import GateInputError
from mlgate.gate import config_option, path_option

#: every failure-reason this command reports -> its one-line meaning (docs/reference/failure-reasons.md)
FAILURE_REASONS: dict[str, str] = {
    "champion-digest-mismatch": (
        "the version's downloaded files do not match the digest recorded at its promotion: not served"
    ),
    "registry-unreachable": (
        "the registry (git remote, GitHub API or MLflow) did not answer after bounded retries"
    ),
}


def fetch_version(config: Path, version: str, dest: Path) -> Path:
    """The model folder of `version` under `dest` (replaced when it exists); digest-checked."""
    from mlgate.eval_gate.config import load_eval_config
    from mlgate.registry.backend import open_registry
    from mlgate.registry.gitops import GitTagRegistry, unpack_model
    from mlgate.registry.models import model_files_digest

    section = load_eval_config(config, required=True)
    registry = open_registry(config, model_name=section.model_name, alias=section.baseline_alias)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if isinstance(registry, GitTagRegistry):
        registry.sync()
        recorded = registry.record(version).get("model_digest", "")
        if not recorded:
            raise GateInputError(
                f"{registry.version_tag(version)} is not a version of the registry (no lineage recorded)",
                field="--version",
                fix="pass a version `uvx gto show` lists (e.g. the promote job's previous-version)",
            )
        folder = unpack_model(registry.download(version), dest)
        where = registry.asset_name(version)
    else:
        from mlflow import MlflowClient
        from mlflow.artifacts import download_artifacts

        from mlgate.registry.models import registry_error, with_retries
        from mlgate.registry.record import LINEAGE_PREFIX

        uri = f"models:/{section.model_name}/{version}"
        try:
            meta = with_retries(
                "reading the registry", lambda: MlflowClient().get_model_version(section.model_name, version)
            )
            folder = Path(download_artifacts(artifact_uri=uri, dst_path=str(dest / "model")))
        except Exception as exc:  # noqa: BLE001 - MLflow raises many types; one line names the version
            raise registry_error(f"downloading {uri}", exc) from None
        recorded = dict(meta.tags).get(f"{LINEAGE_PREFIX}model_digest", "")
        where = uri
    actual = model_files_digest(folder)
    if recorded and actual != recorded:
        raise GateInputError(
            f"the files of version {version} ({actual[:16]}…) do not match the digest recorded at its "
            f"promotion ({recorded[:16]}…): refusing to serve them",
            file=where,
            field="registry",
            fix="restore the version's assets from its promotion run, or roll back to another version",
            reason="champion-digest-mismatch",
        )
    return folder


@click.command("fetch-model")
@config_option(help="mlgate.yaml (sections `eval` and `registry`).")
@click.option("--version", "version", envvar="MLGATE_MODEL_VERSION", required=True, help="Registry version.")
@path_option("--dest", required=True, help="Folder to fetch into (replaced); the model is <dest>/model.")
def fetch_command(*, config_path: Path, version: str, dest: Path) -> int:
    """Download one exact model version from the registry of record, digest-checked."""
    from mlgate import github
    from mlgate.gate import run_gate

    def work() -> int:
        folder = fetch_version(config_path, version.strip().removeprefix("v"), dest)
        github.Runner.from_env().set_outputs({"model-dir": str(folder), "model-version": version})
        click.echo(f"fetched version {version} into {folder}")
        return 0

    return run_gate("fetch-model", work)
