# The Cloud Run functions (2nd gen), deployed from the bundles `npm run build` writes to
# dist/functions/<name>/ (index.mjs and a package.json listing only the packages that bundle still imports).
#
# Each bundle is zipped and uploaded under a name made of its content hash, so a code change is a new
# object and redeploys the function, and an unchanged bundle deploys nothing.
#
# Database connections: every instance opens at most pg_pool_max connections, so the functions together
# hold at most sum(max_instance_count x pg_pool_max). A precondition below fails the plan when that sum
# plus sql_reserved_connections exceeds the database's max_connections (Cloud SQL's flag, set in sql.tf,
# or external_database_max_connections). The reserve also absorbs the few extra instances Cloud Run may
# start briefly during a burst.
#
# Network: Cloud SQL has a private IP only; the functions reach it through direct VPC egress (private
# ranges only; Google APIs and Upstash go out directly). Direct egress was chosen over a Serverless VPC
# Access connector because it has no connector VMs to pay for and size (a connector bills at least two
# instances around the clock), adds no hop, and scales with the functions; over the Cloud SQL connector
# library because postgres.js speaks to a plain host and port, and the private IP needs no public
# endpoint at all.

locals {
  # Exactly the variables each function's configuration reads (shared/config.ts, FUNCTION_SECTIONS),
  # secrets apart. test/terraform/env.test.ts compares these lists with envVarsOf(); variables the code
  # reads but the cloud leaves unset (emulators, simulator, PORT...) are listed in that test with why.
  function_env = {
    dispatcher = {
      LOG_LEVEL                = var.log_level
      TRACING                  = var.tracing
      GOOGLE_CLOUD_PROJECT     = var.project_id
      PG_POOL_MAX              = var.functions.dispatcher.pg_pool_max
      NODE_OPTIONS             = var.functions.dispatcher.node_options
      PG_IDLE_TIMEOUT_SECONDS  = var.pg_idle_timeout_seconds
      PG_MAX_LIFETIME_SECONDS  = var.pg_max_lifetime_seconds
      MIGRATE_ON_START         = false # the migrate job runs before traffic moves (jobs.tf)
      DATABASE_CA_CERT         = local.database_ca_cert
      FIRESTORE_DATABASE       = google_firestore_database.coordination.name
      TOPIC_NODE_WORK          = google_pubsub_topic.node_work.name
      TOPIC_NETWORK_ROLLUP     = google_pubsub_topic.network_rollup.name
      TOPIC_DEAD_LETTER        = google_pubsub_topic.dead_letter.name
      TOPIC_WEBHOOK_DELIVERIES = google_pubsub_topic.webhook_deliveries.name
      READINGS_SOURCE          = "bigquery"
      BIGQUERY_DATASET         = local.bigquery_dataset_id
      BIGQUERY_TABLE           = local.bigquery_table_id
      BIGQUERY_LOCATION        = var.bigquery_location
      TENANT_ID                = var.tenant_id
      CYCLE_MINUTES            = var.cycle_minutes
      LATENESS_HORIZON_HOURS   = var.lateness_horizon_hours
      MAX_MESSAGE_BYTES        = var.max_message_bytes
      NODES_PER_MESSAGE        = var.nodes_per_message
      MAX_DELIVERY_ATTEMPTS    = var.max_delivery_attempts
      ANALYTICS_ENABLED        = var.analytics_enabled
      HOLIDAYS                 = var.holidays
    }
    aggregator = {
      LOG_LEVEL                = var.log_level
      TRACING                  = var.tracing
      GOOGLE_CLOUD_PROJECT     = var.project_id
      PG_POOL_MAX              = var.functions.aggregator.pg_pool_max
      NODE_OPTIONS             = var.functions.aggregator.node_options
      PG_IDLE_TIMEOUT_SECONDS  = var.pg_idle_timeout_seconds
      PG_MAX_LIFETIME_SECONDS  = var.pg_max_lifetime_seconds
      MIGRATE_ON_START         = false
      DATABASE_CA_CERT         = local.database_ca_cert
      REDIS_KEY_PREFIX         = var.redis_key_prefix
      CACHE_TTL_SECONDS        = var.cache_ttl_seconds
      FIRESTORE_DATABASE       = google_firestore_database.coordination.name
      TOPIC_NODE_WORK          = google_pubsub_topic.node_work.name
      TOPIC_NETWORK_ROLLUP     = google_pubsub_topic.network_rollup.name
      TOPIC_DEAD_LETTER        = google_pubsub_topic.dead_letter.name
      TOPIC_WEBHOOK_DELIVERIES = google_pubsub_topic.webhook_deliveries.name
      TENANT_ID                = var.tenant_id
      CYCLE_MINUTES            = var.cycle_minutes
      LATENESS_HORIZON_HOURS   = var.lateness_horizon_hours
      MAX_MESSAGE_BYTES        = var.max_message_bytes
      NODES_PER_MESSAGE        = var.nodes_per_message
      MAX_DELIVERY_ATTEMPTS    = var.max_delivery_attempts
      ANALYTICS_ENABLED        = var.analytics_enabled
      HOLIDAYS                 = var.holidays
      # Read by the C library, not by our configuration: 2 malloc arenas instead of 8 per core (the
      # process's gRPC, libuv and V8 threads would each get their own). bench:cycle runs the aggregator
      # with this value, read from here.
      MALLOC_ARENA_MAX = "2"
    }
    # The functions framework's own options stay at their defaults for the API (bench:api measured the host):
    # LOG_EXECUTION_ID unset (true would rewrite every stdout line through an AsyncLocalStorage lookup);
    # IGNORED_ROUTES unset (the default 404s /favicon.ico and /robots.txt before they reach the app, for the
    # price of one path match per request, cheaper than the app answering them).
    api = {
      LOG_LEVEL                      = var.log_level
      TRACING                        = var.tracing
      GOOGLE_CLOUD_PROJECT           = var.project_id
      PG_POOL_MAX                    = var.functions.api.pg_pool_max
      NODE_OPTIONS                   = var.functions.api.node_options
      PG_IDLE_TIMEOUT_SECONDS        = var.pg_idle_timeout_seconds
      PG_MAX_LIFETIME_SECONDS        = var.pg_max_lifetime_seconds
      MIGRATE_ON_START               = false
      DATABASE_CA_CERT               = local.database_ca_cert
      REDIS_KEY_PREFIX               = var.redis_key_prefix
      CACHE_TTL_SECONDS              = var.cache_ttl_seconds
      TENANT_ID                      = var.tenant_id
      CORS_ORIGINS                   = var.api_cors_origins
      RATE_LIMIT_PER_MINUTE          = var.api_settings.rate_limit_per_minute
      UNAUTH_RATE_LIMIT_PER_MINUTE   = var.api_settings.unauthenticated_per_minute
      REQUEST_BODY_LIMIT_BYTES       = var.api_settings.request_body_limit_bytes
      API_KEY_CACHE_SECONDS          = var.api_settings.key_cache_seconds
      API_MEMORY_CACHE_MB            = var.api_settings.memory_cache_mb
      API_MEMORY_TTL_SECONDS         = var.api_settings.memory_ttl_seconds
      API_PG_CONNECT_TIMEOUT_MS      = var.api_settings.pg_connect_timeout_ms
      API_PG_STATEMENT_TIMEOUT_MS    = var.api_settings.pg_statement_timeout_ms
      API_REDIS_TIMEOUT_MS           = var.api_settings.redis_timeout_ms
      UPSTASH_MAX_CONNECTIONS        = var.api_settings.upstash_max_connections
      API_BREAKER_COOLDOWN_SECONDS   = var.api_settings.breaker_cooldown_seconds
      API_KEY_STALE_IF_ERROR_SECONDS = var.api_settings.key_stale_if_error_seconds
      API_REQUEST_LOG_SAMPLE         = var.api_settings.request_log_sample
      API_REQUEST_LOG_SLOW_MS        = var.api_settings.request_log_slow_ms
      API_TOKEN_ISSUERS              = jsonencode(var.api_token_issuers)
      INGEST_MAX_ROWS                = var.api_settings.ingest_max_rows
      INGEST_MAX_BYTES               = var.api_settings.ingest_max_bytes
      INGEST_BATCHES_PER_MINUTE      = var.api_settings.ingest_batches_per_minute
      INGEST_MAX_AGE_HOURS           = var.lateness_horizon_hours
      CONSOLE_TILE_URL               = var.console_tiles == null ? "" : var.console_tiles.url
      CONSOLE_TILE_ATTRIBUTION       = var.console_tiles == null ? "" : var.console_tiles.attribution
      READINGS_SOURCE                = "bigquery"
      BIGQUERY_DATASET               = local.bigquery_dataset_id
      BIGQUERY_TABLE                 = local.bigquery_table_id
      BIGQUERY_LOCATION              = var.bigquery_location

      WEBHOOK_MAX_ATTEMPTS = var.webhook_max_attempts
      WEBHOOK_TIMEOUT_MS   = var.webhook_timeout_ms
    }
    webhooks = {
      LOG_LEVEL                = var.log_level
      TRACING                  = var.tracing
      GOOGLE_CLOUD_PROJECT     = var.project_id
      PG_POOL_MAX              = var.functions.webhooks.pg_pool_max
      NODE_OPTIONS             = var.functions.webhooks.node_options
      PG_IDLE_TIMEOUT_SECONDS  = var.pg_idle_timeout_seconds
      PG_MAX_LIFETIME_SECONDS  = var.pg_max_lifetime_seconds
      MIGRATE_ON_START         = false
      DATABASE_CA_CERT         = local.database_ca_cert
      TENANT_ID                = var.tenant_id
      TOPIC_NODE_WORK          = google_pubsub_topic.node_work.name
      TOPIC_NETWORK_ROLLUP     = google_pubsub_topic.network_rollup.name
      TOPIC_DEAD_LETTER        = google_pubsub_topic.dead_letter.name
      TOPIC_WEBHOOK_DELIVERIES = google_pubsub_topic.webhook_deliveries.name
      WEBHOOK_MAX_ATTEMPTS     = var.webhook_max_attempts
      WEBHOOK_TIMEOUT_MS       = var.webhook_timeout_ms
    }
  }

  # Variables served from Secret Manager, per function (each function may read only these secrets).
  function_secret_env = {
    dispatcher = ["DATABASE_URL"]
    aggregator = ["DATABASE_URL", "UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"]
    api        = ["DATABASE_URL", "UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN", "WEBHOOK_SECRET_KEY"]
    webhooks   = ["DATABASE_URL", "WEBHOOK_SECRET_KEY"]
  }

  # Pub/Sub pushes to the dispatcher and aggregator come from inside the project, which internal ingress
  # admits; the API is public and checks its own API keys.
  function_ingress = {
    dispatcher = "ALLOW_INTERNAL_ONLY"
    aggregator = "ALLOW_INTERNAL_ONLY"
    api        = "ALLOW_ALL"
    webhooks   = "ALLOW_INTERNAL_ONLY"
  }

  function_description = {
    dispatcher = "Opens a run, queries BigQuery once for what is new and publishes one message per node."
    aggregator = "Aggregates one node's readings into PostgreSQL and Redis; computes the network roll-up at fan-in."
    api        = "Cache-first HTTPS API (Hono) over Redis and PostgreSQL."
    webhooks   = "Fans anomaly events out to webhook subscriptions and delivers them, signed; the only identity calling subscribers."
  }
}

