"""Terraform gates: `mlgate tf-plan` (a reviewed plan in the PR) and `mlgate tf-apply` (exactly that plan).

- `config`: `TerraformSection`, the `terraform:` section of mlgate.yaml.
- `plan_format`: the shape of `terraform show -json`, checked before anything is summarised.
- `plan_summary`: the parsed plan model — `PlanSummary`, the fingerprint of the normalized resource and
  output changes (never of the plan text), sensitive-value masking from the plan's own
  `before_sensitive` / `after_sensitive` markers.
- `comments`: the PR comment — all its text (summary, resources, hidden header, reason headlines, apply
  outcome) and the API calls that find it, label the PR and record the apply outcome.
- `runner`: the `terraform` subprocess calls (fmt, init, validate, plan, show, apply) and their JSON
  diagnostics.
- `checkov`: checkov on the configuration and on the JSON plan, judged from its JSON report (SARIF kept
  for code scanning), with skip / soft-fail by check id and a baseline file.
- `steps`: the steps both commands run (init, validate, plan, show → `PlanRun`) and their shared options.
- `plan_command` / `apply_command`: the two click commands, `tf-plan` and `tf-apply`.
"""
