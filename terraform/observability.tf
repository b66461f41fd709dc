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
