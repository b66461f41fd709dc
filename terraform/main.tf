# Values shared by several files. Resources live in files named for what they hold.

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  # Google-managed identities that act on our resources.
  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  # Database the functions use: the Cloud SQL instance created here, or the external URL.
  # sslmode=require: Cloud SQL only accepts encrypted connections (ssl_mode ENCRYPTED_ONLY); its server
  # certificate is signed by a per-instance CA, which postgres.js does not verify in this mode.
  database_url = var.use_cloud_sql ? format(
    "postgres://%s:%s@%s:5432/%s?sslmode=require",
    google_sql_user.app[0].name,
    random_password.sql_app[0].result,
    google_sql_database_instance.main[0].private_ip_address,
    google_sql_database.app[0].name,
  ) : var.external_database_url

  # Every instance of every function may hold its full pool at once; that must fit under the database's
  # connection limit with room for migrations and operators (enforced by a precondition in functions.tf).
  database_max_connections          = var.use_cloud_sql ? var.sql_max_connections : var.external_database_max_connections
  database_connections_at_max_scale = sum([for f in values(var.functions) : f.max_instance_count * f.pg_pool_max])

  bigquery_dataset_id = var.bigquery_existing_table == null ? google_bigquery_dataset.readings[0].dataset_id : var.bigquery_existing_table.dataset_id
  bigquery_table_id   = var.bigquery_existing_table == null ? google_bigquery_table.readings[0].table_id : var.bigquery_existing_table.table_id
}