resource "google_storage_bucket" "function_sources" {
  name                        = "${var.project_id}-${var.name_prefix}-function-sources"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  # Only build inputs live here, and every one can be rebuilt from git.
  force_destroy = true
  depends_on    = [google_project_service.enabled]
}

data "archive_file" "function_bundle" {
  for_each = var.functions

  type        = "zip"
  source_dir  = "${path.module}/../dist/functions/${each.key}"
  output_path = "${path.module}/.terraform/bundles/${each.key}.zip"
}

resource "google_storage_bucket_object" "function_bundle" {
  for_each = var.functions

  bucket = google_storage_bucket.function_sources.name
  name   = "${each.key}/${data.archive_file.function_bundle[each.key].output_sha256}.zip"
  source = data.archive_file.function_bundle[each.key].output_path
}

resource "google_cloudfunctions2_function" "function" {
  for_each = var.functions

  name        = "${var.name_prefix}-${each.key}"
  location    = var.region
  description = local.function_description[each.key]

  build_config {
    runtime           = "nodejs24"
    entry_point       = each.key
    service_account   = google_service_account.function_build.id
    docker_repository = google_artifact_registry_repository.functions.id

    source {
      storage_source {
        bucket = google_storage_bucket.function_sources.name
        object = google_storage_bucket_object.function_bundle[each.key].name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.function[each.key].email
    available_cpu                    = each.value.available_cpu
    available_memory                 = each.value.available_memory
    max_instance_request_concurrency = each.value.max_instance_request_concurrency
    min_instance_count               = each.value.min_instance_count
    max_instance_count               = each.value.max_instance_count
    timeout_seconds                  = each.value.timeout_seconds
    ingress_settings                 = local.function_ingress[each.key]
    # A new revision takes no traffic when it is deployed: `npm run deploy` (and cloudbuild.yaml) run
    # the migrate job, smoke-test the new API revision on its own tagged URL, then pin traffic to it.
    all_traffic_on_latest_revision = false
    environment_variables          = local.function_env[each.key]

    direct_vpc_egress = var.use_cloud_sql ? "VPC_EGRESS_PRIVATE_RANGES_ONLY" : null

    dynamic "direct_vpc_network_interface" {
      for_each = var.use_cloud_sql ? [google_compute_subnetwork.functions[0]] : []

      content {
        network    = google_compute_network.vpc[0].id
        subnetwork = direct_vpc_network_interface.value.id
      }
    }

    dynamic "secret_environment_variables" {
      for_each = toset(local.function_secret_env[each.key])

      content {
        key        = secret_environment_variables.value
        project_id = var.project_id
        secret     = google_secret_manager_secret.env[secret_environment_variables.value].secret_id
        # Pinned to the version Terraform wrote, so a new secret value redeploys the function.
        version = google_secret_manager_secret_version.env[secret_environment_variables.value].version
      }
    }
  }

  lifecycle {
    precondition {
      condition     = local.database_connections_at_max_scale + var.sql_reserved_connections <= local.database_max_connections
      error_message = "The functions could open ${local.database_connections_at_max_scale} PostgreSQL connections at max scale (sum of max_instance_count x pg_pool_max), plus ${var.sql_reserved_connections} reserved, above the database's limit of ${local.database_max_connections}. Lower max_instance_count or pg_pool_max, or raise sql_max_connections (and sql_tier)."
    }
  }

  # The build account must be allowed to build, and the runtime account to read its secrets when the
  # revision starts.
  depends_on = [
    google_project_iam_member.function_build_logs,
    google_storage_bucket_iam_member.function_build_reads_sources,
    google_artifact_registry_repository_iam_member.function_build_pushes,
    google_secret_manager_secret_iam_member.function_reads,
  ]
}
