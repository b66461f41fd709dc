# Continuous delivery (only with var.cloudbuild set): cloudbuild.yaml runs the checks, builds the
# bundles and plans on every pull request; on the deployment branch it also applies, and that build only
# starts once someone approves it in Cloud Build (approval_config). The approver reads the plan of the
# pull request's build first: the deploy build applies the same commit's plan.

locals {
  cloudbuild_enabled = var.cloudbuild == null ? toset([]) : toset(["enabled"])

  # What applying this configuration needs. Predefined roles only: applying creates service accounts,
  # grants roles and reads the secrets, so this identity is as powerful as the system it deploys; only
  # approved builds of the deployment branch and reviewed pull requests run as it.
  deployer_roles = toset([
    "roles/bigquery.admin",
    "roles/cloudbuild.builds.editor",
    "roles/cloudfunctions.admin",
    "roles/cloudscheduler.admin",
    "roles/cloudsql.admin",
    "roles/compute.networkAdmin",
    "roles/datastore.owner",
    "roles/iam.serviceAccountAdmin",
    "roles/iam.serviceAccountUser",
    "roles/logging.configWriter",
    "roles/logging.logWriter",
    "roles/monitoring.admin",
    "roles/pubsub.admin",
    "roles/resourcemanager.projectIamAdmin",
    "roles/run.admin",
    "roles/secretmanager.admin",
    "roles/servicenetworking.networksAdmin",
    "roles/serviceusage.serviceUsageAdmin",
    "roles/storage.admin",
  ])
}

resource "google_service_account" "deployer" {
  for_each = local.cloudbuild_enabled

  account_id   = "${var.name_prefix}-deployer"
  display_name = "${var.name_prefix} Cloud Build deployer"
  description  = "Runs cloudbuild.yaml: checks, plan, and apply after approval."
  depends_on   = [google_project_service.enabled]
}

resource "google_project_iam_member" "deployer" {
  for_each = var.cloudbuild == null ? toset([]) : local.deployer_roles

  project = var.project_id
  role    = each.value
  member  = google_service_account.deployer["enabled"].member
}

resource "google_cloudbuild_trigger" "checks" {
  for_each = local.cloudbuild_enabled

  name            = "${var.name_prefix}-checks"
  description     = "Pull requests: install, type-check, lint, test, build the bundles, terraform fmt and plan."
  location        = "global"
  filename        = "cloudbuild.yaml"
  service_account = google_service_account.deployer["enabled"].id

  github {
    owner = var.cloudbuild.github_owner
    name  = var.cloudbuild.github_repository

    pull_request {
      branch = "^${var.cloudbuild.branch}$"
      # Builds of outside contributors' pull requests wait for a maintainer's /gcbrun comment.
      comment_control = "COMMENTS_ENABLED_FOR_EXTERNAL_CONTRIBUTORS_ONLY"
    }
  }

  substitutions = {
    _TF_STATE_BUCKET = var.cloudbuild.state_bucket
    _APPLY           = "false"
  }

  include_build_logs = "INCLUDE_BUILD_LOGS_WITH_STATUS"
}

resource "google_cloudbuild_trigger" "deploy" {
  for_each = local.cloudbuild_enabled

  name            = "${var.name_prefix}-deploy"
  description     = "Pushes to ${var.cloudbuild.branch}: the checks, then terraform apply. Starts only after approval."
  location        = "global"
  filename        = "cloudbuild.yaml"
  service_account = google_service_account.deployer["enabled"].id

  github {
    owner = var.cloudbuild.github_owner
    name  = var.cloudbuild.github_repository

    push {
      branch = "^${var.cloudbuild.branch}$"
    }
  }

  approval_config {
    approval_required = true
  }

  substitutions = {
    _TF_STATE_BUCKET = var.cloudbuild.state_bucket
    _APPLY           = "true"
  }

  include_build_logs = "INCLUDE_BUILD_LOGS_WITH_STATUS"
}
