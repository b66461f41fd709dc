# Notification channels and the log-based metrics built from the functions' structured logs.
#
# The functions log one JSON object per line (shared/log.ts); Cloud Logging puts its fields in
# jsonPayload, and `event` names what happened. The event names and fields used below are part of the
# contract with the code: run.finished (status, durationMs, bytesProcessed, nodesProcessed, nodesFailed),
# rollup.finished (openAnomalies), node.failed, message.dead_lettered, anomaly.opened (severity,
# anomalyType), api.request (status, latencyMs, tier). Alert policies are in alerts.tf, the dashboard in dashboard.tf.

resource "google_monitoring_notification_channel" "email" {
  for_each = toset(var.alert_email_addresses)

  display_name = "${var.name_prefix} on-call: ${each.value}"
  type         = "email"
  labels       = { email_address = each.value }
  depends_on   = [google_project_service.enabled]
}

locals {
  alert_channels = concat([for c in google_monitoring_notification_channel.email : c.name], var.alert_notification_channel_ids)

  # Log lines of our functions only (each function runs as a Cloud Run service named prefix-function).
  function_logs = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=~\"^${var.name_prefix}-\""

  # Log-based metric names: user metrics are addressed as logging.googleapis.com/user/NAME.
  metric_prefix = "${replace(var.name_prefix, "-", "_")}_"

  # Per-run figures, each a distribution over runs (one value per log line of the event).
  run_distributions = {
    run_duration = {
      event       = "run.finished"
      field       = "durationMs"
      unit        = "ms"
      description = "Wall time of a processing run, from dispatch to the network roll-up."
      scale       = 1000 # buckets from 1 s, doubling
    }
    run_bytes_processed = {
      event       = "run.finished"
      field       = "bytesProcessed"
      unit        = "By"
      description = "BigQuery bytes billed for the run's query."
      scale       = 1048576 # from 1 MiB
    }
    run_nodes_processed = {
      event       = "run.finished"
      field       = "nodesProcessed"
      unit        = "1"
      description = "Nodes aggregated in the run."
      scale       = 1
    }
    run_nodes_failed = {
      event       = "run.finished"
      field       = "nodesFailed"
      unit        = "1"
      description = "Nodes whose aggregation failed in the run (retried, then dead-lettered)."
      scale       = 1
    }
    open_anomalies = {
      event       = "rollup.finished"
      field       = "openAnomalies"
      unit        = "1"
      description = "Anomalies open network-wide after the run's roll-up."
      scale       = 1
    }
  }
}

resource "google_logging_metric" "run_finished" {
  name        = "${local.metric_prefix}run_finished"
  description = "Processing runs that finished, by status (done, partial, failed)."
  filter      = "${local.function_logs} AND jsonPayload.event=\"run.finished\""

  label_extractors = {
    status = "EXTRACT(jsonPayload.status)"
  }

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "Runs finished"

    labels {
      key         = "status"
      value_type  = "STRING"
      description = "done, partial or failed"
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_logging_metric" "run_distribution" {
  for_each = local.run_distributions

  name            = "${local.metric_prefix}${each.key}"
  description     = each.value.description
  filter          = "${local.function_logs} AND jsonPayload.event=\"${each.value.event}\""
  value_extractor = "EXTRACT(jsonPayload.${each.value.field})"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = each.value.unit
    display_name = each.value.description
  }

  bucket_options {
    exponential_buckets {
      num_finite_buckets = 24
      growth_factor      = 2
      scale              = each.value.scale
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_logging_metric" "node_failed" {
  name        = "${local.metric_prefix}node_failed"
  description = "Per-node aggregations that threw (the message is retried, then dead-lettered)."
  filter      = "${local.function_logs} AND jsonPayload.event=\"node.failed\""

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "Node aggregations failed"
  }

  depends_on = [google_project_service.enabled]
}

resource "google_logging_metric" "message_dead_lettered" {
  name        = "${local.metric_prefix}message_dead_lettered"
  description = "Messages the functions set aside on the dead-letter topic themselves (poison messages)."
  filter      = "${local.function_logs} AND jsonPayload.event=\"message.dead_lettered\""

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "Messages dead-lettered by the functions"
  }

  depends_on = [google_project_service.enabled]
}

resource "google_logging_metric" "anomaly_opened" {
  name        = "${local.metric_prefix}anomaly_opened"
  description = "Anomalies opened, by severity and type."
  filter      = "${local.function_logs} AND jsonPayload.event=\"anomaly.opened\""

  label_extractors = {
    severity     = "EXTRACT(jsonPayload.anomalySeverity)"
    anomaly_type = "EXTRACT(jsonPayload.anomalyType)"
  }

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "Anomalies opened"

    labels {
      key        = "severity"
      value_type = "STRING"
    }
    labels {
      key        = "anomaly_type"
      value_type = "STRING"
    }
  }

  depends_on = [google_project_service.enabled]
}

# API latency as the API measured it, with the tier that answered (memory, redis, postgres, none): its
# count per tier is the cache hit ratio on the dashboard. Only the sampled lines (one request in
# API_REQUEST_LOG_SAMPLE, `sampled: true`) are counted: the failed and slow requests logged beside them
# would bias the shares.
resource "google_logging_metric" "api_request_latency" {
  name            = "${local.metric_prefix}api_request_latency"
  description     = "API request latency in ms, by answering tier and status class."
  filter          = "${local.function_logs} AND jsonPayload.event=\"api.request\" AND jsonPayload.sampled=true"
  value_extractor = "EXTRACT(jsonPayload.latencyMs)"

  label_extractors = {
    tier         = "EXTRACT(jsonPayload.tier)"
    status_class = "REGEXP_EXTRACT(jsonPayload.status, \"^([1-5])[0-9][0-9]$\")"
  }

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "ms"
    display_name = "API request latency"

    labels {
      key         = "tier"
      value_type  = "STRING"
      description = "memory, redis, postgres or none"
    }
    labels {
      key         = "status_class"
      value_type  = "STRING"
      description = "First digit of the HTTP status"
    }
  }

  bucket_options {
    exponential_buckets {
      num_finite_buckets = 20
      growth_factor      = 1.6
      scale              = 0.5
    }
  }

  depends_on = [google_project_service.enabled]
}
