# Values shared by several files. Resources live in files named for what they hold.

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  # Google-managed identities that act on our resources: the Pub/Sub agent, created before any grant to
  # it (apis.tf), so a new project needs no second apply.
  pubsub_service_agent = "serviceAccount:${google_project_service_identity.pubsub.email}"

  # Database the functions use: the Cloud SQL instance created here, or the external URL. Ephemeral (it
  # holds the password): it only ever reaches the DATABASE_URL secret's write-only value (secrets.tf).
  # sslmode=require: Cloud SQL only accepts encrypted connections (ssl_mode ENCRYPTED_ONLY); the clients
  # also verify its certificate against the instance's CA (DATABASE_CA_CERT below).
  database_url = var.use_cloud_sql ? format(
    "postgres://%s:%s@%s:5432/%s?sslmode=require",
    google_sql_user.app[0].name,
    ephemeral.random_password.sql_app[0].result,
    google_sql_database_instance.main[0].private_ip_address,
    google_sql_database.app[0].name,
  ) : var.external_database_url

  # The Cloud SQL instance's own CA (public, not a secret): clients verify the server's certificate
  # against it (DATABASE_CA_CERT, verify-ca; the certificate names project:instance, not the private IP).
  database_ca_cert = var.use_cloud_sql ? google_sql_database_instance.main[0].server_ca_cert[0].cert : ""

  # Every instance of every function may hold its full pool at once; that must fit under the database's
  # connection limit with room for migrations and operators (enforced by a precondition in functions.tf).
  database_max_connections          = var.use_cloud_sql ? var.sql_max_connections : var.external_database_max_connections
  database_connections_at_max_scale = sum([for f in values(var.functions) : f.max_instance_count * f.pg_pool_max])

  bigquery_dataset_id = var.bigquery_existing_table == null ? google_bigquery_dataset.readings[0].dataset_id : var.bigquery_existing_table.dataset_id
  bigquery_table_id   = var.bigquery_existing_table == null ? google_bigquery_table.readings[0].table_id : var.bigquery_existing_table.table_id
}
