locals {
  issuer = "token.actions.githubusercontent.com"
  subjects = concat(
    [for env in var.environments : "repo:${var.repository}:environment:${env}"],
    [for branch in var.branches : "repo:${var.repository}:ref:refs/heads/${branch}"],
    var.pull_requests ? ["repo:${var.repository}:pull_request"] : [],
  )
  provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : var.oidc_provider_arn
}

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 1 : 0

  url            = "https://${local.issuer}"
  client_id_list = ["sts.amazonaws.com"]
  tags           = var.tags
}

data "aws_iam_policy_document" "trust" {
  statement {
    sid     = "GitHubActionsOIDC"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }

    # exact subjects only: no wildcards, so no other repository, branch or environment matches
    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:sub"
      values   = local.subjects
    }
  }
}

resource "aws_iam_role" "github" {
  name                 = var.role_name
  description          = "Assumed by GitHub Actions in ${var.repository} through OIDC"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = var.max_session_duration
  tags                 = var.tags

  lifecycle {
    precondition {
      condition     = length(local.subjects) > 0
      error_message = "Give at least one environment, branch or pull_requests = true: a role nobody can assume is a mistake."
    }
    precondition {
      condition     = var.create_oidc_provider || var.oidc_provider_arn != null
      error_message = "Pass oidc_provider_arn when create_oidc_provider is false."
    }
  }
}

resource "aws_iam_role_policy" "github" {
  name   = "${var.role_name}-policy"
  role   = aws_iam_role.github.id
  policy = var.policy_json
}

resource "aws_iam_role_policy_attachment" "managed" {
  for_each = toset(var.managed_policy_arns)

  role       = aws_iam_role.github.name
  policy_arn = each.value
}
