# Inputs, sorted by name. Every variable has a type, a description and, where a wrong value would only
# fail late (at apply, or at run time inside a function), a validation that fails at plan.

variable "alert_email_addresses" {
  description = "E-mail addresses that receive every alert (one notification channel each). Combine with alert_notification_channel_ids for Slack, PagerDuty or SMS channels created in the console."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.alert_email_addresses : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", a))])
    error_message = "Each entry of alert_email_addresses must be an e-mail address."
  }
}

variable "alert_notification_channel_ids" {
  description = "Existing Cloud Monitoring notification channels (full ids: projects/PROJECT/notificationChannels/ID) that receive every alert, e.g. a PagerDuty or Slack channel."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.alert_notification_channel_ids : can(regex("^projects/[^/]+/notificationChannels/[0-9]+$", c))])
    error_message = "Each entry must look like projects/PROJECT/notificationChannels/ID."
  }
}

variable "alert_thresholds" {
  description = "Alert thresholds: aggregator error share and API 5xx share (percent of requests), API p95 latency (ms), data staleness (minutes without a finished run), Cloud SQL CPU and connections (percent of their limits)."
  type = object({
    aggregator_error_percent = optional(number, 5)
    api_5xx_percent          = optional(number, 1)
    api_p95_latency_ms       = optional(number, 500)
    stale_after_minutes      = optional(number, 60)
    sql_cpu_percent          = optional(number, 80)
    sql_connections_percent  = optional(number, 80)
  })
  default = {}

  validation {
    condition = alltrue([
      for p in [var.alert_thresholds.aggregator_error_percent, var.alert_thresholds.api_5xx_percent, var.alert_thresholds.sql_cpu_percent, var.alert_thresholds.sql_connections_percent] : p > 0 && p < 100
    ])
    error_message = "Percentages must lie between 0 and 100 (exclusive)."
  }

  validation {
    condition     = var.alert_thresholds.api_p95_latency_ms > 0 && var.alert_thresholds.stale_after_minutes >= 30 && var.alert_thresholds.stale_after_minutes <= 1380
    error_message = "api_p95_latency_ms must be positive; stale_after_minutes between 30 and 1380 (Cloud Monitoring's absence window is at most 23 h)."
  }
}

variable "analytics_enabled" {
  description = "Run data quality, anomalies, forecasts and water balance inside the cycle (ANALYTICS_ENABLED)."
  type        = bool
  default     = true
}

variable "api_cors_origins" {
  description = "Comma-separated origins allowed to call the API from a browser (CORS_ORIGINS); empty allows none."
  type        = string
  default     = ""

  validation {
    condition     = var.api_cors_origins == "" || alltrue([for o in split(",", var.api_cors_origins) : can(regex("^https?://[^/,\\s]+$", trimspace(o)))])
    error_message = "api_cors_origins must be empty or a comma-separated list of origins such as https://ops.example.com."
  }
}

