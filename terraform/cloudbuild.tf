# Continuous delivery (only with var.cloudbuild set), three triggers and two identities:
#
#   checks  pull requests: install, type-check, lint, test, build, terraform fmt. Runs as the read-only
#           checks account (it may write its build logs, nothing else): code from a pull request never
#           runs with the deployer's rights.
#   plan    pushes to the branch: the checks, the ops image, `terraform plan -out`, the plan printed in the
#           build log and saved with its SHA-256 and bundles under gs://STATE/plans/COMMIT/, then the apply
#           trigger is started for that commit.
#   apply   waits for an approval (approval_config). The approver reads the plan build's log; the apply
#           build verifies the saved plan's SHA-256, applies exactly that file (Terraform refuses a stale
#           one), runs the migrate job, smoke-tests the new API revision and only then moves traffic.
locals {
  cloudbuild_enabled = var.cloudbuild == null ? toset([]) : toset(["enabled"])

  # What applying this configuration needs. Predefined roles only: applying creates service accounts and
  # grants roles, so this identity is as powerful as the system it deploys. Only builds of the deployment
  # branch run as it (plan, and apply after approval); pull requests run as the checks account.
  deployer_roles = toset([
    "roles/artifactregistry.writer", # the ops image
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
    "roles/logging.viewer", # reads the first-admin-key job's sealed output
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

resource "google_service_account" "checks" {
  for_each = local.cloudbuild_enabled

  account_id   = "${var.name_prefix}-checks"
  display_name = "${var.name_prefix} Cloud Build pull-request checks"
  description  = "Runs the pull-request checks: may write its build logs and nothing else."
  depends_on   = [google_project_service.enabled]
}

resource "google_project_iam_member" "checks_logs" {
  for_each = local.cloudbuild_enabled

  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.checks["enabled"].member
}

resource "google_cloudbuild_trigger" "checks" {
  for_each = local.cloudbuild_enabled

  name            = "${var.name_prefix}-checks"
  description     = "Pull requests: install, type-check, lint, test, build the bundles, terraform fmt. Read-only identity."
  location        = "global"
  filename        = "cloudbuild.yaml"
  service_account = google_service_account.checks["enabled"].id

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
    _MODE = "checks"
  }

  include_build_logs = "INCLUDE_BUILD_LOGS_WITH_STATUS"
}

resource "google_cloudbuild_trigger" "plan" {
  for_each = local.cloudbuild_enabled

  name            = "${var.name_prefix}-plan"
  description     = "Pushes to ${var.cloudbuild.branch}: the checks, then a saved plan for approval; starts ${var.name_prefix}-apply for it."
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

  substitutions = {
    _MODE            = "plan"
    _TF_STATE_BUCKET = var.cloudbuild.state_bucket
    _REGION          = var.region
    _NAME_PREFIX     = var.name_prefix
    _APPLY_TRIGGER   = "${var.name_prefix}-apply"
  }

  include_build_logs = "INCLUDE_BUILD_LOGS_WITH_STATUS"
}

resource "google_cloudbuild_trigger" "apply" {
  for_each = local.cloudbuild_enabled

  name            = "${var.name_prefix}-apply"
  description     = "Applies the plan saved by ${var.name_prefix}-plan for _PLAN_SHA, after approval; then migrate, smoke test, traffic."
  location        = "global"
  service_account = google_service_account.deployer["enabled"].id

  source_to_build {
    uri       = "https://github.com/${var.cloudbuild.github_owner}/${var.cloudbuild.github_repository}"
    ref       = "refs/heads/${var.cloudbuild.branch}"
    repo_type = "GITHUB"
  }

  git_file_source {
    path      = "cloudbuild-apply.yaml"
    uri       = "https://github.com/${var.cloudbuild.github_owner}/${var.cloudbuild.github_repository}"
    revision  = "refs/heads/${var.cloudbuild.branch}"
    repo_type = "GITHUB"
  }

  approval_config {
    approval_required = true
  }

  substitutions = {
    _TF_STATE_BUCKET = var.cloudbuild.state_bucket
    _REGION          = var.region
    _NAME_PREFIX     = var.name_prefix
    _PLAN_SHA        = ""
  }

  include_build_logs = "INCLUDE_BUILD_LOGS_WITH_STATUS"
}
