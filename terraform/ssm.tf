# Session Manager: every session on a bastion is logged to an encrypted CloudWatch log group (the
# security team's record and the teardown receipt's source), session data is encrypted with the
# module's key on top of TLS (the person starting a session needs kms:GenerateDataKey on it; the
# bastion decrypts), idle sessions end, no RunAs.

resource "aws_cloudwatch_log_group" "sessions" {
  name              = "/${var.name}/ssm-sessions"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_ssm_document" "session_preferences" {
  count           = var.manage_session_manager_preferences ? 1 : 0
  name            = "SSM-SessionManagerRunShell"
  document_type   = "Session"
  document_format = "JSON"

  content = jsonencode({
    schemaVersion = "1.0"
    description   = "Session Manager preferences (powerpole): session logs to CloudWatch, idle timeout"
    sessionType   = "Standard_Stream"
    inputs = {
      cloudWatchLogGroupName      = aws_cloudwatch_log_group.sessions.name
      cloudWatchEncryptionEnabled = true
      cloudWatchStreamingEnabled  = true
      s3BucketName                = ""
      s3KeyPrefix                 = ""
      s3EncryptionEnabled         = true
      kmsKeyId                    = aws_kms_key.main.arn
      idleSessionTimeout          = tostring(var.session_idle_timeout_minutes)
      maxSessionDuration          = ""
      runAsEnabled                = false
      runAsDefaultUser            = ""
      shellProfile = {
        linux   = ""
        windows = ""
      }
    }
  })
}
