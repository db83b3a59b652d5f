"""The exact set of files a generated project holds, per answers -- kept by hand on purpose.

Adding, renaming or making optional a file under `{{cookiecutter.project_slug}}/` must break
tests/template/test_matrix.py until it is listed here: the list is how a reviewer sees what users get.
`{package}` stands for the package name derived from the slug.
"""

from __future__ import annotations

from typing import Any

# Written by every generation, whatever the answers.
BASE: frozenset[str] = frozenset(
    {
        ".cruft.json",  # written by hooks/post_gen_project.py
        ".dockerignore",
        ".dvc/.gitignore",
        ".dvc/config",
        ".dvcignore",
        ".github/CODEOWNERS",
        ".github/dependabot.yml",  # grouped weekly updates; mlgate itself moves through template-update.yml
        ".github/workflows/cd.yml",  # from the eval branch (promote) + canary-staging / canary-prod
        ".github/workflows/ci.yml",
        ".github/workflows/monitor.yml",
        ".github/workflows/template-update.yml",
        ".github/pull_request_template.md",
        ".github/settings/environments.yml",  # applied by settings.yml (mlgate repo-settings)
        ".github/settings/rulesets/main.json",
        ".github/workflows/settings.yml",
        ".gitignore",
        ".pre-commit-config.yaml",
        ".python-version",
        "Dockerfile",
        "LICENSE",
        "Makefile",
        "README.md",
        "SECURITY.md",
        "data/raw/README.md",  # data/raw/transactions.csv: what load_raw() returned, a DVC output
        "data/reference_profile.json",
        "docs/adr/0001-template-choices.md",
        "docs/adr/0002-repository-settings-as-code.md",
        "docs/adr/template.md",
        "docs/model_card.md",
        "docs/pre-mortem.md",
        "docs/runbook.md",
        "deploy/kserve/inferenceservice-standard.yaml",  # KServe Standard mode: spec.canary
        "deploy/kserve/inferenceservice.yaml",  # KServe Serverless mode: canaryTrafficPercent
        "dvc.yaml",
        "gx/.gitignore",
        "gx/checkpoints/data-contract.json",
        "gx/expectations/.ge_store_backend_id",
        "gx/expectations/transactions.json",
        "gx/great_expectations.yml",
        "gx/plugins/custom_data_docs/styles/data_docs_custom_styles.css",
        "gx/validation_definitions/transactions.json",
        "mlgate.yaml",
        "notebooks/01-explore-raw-data.ipynb",  # outputs stripped by the nbstripout hook
        "params.yaml",
        "pyproject.toml",
        "monitoring/README.md",
        "monitoring/grafana/dashboards/data-quality.json",
        "monitoring/grafana/dashboards/model-behaviour.json",
        "monitoring/grafana/dashboards/service-health.json",
        "monitoring/grafana/provisioning/dashboards/dashboards.yml",
        "monitoring/grafana/provisioning/datasources/prometheus.yml",
        "monitoring/prometheus/rules.yml",  # alerts as code (make alerts-test)
        "monitoring/prometheus/rules.test.yml",
        "src/{package}/__init__.py",
        "src/{package}/data.py",
        "src/{package}/evaluate.py",
        "src/{package}/features.py",
        "src/{package}/metrics.py",  # shared by train and evaluate (no import loop)
        "src/{package}/params.py",
        "src/{package}/py.typed",
        "src/{package}/raw.py",  # load_raw(): the one function to replace to bring real data
        "src/{package}/schema.py",  # the raw data contract
        "src/{package}/serve.py",
        "src/{package}/simulate.py",
        "src/{package}/synthetic.py",  # the default data source and the golden dataset
        "src/{package}/train.py",
        "tests/__init__.py",
        "tests/conftest.py",
        "tests/test_data.py",
        "tests/test_model.py",
        "tests/test_service.py",
        "tests/test_settings_agree.py",  # params.yaml and mlgate.yaml agree on shared values
        "tests/test_simulate.py",
        "tests/test_tracking.py",
    }
)

# Files that exist only for some answers: {(option, value): files}.
ONLY_WHEN: dict[tuple[str, str], frozenset[str]] = {
    # cloud=aws: both environments on mlgate's modules, and the plan/apply workflow
    ("cloud", "aws"): frozenset(
        {".github/workflows/infra.yml"}
        | {
            f"terraform/envs/{env}/{name}"
            for env in ("staging", "prod")
            for name in ("backend.tf", "main.tf", "outputs.tf", "variables.tf")
        }
    ),
}

# Files that the initialisation steps add (not part of the rendering; see test_post_gen.py).
FROM_INIT: frozenset[str] = frozenset({"uv.lock"})


def expected_files(answers: dict[str, Any]) -> set[str]:
    package = str(answers["__package_name"])
    files = set(BASE)
    for (option, value), extra in ONLY_WHEN.items():
        if str(answers.get(option)) == value:
            files |= extra
    return {path.format(package=package) for path in files}
