# Waits that make a first apply work, and (below) what Cloud Monitoring needs to watch the system as a
# service: uptime check, SLOs with burn-rate alerts, a budget.
#
# A log-based metric is not visible to Cloud Monitoring's alerting for a few minutes after it is created:
# an alert policy whose condition names it fails with 404 "Cannot find metric(s)" (terraform-provider-google
# #10325, #11102). Every alert on a log-based metric depends on this wait, which runs once when the metrics
# are created (and again if one is recreated: the triggers carry their ids), in parallel with the rest of
# the apply (Cloud SQL alone takes longer).
resource "time_sleep" "log_metrics_visible" {
  create_duration = "10m"

  triggers = {
    metrics = join(",", concat(
      [google_logging_metric.run_finished.id, google_logging_metric.node_failed.id, google_logging_metric.message_dead_lettered.id],
      [google_logging_metric.anomaly_opened.id, google_logging_metric.api_request_latency.id],
      [for m in google_logging_metric.run_distribution : m.id],
    ))
  }
}

locals {
  api_host = trimprefix(google_cloudfunctions2_function.function["api"].service_config[0].uri, "https://")

  # Fault events the cycle and the API log (shared/log.ts): each pages with its own runbook.
  fault_events = {
    cache_writes_failing = {
      filter   = "jsonPayload.event=\"cache.writes_failing\""
      severity = "WARNING"
      subject  = "Cycle: Redis hot-key writes failing"
      means    = "The aggregator could not write hot keys to Upstash Redis after its retries (one warning per outage). PostgreSQL holds every result, and the API reads it there, with more latency; the keys are rewritten by the next cycle once Redis answers."
      checks   = "Upstash console: is the database up, over its daily command quota or its size? Aggregator logs around the event: the error (timeouts, 401 after a token rotation, 429)."
      recover  = "Nothing to do once Redis answers again (a cache.writes_recovered line follows). A rotated token: write it with a new secrets_version and deploy."
    }
    rollup_replay_failed = {
      filter   = "jsonPayload.event=\"rollup.replay_failed\""
      severity = "ERROR"
      subject  = "Cycle: a dead-lettered network roll-up could not be replayed"
      means    = "A run's network roll-up failed all its deliveries, was dead-lettered, and the one replay also failed: the network metrics, water balance and dashboard of that run were not refreshed (node metrics were)."
      checks   = "The runId in the incident; aggregator logs for that run: the roll-up's error (PostgreSQL, Firestore). Is the next run's roll-up succeeding?"
      recover  = "If the next run's roll-up succeeds the network view is current again; nothing else is lost. If every roll-up fails, fix the dependency and run a cycle now (npm run schedule -- run)."
    }
    run_swept = {
      filter   = "jsonPayload.event=\"run.swept\" AND jsonPayload.status=(\"partial\" OR \"failed\")"
      severity = "ERROR"
      subject  = "Cycle: a run left open was closed partial or failed by the sweep"
      means    = "A run was still open two cycles after its window; the dispatcher's sweep closed it as partial (some nodes had nothing applied) or failed. Those nodes' data is not lost: their watermarks hold it for the next cycle."
      checks   = "The runId, nodesFailed and failedNodes in the log line; aggregator logs for those nodes; the node-work subscription backlog and the dead-letter queue."
      recover  = "Transient causes heal with the next cycles. Nodes that fail every run point at their data or a dependency: fix it, then replay their dead letters."
    }
    api_tier_open = {
      filter   = "jsonPayload.event=\"api.tier_open\""
      severity = "WARNING"
      subject  = "API: a storage tier is failing (circuit open)"
      means    = "The API's circuit breaker for PostgreSQL or Redis opened after three failures in a row: the API skips that tier, serves from the others (stale answers are marked X-Stale) and probes it every few seconds."
      checks   = "The tier label in the incident. PostgreSQL: Cloud SQL instance state, CPU and connections alerts. Redis: Upstash console and quota."
      recover  = "When the tier answers, the breaker closes by itself (api.tier_closed). A long PostgreSQL outage: keys verified earlier keep working for an hour, others get 503."
    }
  }
}

