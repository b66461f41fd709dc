# One dashboard for the whole system: the cycle (duration, nodes, BigQuery bytes, outcomes), the API
# (latency percentiles, which cache tier answers), the network (anomalies) and the plumbing (dead
# letters, Cloud SQL). Charts use PromQL over the log-based metrics of monitoring.tf and Google's own
# metrics (names as Cloud Monitoring maps them to PromQL: logging.googleapis.com/user/X becomes
# logging_googleapis_com:user_X).

locals {
  promql_user_metric = "logging_googleapis_com:user_${local.metric_prefix}"
  promql_functions   = "monitored_resource=\"cloud_run_revision\""
  promql_api         = "monitored_resource=\"cloud_run_revision\",service_name=\"${local.function_service["api"]}\""

  # Per-run mean of a distribution metric over the last hour (two runs at the default cycle).
  promql_per_run = { for name in keys(local.run_distributions) : name => "sum(increase(${local.promql_user_metric}${name}_sum{${local.promql_functions}}[1h])) / sum(increase(${local.promql_user_metric}${name}_count{${local.promql_functions}}[1h]))" }

  dashboard_charts = concat([
    {
      title = "Cycle duration (s)"
      series = [
        { legend = "mean", query = "(${local.promql_per_run["run_duration"]}) / 1000" },
        { legend = "p95", query = "histogram_quantile(0.95, sum by (le) (increase(${local.promql_user_metric}run_duration_bucket{${local.promql_functions}}[6h]))) / 1000" },
      ]
    },
    {
      title = "Nodes per run"
      series = [
        { legend = "processed", query = local.promql_per_run["run_nodes_processed"] },
        { legend = "failed", query = local.promql_per_run["run_nodes_failed"] },
      ]
    },
    {
      title  = "BigQuery bytes processed per run"
      series = [{ legend = "bytes", query = local.promql_per_run["run_bytes_processed"] }]
    },
    {
      title  = "Runs finished per hour, by status"
      series = [{ legend = "$${status}", query = "sum by (status) (increase(${local.promql_user_metric}run_finished{${local.promql_functions}}[1h]))" }]
    },
    {
      title = "API latency (ms)"
      series = [for legend, q in { p50 = "0.5", p95 = "0.95", p99 = "0.99" } : {
        legend = legend
        query  = "histogram_quantile(${q}, sum by (le) (rate(run_googleapis_com:request_latencies_bucket{${local.promql_api}}[5m])))"
      }]
    },
    {
      title  = "API answers by cache tier (share of requests)"
      series = [{ legend = "$${tier}", query = "sum by (tier) (rate(${local.promql_user_metric}api_request_latency_count{${local.promql_functions}}[10m])) / scalar(sum(rate(${local.promql_user_metric}api_request_latency_count{${local.promql_functions}}[10m])))" }]
    },
    {
      title  = "Open anomalies (after each roll-up)"
      series = [{ legend = "open", query = local.promql_per_run["open_anomalies"] }]
    },
    {
      title  = "Anomalies opened per hour, by severity"
      series = [{ legend = "$${severity}", query = "sum by (severity) (increase(${local.promql_user_metric}anomaly_opened{${local.promql_functions}}[1h]))" }]
    },
    {
      title  = "Dead-letter queue (messages waiting)"
      series = [{ legend = "waiting", query = "max(pubsub_googleapis_com:subscription_num_undelivered_messages{monitored_resource=\"pubsub_subscription\",subscription_id=\"${google_pubsub_subscription.dead_letter_hold.name}\"})" }]
    },
    ], var.use_cloud_sql ? [
    {
      title  = "Cloud SQL CPU utilisation"
      series = [{ legend = "cpu", query = "max(cloudsql_googleapis_com:database_cpu_utilization{monitored_resource=\"cloudsql_database\",database_id=\"${var.project_id}:${google_sql_database_instance.main[0].name}\"})" }]
    },
    {
      title  = "Cloud SQL connections (max_connections ${var.sql_max_connections})"
      series = [{ legend = "backends", query = "sum(cloudsql_googleapis_com:database_postgresql_num_backends{monitored_resource=\"cloudsql_database\",database_id=\"${var.project_id}:${google_sql_database_instance.main[0].name}\"})" }]
    },
  ] : [])
}

resource "google_monitoring_dashboard" "overview" {
  dashboard_json = jsonencode({
    displayName = "${var.name_prefix}: water-network monitoring"
    mosaicLayout = {
      columns = 48
      tiles = [for i, chart in local.dashboard_charts : {
        xPos   = (i % 2) * 24
        yPos   = floor(i / 2) * 16
        width  = 24
        height = 16
        widget = {
          title = chart.title
          xyChart = {
            dataSets = [for series in chart.series : {
              plotType       = "LINE"
              legendTemplate = series.legend
              timeSeriesQuery = {
                prometheusQuery = series.query
              }
            }]
          }
        }
      }]
    }
  })

  depends_on = [google_logging_metric.run_finished, google_logging_metric.run_distribution, google_logging_metric.api_request_latency, google_logging_metric.anomaly_opened]
}
