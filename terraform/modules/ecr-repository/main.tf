# The service image in the project's own registry: SageMaker pulls only from ECR, so CD pushes the one
# build it pushes to ghcr.io here too. Tags are immutable (a version's tag names one digest forever),
# every push is scanned, images are encrypted with the caller's KMS key, old images expire.
resource "aws_ecr_repository" "this" {
  name                 = var.name
  image_tag_mutability = "IMMUTABLE"
  tags                 = var.tags

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Untagged images (superseded layers of re-run builds) expire"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = var.untagged_days
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the newest model images (rollback targets); older ones expire"
        selection = {
          tagStatus     = "tagged"
          tagPrefixList = ["model-"]
          countType     = "imageCountMoreThan"
          countNumber   = var.keep_images
        }
        action = { type = "expire" }
      },
    ]
  })
}

# Pull: the SageMaker execution roles, named in the repository policy (works across accounts too).
data "aws_iam_policy_document" "repository" {
  count = length(var.pull_role_arns) > 0 ? 1 : 0

  statement {
    sid     = "SageMakerPull"
    actions = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]

    principals {
      type        = "AWS"
      identifiers = var.pull_role_arns
    }
  }
}

resource "aws_ecr_repository_policy" "this" {
  count = length(var.pull_role_arns) > 0 ? 1 : 0

  repository = aws_ecr_repository.this.name
  policy     = data.aws_iam_policy_document.repository[0].json
}

# Push: an identity policy for CD's role (the image job), this repository only. GetAuthorizationToken
# has no resource: it only issues the login token, every image action is checked against the repository.
data "aws_iam_policy_document" "push" {
  # checkov:skip=CKV_AWS_356: ecr:GetAuthorizationToken supports no resource but "*"; the image actions are scoped to this repository
  statement {
    sid       = "Login"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "PushThisRepository"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:DescribeImages",
      "ecr:GetDownloadUrlForLayer",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = [aws_ecr_repository.this.arn]
  }
}

# Pull, as an identity policy, for execution roles that need the login token too.
data "aws_iam_policy_document" "pull" {
  # checkov:skip=CKV_AWS_356: ecr:GetAuthorizationToken supports no resource but "*"; the image actions are scoped to this repository
  statement {
    sid       = "Login"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullThisRepository"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [aws_ecr_repository.this.arn]
  }
}
