"""`mlgate image-metadata`: the service image's tags and labels, between the promotion and serving
(`mlgate fetch-model` is in `mlgate.deploy.fetch`).

    mlgate image-metadata --promotion .mlgate/reports/promote.json --model candidate/model \
        --registry ghcr.io --repository acme/fraud-detection
        outputs `image`, `tags` (one per line) and `labels` (KEY=VALUE, one per line) for
        docker/build-push-action, and writes them to <report-dir>/image-metadata.json
        --ecr-repository (MLGATE_ECR_REPOSITORY; cd.yml: the ECR_REPOSITORY variable): the same tags on
        that ECR repository too, and outputs `ecr-repository`, `ecr-registry` (docker login) and
        `ecr-region` (configure-aws-credentials); all empty without it
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from mlgate.gate import path_option, report_dir_option


@click.command("image-metadata")
@path_option("--promotion", required=True, help="promote.json of the promotion (mlgate promote).")
@path_option("--model", "model_dir", required=True, help="The promoted model folder the image will serve.")
@click.option(
    "--registry", envvar="MLGATE_IMAGE_REGISTRY", default="ghcr.io", help="Container registry host."
)
@click.option(
    "--repository", envvar="GITHUB_REPOSITORY", required=True, help="owner/name (default: GITHUB_REPOSITORY)."
)
@click.option("--git-sha", envvar="GITHUB_SHA", default="", help="Commit built (default: GITHUB_SHA).")
@click.option("--server-url", envvar="GITHUB_SERVER_URL", default="https://github.com", help="GitHub URL.")
@click.option(
    "--ecr-repository",
    envvar="MLGATE_ECR_REPOSITORY",
    default="",
    help="ECR repository URL to tag as well (SageMaker pulls from ECR); empty: ghcr.io only.",
)
@report_dir_option()
def image_command(
    *,
    promotion: Path,
    model_dir: Path,
    registry: str,
    repository: str,
    git_sha: str,
    server_url: str,
    ecr_repository: str,
    report_dir: Path,
) -> int:
    """OCI labels and tags for the service image of the promoted model."""
    from mlgate import github
    from mlgate.deploy.image import image_metadata
    from mlgate.gate import run_gate

    def work() -> int:
        meta = image_metadata(
            promotion=promotion,
            model_dir=model_dir,
            registry=registry,
            repository=repository,
            git_sha=git_sha,
            server_url=server_url,
            ecr=ecr_repository,
        )
        ecr = meta.ecr
        report_dir.mkdir(parents=True, exist_ok=True)
        out = report_dir / "image-metadata.json"
        out.write_text(
            json.dumps(
                {
                    "image": meta.image,
                    "tags": meta.tags,
                    "labels": meta.labels,
                    "ecr-repository": ecr.url if ecr else "",
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        runner = github.Runner.from_env()
        runner.set_outputs(
            {
                "image": meta.image,
                "tags": "\n".join(meta.tags),
                "labels": meta.labels_text(),
                "ecr-repository": ecr.url if ecr else "",
                "ecr-registry": ecr.registry if ecr else "",
                "ecr-region": ecr.region if ecr else "",
            }
        )
        click.echo(f"image {meta.image}: tags {', '.join(meta.tags)}; {len(meta.labels)} labels ({out})")
        return 0

    return run_gate("image-metadata", work)
