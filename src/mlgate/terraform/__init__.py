"""Terraform gates: `mlgate tf-plan` (a reviewed plan in the PR) and `mlgate tf-apply` (exactly that plan).

- `plan`: pure functions over Terraform's JSON plan — `PlanSummary`, the fingerprint of the normalized
  resource and output changes (never of the plan text), sensitive-value masking from the plan's own
  `before_sensitive` / `after_sensitive` markers, and the PR comment.
- `runner`: the `terraform` subprocess calls (fmt, init, validate, plan, show, apply) and their JSON
  diagnostics.
- `checkov`: checkov on the configuration and on the JSON plan, judged from its JSON report (SARIF kept
  for code scanning), with skip / soft-fail by check id and a baseline file.
- `tf_plan` / `tf_apply`: the two commands.
"""
