# The secrets the functions read as environment variables. Each function may read only the
# secrets its configuration uses (function_secret_env in functions.tf), one grant per secret.
#
# No value reaches the Terraform state or a saved plan: the Upstash credentials and an external database
# URL are ephemeral variables, the database password an ephemeral resource (sql.tf), and they are written
# through the write-only secret_data_wo. A new value is written when secrets_version changes. The one
# exception: an Upstash database this configuration creates keeps its token in its own state (upstash.tf).

locals {
  secret_ids = {
    DATABASE_URL             = "${var.name_prefix}-database-url"
    UPSTASH_REDIS_REST_URL   = "${var.name_prefix}-upstash-redis-rest-url"
    UPSTASH_REDIS_REST_TOKEN = "${var.name_prefix}-upstash-redis-rest-token"
    WEBHOOK_SECRET_KEY       = "${var.name_prefix}-webhook-secret-key"
  }

  secret_values = {
    DATABASE_URL             = local.database_url
    UPSTASH_REDIS_REST_URL   = local.upstash_rest_url
    UPSTASH_REDIS_REST_TOKEN = local.upstash_rest_token
    WEBHOOK_SECRET_KEY       = random_id.webhook_secret_key.b64_std
  }

  function_secret_access = merge([
    for fn, names in local.function_secret_env : {
      for name in names : "${fn}/${name}" => { function = fn, secret = name }
    }
  ]...)
}

resource "google_secret_manager_secret" "env" {
  for_each = local.secret_ids

  secret_id = each.value

  replication {
    auto {}
  }

  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_version" "env" {
  for_each = local.secret_ids

  secret                 = google_secret_manager_secret.env[each.key].id
  secret_data_wo         = local.secret_values[each.key]
  secret_data_wo_version = var.secrets_version
}

resource "google_secret_manager_secret_iam_member" "function_reads" {
  for_each = local.function_secret_access

  secret_id = google_secret_manager_secret.env[each.value.secret].id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.function[each.value.function].member
}

# The key that seals webhook signing secrets at rest (AES-256-GCM): 32 random bytes, base64. Only the
# API (which seals a new subscription's secret) and the webhooks function (which signs) can read it.
resource "random_id" "webhook_secret_key" {
  byte_length = 32
}
