# The request table: one item per request (key `pk`), the three indexes the store queries
# (crates/aws/src/store/items.rs): `by-requester` (a person's requests, newest first), the sparse
# `by-deadline` (live requests by state and deadline, read by the sweeper) and `by-submission-day`
# (requests by the UTC day they were submitted, read day by day by the period report; items written
# before this index existed are not in it: see "Upgrading a deployment" in README.md).

resource "aws_dynamodb_table" "requests" {
  name                        = "${var.name}-requests"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  deletion_protection_enabled = true

  attribute {
    name = "pk"
    type = "S"
  }
  attribute {
    name = "gsi1pk"
    type = "S"
  }
  attribute {
    name = "gsi1sk"
    type = "S"
  }
  attribute {
    name = "gsi2pk"
    type = "S"
  }
  attribute {
    name = "gsi2sk"
    type = "S"
  }
  attribute {
    name = "gsi3pk"
    type = "S"
  }
  attribute {
    name = "gsi3sk"
    type = "S"
  }

  global_secondary_index {
    name            = "by-requester"
    hash_key        = "gsi1pk"
    range_key       = "gsi1sk"
    projection_type = "ALL"
  }

  global_secondary_index {
    name            = "by-deadline"
    hash_key        = "gsi2pk"
    range_key       = "gsi2sk"
    projection_type = "ALL"
  }

  global_secondary_index {
    name            = "by-submission-day"
    hash_key        = "gsi3pk"
    range_key       = "gsi3sk"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.main.arn
  }
}
