# Coordination store: runs, watermarks, fan-in counters, model registry (small transactional documents).

resource "google_firestore_database" "coordination" {
  name                    = var.firestore_database
  location_id             = var.firestore_location
  type                    = "FIRESTORE_NATIVE"
  delete_protection_state = "DELETE_PROTECTION_ENABLED"
  depends_on              = [google_project_service.enabled]
}
