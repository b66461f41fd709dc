# Who may run a cycle now and pause or resume the schedule (`npm run schedule -- run|pause|resume`).
# Cloud Scheduler has no per-job IAM, so the grant is project-level, of a custom role holding exactly
# those verbs on jobs (no create, update or delete: the jobs stay Terraform's).

resource "google_project_iam_custom_role" "scheduler_operator" {
  role_id     = "${replace(var.name_prefix, "-", "_")}_scheduler_operator"
  title       = "${var.name_prefix} scheduler operator"
  description = "Run a scheduler job now, pause and resume it (npm run schedule)."
  permissions = [
    "cloudscheduler.jobs.enable",
    "cloudscheduler.jobs.get",
    "cloudscheduler.jobs.list",
    "cloudscheduler.jobs.pause",
    "cloudscheduler.jobs.run",
    "cloudscheduler.locations.list",
  ]
}

resource "google_project_iam_member" "scheduler_operators" {
  for_each = toset(var.scheduler_operators)

  project = var.project_id
  role    = google_project_iam_custom_role.scheduler_operator.name
  member  = each.value
}
