# The bulk backfill as a Cloud Run job: history for many nodes (a year × 10,000 nodes is 5 billion
# readings) in N parallel tasks, each a shard of the nodes (every N-th node in id order, by
# CLOUD_RUN_TASK_INDEX of CLOUD_RUN_TASK_COUNT). Each task is idempotent and resumable on its own: the
# node watermarks say what is applied, so a retried task or a rerun execution skips the chunks it
# committed and nodes already at --to. Started by `npm run backfill -- --from … --to … --tasks N --cloud`
# (gcloud run jobs execute with --tasks N and the range as arguments). The arithmetic for Cloud SQL
# tiers is in README.md ("Backfilling history").
#
# It runs the ops image (jobs/ops, command `backfill`), as its own service account: it reads
# DATABASE_URL and the readings dataset, and nothing else.

locals {
  # What the backfill command reads of shared/config.ts: core, database, the readings source.
  backfill_job_env = {
    LOG_LEVEL              = var.log_level
    GOOGLE_CLOUD_PROJECT   = var.project_id
    TENANT_ID              = var.tenant_id
    PG_POOL_MAX            = 3 # two COPY writers and the planning reads
    MIGRATE_ON_START       = false
    READINGS_SOURCE        = "bigquery"
    BIGQUERY_DATASET       = local.bigquery_dataset_id
    BIGQUERY_TABLE         = local.bigquery_table_id
    BIGQUERY_LOCATION      = var.bigquery_location
    LATENESS_HORIZON_HOURS = var.lateness_horizon_hours
  }
}

resource "google_service_account" "backfill_job" {
  account_id   = "${var.name_prefix}-backfill-job"
  display_name = "${var.name_prefix} bulk backfill job"
  description  = "Runs the bulk backfill tasks; may read DATABASE_URL and the readings dataset only."
  depends_on   = [google_project_service.enabled]
}

resource "google_secret_manager_secret_iam_member" "backfill_job_reads_database_url" {
  secret_id = google_secret_manager_secret.env["DATABASE_URL"].id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.backfill_job.member
}

# Query jobs are billed to a project (jobUser exists only at project level); the data is readable only
# through the dataset grant below.
resource "google_project_iam_member" "backfill_job_bigquery_jobs" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = google_service_account.backfill_job.member
}

resource "google_bigquery_dataset_iam_member" "backfill_job_reads_readings" {
  dataset_id = local.bigquery_dataset_id
  role       = "roles/bigquery.dataViewer"
  member     = google_service_account.backfill_job.member
}

resource "google_cloud_run_v2_job" "backfill" {
  name                = "${var.name_prefix}-backfill"
  location            = var.region
  deletion_protection = false

  template {
    # The defaults; `npm run backfill -- --cloud --tasks N` sets the count per execution.
    task_count  = var.backfill_job.tasks
    parallelism = var.backfill_job.parallelism

    template {
      service_account = google_service_account.backfill_job.email
      # Resumable: a retried task skips the chunks of its shard it committed.
      max_retries = var.backfill_job.max_retries
      timeout     = "${var.backfill_job.task_timeout_seconds}s"

      containers {
        image = var.ops_image
        # The range comes with each execution: --args=backfill,--from=…,--to=…
        args = ["backfill"]

        dynamic "env" {
          for_each = local.backfill_job_env

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
          limits = { cpu = tostring(var.backfill_job.cpu), memory = var.backfill_job.memory }
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

  lifecycle {
    # The running tasks' connections come out of the reserve the functions' budget leaves (functions.tf).
    precondition {
      condition     = var.backfill_job.parallelism * 3 <= var.sql_reserved_connections
      error_message = "The backfill's ${var.backfill_job.parallelism} parallel tasks hold ${var.backfill_job.parallelism * 3} PostgreSQL connections (3 each), more than the ${var.sql_reserved_connections} of sql_reserved_connections. Lower backfill_job.parallelism, or raise sql_reserved_connections with sql_max_connections (and sql_tier)."
    }
  }

  depends_on = [
    google_secret_manager_secret_iam_member.backfill_job_reads_database_url,
    google_bigquery_dataset_iam_member.backfill_job_reads_readings,
  ]
}

output "backfill_job" {
  description = "The bulk backfill's Cloud Run job: `npm run backfill -- --cloud --job NAME --tasks N --from … --to …`."
  value       = google_cloud_run_v2_job.backfill.name
}
