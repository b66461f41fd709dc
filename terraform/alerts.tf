# Alert policies. Each one's documentation is written for the person paged: what it means, what to look
# at first, how to recover. Links point at the console pages those checks need.

locals {
  function_service = { for name, f in google_cloudfunctions2_function.function : name => f.name }

  console           = "https://console.cloud.google.com"
  logs_link         = "${local.console}/logs/query?project=${var.project_id}"
  dead_letter_link  = "${local.console}/cloudpubsub/subscription/detail/${google_pubsub_subscription.dead_letter_hold.name}?project=${var.project_id}"
  function_logs_url = { for name, service in local.function_service : name => "${local.console}/run/detail/${var.region}/${service}/logs?project=${var.project_id}" }

  cloud_run_requests = "resource.type=\"cloud_run_revision\" AND metric.type=\"run.googleapis.com/request_count\""
}

resource "google_monitoring_alert_policy" "run_failed" {
  display_name          = "${var.name_prefix}: processing run failed or partial"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.alert_channels

  conditions {
    display_name = "run.finished with status failed or partial"
    condition_matched_log {
      filter = "${local.function_logs} AND jsonPayload.event=\"run.finished\" AND jsonPayload.status=(\"failed\" OR \"partial\")"
      label_extractors = {
        run_id       = "EXTRACT(jsonPayload.runId)"
        status       = "EXTRACT(jsonPayload.status)"
        nodes_failed = "EXTRACT(jsonPayload.nodesFailed)"
      }
    }
  }

  alert_strategy {
    notification_rate_limit {
      period = "1800s" # at most one notification per cycle
    }
    auto_close = "3600s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "Processing run failed or ended partial"
    content   = <<-EOT
      ## What it means
      A processing run finished with status `failed` (nothing was written and the watermark did not move) or `partial` (some nodes failed; the others were written). Metrics, anomalies and forecasts of the failed nodes are not fresh. The watermark never passes data that was not processed, so nothing is lost: the next cycle reads it again.

      ## First checks
      1. The incident's labels give `run_id`, `status` and `nodes_failed`. In [Logs Explorer](${local.logs_link}) query `jsonPayload.runId="RUN_ID"` and look at the `ERROR` lines.
      2. `failed`: usually the dispatcher could not read BigQuery, Firestore or PostgreSQL. Check the [dispatcher logs](${local.function_logs_url["dispatcher"]}) for `run.started` without a `run.finished`, and the Cloud SQL instance state.
      3. `partial`: look for `node.failed` lines with their `nodeId` and error in the [aggregator logs](${local.function_logs_url["aggregator"]}). One node failing every run points at its data; many nodes at a dependency (PostgreSQL connections, Upstash quota).

      ## How to recover
      - Transient causes (a dependency briefly down) heal themselves: messages are retried with backoff and the next cycle catches up. Confirm the following run is `done`.
      - A node that keeps failing ends on the dead-letter topic (see the dead-letter alert): fix the cause, then replay the messages.
      - Configuration or permission errors (`ConfigError`, 403) need a fix through Terraform and a new apply.
    EOT
  }
}

