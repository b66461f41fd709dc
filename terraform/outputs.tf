output "api_url" {
  description = "Base URL of the public API (routes under /api/v1; OpenAPI page at /docs)."
  value       = google_cloudfunctions2_function.function["api"].service_config[0].uri
}

output "bigquery_readings_table" {
  description = "Fully qualified readings table the dispatcher reads (project.dataset.table)."
  value       = "${var.project_id}.${local.bigquery_dataset_id}.${local.bigquery_table_id}"
}

output "dashboard_url" {
  description = "Cloud Monitoring dashboard of the system."
  value       = "https://console.cloud.google.com/monitoring/dashboards/builder/${element(split("/", google_monitoring_dashboard.overview.id), length(split("/", google_monitoring_dashboard.overview.id)) - 1)}?project=${var.project_id}"
}

output "dead_letter_subscription" {
  description = "Pull subscription where dead-lettered messages wait for an operator."
  value       = google_pubsub_subscription.dead_letter_hold.name
}

output "firestore_database" {
  description = "Firestore database used for coordination."
  value       = google_firestore_database.coordination.name
}

output "function_names" {
  description = "Deployed function (and Cloud Run service) names, by role."
  value       = { for name, f in google_cloudfunctions2_function.function : name => f.name }
}

output "function_service_accounts" {
  description = "Runtime service account of each function."
  value       = { for name, sa in google_service_account.function : name => sa.email }
}

output "function_source_bucket" {
  description = "Bucket holding the uploaded function bundles (hash-named objects)."
  value       = google_storage_bucket.function_sources.name
}

output "scheduler_jobs" {
  description = "Cloud Scheduler jobs: the processing cycle and the daily maintenance."
  value = {
    cycle       = google_cloud_scheduler_job.cycle.name
    maintenance = google_cloud_scheduler_job.maintenance.name
  }
}

output "secret_ids" {
  description = "Secret Manager secrets the functions read, by environment variable."
  value       = { for name, s in google_secret_manager_secret.env : name => s.secret_id }
}

output "sql_connection_name" {
  description = "Cloud SQL instance connection name (project:region:instance); null with an external database."
  value       = var.use_cloud_sql ? google_sql_database_instance.main[0].connection_name : null
}

output "sql_private_ip" {
  description = "Private IP of the Cloud SQL instance, reachable only from the VPC; null with an external database."
  value       = var.use_cloud_sql ? google_sql_database_instance.main[0].private_ip_address : null
}

output "topics" {
  description = "Pub/Sub topic names."
  value = {
    cycle          = google_pubsub_topic.cycle.name
    node_work      = google_pubsub_topic.node_work.name
    network_rollup = google_pubsub_topic.network_rollup.name
    dead_letter    = google_pubsub_topic.dead_letter.name
  }
}

output "upstash_database_id" {
  description = "Id of the Upstash Redis database Terraform created (null when an existing one is used)."
  value       = one(upstash_redis_database.cache[*].database_id)
}
