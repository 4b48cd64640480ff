# A region's stack, built only from Terraform's built-in `terraform_data` resource so the
# example plans and applies anywhere, with no provider downloads (../../run.sh). The AWS
# stack the workflows apply, with its S3 backend, is ../../infra/main.tf.
terraform {
  required_version = ">= 1.5"
  backend "local" {}
}

variable "region" {
  type        = string
  description = "Region this stack serves, e.g. us-east."
}

variable "replicas" {
  type    = number
  default = 2
}

variable "release" {
  type    = string
  default = "v1"
}

resource "terraform_data" "network" {
  input = { region = var.region, cidr = "10.0.0.0/16" }
}

resource "terraform_data" "service" {
  count = var.replicas
  input = { region = var.region, release = var.release, index = count.index }
}

resource "terraform_data" "database" {
  input            = { region = var.region, engine = "postgres" }
  triggers_replace = [var.release == "v1" ? "stable" : "major-upgrade"]
}

output "endpoint" {
  value = "https://${var.region}.api.example.com/healthz"
}

output "replicas" {
  value = var.replicas
}
