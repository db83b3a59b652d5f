output "role_arn" {
  description = "ARN of the role: pass it to aws-actions/configure-aws-credentials as role-to-assume."
  value       = aws_iam_role.github.arn
}

output "role_name" {
  description = "Name of the role."
  value       = aws_iam_role.github.name
}

output "oidc_provider_arn" {
  description = "ARN of the GitHub OIDC provider the role trusts."
  value       = local.provider_arn
}

output "subjects" {
  description = "The exact token subjects the role accepts."
  value       = local.subjects
}
