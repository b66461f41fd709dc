# Topics of the processing cycle and our own push subscriptions to the functions.
#
# The functions have no Eventarc trigger: the subscription Eventarc creates cannot dead-letter. Each push
# subscription below carries an OIDC token from the push invoker, a retry policy with backoff, and a
# dead-letter policy. The push path /projects/P/topics/T lets the functions framework turn the plain
# Pub/Sub push body into the CloudEvent the handlers are registered for.

resource "google_pubsub_topic" "cycle" {
  name       = "${var.name_prefix}-cycle"
  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic" "node_work" {
  name       = "${var.name_prefix}-node-work"
  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic" "network_rollup" {
  name       = "${var.name_prefix}-network-rollup"
  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic" "dead_letter" {
  name       = "${var.name_prefix}-dead-letter"
  depends_on = [google_project_service.enabled]
}

locals {
  push_subscriptions = {
    # Cycle ticks and the daily maintenance message (attribute kind=maintenance) go to the dispatcher.
    dispatcher-cycle = { function = "dispatcher", topic = google_pubsub_topic.cycle.id, topic_name = google_pubsub_topic.cycle.name }
    # One message per node (or per slice of a large node).
    aggregator-node-work = { function = "aggregator", topic = google_pubsub_topic.node_work.id, topic_name = google_pubsub_topic.node_work.name }
    # Fan-in: the network-wide picture once the last node of a run is done.
    aggregator-network-rollup = { function = "aggregator", topic = google_pubsub_topic.network_rollup.id, topic_name = google_pubsub_topic.network_rollup.name }
  }
}

resource "google_pubsub_subscription" "push" {
  for_each = local.push_subscriptions

  name  = "${var.name_prefix}-${each.key}"
  topic = each.value.topic

  # The push request must be answered within the deadline; a function may use its whole timeout.
  ack_deadline_seconds = min(600, var.functions[each.value.function].timeout_seconds)

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.function[each.value.function].service_config[0].uri}/projects/${var.project_id}/topics/${each.value.topic_name}"

    oidc_token {
      service_account_email = google_service_account.push_invoker.email
      audience              = google_cloudfunctions2_function.function[each.value.function].service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = "" # never expires, however quiet the topic
  }

  # Push deliveries need the invoker grant; dead-lettering needs the agent's publisher grant.
  depends_on = [
    google_cloud_run_v2_service_iam_member.push_invokes,
    google_pubsub_topic_iam_member.pubsub_agent_dead_letters,
  ]
}

# The aggregator reads every dead-lettered message too: it records that node's work as failed, so the
# run still reaches its roll-up and ends `partial` instead of hanging. No dead-letter policy here: a
# dead letter that can't be recorded is retried (with backoff, for the topic's retention) rather than
# dead-lettered onto its own topic in a loop; the aggregator error alert shows it.
resource "google_pubsub_subscription" "dead_letter_to_aggregator" {
  name                 = "${var.name_prefix}-aggregator-dead-letter"
  topic                = google_pubsub_topic.dead_letter.id
  ack_deadline_seconds = min(600, var.functions.aggregator.timeout_seconds)

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.function["aggregator"].service_config[0].uri}/projects/${var.project_id}/topics/${google_pubsub_topic.dead_letter.name}"

    oidc_token {
      service_account_email = google_service_account.push_invoker.email
      audience              = google_cloudfunctions2_function.function["aggregator"].service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [google_cloud_run_v2_service_iam_member.push_invokes]
}

# Dead-lettered messages also wait here for an operator (see the dead-letter alert's documentation): a
# pull subscription nothing consumes automatically, so it has no dead-letter policy of its own.
resource "google_pubsub_subscription" "dead_letter_hold" {
  name                       = "${var.name_prefix}-dead-letter-hold"
  topic                      = google_pubsub_topic.dead_letter.id
  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"

  expiration_policy {
    ttl = ""
  }
}

# --- Webhooks ------------------------------------------------------------------------------------------

# Fan-out ticks (from the aggregator when anomalies open or a roll-up ends, and every minute from Cloud
# Scheduler) and one message per delivery, all for the webhooks function.
resource "google_pubsub_topic" "webhook_deliveries" {
  name       = "${var.name_prefix}-webhook-deliveries"
  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic" "webhook_dead_letter" {
  name       = "${var.name_prefix}-webhook-dead-letter"
  depends_on = [google_project_service.enabled]
}

# A failed delivery throws, and Pub/Sub redelivers with exponential backoff (10 s doubling up to 10 min).
# The function dead-letters a delivery itself after WEBHOOK_MAX_ATTEMPTS, in the log an admin reads and
# replays; this subscription's dead-letter policy, two attempts later, catches a worker that crashed.
resource "google_pubsub_subscription" "webhook_deliveries" {
  name                 = "${var.name_prefix}-webhooks-deliveries"
  topic                = google_pubsub_topic.webhook_deliveries.id
  ack_deadline_seconds = min(600, var.functions.webhooks.timeout_seconds)

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.function["webhooks"].service_config[0].uri}/projects/${var.project_id}/topics/${google_pubsub_topic.webhook_deliveries.name}"

    oidc_token {
      service_account_email = google_service_account.push_invoker.email
      audience              = google_cloudfunctions2_function.function["webhooks"].service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.webhook_dead_letter.id
    max_delivery_attempts = var.webhook_max_attempts + 2
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_cloud_run_v2_service_iam_member.push_invokes,
    google_pubsub_topic_iam_member.pubsub_agent_webhook_dead_letters,
  ]
}

# Dead-lettered delivery messages go back to the webhooks function, which marks the delivery dead.
resource "google_pubsub_subscription" "webhook_dead_letter" {
  name                 = "${var.name_prefix}-webhooks-dead-letter"
  topic                = google_pubsub_topic.webhook_dead_letter.id
  ack_deadline_seconds = 60

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.function["webhooks"].service_config[0].uri}/projects/${var.project_id}/topics/${google_pubsub_topic.webhook_dead_letter.name}"

    oidc_token {
      service_account_email = google_service_account.push_invoker.email
      audience              = google_cloudfunctions2_function.function["webhooks"].service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [google_cloud_run_v2_service_iam_member.push_invokes]
}
