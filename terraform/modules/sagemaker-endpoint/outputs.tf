output "endpoint_name" {
  description = "Name of the endpoint (what canary-deploy and the service call)."
  value       = aws_sagemaker_endpoint.this.name
}

output "endpoint_arn" {
  description = "ARN of the endpoint."
  value       = aws_sagemaker_endpoint.this.arn
}

output "endpoint_config_name" {
  description = "Name of the current endpoint configuration."
  value       = aws_sagemaker_endpoint_configuration.this.name
}

output "variant_names" {
  description = "Production variant names, champion first."
  value       = ["champion", "challenger"]
}

output "model_names" {
  description = "SageMaker model name of each variant."
  value       = { for key, model in aws_sagemaker_model.variant : key => model.name }
}