variable "api_settings" {
  description = "API limits and caches: per-key requests per minute, 401s per client address per minute (then 429), request body limit (bytes), how long a verified key is trusted (s; revocation takes effect within it), in-process cache size (MB) and freshness (s); PostgreSQL connect and statement timeouts (ms), Redis call deadline (ms), keep-alive connections to Upstash per instance, how long a failed tier is skipped (s), how long verified keys keep working while PostgreSQL is down (s); POST /readings rows and bytes per batch and batches per minute per key; which successful requests get a request log line (one in request_log_sample: 1 every one, 0 none; and every one slower than request_log_slow_ms; failed requests always do)."
  type = object({
    rate_limit_per_minute      = optional(number, 600)
    unauthenticated_per_minute = optional(number, 60)
    request_body_limit_bytes   = optional(number, 16384)
    key_cache_seconds          = optional(number, 30)
    memory_cache_mb            = optional(number, 64)
    memory_ttl_seconds         = optional(number, 15)
    pg_connect_timeout_ms      = optional(number, 1000)
    pg_statement_timeout_ms    = optional(number, 500)
    redis_timeout_ms           = optional(number, 500)
    upstash_max_connections    = optional(number, 64)
    breaker_cooldown_seconds   = optional(number, 5)
    key_stale_if_error_seconds = optional(number, 3600)
    ingest_max_rows            = optional(number, 5000)
    ingest_max_bytes           = optional(number, 1048576)
    ingest_batches_per_minute  = optional(number, 60)
    request_log_sample         = optional(number, 100)
    request_log_slow_ms        = optional(number, 500)
  })
  default = {}

  validation {
    condition = (
      var.api_settings.rate_limit_per_minute >= 1 && var.api_settings.rate_limit_per_minute <= 1000000 &&
      var.api_settings.unauthenticated_per_minute >= 0 && var.api_settings.unauthenticated_per_minute <= 1000000 &&
      var.api_settings.request_body_limit_bytes >= 1024 && var.api_settings.request_body_limit_bytes <= 10485760 &&
      var.api_settings.key_cache_seconds >= 0 && var.api_settings.key_cache_seconds <= 3600 &&
      var.api_settings.memory_cache_mb >= 1 && var.api_settings.memory_cache_mb <= 1024 &&
      var.api_settings.memory_ttl_seconds >= 1 && var.api_settings.memory_ttl_seconds <= 3600 &&
      var.api_settings.pg_connect_timeout_ms >= 100 && var.api_settings.pg_connect_timeout_ms <= 60000 &&
      var.api_settings.pg_statement_timeout_ms >= 10 && var.api_settings.pg_statement_timeout_ms <= 600000 &&
      var.api_settings.redis_timeout_ms >= 50 && var.api_settings.redis_timeout_ms <= 60000 &&
      var.api_settings.upstash_max_connections >= 1 && var.api_settings.upstash_max_connections <= 1024 &&
      var.api_settings.breaker_cooldown_seconds >= 1 && var.api_settings.breaker_cooldown_seconds <= 600 &&
      var.api_settings.key_stale_if_error_seconds >= 0 && var.api_settings.key_stale_if_error_seconds <= 86400 &&
      var.api_settings.ingest_max_rows >= 1 && var.api_settings.ingest_max_rows <= 100000 &&
      var.api_settings.ingest_max_bytes >= 1024 && var.api_settings.ingest_max_bytes <= 10485760 &&
      var.api_settings.ingest_batches_per_minute >= 1 && var.api_settings.ingest_batches_per_minute <= 100000 &&
      var.api_settings.request_log_sample >= 0 && var.api_settings.request_log_sample <= 1000000 &&
      var.api_settings.request_log_slow_ms >= 0 && var.api_settings.request_log_slow_ms <= 600000
    )
    error_message = "api_settings: rate_limit_per_minute 1–1e6, request_body_limit_bytes 1 KiB–10 MiB, key_cache_seconds 0–3600, memory_cache_mb 1–1024, memory_ttl_seconds 1–3600, pg_connect_timeout_ms 100–60000, pg_statement_timeout_ms 10–600000, redis_timeout_ms 50–60000, upstash_max_connections 1–1024, breaker_cooldown_seconds 1–600, key_stale_if_error_seconds 0–86400, ingest_max_rows 1–100000, ingest_max_bytes 1 KiB–10 MiB, ingest_batches_per_minute 1–100000, request_log_sample 0–1e6, request_log_slow_ms 0–600000."
  }
}

variable "api_token_issuers" {
  description = "OpenID Connect issuers whose bearer tokens the API accepts beside API keys (API_TOKEN_ISSUERS; README, Configuration): e.g. [{ preset = \"google\", audience = \"https://api.example\", principals = { \"sa@p.iam.gserviceaccount.com\" = { tenant = \"default\", role = \"operator\" } } }]. Empty: keys only."
  type        = any
  default     = []

  validation {
    condition     = can(length(var.api_token_issuers)) && alltrue([for i in var.api_token_issuers : can(i.audience)])
    error_message = "api_token_issuers: a list of issuer objects, each with an audience (the API validates the rest at start-up)."
  }
}

variable "backfill_job" {
  description = "The bulk backfill job (backfill.tf): default task count and parallelism (an execution may set its own count), retries per task (tasks are resumable), task timeout (s), CPU and memory per task. Each running task holds 3 PostgreSQL connections: parallelism × 3 must fit in sql_reserved_connections (checked at plan)."
  type = object({
    tasks                = optional(number, 2)
    parallelism          = optional(number, 2)
    max_retries          = optional(number, 3)
    task_timeout_seconds = optional(number, 86400)
    cpu                  = optional(number, 2)
    memory               = optional(string, "2Gi")
  })
  default = {}

  validation {
    condition = (
      var.backfill_job.tasks >= 1 && var.backfill_job.tasks <= 10000 &&
      var.backfill_job.parallelism >= 1 && var.backfill_job.parallelism <= var.backfill_job.tasks &&
      var.backfill_job.max_retries >= 0 && var.backfill_job.max_retries <= 10 &&
      var.backfill_job.task_timeout_seconds >= 60 && var.backfill_job.task_timeout_seconds <= 604800 &&
      contains([1, 2, 4, 8], var.backfill_job.cpu) &&
      can(regex("^[0-9]+(Mi|Gi)$", var.backfill_job.memory))
    )
    error_message = "backfill_job: tasks 1-10000, parallelism 1-tasks, max_retries 0-10, task_timeout_seconds 60-604800 (7 days), cpu 1, 2, 4 or 8, memory like 2Gi."
  }
}

