"""OCI labels and tags of the service image built from the promoted model.

The image carries the model it serves (copied into the build context from the gated artifact), so its
labels say exactly which model that is and where it came from: the standard `org.opencontainers.image.*`
annotations for the source, the commit and the time, and mlgate's own `dev.mlgate.*` labels for the
model's name, registry version and sha256 digest (the digest the eval gate and the registry recorded),
the training run and the data version. `docker inspect` / `crane config` show them on any copy of the
image; the build-provenance attestation binds the image digest to the workflow run that built it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlgate.errors import GateInputError

LABEL_PREFIX = "dev.mlgate."
LINEAGE_PREFIX = "mlgate."
#: OCI/Docker image names: lower-case path components of [a-z0-9] separated by . _ - (docker reference)
_NAME = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$")
#: a private ECR repository URL: `<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<name>`
_ECR = re.compile(
    r"^(?P<registry>\d{12}\.dkr\.ecr\.(?P<region>[a-z]{2}(-[a-z]+)+-\d)\.amazonaws\.com(\.cn)?)"
    r"/(?P<name>.+)$"
)


@dataclass(frozen=True)
class EcrRepository:
    """The project's ECR repository the same build is also pushed to (SageMaker pulls only from ECR)."""

    url: str
    registry: str
    region: str


@dataclass
class ImageMetadata:
    image: str
    tags: list[str]
    labels: dict[str, str]
    ecr: EcrRepository | None = None

    def labels_text(self) -> str:
        return "\n".join(f"{k}={v}" for k, v in self.labels.items())


def image_name(registry: str, repository: str) -> str:
    """`ghcr.io/<owner>/<repo>` in lower case (GitHub repositories may have capitals; images may not)."""
    name = f"{registry.strip('/')}/{repository}".lower()
    host, _, path = name.partition("/")
    if not host or not _NAME.match(path):
        raise GateInputError(
            f"{name!r} is not a valid image name",
            field="--repository",
            fix="pass owner/name as in GITHUB_REPOSITORY",
        )
    return name


def ecr_repository(url: str) -> EcrRepository:
    """The ECR repository URL (Terraform's `image_repository_url`), checked: registry host and region."""
    found = _ECR.match(url.strip())
    if not found or not _NAME.match(found["name"]):
        raise GateInputError(
            f"{url!r} is not an ECR repository URL",
            field="--ecr-repository",
            fix="set the ECR_REPOSITORY variable to `<account>.dkr.ecr.<region>.amazonaws.com/<name>` "
            "(terraform output image_repository_url)",
        )
    return EcrRepository(url=url.strip(), registry=found["registry"], region=found["region"])


def _promotion(path: Path) -> dict[str, Any]:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GateInputError(
            "promotion result not found",
            file=path,
            fix="pass the promote.json written by `mlgate promote` (the promote-model action's report-dir)",
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise GateInputError(
            f"not readable JSON ({exc})", file=path, fix="pass promote.json as written"
        ) from None
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict) or payload.get("gate") != "promote":
        raise GateInputError(
            "is not a promote result", file=path, fix="pass the promote.json of the promotion"
        )
    if not payload.get("passed") or not data.get("version"):
        raise GateInputError(
            "the promotion did not pass: there is no promoted version to build",
            file=path,
            field="passed",
            fix="build the image only after a successful promotion",
        )
    return data


def _run_id(model_dir: Path) -> str:
    """The training run recorded in the MLflow model folder (`run_id` in MLmodel), '' when absent."""
    mlmodel = model_dir / "MLmodel"
    if not mlmodel.is_file():
        raise GateInputError(
            "no MLmodel file: not an MLflow model folder",
            file=mlmodel,
            fix="pass the gated model folder (the gated-model artifact's model/)",
        )
    import yaml

    try:
        meta = yaml.safe_load(mlmodel.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise GateInputError(f"not valid YAML ({exc})", file=mlmodel, fix="re-export the model") from None
    return str(meta.get("run_id") or "") if isinstance(meta, dict) else ""


def image_metadata(
    *,
    promotion: Path,
    model_dir: Path,
    registry: str,
    repository: str,
    git_sha: str,
    server_url: str = "https://github.com",
    created: datetime | None = None,
    ecr: str = "",
) -> ImageMetadata:
    """Labels and tags for the image of the version `promotion` made champion; with `ecr` (a repository
    URL) the same tags on that repository too, for one build pushed to both registries."""
    image = image_name(registry, repository)
    ecr_repo = ecr_repository(ecr) if ecr else None
    data = _promotion(promotion)
    lineage = {str(k).removeprefix(LINEAGE_PREFIX): str(v) for k, v in (data.get("lineage") or {}).items()}
    raw_digest = data.get("digest")
    digest: dict[str, Any] = raw_digest if isinstance(raw_digest, dict) else {}
    model_sha = str(digest.get("model") or lineage.get("model_digest") or "")
    if not model_sha:
        raise GateInputError(
            "the promotion recorded no model digest",
            file=promotion,
            field="data.digest.model",
            fix="promote with this mlgate version (it records the model's sha256)",
        )
    from mlgate.registry.models import model_files_digest

    actual = model_files_digest(model_dir)
    if actual != model_sha:
        raise GateInputError(
            f"the model files ({actual[:16]}…) are not the promoted model ({model_sha[:16]}…)",
            file=model_dir,
            field="data.digest.model",
            fix="build from the gated-model artifact of the same CD run",
        )
    name = str(data.get("model_name") or "")
    version = str(data["version"])
    sha = git_sha or lineage.get("git_sha", "")
    run_id = lineage.get("run_id") or _run_id(model_dir)
    labels = {
        "org.opencontainers.image.title": name,
        "org.opencontainers.image.description": f"{name} {version}: prediction service (mlgate champion)",
        "org.opencontainers.image.source": f"{server_url.rstrip('/')}/{repository}",
        "org.opencontainers.image.revision": sha,
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.created": (created or datetime.now(UTC)).isoformat(timespec="seconds"),
        f"{LABEL_PREFIX}model.name": name,
        f"{LABEL_PREFIX}model.version": version,
        f"{LABEL_PREFIX}model.sha256": model_sha,
        f"{LABEL_PREFIX}model.previous-version": str(data.get("previous") or ""),
        f"{LABEL_PREFIX}run-id": run_id,
        f"{LABEL_PREFIX}data.version": lineage.get("dvc_data_hash", ""),
        f"{LABEL_PREFIX}golden-data.sha256": str(digest.get("data") or ""),
        f"{LABEL_PREFIX}eval.digest": str(digest.get("combined") or lineage.get("eval_result_digest", "")),
        f"{LABEL_PREFIX}pr": lineage.get("pr_number", ""),
    }
    labels = {k: v for k, v in labels.items() if v}
    suffixes = [f"model-{version}", f"sha-{sha[:12]}"] if sha else [f"model-{version}"]
    names = [image, ecr_repo.url] if ecr_repo else [image]
    tags = [f"{name}:{suffix}" for name in names for suffix in suffixes]
    return ImageMetadata(image=image, tags=tags, labels=labels, ecr=ecr_repo)