resource "google_monitoring_alert_policy" "fault_event" {
  for_each = local.fault_events

  display_name          = "${var.name_prefix}: ${each.value.subject}"
  combiner              = "OR"
  severity              = each.value.severity
  notification_channels = local.alert_channels

  conditions {
    display_name = "Log event: ${each.key}"
    condition_matched_log {
      filter = "${local.function_logs} AND ${each.value.filter}"
    }
  }

  alert_strategy {
    notification_rate_limit {
      period = "1800s"
    }
    auto_close = "3600s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = each.value.subject
    content   = <<-EOT
      ## What it means
      ${each.value.means}

      ## First checks
      ${each.value.checks} [Logs Explorer](${local.logs_link}): `${each.value.filter}`.

      ## How to recover
      ${each.value.recover}
    EOT
  }
}

# --- Uptime, SLOs with burn-rate alerts ----------------------------------------------------------------

resource "google_monitoring_uptime_check_config" "api_health" {
  display_name = "${var.name_prefix} API /health"
  timeout      = "10s"
  period       = "60s"

  http_check {
    path           = "/health"
    port           = 443
    use_ssl        = true
    validate_ssl   = true
    request_method = "GET"
  }

  monitored_resource {
    type   = "uptime_url"
    labels = { project_id = var.project_id, host = local.api_host }
  }

  content_matchers {
    content = "\"status\":\"ok\""
    matcher = "CONTAINS_STRING"
  }
}

resource "google_monitoring_alert_policy" "api_uptime" {
  display_name          = "${var.name_prefix}: API /health failing from several regions"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = local.alert_channels

  conditions {
    display_name = "Uptime check ${google_monitoring_uptime_check_config.api_health.display_name} failing"
    condition_threshold {
      filter          = "resource.type=\"uptime_url\" AND metric.type=\"monitoring.googleapis.com/uptime_check/check_passed\" AND metric.label.check_id=\"${google_monitoring_uptime_check_config.api_health.uptime_check_id}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 1
      duration        = "120s"

      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_NEXT_OLDER"
        cross_series_reducer = "REDUCE_COUNT_FALSE"
        group_by_fields      = ["resource.label.host"]
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "API unreachable: /health fails from more than one region"
    content   = <<-EOT
      ## What it means
      Google's uptime checkers cannot get `{"status":"ok"}` from https://${local.api_host}/health from two or more regions: consumers most likely cannot reach the API at all (it answers /health without touching any database).

      ## First checks
      1. The [API logs](${local.function_logs_url["api"]}): is the service starting (crash loops, a revision failing its start-up)?
      2. Cloud Run: which revision serves traffic, did a deployment just move it (`gcloud run services describe ${local.function_service["api"]}`)?
      3. Google Cloud status page for Cloud Run in ${var.region}.

      ## How to recover
      - A bad revision: move traffic back, `gcloud run services update-traffic ${local.function_service["api"]} --region ${var.region} --to-revisions PREVIOUS=100`.
      - Start-up failing on configuration (a secret, the schema check): fix and deploy again (`npm run deploy`).
    EOT
  }
}

resource "google_monitoring_custom_service" "api" {
  service_id   = "${var.name_prefix}-api"
  display_name = "${var.name_prefix} API"
}

resource "google_monitoring_custom_service" "pipeline" {
  service_id   = "${var.name_prefix}-pipeline"
  display_name = "${var.name_prefix} processing cycle"
}

locals {
  api_requests = "${local.cloud_run_requests} AND resource.label.service_name=\"${local.function_service["api"]}\""
}

resource "google_monitoring_slo" "api_availability" {
  service             = google_monitoring_custom_service.api.service_id
  slo_id              = "availability"
  display_name        = "99.5% of API requests are not server errors (28 days)"
  goal                = 0.995
  rolling_period_days = 28

  request_based_sli {
    good_total_ratio {
      total_service_filter = local.api_requests
      bad_service_filter   = "${local.api_requests} AND metric.label.response_code_class=\"5xx\""
    }
  }
}

resource "google_monitoring_slo" "api_latency" {
  service             = google_monitoring_custom_service.api.service_id
  slo_id              = "latency"
  display_name        = "95% of API requests under ${var.alert_thresholds.api_p95_latency_ms} ms (28 days)"
  goal                = 0.95
  rolling_period_days = 28

  request_based_sli {
    distribution_cut {
      distribution_filter = "resource.type=\"cloud_run_revision\" AND metric.type=\"run.googleapis.com/request_latencies\" AND resource.label.service_name=\"${local.function_service["api"]}\""
      range {
        max = var.alert_thresholds.api_p95_latency_ms
      }
    }
  }
}

# Freshness: an hour is good when at least one run finished done or partial in it.
resource "google_monitoring_slo" "data_freshness" {
  service             = google_monitoring_custom_service.pipeline.service_id
  slo_id              = "freshness"
  display_name        = "99% of hours see a finished run (28 days)"
  goal                = 0.99
  rolling_period_days = 28

  windows_based_sli {
    window_period = "3600s"
    metric_sum_in_range {
      time_series = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.run_finished.name}\" AND metric.label.status=one_of(\"done\", \"partial\")"
      range {
        min = 1
      }
    }
  }

  depends_on = [time_sleep.log_metrics_visible]
}

