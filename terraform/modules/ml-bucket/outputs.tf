output "bucket" {
  description = "Name of the bucket."
  value       = aws_s3_bucket.this.id
}

output "arn" {
  description = "ARN of the bucket."
  value       = aws_s3_bucket.this.arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the bucket."
  value       = local.kms_key_arn
}

output "uri" {
  description = "`s3://` URI of the bucket (e.g. a DVC remote or MLflow artifact root)."
  value       = "s3://${aws_s3_bucket.this.id}"
}
