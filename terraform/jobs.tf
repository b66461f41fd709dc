# Cloud Run jobs that do what nobody outside the VPC can: the database has a private IP only.
#
#   <prefix>-migrate           applies pending migrations. `npm run deploy` (and cloudbuild.yaml) execute it
#                              after apply and before any new revision takes traffic (the functions run with
#                              MIGRATE_ON_START=false and refuse to start on a schema behind their code).
#   <prefix>-first-admin-key   makes the tenant's first admin API key; the deploy command passes a
#                              throw-away public key per execution and the job logs the key sealed to it.
#
# Both run the ops image (jobs/ops, built by `npm run build` into dist/jobs/ops and pushed by the deploy
# command, tagged by content hash) as a service account that can read DATABASE_URL and nothing else.

locals {
  ops_jobs = {
    migrate         = { args = ["migrate"], description = "Applies pending schema migrations (before traffic moves to a new revision)." }
    first-admin-key = { args = ["first-admin-key"], description = "Creates the first admin API key, logged only sealed to the caller's public key." }
  }

  # What the ops job reads of shared/config.ts: core, database, and the API's default rate limit (the key's).
  ops_job_env = {
    LOG_LEVEL             = var.log_level
    GOOGLE_CLOUD_PROJECT  = var.project_id
    TENANT_ID             = var.tenant_id
    PG_POOL_MAX           = 1
    RATE_LIMIT_PER_MINUTE = var.api_settings.rate_limit_per_minute
  }
}

resource "google_service_account" "ops_job" {
  account_id   = "${var.name_prefix}-ops-job"
  display_name = "${var.name_prefix} operations jobs"
  description  = "Runs the migrate and first-admin-key jobs; may read DATABASE_URL only."
  depends_on   = [google_project_service.enabled]
}

resource "google_secret_manager_secret_iam_member" "ops_job_reads_database_url" {
  secret_id = google_secret_manager_secret.env["DATABASE_URL"].id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.ops_job.member
}

resource "google_cloud_run_v2_job" "ops" {
  for_each = local.ops_jobs

  name                = "${var.name_prefix}-${each.key}"
  location            = var.region
  deletion_protection = false

  template {
    task_count = 1

    template {
      service_account = google_service_account.ops_job.email
      max_retries     = 0 # a failed migration is looked at, not retried blindly
      timeout         = "900s"

      containers {
        image = var.ops_image
        args  = each.value.args

        dynamic "env" {
          for_each = local.ops_job_env

          content {
            name  = env.key
            value = env.value
          }
        }

        env {
          name = "DATABASE_URL"
          value_source {
            secret_key_ref {
              secret  = google_secret_manager_secret.env["DATABASE_URL"].secret_id
              version = google_secret_manager_secret_version.env["DATABASE_URL"].version
            }
          }
        }

        dynamic "env" {
          for_each = var.use_cloud_sql ? ["DATABASE_CA_CERT"] : []

          content {
            name  = env.value
            value = local.database_ca_cert
          }
        }

        resources {
          limits = { cpu = "1", memory = "512Mi" }
        }
      }

      # The same subnet as the functions: Cloud SQL's private IP is reachable from there only.
      dynamic "vpc_access" {
        for_each = var.use_cloud_sql ? [google_compute_subnetwork.functions[0]] : []

        content {
          egress = "PRIVATE_RANGES_ONLY"

          network_interfaces {
            network    = google_compute_network.vpc[0].id
            subnetwork = vpc_access.value.id
          }
        }
      }
    }
  }

  depends_on = [google_secret_manager_secret_iam_member.ops_job_reads_database_url]
}

output "ops_jobs" {
  description = "Cloud Run jobs of operations, by command: migrate (run before traffic moves) and first-admin-key."
  value       = { for key, job in google_cloud_run_v2_job.ops : key => job.name }
}
