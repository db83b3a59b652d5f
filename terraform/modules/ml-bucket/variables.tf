variable "name" {
  description = "Globally unique bucket name."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for default encryption; null creates a dedicated key with rotation enabled."
  type        = string
  default     = null
}

variable "noncurrent_version_days" {
  description = "Days a replaced or deleted object version is kept before it expires."
  type        = number
  default     = 90
}

variable "transition_to_ia_days" {
  description = "Days after which current objects move to STANDARD_IA (data and artifacts are read rarely once old)."
  type        = number
  default     = 30
}

variable "access_log_bucket" {
  description = "Bucket that receives this bucket's server access logs; null turns access logging off."
  type        = string
  default     = null
}

variable "force_destroy" {
  description = "Allow `terraform destroy` to delete a non-empty bucket (keep false for real data)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
