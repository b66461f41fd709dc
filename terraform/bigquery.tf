# Cold store: the raw readings, partitioned by day on reading_time and clustered by node_id. The column
# list lives in schemas/readings.json, which the BigQuery adapter in shared/ imports too, so code and
# table cannot drift apart. With bigquery_existing_table set, nothing is created and the dispatcher reads
# that table instead.

resource "google_bigquery_dataset" "readings" {
  count = var.bigquery_existing_table == null ? 1 : 0

  dataset_id  = var.bigquery_dataset_id
  location    = var.bigquery_location
  description = "Raw sensor readings of the water network."
  depends_on  = [google_project_service.enabled]
}

resource "google_bigquery_table" "readings" {
  count = var.bigquery_existing_table == null ? 1 : 0

  dataset_id  = google_bigquery_dataset.readings[0].dataset_id
  table_id    = var.bigquery_table_id
  description = "One row per node and reading time; flow L/s, pressure bar, temperature degC, cumulative volume m3, chlorine mg/L, turbidity NTU, pH."
  schema      = file("${path.module}/schemas/readings.json")

  time_partitioning {
    type  = "DAY"
    field = "reading_time"
  }
  clustering = ["node_id"]

  # A query without a reading_time filter would scan the whole history; refuse it.
  require_partition_filter = true
  deletion_protection      = true
}

# The dispatcher reads the readings; the API streams pushed readings in (POST /api/v1/readings).
resource "google_bigquery_dataset_iam_member" "dispatcher_reads_readings" {
  dataset_id = local.bigquery_dataset_id
  role       = "roles/bigquery.dataViewer"
  member     = google_service_account.function["dispatcher"].member
}

# The dataset holds only the readings table; the provider here has no table-level IAM member type.
resource "google_bigquery_dataset_iam_member" "api_streams_readings" {
  dataset_id = local.bigquery_dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = google_service_account.function["api"].member
}
