# APIs the system uses. Left enabled on destroy: other workloads in the project may depend on them.
# cloudresourcemanager and serviceusage must already be on for Terraform to read the project and enable
# the rest (README, first deployment).

locals {
  services = toset([
    "artifactregistry.googleapis.com", # function images built from the bundles
    "bigquery.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "cloudtrace.googleapis.com", # spans of requests and cycles (TRACING=cloud), stored by Cloud Trace
    "compute.googleapis.com",    # VPC for Cloud SQL's private IP
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "servicenetworking.googleapis.com",
    "sqladmin.googleapis.com",
    "storage.googleapis.com",
    "telemetry.googleapis.com", # the OTLP endpoint the functions export spans to
  ])
}

resource "google_project_service" "enabled" {
  for_each = local.services

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# Google creates a service's agent lazily; on a new project the Pub/Sub agent may not exist yet when
# Terraform grants it roles (iam.tf), and the grant fails. Asking for the identity creates it first, and
# every grant to it references this resource, so it is ordered before them.
resource "google_project_service_identity" "pubsub" {
  provider = google-beta

  project    = var.project_id
  service    = "pubsub.googleapis.com"
  depends_on = [google_project_service.enabled]
}