variable "bigquery_dataset_id" {
  description = "Dataset created for the readings table (ignored when bigquery_existing_table is set)."
  type        = string
  default     = "water_network"

  validation {
    condition     = can(regex("^[A-Za-z0-9_]{1,1024}$", var.bigquery_dataset_id))
    error_message = "A BigQuery dataset id has letters, digits and underscores only."
  }
}

variable "bigquery_existing_table" {
  description = "Read an existing readings table in this project instead of creating one: { dataset_id, table_id }. Its schema must match schemas/readings.json, partitioned by day on reading_time."
  type = object({
    dataset_id = string
    table_id   = string
  })
  default = null

  validation {
    condition     = var.bigquery_existing_table == null || (can(regex("^[A-Za-z0-9_]{1,1024}$", var.bigquery_existing_table.dataset_id)) && can(regex("^[A-Za-z0-9_-]{1,1024}$", var.bigquery_existing_table.table_id)))
    error_message = "dataset_id has letters, digits and underscores; table_id letters, digits, underscores and dashes."
  }
}

variable "bigquery_location" {
  description = "Location of the readings dataset (a multi-region such as EU or US, or a region). The dispatcher's query jobs run there."
  type        = string
  default     = "EU"

  validation {
    condition     = can(regex("^(EU|US|[a-z]+-[a-z]+[0-9]+)$", var.bigquery_location))
    error_message = "bigquery_location must be EU, US or a region such as europe-west1."
  }
}

variable "bigquery_table_id" {
  description = "Name of the readings table created in bigquery_dataset_id (ignored when bigquery_existing_table is set)."
  type        = string
  default     = "readings"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,1024}$", var.bigquery_table_id))
    error_message = "A BigQuery table id has letters, digits, underscores and dashes only."
  }
}

variable "budget" {
  description = "A monthly budget on this project with alerts at 50%, 90% and 100% of spend and 100% of forecast, sent to the alert channels and the billing admins: { billing_account, monthly_amount, currency_code }. Null creates none (the caller needs billing.budgets.create on the account)."
  type = object({
    billing_account = string
    monthly_amount  = number
    currency_code   = optional(string, "USD")
  })
  default = null

  validation {
    condition     = var.budget == null || (can(regex("^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$", var.budget.billing_account)) && var.budget.monthly_amount > 0)
    error_message = "budget.billing_account must look like 012345-6789AB-CDEF01 and monthly_amount be positive."
  }
}

variable "cache_ttl_seconds" {
  description = "Default TTL of the Redis keys the API reads (CACHE_TTL_SECONDS)."
  type        = number
  default     = 86400

  validation {
    condition     = var.cache_ttl_seconds >= 60 && var.cache_ttl_seconds <= 2592000
    error_message = "cache_ttl_seconds must be between 60 and 2,592,000 (30 days)."
  }
}

variable "cloudbuild" {
  description = "Continuous delivery from GitHub (repository connected to Cloud Build's GitHub app): checks and a plan on every pull request, apply on the branch behind a manual approval. The state bucket also holds the terraform.tfvars the builds use. Null creates no triggers."
  type = object({
    github_owner      = string
    github_repository = string
    state_bucket      = string
    branch            = optional(string, "main")
  })
  default = null

  validation {
    condition     = var.cloudbuild == null || can(regex("^[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]$", var.cloudbuild.state_bucket))
    error_message = "cloudbuild.state_bucket must be a bucket name (lower-case letters, digits, dots, dashes and underscores)."
  }
}

variable "console_tiles" {
  description = "Map tiles under the console's schematic (CONSOLE_TILE_URL, CONSOLE_TILE_ATTRIBUTION): an https XYZ template with {z}, {x}, {y} and the provider's attribution. null: the schematic alone."
  type = object({
    url         = string
    attribution = string
  })
  default = null

  validation {
    condition     = var.console_tiles == null ? true : can(regex("^https://[^/{}]+/.*\\{z\\}.*", var.console_tiles.url)) && strcontains(var.console_tiles.url, "{x}") && strcontains(var.console_tiles.url, "{y}") && trimspace(var.console_tiles.attribution) != ""
    error_message = "console_tiles: url must be https:// with {z}, {x} and {y} (not in the host); attribution must not be empty."
  }
}

variable "cycle_minutes" {
  description = "Length of one processing cycle in minutes (CYCLE_MINUTES); must agree with cycle_schedule (a check block warns when not)."
  type        = number
  default     = 30

  validation {
    condition     = var.cycle_minutes >= 1 && var.cycle_minutes <= 1440 && floor(var.cycle_minutes) == var.cycle_minutes
    error_message = "cycle_minutes must be a whole number between 1 and 1440."
  }
}

