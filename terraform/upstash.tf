# The Upstash Redis database: an existing one (upstash_redis_rest_url / _token, the default), or one this
# configuration creates with the upstash/upstash provider when var.upstash_database is set. Either way the
# functions read its REST URL and token from Secret Manager (secrets.tf), written through write-only
# attributes.
#
# What the state holds when the database is created here: the provider has no write-only or ephemeral
# attributes, so upstash_redis_database keeps the database's password, REST token and read-only REST
# token (marked sensitive: hidden in plans and output, but in plain text in the state bucket, whose access
# is the control). The provider's API key is an ephemeral variable and is never stored.

locals {
  upstash_created = var.upstash_database != null
  # An existing database's values are ephemeral variables; a created one's come from the resource.
  upstash_rest_url   = local.upstash_created ? "https://${one(upstash_redis_database.cache[*].endpoint)}" : var.upstash_redis_rest_url
  upstash_rest_token = local.upstash_created ? one(upstash_redis_database.cache[*].rest_token) : var.upstash_redis_rest_token
}

# Terraform configures every provider of the configuration, even one no resource uses: without a
# database to create, placeholders stand in for the credentials (the provider only builds its API
# client when configured; it calls the API for resources only).
provider "upstash" {
  email   = coalesce(var.upstash_email, "unused@example.invalid")
  api_key = var.upstash_api_key != null ? var.upstash_api_key : "unused"
}

resource "upstash_redis_database" "cache" {
  count = local.upstash_created ? 1 : 0

  database_name = "${var.name_prefix}-cache"
  # Regional databases are deprecated by Upstash: a global one with its primary (and read) regions.
  region         = "global"
  primary_region = var.upstash_database.primary_region
  read_regions   = var.upstash_database.read_regions
  tls            = true
  eviction       = var.upstash_database.eviction
  budget         = var.upstash_database.budget
  auto_scale     = false
}
