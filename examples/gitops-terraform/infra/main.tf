# One region's stack for the GitOps seed. The state lives in S3, one key per region
# (`gitops/<region>.tfstate`, set by the pipelines at `terraform init`); terraform's own
# per-command lock is in DynamoDB beside Tollgate's plan-to-apply lock (backend.hcl).
#
# The resources are SSM parameters: cheap, real, and able to drift (anyone with console
# access can change one behind terraform's back, which the nightly drift check reports).
# Locally the AWS endpoints are moto's (AWS_ENDPOINT_URL, see ../run-under-act.sh); on AWS
# nothing here changes.
terraform {
  required_version = ">= 1.6"
  required_providers {
    # Pinned exactly: the plan is applied by another job, which must load the same provider.
    aws = { source = "hashicorp/aws", version = "5.100.0" }
  }
  backend "s3" {}
}

variable "region" {
  type        = string
  description = "The region this stack serves: us-east, eu-west or ap-south."
  validation {
    condition     = contains(keys(local.aws_regions), var.region)
    error_message = "region must be one of us-east, eu-west, ap-south."
  }
}

variable "release" {
  type        = string
  default     = "v1"
  description = "The service release this region runs."
}

variable "replicas" {
  type    = number
  default = 3
}

locals {
  aws_regions = { "us-east" = "us-east-1", "eu-west" = "eu-west-1", "ap-south" = "ap-south-1" }
  tags        = { stack = "openclaw", region = var.region, managed-by = "terraform" }
}

provider "aws" {
  region = local.aws_regions[var.region]
}

resource "aws_ssm_parameter" "release" {
  name           = "/openclaw/${var.region}/release"
  type           = "String"
  insecure_value = var.release
  tags           = local.tags
}

resource "aws_ssm_parameter" "replicas" {
  name           = "/openclaw/${var.region}/replicas"
  type           = "String"
  insecure_value = tostring(var.replicas)
  tags           = local.tags
}

output "release" {
  value = aws_ssm_parameter.release.insecure_value
}
