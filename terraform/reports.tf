# The security team's weekly report (issue #19): the sweep Lambda, invoked weekly with
# {"task": "report"} (the schedule is in sweep.tf), puts the period's HTML page under reports/ in this bucket and posts its
# s3:// address and an S3 console link (never a presigned URL) to the approvers' channel.
# Versioned (a retried run's page is a new version, the first one stays), encrypted with the
# module's key, closed to the public and to plain HTTP; with report_object_lock_days > 0 every
# page is kept in compliance mode for that long. The Lambda may only put objects under reports/.

resource "aws_s3_bucket" "reports" {
  #checkov:skip=CKV_AWS_18:Server access logging needs a second bucket, itself unlogged; object-level reads and writes of this bucket are in CloudTrail data events where the account enables them.
  #checkov:skip=CKV_AWS_144:Cross-region replication of a weekly report is the account's backup policy, not the module's; the page can be made again from the table and the audit logs.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of this bucket: the approvers are told of each page in Slack.
  bucket_prefix       = "${var.name}-reports-"
  object_lock_enabled = var.report_object_lock_days > 0
  force_destroy       = false
}

resource "aws_s3_bucket_ownership_controls" "reports" {
  bucket = aws_s3_bucket.reports.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "reports" {
  bucket                  = aws_s3_bucket.reports.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "reports" {
  bucket = aws_s3_bucket.reports.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "reports" {
  bucket = aws_s3_bucket.reports.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.main.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_object_lock_configuration" "reports" {
  count  = var.report_object_lock_days > 0 ? 1 : 0
  bucket = aws_s3_bucket.reports.id
  rule {
    default_retention {
      mode = "COMPLIANCE"
      days = var.report_object_lock_days
    }
  }
  depends_on = [aws_s3_bucket_versioning.reports]
}

resource "aws_s3_bucket_lifecycle_configuration" "reports" {
  bucket = aws_s3_bucket.reports.id
  rule {
    id     = "reports"
    status = "Enabled"
    filter {
      prefix = "reports/"
    }
    transition {
      days          = 90
      storage_class = "GLACIER_IR"
    }
    noncurrent_version_expiration {
      noncurrent_days = var.report_retention_days
    }
    expiration {
      days = var.report_retention_days
    }
  }
  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
  depends_on = [aws_s3_bucket_versioning.reports]
}

data "aws_iam_policy_document" "reports_bucket" {
  statement {
    sid       = "DenyPlainHttp"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.reports.arn, "${aws_s3_bucket.reports.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "reports" {
  bucket     = aws_s3_bucket.reports.id
  policy     = data.aws_iam_policy_document.reports_bucket.json
  depends_on = [aws_s3_bucket_public_access_block.reports]
}

# The bastions' subnet: where the weekly report expects database logins from.
data "aws_subnet" "bastion" {
  id = var.bastion_subnet_id
}
