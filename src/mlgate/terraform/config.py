"""`terraform:` in mlgate.yaml: the defaults of `mlgate tf-plan` and `mlgate tf-apply` (flags win)."""

from __future__ import annotations

from pydantic import Field

from mlgate.config import Section

DEFAULT_AUTHOR = "github-actions[bot]"


class TerraformSection(Section):
    """`terraform:` in mlgate.yaml — defaults for `mlgate tf-plan` and `mlgate tf-apply` (flags win)."""

    lock_timeout: str = Field(
        "5m",
        pattern=r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$",
        description="How long plan and apply wait for the state lock (a Go duration: `5m`, `90s`, `1h30m`).",
    )
    checkov: bool = Field(True, description="Run checkov on the configuration and on the JSON plan.")
    checkov_skip: list[str] = Field(
        default_factory=list, description="checkov check ids never run (say why in a comment next to each)."
    )
    checkov_soft_fail: list[str] = Field(
        default_factory=list,
        description="checkov check ids reported as warnings instead of failing the gate.",
    )
    checkov_baseline: str | None = Field(
        None, description="A checkov baseline file of accepted findings (checkov --create-baseline)."
    )
    fail_on_fmt: bool = Field(True, description="Fail the plan gate when `terraform fmt -check` finds files.")
    labels: bool = Field(True, description="Label the PR `terraform:no-changes` / `terraform:destroy`.")
    comment_author: str = Field(
        DEFAULT_AUTHOR, description="Login whose plan comment tf-apply trusts (the token that posts it)."
    )
