# Cloud SQL for PostgreSQL: private IP only, encrypted connections only, daily backups with
# point-in-time recovery, deletion protection. Cloud SQL has no TimescaleDB; the schema runs on plain
# PostgreSQL (native partitioning) and uses TimescaleDB only where the extension exists, e.g. with
# use_cloud_sql = false and an external_database_url.

# Instance names stay reserved for a week after deletion; the suffix lets a rebuilt system start at once.
resource "random_id" "sql_instance_suffix" {
  count = var.use_cloud_sql ? 1 : 0

  byte_length = 3
}

resource "google_sql_database_instance" "main" {
  count = var.use_cloud_sql ? 1 : 0

  name                = "${var.name_prefix}-pg-${random_id.sql_instance_suffix[0].hex}"
  region              = var.region
  database_version    = var.sql_database_version
  deletion_protection = var.sql_deletion_protection

  settings {
    edition                     = "ENTERPRISE"
    tier                        = var.sql_tier
    availability_type           = var.sql_availability_type
    disk_type                   = "PD_SSD"
    disk_size                   = var.sql_disk_size_gb
    disk_autoresize             = true
    deletion_protection_enabled = var.sql_deletion_protection

    ip_configuration {
      ipv4_enabled    = false
      private_network = google_compute_network.vpc[0].id
      ssl_mode        = "ENCRYPTED_ONLY"
    }

    backup_configuration {
      enabled                        = true
      point_in_time_recovery_enabled = true
      start_time                     = "02:00"
      transaction_log_retention_days = var.sql_transaction_log_retention_days

      backup_retention_settings {
        retained_backups = var.sql_backup_retained_count
        retention_unit   = "COUNT"
      }
    }

    # The functions' pools are sized against this number (precondition in functions.tf).
    database_flags {
      name  = "max_connections"
      value = tostring(var.sql_max_connections)
    }

    maintenance_window {
      day          = 7
      hour         = 3
      update_track = "stable"
    }

    insights_config {
      query_insights_enabled  = true
      record_application_tags = false
      record_client_address   = false
    }
  }

  depends_on = [google_service_networking_connection.private_services]
}

resource "google_sql_database" "app" {
  count = var.use_cloud_sql ? 1 : 0

  name     = replace(var.name_prefix, "-", "_")
  instance = google_sql_database_instance.main[0].name
}

# Letters and digits only, so the password needs no escaping inside DATABASE_URL. Ephemeral: generated
# for the apply that uses it and never written to the state or the plan. It reaches Cloud SQL and the
# DATABASE_URL secret through write-only attributes, in the same apply, only when secrets_version changes
# (first apply, or a rotation); other applies generate a value nobody uses.
ephemeral "random_password" "sql_app" {
  count = var.use_cloud_sql ? 1 : 0

  length  = 32
  special = false
}

resource "google_sql_user" "app" {
  count = var.use_cloud_sql ? 1 : 0

  name                = replace(var.name_prefix, "-", "_")
  instance            = google_sql_database_instance.main[0].name
  password_wo         = ephemeral.random_password.sql_app[0].result
  password_wo_version = var.secrets_version
}
