# A VPC only for reaching Cloud SQL's private IP (none when use_cloud_sql = false). The functions join the
# subnet through direct VPC egress (why: functions.tf); Cloud SQL sits in a range peered in through
# private services access.

resource "google_compute_network" "vpc" {
  count = var.use_cloud_sql ? 1 : 0

  name                    = "${var.name_prefix}-vpc"
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"
  depends_on              = [google_project_service.enabled]
}

resource "google_compute_subnetwork" "functions" {
  count = var.use_cloud_sql ? 1 : 0

  name          = "${var.name_prefix}-functions"
  network       = google_compute_network.vpc[0].id
  region        = var.region
  ip_cidr_range = var.subnet_cidr
  # Lets functions reach Google APIs privately should egress ever be switched to all traffic.
  private_ip_google_access = true
}

resource "google_compute_global_address" "private_services" {
  count = var.use_cloud_sql ? 1 : 0

  name          = "${var.name_prefix}-private-services"
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  prefix_length = var.private_service_access_prefix_length
  network       = google_compute_network.vpc[0].id
}

resource "google_service_networking_connection" "private_services" {
  count = var.use_cloud_sql ? 1 : 0

  network                 = google_compute_network.vpc[0].id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.private_services[0].name]
}