resource "google_monitoring_alert_policy" "data_stale" {
  display_name          = "${var.name_prefix}: data stale (no run finished for ${var.alert_thresholds.stale_after_minutes} min)"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = local.alert_channels

  conditions {
    display_name = "No run.finished (done or partial) for ${var.alert_thresholds.stale_after_minutes} minutes"
    condition_absent {
      filter   = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.run_finished.name}\" AND metric.label.status=one_of(\"done\", \"partial\")"
      duration = "${var.alert_thresholds.stale_after_minutes * 60}s"

      aggregations {
        alignment_period     = "600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "Data stale: no processing run has finished for ${var.alert_thresholds.stale_after_minutes} minutes"
    content   = <<-EOT
      ## What it means
      The pipeline is stuck: no run has finished for ${var.alert_thresholds.stale_after_minutes} minutes although one should finish every ${var.cycle_minutes}. The API keeps answering from its caches, but the figures age and new leaks go unnoticed. (Runs that finish `failed` raise the run-failed alert instead.)

      ## First checks
      1. Cloud Scheduler job `${google_cloud_scheduler_job.cycle.name}`: is it enabled and did its last attempts succeed? A paused job or a 403 publishing to `${google_pubsub_topic.cycle.name}` stops everything.
      2. Subscription `${google_pubsub_subscription.push["dispatcher-cycle"].name}`: are messages piling up (unacked) or being dead-lettered?
      3. [Dispatcher logs](${local.function_logs_url["dispatcher"]}): does a `run.started` appear each cycle, and where does it stop? A run that never reaches fan-in points at the [aggregator logs](${local.function_logs_url["aggregator"]}) and the node-work subscription's backlog.
      4. Firestore: a run document left open by a crash can block new runs until it expires.

      ## How to recover
      - Resume the scheduler job, or run it once by hand: `gcloud scheduler jobs run ${google_cloud_scheduler_job.cycle.name} --location ${var.region}`.
      - Redeploy (`terraform apply`) if a bad revision crashes at start-up; roll back by applying the previous commit.
      - Once a run finishes, the late data is folded in by the next cycles (within the lateness horizon of ${var.lateness_horizon_hours} h); no backfill is needed.
    EOT
  }

  # The condition names a log-based metric created in the same apply: wait until alerting can see it.
  depends_on = [time_sleep.log_metrics_visible]
}

resource "google_monitoring_alert_policy" "dead_letter_backlog" {
  display_name          = "${var.name_prefix}: messages in the dead-letter queue"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.alert_channels

  conditions {
    display_name = "Undelivered messages on ${google_pubsub_subscription.dead_letter_hold.name} above 0"
    condition_threshold {
      filter          = "resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=\"${google_pubsub_subscription.dead_letter_hold.name}\" AND metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "60s"

      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "Messages waiting in the dead-letter queue"
    content   = <<-EOT
      ## What it means
      A message failed ${var.max_delivery_attempts} deliveries (or a function set it aside as poison) and was moved to `${google_pubsub_topic.dead_letter.name}`. Its node, or the whole cycle if it was a cycle message, was not processed for that window. Other nodes are not blocked: the aggregator records the node as failed (log event `message.dead_lettered`), so the run ends `partial`; the copy waiting here is yours to inspect and replay.

      ## First checks
      1. Look at the messages without consuming them: `gcloud pubsub subscriptions pull ${google_pubsub_subscription.dead_letter_hold.name} --limit 10 --format json` (no `--auto-ack`). The attributes name the source subscription and the node.
      2. Find the failures in [Logs Explorer](${local.logs_link}): `jsonPayload.event=("node.failed" OR "message.dead_lettered" OR "message.poison")`, then the lines of that `nodeId`.
      3. Decide: bad data (out-of-range, malformed) or a bug/dependency failure.

      ## How to recover
      - After fixing the cause, replay: publish each message's data and attributes again to its original topic (node work: `${google_pubsub_topic.node_work.name}`, cycle: `${google_pubsub_topic.cycle.name}`), then acknowledge it here. Processing is idempotent, so a replay is safe.
      - Messages that should never be processed: acknowledge them (`gcloud pubsub subscriptions pull ... --auto-ack`) and note the node in the incident.
      - The queue keeps messages for 7 days: act before then. See the [subscription](${local.dead_letter_link}).
    EOT
  }
}

resource "google_monitoring_alert_policy" "aggregator_errors" {
  display_name          = "${var.name_prefix}: aggregator error rate above ${var.alert_thresholds.aggregator_error_percent}%"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.alert_channels

  conditions {
    display_name = "Share of aggregator deliveries answered 4xx/5xx"
    condition_threshold {
      filter             = "${local.cloud_run_requests} AND resource.label.service_name=\"${local.function_service["aggregator"]}\" AND metric.label.response_code_class=one_of(\"4xx\", \"5xx\")"
      denominator_filter = "${local.cloud_run_requests} AND resource.label.service_name=\"${local.function_service["aggregator"]}\""
      comparison         = "COMPARISON_GT"
      threshold_value    = var.alert_thresholds.aggregator_error_percent / 100
      duration           = "300s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "Aggregator failing on more than ${var.alert_thresholds.aggregator_error_percent}% of deliveries"
    content   = <<-EOT
      ## What it means
      The aggregator answers a large share of Pub/Sub pushes with an error, so those nodes are retried with backoff and, after ${var.max_delivery_attempts} attempts, dead-lettered. A 429 means no instance was free (max instances reached); a 500 means the handler threw.

      ## First checks
      1. [Aggregator logs](${local.function_logs_url["aggregator"]}): `node.failed` lines and their errors. One error everywhere points at a dependency; different errors per node at data.
      2. PostgreSQL: `too many clients` or timeouts mean the pools exceed the connection limit (see the Cloud SQL connections alert); check the instance is up.
      3. Upstash: HTTP 429 or quota errors from Redis; the console shows the daily command count.
      4. Many 429s from Cloud Run: the aggregator is at max instances (${var.functions.aggregator.max_instance_count}); the backlog will drain, but slowly.

      ## How to recover
      - Dependency outage: nothing to do once it returns; retries and the next cycle catch up. Watch the dead-letter queue.
      - Capacity: raise `functions.aggregator.max_instance_count` (keeping the connection budget) and apply.
      - A bad release: apply the previous commit to roll back.
    EOT
  }
}

resource "google_monitoring_alert_policy" "api_5xx" {
  display_name          = "${var.name_prefix}: API 5xx rate above ${var.alert_thresholds.api_5xx_percent}%"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = local.alert_channels

  conditions {
    display_name = "Share of API responses with status 5xx"
    condition_threshold {
      filter             = "${local.cloud_run_requests} AND resource.label.service_name=\"${local.function_service["api"]}\" AND metric.label.response_code_class=\"5xx\""
      denominator_filter = "${local.cloud_run_requests} AND resource.label.service_name=\"${local.function_service["api"]}\""
      comparison         = "COMPARISON_GT"
      threshold_value    = var.alert_thresholds.api_5xx_percent / 100
      duration           = "300s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "API failing: more than ${var.alert_thresholds.api_5xx_percent}% of responses are 5xx"
    content   = <<-EOT
      ## What it means
      API consumers (dashboards, utility apps, integrators) are getting server errors. The API answers from memory, then Redis, then PostgreSQL, and serves stale data when a tier is down; 5xx means even that failed, or the code threw.

      ## First checks
      1. [API logs](${local.function_logs_url["api"]}): `api.request` lines with `status>=500` and the `ERROR` lines around them (`requestId` links them).
      2. Which tier failed: errors with `tier="postgres"` point at Cloud SQL (connections, instance down); `tier="none"` at the request path itself.
      3. Was there a deployment just before? Compare the revision in the log lines with the previous one.

      ## How to recover
      - Bad release: apply the previous commit (or shift traffic to the previous revision in Cloud Run).
      - Database saturation: see the Cloud SQL alerts; lower `functions.api.max_instance_count` x `pg_pool_max` or raise the instance size.
      - Redis outage: the API keeps serving from PostgreSQL with more latency; nothing to do but watch.
    EOT
  }
}

resource "google_monitoring_alert_policy" "api_latency" {
  display_name          = "${var.name_prefix}: API p95 latency above ${var.alert_thresholds.api_p95_latency_ms} ms"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.alert_channels

  conditions {
    display_name = "API request latency p95 over ${var.alert_thresholds.api_p95_latency_ms} ms"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"run.googleapis.com/request_latencies\" AND resource.label.service_name=\"${local.function_service["api"]}\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_thresholds.api_p95_latency_ms
      duration        = "300s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_PERCENTILE_95"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "API slow: p95 latency above ${var.alert_thresholds.api_p95_latency_ms} ms"
    content   = <<-EOT
      ## What it means
      One API request in twenty takes more than ${var.alert_thresholds.api_p95_latency_ms} ms; cached reads normally take tens of milliseconds. Consumers see slow dashboards and may time out.

      ## First checks
      1. Dashboard "cache tier share": a drop of the memory/Redis share means reads fall through to PostgreSQL (cache flushed or Redis slow or down).
      2. Cold starts: many new instances in the Cloud Run metrics of `${local.function_service["api"]}`; `min_instance_count` is ${var.functions.api.min_instance_count}.
      3. Cloud SQL CPU and connections (their own alerts), and slow queries in Query Insights.
      4. Heavy requests: long `history` ranges or CSV exports in the `api.request` lines with high `latencyMs` (every request slower than `api_settings.request_log_slow_ms`, ${var.api_settings.request_log_slow_ms} ms, has one; faster ones one in ${var.api_settings.request_log_sample}).

      ## How to recover
      - Cache empty after a flush or deploy: the next processing cycle refills Redis; PostgreSQL reads fill it on demand meanwhile.
      - Cold starts: raise `functions.api.min_instance_count`.
      - Database bound: raise `sql_tier`, or lower the API's pool/instances so the database isn't saturated.
    EOT
  }
}

resource "google_monitoring_alert_policy" "critical_anomaly" {
  display_name          = "${var.name_prefix}: critical anomaly or suspected leak opened"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = local.alert_channels

  conditions {
    display_name = "anomaly.opened with severity critical or a leak type"
    condition_matched_log {
      filter = "${local.function_logs} AND jsonPayload.event=\"anomaly.opened\" AND (jsonPayload.anomalySeverity=\"critical\" OR jsonPayload.anomalyType=~\"leak\")"
      label_extractors = {
        node_id      = "EXTRACT(jsonPayload.nodeId)"
        anomaly_type = "EXTRACT(jsonPayload.anomalyType)"
        severity     = "EXTRACT(jsonPayload.anomalySeverity)"
      }
    }
  }

  alert_strategy {
    notification_rate_limit {
      period = "300s"
    }
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "Water network: critical anomaly or suspected leak"
    content   = <<-EOT
      ## What it means
      The analytics opened a critical anomaly (e.g. a burst: a flow step with a pressure drop; a district out of supply: `low_pressure`, several of its pressure points at or below zero together, its tank level in the evidence; or a water-quality limit exceeded) or a suspected leak (minimum night flow rising in a district). This is about the water network, not the software: it may need a field crew.

      ## First checks
      1. The incident's labels give `node_id`, `anomaly_type` and `severity`. The API shows the evidence: `GET /api/v1/anomalies?status=open` and `GET /api/v1/nodes/NODE_ID/metrics?range=24h`.
      2. Rule out a sensor fault: is the node also reporting a flatline, gaps or out-of-range values (`/api/v1/quality/NODE_ID`)? Do neighbouring nodes in the same district agree?
      3. Leaks: compare the district's minimum night flow with its last weeks (`/api/v1/network/efficiency`).

      ## How to recover
      - Real event: follow the utility's burst/leak or water-quality procedure (dispatch a crew, notify the control room), then acknowledge the anomaly through the API so others see it is handled.
      - Sensor fault: acknowledge and resolve it with a note, and raise a maintenance ticket for the sensor.
      - The anomaly closes itself when the condition clears; an ongoing one is updated, not reopened, so no repeat pages for the same event.
    EOT
  }
}

resource "google_monitoring_alert_policy" "sql_cpu" {
  count = var.use_cloud_sql ? 1 : 0

  display_name          = "${var.name_prefix}: Cloud SQL CPU above ${var.alert_thresholds.sql_cpu_percent}%"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.alert_channels

  conditions {
    display_name = "Cloud SQL CPU utilisation"
    condition_threshold {
      filter          = "resource.type=\"cloudsql_database\" AND resource.label.database_id=\"${var.project_id}:${google_sql_database_instance.main[0].name}\" AND metric.type=\"cloudsql.googleapis.com/database/cpu/utilization\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_thresholds.sql_cpu_percent / 100
      duration        = "900s"

      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MEAN"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "Cloud SQL CPU near its limit"
    content   = <<-EOT
      ## What it means
      The PostgreSQL instance `${google_sql_database_instance.main[0].name}` has used more than ${var.alert_thresholds.sql_cpu_percent}% CPU for 15 minutes. Cycles slow down, API reads that miss the cache get slow, and a saturated instance makes the functions time out.

      ## First checks
      1. Does it follow the cycle (spikes every ${var.cycle_minutes} min)? Then aggregation writes dominate; if it is flat, API reads do.
      2. Query Insights on the instance: the top queries by time. Missing indexes or a retention job scanning too much show here.
      3. Maintenance (daily ${var.maintenance_schedule}): retention deletes and model training are heavier.

      ## How to recover
      - Short bursts during a cycle are harmless; sustained load needs a bigger tier: raise `sql_tier` (e.g. db-custom-2-7680) and apply (a restart of a few minutes).
      - Lower concurrency to spread the load: fewer aggregator instances (`functions.aggregator.max_instance_count`).
    EOT
  }
}

resource "google_monitoring_alert_policy" "sql_connections" {
  count = var.use_cloud_sql ? 1 : 0

  display_name          = "${var.name_prefix}: Cloud SQL connections above ${var.alert_thresholds.sql_connections_percent}% of max_connections"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.alert_channels

  conditions {
    display_name = "PostgreSQL backends near max_connections (${var.sql_max_connections})"
    condition_threshold {
      filter          = "resource.type=\"cloudsql_database\" AND resource.label.database_id=\"${var.project_id}:${google_sql_database_instance.main[0].name}\" AND metric.type=\"cloudsql.googleapis.com/database/postgresql/num_backends\""
      comparison      = "COMPARISON_GT"
      threshold_value = floor(var.sql_max_connections * var.alert_thresholds.sql_connections_percent / 100)
      duration        = "300s"

      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_MAX"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "Cloud SQL connections near max_connections"
    content   = <<-EOT
      ## What it means
      More than ${floor(var.sql_max_connections * var.alert_thresholds.sql_connections_percent / 100)} of the ${var.sql_max_connections} allowed PostgreSQL connections are open. At the limit new connections are refused (`too many clients`), and aggregations and API reads fail.

      ## First checks
      1. Terraform sizes the pools so that all functions at max scale use ${local.database_connections_at_max_scale} connections plus ${var.sql_reserved_connections} reserved: more than that means something else connects (an operator's tool, a migration, a leaked connection).
      2. In the database: `SELECT usename, application_name, client_addr, state, count(*) FROM pg_stat_activity GROUP BY 1,2,3,4 ORDER BY 5 DESC;` (from a machine in the VPC).
      3. Many `idle in transaction` connections point at a code bug holding transactions open.

      ## How to recover
      - Close stray sessions (`SELECT pg_terminate_backend(pid) ...`) from outside tools.
      - Lower `functions.*.max_instance_count` or `pg_pool_max`, or raise `sql_max_connections` together with `sql_tier` (each connection costs memory); the plan checks the budget.
    EOT
  }
}
