# What the function-build identity may do, and no more: read the uploaded bundles, push the images to
# our own repository, write its build logs. (Google's documented shortcut, roles/cloudbuild.builds.builder
# on the project, would also let it read and write every bucket and repository of the project.)

resource "google_artifact_registry_repository" "functions" {
  repository_id = "${var.name_prefix}-functions"
  location      = var.region
  format        = "DOCKER"
  description   = "Images Cloud Build makes from the function bundles (build_config.docker_repository)."
  depends_on    = [google_project_service.enabled]
}

resource "google_storage_bucket_iam_member" "function_build_reads_sources" {
  bucket = google_storage_bucket.function_sources.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.function_build.member
}

resource "google_artifact_registry_repository_iam_member" "function_build_pushes" {
  location   = google_artifact_registry_repository.functions.location
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.function_build.member
}

# Build logs are written to the project's log buckets: Logging has no narrower resource for writing.
resource "google_project_iam_member" "function_build_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.function_build.member
}