variable "cycle_schedule" {
  description = "Cron schedule of the processing cycle (Cloud Scheduler syntax), every 30 minutes by default."
  type        = string
  default     = "*/30 * * * *"

  validation {
    condition     = length(split(" ", trimspace(var.cycle_schedule))) == 5
    error_message = "cycle_schedule must be a five-field cron expression such as */30 * * * *."
  }
}

variable "external_database_max_connections" {
  description = "Connection limit of the external PostgreSQL (only with use_cloud_sql = false); the functions' pools must fit under it."
  type        = number
  default     = 100

  validation {
    condition     = var.external_database_max_connections >= 10
    error_message = "external_database_max_connections must be at least 10."
  }
}

variable "external_database_url" {
  description = "postgres:// URL of an external PostgreSQL or TimescaleDB (e.g. Timescale Cloud), used when use_cloud_sql = false. Stored in Secret Manager; pass it as TF_VAR_external_database_url rather than in a file."
  type        = string
  default     = null
  sensitive   = true
  # Never stored in the state or a plan file: it only feeds a write-only attribute (secrets.tf).
  ephemeral = true

  validation {
    condition     = var.external_database_url == null || can(regex("^postgres(ql)?://", var.external_database_url))
    error_message = "external_database_url must be a postgres:// URL."
  }
}

variable "firestore_database" {
  description = "Firestore database (Native mode) for runs, watermarks and fan-in (FIRESTORE_DATABASE). Use a named database when the project already has a (default) one."
  type        = string
  default     = "(default)"

  validation {
    condition     = var.firestore_database == "(default)" || can(regex("^[a-z][a-z0-9-]{2,61}[a-z0-9]$", var.firestore_database))
    error_message = "firestore_database must be (default) or 4-63 lower-case letters, digits and dashes starting with a letter."
  }
}

variable "firestore_location" {
  description = "Location of the Firestore database: a multi-region (eur3, nam5) or a region; it can't be changed later."
  type        = string
  default     = "eur3"

  validation {
    condition     = can(regex("^(eur3|nam5|nam7|[a-z]+-[a-z]+[0-9]+)$", var.firestore_location))
    error_message = "firestore_location must be eur3, nam5, nam7 or a region such as europe-west1."
  }
}

