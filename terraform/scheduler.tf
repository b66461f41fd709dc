# The clock of the system: a cycle message every 30 minutes and a daily maintenance message, both on the
# cycle topic (the dispatcher tells them apart by the attribute kind).
#
# The jobs publish through the Pub/Sub API as the scheduler service account rather than with a
# pubsub_target, which would publish as the Cloud Scheduler service agent: that agent can publish to
# every topic of the project, while this account may publish to the cycle topic only.

locals {
  scheduler_publish_uri = "https://pubsub.googleapis.com/v1/${google_pubsub_topic.cycle.id}:publish"

  # Pub/Sub's publish request; the functions framework only converts pushes whose message has data.
  cycle_message = {
    messages = [{
      data       = base64encode(jsonencode({ kind = "cycle" }))
      attributes = { kind = "cycle" }
    }]
  }
  webhook_tick_message = {
    messages = [{
      data       = base64encode(jsonencode({ kind = "fanout" }))
      attributes = { kind = "fanout" }
    }]
  }
  maintenance_message = {
    messages = [{
      data       = base64encode(jsonencode({ kind = "maintenance" }))
      attributes = { kind = "maintenance" }
    }]
  }
}

resource "google_cloud_scheduler_job" "cycle" {
  name        = "${var.name_prefix}-cycle"
  description = "Starts a processing cycle: the dispatcher reads what is new in BigQuery and fans out one message per node."
  region      = var.region
  schedule    = var.cycle_schedule
  time_zone   = var.schedule_time_zone

  # A lost tick only delays data by one cycle; retrying quickly keeps freshness without piling up.
  retry_config {
    retry_count          = 3
    min_backoff_duration = "10s"
    max_backoff_duration = "120s"
  }

  http_target {
    http_method = "POST"
    uri         = local.scheduler_publish_uri
    headers     = { "Content-Type" = "application/json" }
    body        = base64encode(jsonencode(local.cycle_message))

    oauth_token {
      service_account_email = google_service_account.scheduler.email
      scope                 = "https://www.googleapis.com/auth/pubsub"
    }
  }

  depends_on = [google_pubsub_topic_iam_member.scheduler_publishes_cycle]
}

resource "google_cloud_scheduler_job" "maintenance" {
  name        = "${var.name_prefix}-maintenance"
  description = "Daily maintenance through the dispatcher: retention of old rows, model retraining and promotion."
  region      = var.region
  schedule    = var.maintenance_schedule
  time_zone   = var.schedule_time_zone

  retry_config {
    retry_count          = 3
    min_backoff_duration = "60s"
    max_backoff_duration = "600s"
  }

  http_target {
    http_method = "POST"
    uri         = local.scheduler_publish_uri
    headers     = { "Content-Type" = "application/json" }
    body        = base64encode(jsonencode(local.maintenance_message))

    oauth_token {
      service_account_email = google_service_account.scheduler.email
      scope                 = "https://www.googleapis.com/auth/pubsub"
    }
  }

  depends_on = [google_pubsub_topic_iam_member.scheduler_publishes_cycle]
}

# The functions learn the cycle length from CYCLE_MINUTES; a schedule that disagrees would make each run
# look at the wrong window. A warning, not an error, so a custom schedule stays possible.
check "cycle_schedule_matches_cycle_minutes" {
  assert {
    condition = (
      can(regex("^\\*/${var.cycle_minutes} \\* \\* \\* \\*$", trimspace(var.cycle_schedule))) ||
      (var.cycle_minutes == 60 && can(regex("^[0-9]{1,2} \\* \\* \\* \\*$", trimspace(var.cycle_schedule))))
    )
    error_message = "cycle_schedule does not fire every cycle_minutes minutes; the functions assume CYCLE_MINUTES = cycle_minutes."
  }
}

# Every minute, a webhook fan-out: sends replays and the events of operators' transitions (the API does
# not publish to Pub/Sub); the cycle's own events start a fan-out at once.
resource "google_cloud_scheduler_job" "webhook_fanout" {
  name        = "${var.name_prefix}-webhook-fanout"
  description = "Webhook fan-out tick: queued deliveries (new events, replays) go out."
  region      = var.region
  schedule    = "* * * * *"
  time_zone   = var.schedule_time_zone

  retry_config {
    retry_count          = 1
    min_backoff_duration = "5s"
    max_backoff_duration = "30s"
  }

  http_target {
    http_method = "POST"
    uri         = "https://pubsub.googleapis.com/v1/${google_pubsub_topic.webhook_deliveries.id}:publish"
    headers     = { "Content-Type" = "application/json" }
    body        = base64encode(jsonencode(local.webhook_tick_message))

    oauth_token {
      service_account_email = google_service_account.scheduler.email
      scope                 = "https://www.googleapis.com/auth/pubsub"
    }
  }

  depends_on = [google_pubsub_topic_iam_member.scheduler_publishes_webhook_ticks]
}
