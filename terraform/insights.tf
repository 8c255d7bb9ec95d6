# CloudWatch Logs Insights saved queries for the security team, over the audit logs Aurora
# exports for the served clusters of this region (advanced auditing: the ten-field server_audit
# line `timestamp,serverhost,username,host,connectionid,queryid,operation,database,object,retcode`).
# Saved queries take no parameters: replace DB_USER, WINDOW_START and WINDOW_END (epoch
# milliseconds, e.g. from `powerpole report --json`: granted.start / granted.end) before running;
# the time range is picked in the console (24 hours for the DDL query). `powerpole report` reads
# the same lines and masks passwords; these queries show the lines as Aurora logged them.

locals {
  audit_log_group_names = [
    for c in var.clusters : "/aws/rds/cluster/${c.id}/audit" if c.region == local.region
  ]
  audit_line_fields = "parse @message /^(?<logged>[^,]*),(?<server>[^,]*),(?<db_user>[^,]*),(?<client_host>[^,]*),(?<connection>[^,]*),(?<query_id>[^,]*),(?<operation>[^,]*),(?<db>[^,]*),(?<object>.*),(?<retcode>-?[0-9]+)$/"
}

resource "aws_cloudwatch_query_definition" "statements_of_user" {
  name            = "${var.name}/audit/all statements of a user"
  log_group_names = local.audit_log_group_names
  query_string    = <<-QUERY
    # Every statement of one DB user: replace DB_USER (the e-mail's local part, e.g. keisuke.owato).
    fields @timestamp, @logStream
    | ${local.audit_line_fields}
    | filter db_user = "DB_USER" and operation like /^QUERY/
    | display @timestamp, @logStream, db_user, client_host, connection, db, object, retcode
    | sort @timestamp asc
    | limit 10000
  QUERY
}

resource "aws_cloudwatch_query_definition" "ddl_last_24h" {
  name            = "${var.name}/audit/DDL in the last 24 hours"
  log_group_names = local.audit_log_group_names
  query_string    = <<-QUERY
    # Schema changes (CREATE, ALTER, DROP, RENAME, TRUNCATE) by anyone: run over the last 24 hours.
    fields @timestamp, @logStream
    | ${local.audit_line_fields}
    | filter operation like /^QUERY/ and object like /(?i)^'?\s*(CREATE|ALTER|DROP|RENAME|TRUNCATE)\s/
    | display @timestamp, @logStream, db_user, client_host, connection, db, object, retcode
    | sort @timestamp desc
    | limit 10000
  QUERY
}

resource "aws_cloudwatch_query_definition" "logins_outside_window" {
  name            = "${var.name}/audit/logins outside a window"
  log_group_names = local.audit_log_group_names
  query_string    = <<-QUERY
    # Logins (accepted or refused) of one DB user outside its granted window: replace DB_USER,
    # WINDOW_START and WINDOW_END (epoch milliseconds) and run over a range around the window.
    fields @timestamp, @logStream
    | ${local.audit_line_fields}
    | filter db_user = "DB_USER" and operation in ["CONNECT", "FAILED_CONNECT"]
    | filter @timestamp < WINDOW_START or @timestamp >= WINDOW_END
    | display @timestamp, @logStream, db_user, client_host, connection, operation, retcode
    | sort @timestamp asc
    | limit 10000
  QUERY
}