variable "functions" {
  description = "Sizing of each function: vCPU, memory, concurrent requests per instance, min/max instances, timeout, the PostgreSQL pool per instance (PG_POOL_MAX) and Node.js flags (NODE_OPTIONS: heap sizes). Sum of max_instance_count x pg_pool_max must stay under the database's connection limit (checked at plan)."
  type = object({
    dispatcher = optional(object({
      available_cpu                    = optional(string, "1")
      available_memory                 = optional(string, "512Mi")
      max_instance_request_concurrency = optional(number, 1)
      min_instance_count               = optional(number, 0)
      max_instance_count               = optional(number, 2)
      timeout_seconds                  = optional(number, 540)
      pg_pool_max                      = optional(number, 2)
      node_options                     = optional(string, "")
    }), {})
    aggregator = optional(object({
      available_cpu                    = optional(string, "1")
      available_memory                 = optional(string, "512Mi")
      max_instance_request_concurrency = optional(number, 8)
      min_instance_count               = optional(number, 0)
      max_instance_count               = optional(number, 12)
      timeout_seconds                  = optional(number, 300)
      pg_pool_max                      = optional(number, 4)
      # Measured by bench:cycle: 16 MiB semi-spaces cut the aggregator's CPU per node by two thirds. The old
      # space is 320 MiB of the 512Mi instance: at 128 MiB the cycle in which every inlet trains its first
      # forecast model (500 nodes, 22 days of history, 8+ deliveries at once) ran out of heap; at 320 MiB it
      # peaked at 330 MiB resident (bench:cycle -- --nodes 500 --history-days 22).
      node_options = optional(string, "--max-old-space-size=320 --max-semi-space-size=16")
    }), {})
    api = optional(object({
      available_cpu                    = optional(string, "1")
      available_memory                 = optional(string, "512Mi")
      max_instance_request_concurrency = optional(number, 80)
      min_instance_count               = optional(number, 1)
      max_instance_count               = optional(number, 8)
      timeout_seconds                  = optional(number, 60)
      pg_pool_max                      = optional(number, 4)
      # The preload (functions/api/preload.ts, bundled as preload.mjs beside the function; the path is read
      # from the function's folder, /workspace, where Cloud Run starts it) serves node:domain as request
      # scopes, so Node's domain module, which the functions framework requires, is never loaded. Heap sizes:
      # without them Node sizes the heap from the 512Mi limit (new space ~3 MiB, heap 259 MiB), and bench:api
      # measured ~8x the GC time of 16 MiB semi-spaces at 1 MiB; 32 MiB took a quarter less scavenge time than
      # 16. gcp-build makes the compile cache under these flags (they change V8's cache tag): a deployment
      # that overrides them starts without that cache.
      node_options = optional(string, "--import ./preload.mjs --max-old-space-size=320 --max-semi-space-size=32")
    }), {})
    # Webhook deliveries: mostly waiting on subscribers' answers, so many at a time per instance.
    webhooks = optional(object({
      available_cpu                    = optional(string, "1")
      available_memory                 = optional(string, "256Mi")
      max_instance_request_concurrency = optional(number, 20)
      min_instance_count               = optional(number, 0)
      max_instance_count               = optional(number, 2)
      timeout_seconds                  = optional(number, 60)
      pg_pool_max                      = optional(number, 2)
      node_options                     = optional(string, "")
    }), {})
  })
  default = {}

  validation {
    condition     = alltrue([for f in values(var.functions) : contains(["0.083", "0.167", "0.333", "0.583", "1", "2", "4", "6", "8"], f.available_cpu)])
    error_message = "available_cpu must be one of 0.083, 0.167, 0.333, 0.583, 1, 2, 4, 6, 8."
  }

  validation {
    condition     = alltrue([for f in values(var.functions) : can(regex("^[0-9]+(Mi|Gi)$", f.available_memory))])
    error_message = "available_memory must look like 256Mi or 1Gi."
  }

  # Cloud Run serves one request at a time on less than one vCPU.
  validation {
    condition     = alltrue([for f in values(var.functions) : f.max_instance_request_concurrency >= 1 && f.max_instance_request_concurrency <= 1000 && (f.max_instance_request_concurrency == 1 || tonumber(f.available_cpu) >= 1)])
    error_message = "max_instance_request_concurrency must be 1-1000, and 1 when available_cpu is below 1."
  }

  validation {
    condition     = alltrue([for f in values(var.functions) : f.min_instance_count >= 0 && f.max_instance_count >= 1 && f.min_instance_count <= f.max_instance_count])
    error_message = "Instance counts must satisfy 0 <= min_instance_count <= max_instance_count and max_instance_count >= 1."
  }

  validation {
    condition     = alltrue([for f in values(var.functions) : f.timeout_seconds >= 10 && f.timeout_seconds <= 540 && f.pg_pool_max >= 1 && f.pg_pool_max <= 100])
    error_message = "timeout_seconds must be 10-540 (Pub/Sub-driven functions) and pg_pool_max 1-100."
  }
}

variable "holidays" {
  description = "Holiday calendar of forecasts and consumption patterns (HOLIDAYS), e.g. \"IT,06-24=San Giovanni\"; empty: Italian public holidays and bridge days."
  type        = string
  default     = ""
  validation {
    condition = alltrue([
      for item in split(",", var.holidays) : can(regex("^\\s*(|(?i:it|no-bridges|easter([+-][0-9]{1,2})?)|[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{2}-[0-9]{2})(=[^,#]*)?\\s*$", item))
    ])
    error_message = "holidays: comma-separated IT, no-bridges, MM-DD, YYYY-MM-DD or easter+N / easter-N, each optionally =name."
  }
}

variable "labels" {
  description = "Labels added to every resource that takes labels (besides app = name_prefix)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.labels : can(regex("^[a-z][a-z0-9_-]{0,62}$", k)) && can(regex("^[a-z0-9_-]{0,63}$", v))])
    error_message = "Label keys and values are lower-case letters, digits, underscores and dashes (keys start with a letter)."
  }
}

variable "lateness_horizon_hours" {
  description = "How far a reading's time may lie behind its ingestion and still be folded in (LATENESS_HORIZON_HOURS); bounds the partitions one cycle scans."
  type        = number
  default     = 72

  validation {
    condition     = var.lateness_horizon_hours >= 1 && var.lateness_horizon_hours <= 2160
    error_message = "lateness_horizon_hours must be between 1 and 2160 (90 days)."
  }
}

variable "log_level" {
  description = "Lowest severity the functions log (LOG_LEVEL)."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warning", "error"], var.log_level)
    error_message = "log_level must be debug, info, warning or error."
  }
}

variable "maintenance_schedule" {
  description = "Cron schedule of the daily maintenance message (retention, model retraining), in schedule_time_zone."
  type        = string
  default     = "17 3 * * *"

  validation {
    condition     = length(split(" ", trimspace(var.maintenance_schedule))) == 5
    error_message = "maintenance_schedule must be a five-field cron expression."
  }
}

