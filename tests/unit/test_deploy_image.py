"""`mlgate image-metadata`: the service image's labels and tags come from the promotion and the exact
model files it promoted; anything else is refused (the bad-input catalogue runs the real CLI)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mlgate.deploy.image import image_metadata, image_name
from mlgate.errors import GateInputError
from mlgate.registry.models import model_files_digest
from tests.support.bad_inputs import BadInput, check_bad_input

MLMODEL = "artifact_path: model\nrun_id: 0123456789abcdef0123456789abcdef\nflavors:\n  sklearn: {}\n"
SHA = "a" * 40


def model_folder(root: Path) -> Path:
    folder = root / "models"
    folder.mkdir(parents=True)
    (folder / "MLmodel").write_text(MLMODEL, encoding="utf-8")
    (folder / "model.pkl").write_bytes(b"model bytes")
    return folder


def promotion(root: Path, digest: str, **changes: object) -> Path:
    payload: dict[str, object] = {
        "gate": "promote",
        "passed": True,
        "data": {
            "model_name": "fraud-detection",
            "version": "2.0.0",
            "previous": "1.0.0",
            "registry": "github",
            "lineage": {"mlgate.git_sha": SHA, "mlgate.pr_number": "7", "mlgate.dvc_data_hash": "d" * 32},
            "digest": {"model": digest, "data": "e" * 64, "rules": "f" * 64, "combined": "c" * 64},
        },
    }
    payload.update(changes)
    path = root / "promote.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def test_labels_and_tags_name_the_promoted_model_and_its_lineage(tmp_path: Path) -> None:
    folder = model_folder(tmp_path)
    meta = image_metadata(
        promotion=promotion(tmp_path, model_files_digest(folder)),
        model_dir=folder,
        registry="ghcr.io",
        repository="Acme/Fraud-Detection",
        git_sha=SHA,
        created=datetime(2026, 12, 7, tzinfo=UTC),
    )
    assert meta.image == "ghcr.io/acme/fraud-detection"
    assert meta.tags == [
        "ghcr.io/acme/fraud-detection:model-2.0.0",
        f"ghcr.io/acme/fraud-detection:sha-{SHA[:12]}",
    ]
    assert meta.labels == {
        "org.opencontainers.image.title": "fraud-detection",
        "org.opencontainers.image.description": "fraud-detection 2.0.0: prediction service (mlgate champion)",
        "org.opencontainers.image.source": "https://github.com/Acme/Fraud-Detection",
        "org.opencontainers.image.revision": SHA,
        "org.opencontainers.image.version": "2.0.0",
        "org.opencontainers.image.created": "2026-12-07T00:00:00+00:00",
        "dev.mlgate.model.name": "fraud-detection",
        "dev.mlgate.model.version": "2.0.0",
        "dev.mlgate.model.sha256": model_files_digest(folder),
        "dev.mlgate.model.previous-version": "1.0.0",
        "dev.mlgate.run-id": "0123456789abcdef0123456789abcdef",
        "dev.mlgate.data.version": "d" * 32,
        "dev.mlgate.golden-data.sha256": "e" * 64,
        "dev.mlgate.eval.digest": "c" * 64,
        "dev.mlgate.pr": "7",
    }
    assert meta.labels_text().splitlines()[0] == "org.opencontainers.image.title=fraud-detection"


def test_other_model_files_than_the_promoted_ones_are_refused(tmp_path: Path) -> None:
    folder = model_folder(tmp_path)
    path = promotion(tmp_path, model_files_digest(folder))
    (folder / "model.pkl").write_bytes(b"another model")
    with pytest.raises(GateInputError, match="are not the promoted model"):
        image_metadata(promotion=path, model_dir=folder, registry="ghcr.io", repository="a/b", git_sha=SHA)


ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud-detection"


def test_with_an_ecr_repository_the_same_tags_go_to_both_registries(tmp_path: Path) -> None:
    folder = model_folder(tmp_path)
    meta = image_metadata(
        promotion=promotion(tmp_path, model_files_digest(folder)),
        model_dir=folder,
        registry="ghcr.io",
        repository="acme/fraud-detection",
        git_sha=SHA,
        ecr=ECR,
    )
    assert meta.image == "ghcr.io/acme/fraud-detection"
    assert meta.tags == [
        "ghcr.io/acme/fraud-detection:model-2.0.0",
        f"ghcr.io/acme/fraud-detection:sha-{SHA[:12]}",
        f"{ECR}:model-2.0.0",
        f"{ECR}:sha-{SHA[:12]}",
    ]
    assert meta.ecr is not None
    assert meta.ecr.registry == "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    assert meta.ecr.region == "eu-west-1"


@pytest.mark.parametrize(
    "url",
    [
        "ghcr.io/acme/fraud-detection",  # not ECR: SageMaker cannot pull it
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com",  # no repository name
        "12345.dkr.ecr.eu-west-1.amazonaws.com/fraud",  # not an account id
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/Fraud",  # ECR names are lower case
        "public.ecr.aws/acme/fraud",  # public ECR: push only through its own API, not the project's repo
    ],
)
def test_an_ecr_repository_must_be_a_private_ecr_url(url: str, tmp_path: Path) -> None:
    folder = model_folder(tmp_path)
    with pytest.raises(GateInputError, match="not an ECR repository URL") as raised:
        image_metadata(
            promotion=promotion(tmp_path, model_files_digest(folder)),
            model_dir=folder,
            registry="ghcr.io",
            repository="acme/fraud-detection",
            git_sha=SHA,
            ecr=url,
        )
    assert raised.value.field == "--ecr-repository"


@pytest.mark.parametrize("name", ["acme/", "acme/a..b", "acme/-lead", "acme/two words"])
def test_image_names_must_be_valid_references(name: str) -> None:
    with pytest.raises(GateInputError):
        image_name("ghcr.io", name)


def _files(**changes: object) -> dict[str, str | bytes]:
    payload = {
        "gate": "promote",
        "passed": True,
        "data": {"model_name": "m", "version": "1.0.0", "digest": {"model": "0" * 64}},
    }
    payload.update(changes)
    return {"promote.json": json.dumps(payload), "models/MLmodel": MLMODEL, "models/model.pkl": b"x"}


ARGV = ("image-metadata", "--promotion", "promote.json", "--model", "models", "--repository", "acme/fraud")
CASES = [
    BadInput("no-promotion", ARGV, "invalid-input", "promote.json", files={"models/MLmodel": MLMODEL}),
    BadInput(
        "not-json",
        ARGV,
        "invalid-input",
        "promote.json",
        files={"promote.json": "{", "models/MLmodel": MLMODEL},
    ),
    BadInput("other-gate", ARGV, "invalid-input", "promote.json", files=_files(gate="eval-gate")),
    BadInput("not-passed", ARGV, "invalid-input", "passed", files=_files(passed=False)),
    BadInput("other-model-files", ARGV, "invalid-input", "models", files=_files()),
    BadInput(
        "no-model-digest",
        ARGV,
        "invalid-input",
        "data.digest.model",
        files=_files(data={"model_name": "m", "version": "1.0.0", "digest": {}}),
    ),
    BadInput(
        "bad-repository",
        (*ARGV[:-1], "acme/Bad Name"),
        "invalid-input",
        "--repository",
        files=_files(),
    ),
    BadInput(
        "ecr-repository-not-ecr",
        (*ARGV, "--ecr-repository", "ghcr.io/acme/fraud"),
        "invalid-input",
        "--ecr-repository",
        files=_files(),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(
    case: BadInput, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    check_bad_input(case, tmp_path, monkeypatch, capsys)
