variable "repository" {
  description = "The GitHub repository allowed to assume the role, as `owner/name`."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.repository))
    error_message = "The repository must look like owner/name, e.g. acme/fraud-detection."
  }
}

variable "environments" {
  description = "GitHub environments whose jobs may assume the role (the token subject `repo:OWNER/NAME:environment:ENV`). Protect each environment with required reviewers and deployment branches."
  type        = list(string)
  default     = []
}

variable "branches" {
  description = "Branches whose jobs without an environment may assume the role (subject `repo:OWNER/NAME:ref:refs/heads/BRANCH`). Empty means environment jobs only."
  type        = list(string)
  default     = []
}

variable "pull_requests" {
  description = "Whether pull-request jobs may assume the role (subject `repo:OWNER/NAME:pull_request`), e.g. a read-only plan role."
  type        = bool
  default     = false
}

variable "role_name" {
  description = "Name of the IAM role."
  type        = string
}

variable "policy_json" {
  description = "The IAM policy (JSON) the role gets: grant only what the workflow needs."
  type        = string
}

variable "managed_policy_arns" {
  description = "Extra managed policies to attach (e.g. ReadOnlyAccess for a plan role)."
  type        = list(string)
  default     = []
}

variable "create_oidc_provider" {
  description = "Create the account's GitHub OIDC provider; set false when it already exists and pass oidc_provider_arn."
  type        = bool
  default     = true
}

variable "oidc_provider_arn" {
  description = "ARN of an existing GitHub OIDC provider (when create_oidc_provider is false)."
  type        = string
  default     = null
}

variable "max_session_duration" {
  description = "Longest session, in seconds, a workflow can hold the role."
  type        = number
  default     = 3600
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