variable "max_delivery_attempts" {
  description = "Deliveries of a message before Pub/Sub moves it to the dead-letter topic; also given to the functions (MAX_DELIVERY_ATTEMPTS)."
  type        = number
  default     = 5

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "Pub/Sub accepts 5 to 100 delivery attempts."
  }
}

variable "max_message_bytes" {
  description = "Largest per-node message the dispatcher publishes (MAX_MESSAGE_BYTES); Pub/Sub's limit is 10 MB."
  type        = number
  default     = 4000000

  validation {
    condition     = var.max_message_bytes >= 10000 && var.max_message_bytes <= 9000000
    error_message = "max_message_bytes must be between 10,000 and 9,000,000."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (functions, topics, service accounts, secrets)."
  type        = string
  default     = "wnm"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,10}$", var.name_prefix))
    error_message = "name_prefix must be 2-11 lower-case letters, digits or dashes, starting with a letter (service account ids are limited to 30 characters)."
  }
}

variable "nodes_per_message" {
  description = "Node batches the dispatcher packs into one work message (NODES_PER_MESSAGE; also cut at max_message_bytes); the aggregator applies them in one transaction. 1 publishes one message per node batch."
  type        = number
  default     = 16

  validation {
    condition     = var.nodes_per_message >= 1 && var.nodes_per_message <= 256
    error_message = "nodes_per_message must be between 1 and 256."
  }
}

variable "ops_image" {
  description = "Container image of the operations jobs (migrations, first admin key): jobs/ops built by npm run build and pushed by npm run deploy, e.g. europe-west1-docker.pkg.dev/PROJECT/wnm-ops/ops:HASH."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9.-]+(:[0-9]+)?/[^:@\\s]+(:[A-Za-z0-9_.-]+|@sha256:[a-f0-9]{64})$", var.ops_image))
    error_message = "ops_image must be a full image reference with a tag or digest, e.g. europe-west1-docker.pkg.dev/PROJECT/wnm-ops/ops:HASH."
  }
}

variable "pg_idle_timeout_seconds" {
  description = "Seconds an idle PostgreSQL connection stays open (PG_IDLE_TIMEOUT_SECONDS)."
  type        = number
  default     = 20

  validation {
    condition     = var.pg_idle_timeout_seconds >= 1 && var.pg_idle_timeout_seconds <= 3600
    error_message = "pg_idle_timeout_seconds must be between 1 and 3600."
  }
}

variable "pg_max_lifetime_seconds" {
  description = "Seconds before a PostgreSQL connection is recycled (PG_MAX_LIFETIME_SECONDS)."
  type        = number
  default     = 1800

  validation {
    condition     = var.pg_max_lifetime_seconds >= 60 && var.pg_max_lifetime_seconds <= 86400
    error_message = "pg_max_lifetime_seconds must be between 60 and 86,400."
  }
}

variable "private_service_access_prefix_length" {
  description = "Size of the range reserved for Google-managed services (Cloud SQL's private IP) in the VPC."
  type        = number
  default     = 20

  validation {
    condition     = var.private_service_access_prefix_length >= 16 && var.private_service_access_prefix_length <= 24
    error_message = "private_service_access_prefix_length must be between 16 and 24."
  }
}

variable "project_id" {
  description = "Google Cloud project that holds everything."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project id (6-30 lower-case letters, digits and dashes)."
  }
}

variable "redis_key_prefix" {
  description = "Prefix of every Redis key (REDIS_KEY_PREFIX), so several environments can share one Upstash database."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^[A-Za-z0-9:_-]{0,64}$", var.redis_key_prefix))
    error_message = "redis_key_prefix has at most 64 letters, digits, colons, underscores and dashes."
  }
}

variable "region" {
  description = "Region of the functions, Cloud SQL, the scheduler jobs and the subnet."
  type        = string
  default     = "europe-west1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a region such as europe-west1."
  }
}

variable "schedule_time_zone" {
  description = "Time zone (tz database name) of the scheduler jobs."
  type        = string
  default     = "Etc/UTC"

  validation {
    condition     = can(regex("^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$", var.schedule_time_zone))
    error_message = "schedule_time_zone must be a tz database name such as Etc/UTC or Europe/Madrid."
  }
}

variable "scheduler_operators" {
  description = "Members (user:..., group:...) who may run a cycle now and pause or resume the schedule with npm run schedule (the custom role in scheduler-ops.tf)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.scheduler_operators : can(regex("^(user|group|serviceAccount):[^@\\s]+@[^@\\s]+$", m))])
    error_message = "Each scheduler operator must be user:EMAIL, group:EMAIL or serviceAccount:EMAIL."
  }
}

