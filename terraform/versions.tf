terraform {
  # Cross-variable validations need 1.9; the tests run fmt with the 1.11 CLI.
  required_version = ">= 1.11, < 2.0"

  # Partial configuration: the state bucket is created once by hand (README, step 2) and passed with
  # `terraform init -backend-config="bucket=..."`, so no project name is baked into the code.
  backend "gcs" {
    prefix = "water-network-monitoring"
  }

  required_providers {
    # The schema test checks every block against google 7.42's schema (../shared/data/terraform).
    google = {
      source  = "hashicorp/google"
      version = "~> 7.42"
    }
    # Only for google_project_service_identity (apis.tf), which the GA provider does not have.
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "~> 7.42"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.9"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.8"
    }
    # Only when var.upstash_database asks Terraform to create the Upstash Redis database (upstash.tf).
    upstash = {
      source  = "upstash/upstash"
      version = "~> 2.0"
    }
    # time_sleep: waits for new log-based metrics to become visible to alerting (observability.tf).
    time = {
      source  = "hashicorp/time"
      version = "~> 0.13"
    }
  }
}

provider "google" {
  project        = var.project_id
  region         = var.region
  default_labels = merge({ app = var.name_prefix }, var.labels)
}

provider "google-beta" {
  project        = var.project_id
  region         = var.region
  default_labels = merge({ app = var.name_prefix }, var.labels)
}
