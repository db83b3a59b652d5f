variable "name" {
  description = "Name of the repository (lower case, as image names are)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$", var.name))
    error_message = "ECR repository names are lower-case path components, e.g. fraud-detection."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the images (e.g. the artifact bucket's key)."
  type        = string
}

variable "pull_role_arns" {
  description = "Roles that may pull the images (the SageMaker execution roles), granted in the repository policy."
  type        = list(string)
  default     = []
}

variable "keep_images" {
  description = "How many model images (tags `model-*`) to keep; older ones expire. Keep more than the versions you may roll back to."
  type        = number
  default     = 30

  validation {
    condition     = var.keep_images >= 1
    error_message = "keep_images must be at least 1."
  }
}

variable "untagged_days" {
  description = "Days after which untagged images (superseded layers of re-run builds) expire."
  type        = number
  default     = 7
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