variable "secrets_version" {
  description = "Version of the values written to Secret Manager and of the Cloud SQL password (write-only attributes, kept out of the state). Raise it to write new values: after rotating the Upstash token, or to rotate the database password (a new one is generated)."
  type        = number
  default     = 1

  validation {
    condition     = var.secrets_version >= 1 && floor(var.secrets_version) == var.secrets_version
    error_message = "secrets_version must be a whole number of at least 1."
  }
}

variable "sql_availability_type" {
  description = "ZONAL, or REGIONAL for a standby in a second zone (about twice the instance price)."
  type        = string
  default     = "ZONAL"

  validation {
    condition     = contains(["ZONAL", "REGIONAL"], var.sql_availability_type)
    error_message = "sql_availability_type must be ZONAL or REGIONAL."
  }
}

variable "sql_backup_retained_count" {
  description = "Number of daily automated backups Cloud SQL keeps."
  type        = number
  default     = 14

  validation {
    condition     = var.sql_backup_retained_count >= 1 && var.sql_backup_retained_count <= 365
    error_message = "sql_backup_retained_count must be between 1 and 365."
  }
}

variable "sql_database_version" {
  description = "Cloud SQL PostgreSQL major version."
  type        = string
  default     = "POSTGRES_16"

  validation {
    condition     = can(regex("^POSTGRES_1[4-9]$", var.sql_database_version))
    error_message = "sql_database_version must be POSTGRES_14 or newer (the schema uses date_bin)."
  }
}

variable "sql_deletion_protection" {
  description = "Protects the Cloud SQL instance from deletion, in Terraform and in the API. Set false only to tear the system down."
  type        = bool
  default     = true
}

variable "sql_disk_size_gb" {
  description = "Initial SSD size of the Cloud SQL instance in GB; it grows automatically."
  type        = number
  default     = 20

  validation {
    condition     = var.sql_disk_size_gb >= 10
    error_message = "sql_disk_size_gb must be at least 10."
  }
}

variable "sql_max_connections" {
  description = "PostgreSQL max_connections flag of the Cloud SQL instance; the functions' pools plus sql_reserved_connections must fit under it (checked at plan)."
  type        = number
  default     = 100

  validation {
    condition     = var.sql_max_connections >= 25 && var.sql_max_connections <= 1000
    error_message = "sql_max_connections must be between 25 and 1000."
  }
}

variable "sql_reserved_connections" {
  description = "Connections kept free for migrations, operators and Cloud SQL itself when checking the functions' pools against the database's limit."
  type        = number
  default     = 10

  validation {
    condition     = var.sql_reserved_connections >= 3
    error_message = "Keep at least 3 connections in reserve (PostgreSQL's superuser_reserved_connections)."
  }
}

variable "sql_tier" {
  description = "Cloud SQL machine type (Enterprise edition), e.g. db-custom-1-3840 (1 vCPU, 3.75 GB) or db-custom-2-7680."
  type        = string
  default     = "db-custom-1-3840"

  validation {
    condition     = can(regex("^db-(custom-[0-9]+-[0-9]+|f1-micro|g1-small)$", var.sql_tier))
    error_message = "sql_tier must be db-custom-CPUS-MEMORY_MB, db-f1-micro or db-g1-small."
  }
}

variable "sql_transaction_log_retention_days" {
  description = "Days of write-ahead log kept for point-in-time recovery."
  type        = number
  default     = 7

  validation {
    condition     = var.sql_transaction_log_retention_days >= 1 && var.sql_transaction_log_retention_days <= 7
    error_message = "Cloud SQL Enterprise keeps 1 to 7 days of transaction logs."
  }
}

variable "subnet_cidr" {
  description = "IPv4 range of the subnet the functions' direct VPC egress uses: each instance takes addresses from it, so a /24 serves about 120 instances."
  type        = string
  default     = "10.10.0.0/24"

  validation {
    condition     = can(cidrnetmask(var.subnet_cidr)) && tonumber(split("/", var.subnet_cidr)[1]) <= 26
    error_message = "subnet_cidr must be an IPv4 CIDR of /26 or larger (direct VPC egress needs at least a /26)."
  }
}

variable "tenant_id" {
  description = "Tenant whose network this deployment processes (TENANT_ID)."
  type        = string
  default     = "default"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,62}$", var.tenant_id))
    error_message = "tenant_id must be lower-case letters, digits and dashes."
  }
}