locals {
  slos = {
    api_availability = google_monitoring_slo.api_availability
    api_latency      = google_monitoring_slo.api_latency
    data_freshness   = google_monitoring_slo.data_freshness
  }
}

# Multi-window burn rates (Google SRE workbook): 14.4x over 1 h spends 2% of 28 days' budget (page),
# 6x over 6 h spends 5% (page before the day is lost).
resource "google_monitoring_alert_policy" "slo_burn" {
  for_each = local.slos

  display_name          = "${var.name_prefix}: SLO burning fast: ${each.value.display_name}"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.alert_channels

  conditions {
    display_name = "Burn rate over 14.4 for 1 h"
    condition_threshold {
      filter          = "select_slo_burn_rate(\"${each.value.name}\", \"3600s\")"
      comparison      = "COMPARISON_GT"
      threshold_value = 14.4
      duration        = "0s"
    }
  }

  conditions {
    display_name = "Burn rate over 6 for 6 h"
    condition_threshold {
      filter          = "select_slo_burn_rate(\"${each.value.name}\", \"21600s\")"
      comparison      = "COMPARISON_GT"
      threshold_value = 6
      duration        = "0s"
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "SLO error budget burning fast: ${each.value.display_name}"
    content   = <<-EOT
      ## What it means
      The service is failing its objective "${each.value.display_name}" fast enough to spend the 28-day error budget in days: at 14.4 times the sustainable rate over the last hour, or 6 times over six hours.

      ## First checks
      1. The SLO's page in Cloud Monitoring (Services → ${each.value.service}): when did the burn start, and does it line up with a deployment?
      2. The matching symptom alerts: API 5xx or latency, uptime, data stale, runs failed; and their runbooks.
      3. [Logs Explorer](${local.logs_link}): ERROR lines of the functions since the burn started.

      ## How to recover
      - A release: move traffic back to the previous revision (`gcloud run services update-traffic SERVICE --to-revisions PREVIOUS=100`).
      - A dependency (Cloud SQL, Upstash, BigQuery): follow that alert's runbook; the budget recovers as good requests or hours accumulate.
    EOT
  }
}

# --- A budget ---------------------------------------------------------------------------------------------

resource "google_billing_budget" "monthly" {
  count = var.budget == null ? 0 : 1

  billing_account = var.budget.billing_account
  display_name    = "${var.name_prefix} monthly budget (${var.project_id})"

  budget_filter {
    projects = ["projects/${data.google_project.this.number}"]
  }

  amount {
    specified_amount {
      currency_code = var.budget.currency_code
      units         = tostring(var.budget.monthly_amount)
    }
  }

  dynamic "threshold_rules" {
    for_each = [0.5, 0.9, 1.0]

    content {
      threshold_percent = threshold_rules.value
    }
  }

  threshold_rules {
    threshold_percent = 1.0
    spend_basis       = "FORECASTED_SPEND"
  }

  all_updates_rule {
    monitoring_notification_channels = slice(local.alert_channels, 0, min(5, length(local.alert_channels)))
    disable_default_iam_recipients   = false
  }
}
