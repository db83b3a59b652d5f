locals {
  variants = {
    champion   = { model = var.champion, weight = 100 - var.challenger_weight }
    challenger = { model = var.challenger, weight = var.challenger_weight }
  }
}

resource "aws_sagemaker_model" "variant" {
  for_each = local.variants

  name_prefix              = substr("${var.name}-${each.key}-", 0, 37)
  execution_role_arn       = var.execution_role_arn
  enable_network_isolation = true
  tags                     = var.tags

  primary_container {
    image          = each.value.model.image
    model_data_url = each.value.model.model_data_url
    environment    = var.environment
  }

  vpc_config {
    subnets            = var.subnet_ids
    security_group_ids = var.security_group_ids
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_sagemaker_endpoint_configuration" "this" {
  name_prefix = substr("${var.name}-", 0, 37)
  kms_key_arn = var.kms_key_arn
  tags        = var.tags

  dynamic "production_variants" {
    for_each = local.variants

    content {
      variant_name           = production_variants.key
      model_name             = aws_sagemaker_model.variant[production_variants.key].name
      instance_type          = var.instance_type
      initial_instance_count = var.instance_count
      initial_variant_weight = production_variants.value.weight
    }
  }

  dynamic "data_capture_config" {
    for_each = var.data_capture_s3_uri == null ? [] : [var.data_capture_s3_uri]

    content {
      enable_capture              = true
      initial_sampling_percentage = var.data_capture_percentage
      destination_s3_uri          = data_capture_config.value
      kms_key_id                  = var.kms_key_arn

      capture_options {
        capture_mode = "Input"
      }

      capture_options {
        capture_mode = "Output"
      }
    }
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_sagemaker_endpoint" "this" {
  name                 = var.name
  endpoint_config_name = aws_sagemaker_endpoint_configuration.this.name
  tags                 = var.tags

  lifecycle {
    # canary-deploy shifts weights with UpdateEndpointWeightsAndCapacities between applies; Terraform
    # sets the starting weights through the endpoint configuration and leaves the live ones alone
    ignore_changes = [deployment_config]
  }
}
