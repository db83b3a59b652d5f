variable "name" {
  description = "Name of the endpoint (models and endpoint configurations get it as a prefix)."
  type        = string
}

variable "execution_role_arn" {
  description = "IAM role SageMaker assumes to pull the image and model artifacts."
  type        = string
}

variable "champion" {
  description = "The serving model: container image URI and model artifact (`s3://…/model.tar.gz`)."
  type = object({
    image          = string
    model_data_url = string
  })
}

variable "challenger" {
  description = "The candidate model receiving challenger_weight of the traffic; same shape as champion."
  type = object({
    image          = string
    model_data_url = string
  })
}

variable "challenger_weight" {
  description = "Share of traffic (0–100) routed to the challenger; canary-deploy moves it with UpdateEndpointWeightsAndCapacities."
  type        = number
  default     = 0

  validation {
    condition     = var.challenger_weight >= 0 && var.challenger_weight <= 100
    error_message = "challenger_weight is a percentage between 0 and 100."
  }
}

variable "instance_type" {
  description = "Instance type of both variants."
  type        = string
  default     = "ml.m5.large"
}

variable "instance_count" {
  description = "Initial instances per variant."
  type        = number
  default     = 1
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the endpoint's storage volumes and captured data."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets the model containers run in."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the model containers."
  type        = list(string)
}

variable "data_capture_s3_uri" {
  description = "Where request and response samples are captured for drift checks; null turns capture off."
  type        = string
  default     = null
}

variable "data_capture_percentage" {
  description = "Percentage of requests captured when data capture is on."
  type        = number
  default     = 10
}

variable "environment" {
  description = "Environment variables of both model containers."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