variable "tracing" {
  description = "Spans of API requests and of the cycle to Cloud Trace (TRACING): cloud, or off (the OpenTelemetry SDK is then never loaded)."
  type        = string
  default     = "cloud"

  validation {
    condition     = contains(["cloud", "off"], var.tracing)
    error_message = "tracing must be cloud or off."
  }
}

variable "upstash_api_key" {
  description = "Upstash API key (console → Account → Management API) for the upstash provider; only with upstash_database. Pass it as TF_VAR_upstash_api_key."
  type        = string
  default     = null
  sensitive   = true
  # Never stored in the state or a plan file: it only configures the provider.
  ephemeral = true

  validation {
    condition     = var.upstash_database == null || var.upstash_api_key != null
    error_message = "upstash_api_key is required when upstash_database is set (Terraform creates the database)."
  }
}

variable "upstash_database" {
  description = "Have Terraform create the Upstash Redis database (upstash/upstash provider; credentials upstash_email and upstash_api_key): a global database with this primary region, read regions, monthly budget (USD) and eviction. null (default): use an existing database (upstash_redis_rest_url / _token)."
  type = object({
    primary_region = string
    read_regions   = optional(set(string), [])
    budget         = optional(number, 20)
    eviction       = optional(bool, false)
  })
  default = null

  validation {
    condition = var.upstash_database == null || alltrue([
      for r in concat([try(var.upstash_database.primary_region, "")], tolist(try(var.upstash_database.read_regions, []))) :
      contains(["us-east-1", "us-west-1", "us-west-2", "eu-central-1", "eu-west-1", "sa-east-1", "ap-southeast-1", "ap-southeast-2"], r)
    ])
    error_message = "upstash_database regions must be among the provider's: us-east-1, us-west-1, us-west-2, eu-central-1, eu-west-1, sa-east-1, ap-southeast-1, ap-southeast-2."
  }
}

variable "upstash_email" {
  description = "Email of the Upstash account the provider acts for; only with upstash_database."
  type        = string
  default     = null

  validation {
    condition     = var.upstash_database == null || var.upstash_email != null
    error_message = "upstash_email is required when upstash_database is set."
  }
}

variable "upstash_redis_rest_token" {
  description = "An existing Upstash Redis database's REST token; stored in Secret Manager. Pass it as TF_VAR_upstash_redis_rest_token rather than in a file. Not with upstash_database."
  type        = string
  default     = null
  sensitive   = true
  # Never stored in the state or a plan file: it only feeds a write-only attribute (secrets.tf).
  ephemeral = true

  validation {
    condition     = var.upstash_redis_rest_token == null ? var.upstash_database != null : (var.upstash_database == null && length(var.upstash_redis_rest_token) >= 20)
    error_message = "upstash_redis_rest_token: set it (an Upstash token is at least 20 characters) unless upstash_database is set, and not with it."
  }
}

variable "upstash_redis_rest_url" {
  description = "An existing Upstash Redis database's REST URL (https://....upstash.io); stored in Secret Manager. Not with upstash_database."
  type        = string
  default     = null
  sensitive   = true
  # Never stored in the state or a plan file: it only feeds a write-only attribute (secrets.tf).
  ephemeral = true

  validation {
    condition     = var.upstash_redis_rest_url == null ? var.upstash_database != null : (var.upstash_database == null && can(regex("^https://", var.upstash_redis_rest_url)))
    error_message = "upstash_redis_rest_url: an https:// URL, required unless upstash_database is set (then Terraform creates the database), and not with it."
  }
}

variable "use_cloud_sql" {
  description = "Create a Cloud SQL for PostgreSQL instance (private IP only). False uses external_database_url instead and creates no VPC."
  type        = bool
  default     = true

  validation {
    condition     = var.use_cloud_sql == (var.external_database_url == null)
    error_message = "Set external_database_url exactly when use_cloud_sql is false."
  }
}

variable "webhook_max_attempts" {
  description = "Attempts of one webhook delivery (WEBHOOK_MAX_ATTEMPTS) before it is dead-lettered in the delivery log; Pub/Sub backs off exponentially between them. The subscription's own dead-letter policy allows two more, as a safety net."
  type        = number
  default     = 8

  validation {
    condition     = var.webhook_max_attempts >= 3 && var.webhook_max_attempts <= 98
    error_message = "webhook_max_attempts must be 3-98 (Pub/Sub's dead-letter policy allows 5-100 attempts, two more than this)."
  }
}

variable "webhook_timeout_ms" {
  description = "Deadline of one webhook delivery request, in milliseconds (WEBHOOK_TIMEOUT_MS)."
  type        = number
  default     = 10000

  validation {
    condition     = var.webhook_timeout_ms >= 100 && var.webhook_timeout_ms <= 60000
    error_message = "webhook_timeout_ms must be 100-60000."
  }
}
