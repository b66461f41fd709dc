# Identities and what each may do. One service account per function; push deliveries and scheduler
# jobs use identities of their own. Every grant sits on the narrowest resource IAM offers for it; the
# three project-level grants to functions are explained where they are made.

resource "google_service_account" "function" {
  for_each = var.functions

  account_id   = "${var.name_prefix}-${each.key}"
  display_name = "${var.name_prefix} ${each.key} function"
  description  = "Runtime identity of the ${each.key} function."
  depends_on   = [google_project_service.enabled]
}

resource "google_service_account" "push_invoker" {
  account_id   = "${var.name_prefix}-push-invoker"
  display_name = "${var.name_prefix} Pub/Sub push invoker"
  description  = "Signs the OIDC tokens of our push subscriptions; may only invoke the dispatcher, the aggregator and the webhooks function."
  depends_on   = [google_project_service.enabled]
}

resource "google_service_account" "scheduler" {
  account_id   = "${var.name_prefix}-scheduler"
  display_name = "${var.name_prefix} scheduler"
  description  = "Identity of the Cloud Scheduler jobs; may only publish to the cycle and webhook-deliveries topics."
  depends_on   = [google_project_service.enabled]
}

resource "google_service_account" "function_build" {
  account_id   = "${var.name_prefix}-function-build"
  display_name = "${var.name_prefix} function builds"
  description  = "Builds the function images from the uploaded bundles (instead of the Compute Engine default account)."
  depends_on   = [google_project_service.enabled]
}

# What the build account may do is granted in build.tf, each on the narrowest resource.

# --- Function runtime grants -------------------------------------------------------------------------

# Query jobs are billed to a project, so jobUser exists only at project level; the data itself is
# readable only through the dataset grant in bigquery.tf.
resource "google_project_iam_member" "dispatcher_bigquery_jobs" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = google_service_account.function["dispatcher"].member
}

# Spans go to Cloud Trace through the Telemetry API's OTLP endpoint (TRACING=cloud), which IAM grants
# per project only; the role can write spans and nothing else (telemetry.traces.write).
resource "google_project_iam_member" "function_trace_agent" {
  for_each = var.functions

  project = var.project_id
  role    = "roles/telemetry.tracesWriter"
  member  = google_service_account.function[each.key].member
}

# Firestore has no per-database IAM resource; the condition confines the grant to our database.
resource "google_project_iam_member" "firestore_user" {
  for_each = toset(["dispatcher", "aggregator"])

  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.function[each.key].member

  condition {
    title       = "${var.name_prefix}-${each.key}-coordination-db-only"
    description = "Only the coordination database ${google_firestore_database.coordination.name}."
    expression  = "resource.name == \"${google_firestore_database.coordination.id}\" || resource.name.startsWith(\"${google_firestore_database.coordination.id}/\")"
  }
}

locals {
  # Which topics each function publishes to: the dispatcher fans out per-node work (and can close an
  # empty run itself); the aggregator triggers the network roll-up; both may set a poison message aside.
  topic_publishers = {
    "dispatcher/node_work"      = { function = "dispatcher", topic = google_pubsub_topic.node_work.id }
    "dispatcher/network_rollup" = { function = "dispatcher", topic = google_pubsub_topic.network_rollup.id }
    "dispatcher/dead_letter"    = { function = "dispatcher", topic = google_pubsub_topic.dead_letter.id }
    "aggregator/network_rollup" = { function = "aggregator", topic = google_pubsub_topic.network_rollup.id }
    "aggregator/dead_letter"    = { function = "aggregator", topic = google_pubsub_topic.dead_letter.id }
    # The aggregator starts a webhook fan-out when anomalies change; the webhooks function queues deliveries.
    "aggregator/webhook_deliveries" = { function = "aggregator", topic = google_pubsub_topic.webhook_deliveries.id }
    "webhooks/webhook_deliveries"   = { function = "webhooks", topic = google_pubsub_topic.webhook_deliveries.id }
  }
}

resource "google_pubsub_topic_iam_member" "function_publishes" {
  for_each = local.topic_publishers

  topic  = each.value.topic
  role   = "roles/pubsub.publisher"
  member = google_service_account.function[each.value.function].member
}

# --- Invocations -------------------------------------------------------------------------------------

resource "google_cloud_run_v2_service_iam_member" "push_invokes" {
  for_each = toset(["dispatcher", "aggregator", "webhooks"])

  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = google_service_account.push_invoker.member
}

# The API is public on purpose: it authenticates callers with its own API keys (hashed, per tenant).
resource "google_cloud_run_v2_service_iam_member" "api_public" {
  location = var.region
  name     = google_cloudfunctions2_function.function["api"].service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_pubsub_topic_iam_member" "scheduler_publishes_cycle" {
  topic  = google_pubsub_topic.cycle.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.scheduler.member
}

resource "google_pubsub_topic_iam_member" "scheduler_publishes_webhook_ticks" {
  topic  = google_pubsub_topic.webhook_deliveries.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.scheduler.member
}

# --- What the Pub/Sub service agent needs ------------------------------------------------------------

# Mint the OIDC tokens our push subscriptions send.
resource "google_service_account_iam_member" "pubsub_agent_signs_push_tokens" {
  service_account_id = google_service_account.push_invoker.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent
}

# Dead-lettering: the agent republishes to the dead-letter topic and acknowledges on the source.
resource "google_pubsub_topic_iam_member" "pubsub_agent_dead_letters" {
  topic  = google_pubsub_topic.dead_letter.id
  role   = "roles/pubsub.publisher"
  member = local.pubsub_service_agent
}

resource "google_pubsub_topic_iam_member" "pubsub_agent_webhook_dead_letters" {
  topic  = google_pubsub_topic.webhook_dead_letter.id
  role   = "roles/pubsub.publisher"
  member = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_acks_webhook_dead_lettered" {
  subscription = google_pubsub_subscription.webhook_deliveries.id
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_acks_dead_lettered" {
  for_each = google_pubsub_subscription.push

  subscription = each.value.id
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}
