output "repository_url" {
  description = "Repository URL (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`): the ECR_REPOSITORY variable of cd.yml."
  value       = aws_ecr_repository.this.repository_url
}

output "repository_arn" {
  description = "ARN of the repository."
  value       = aws_ecr_repository.this.arn
}

output "push_policy_json" {
  description = "IAM policy (JSON) that lets a role push to this repository only: give it to CD's image-push role."
  value       = data.aws_iam_policy_document.push.json
}

output "pull_policy_json" {
  description = "IAM policy (JSON) that lets a role log in and pull from this repository only (for an execution role without ECR access)."
  value       = data.aws_iam_policy_document.pull.json
}
