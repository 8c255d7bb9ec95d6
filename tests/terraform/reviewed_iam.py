"""The reviewed least-privilege list: which AWS SDK operation needs which IAM actions, and which
operations each Lambda's code performs. consistency.py checks it against the code (every SDK call
in crates/aws/src and lambdas/ is reviewed, every reviewed call still exists) and against
terraform (each Lambda's role grants exactly these actions, nothing missing, nothing extra).

When the code gains an SDK call, the check fails until the call is reviewed here and granted in
terraform/iam.tf. Keys are "<SDK crate suffix>.<operation>", as in `aws_sdk_dynamodb` + `get_item`.
"""

# SDK operation -> the IAM actions it needs (with the module's resources: customer-managed key
# for secrets, launch template with an SSM-resolved AMI, tagged instances).
OPERATIONS = {
    "dynamodb.get_item": ["dynamodb:GetItem"],
    "dynamodb.put_item": ["dynamodb:PutItem"],
    "dynamodb.update_item": ["dynamodb:UpdateItem"],
    "dynamodb.query": ["dynamodb:Query"],
    # Secrets encrypted with a customer-managed key need the key, through Secrets Manager.
    "secretsmanager.get_secret_value": ["secretsmanager:GetSecretValue", "kms:Decrypt"],
    # CreateSecret with Tags also needs TagResource; with a customer key, GenerateDataKey+Decrypt.
    "secretsmanager.create_secret": [
        "secretsmanager:CreateSecret",
        "secretsmanager:TagResource",
        "kms:GenerateDataKey",
        "kms:Decrypt",
    ],
    "secretsmanager.describe_secret": ["secretsmanager:DescribeSecret"],
    # Binds a request's secret to its bastion (the powerpole:bastion tag the bastion role checks).
    "secretsmanager.tag_resource": ["secretsmanager:TagResource"],
    "secretsmanager.delete_secret": ["secretsmanager:DeleteSecret"],
    "secretsmanager.list_secrets": ["secretsmanager:ListSecrets"],
    "ec2.describe_instances": ["ec2:DescribeInstances"],
    # RunInstances with TagSpecifications needs CreateTags; the template's instance profile needs
    # PassRole; its AMI is `resolve:ssm:`, which reads the public parameter as the caller.
    "ec2.run_instances": ["ec2:RunInstances", "ec2:CreateTags", "iam:PassRole", "ssm:GetParameters"],
    "ec2.terminate_instances": ["ec2:TerminateInstances"],
    # A bastion is ready once its SSM agent pings Online (Ec2Fleet::current_status).
    "ssm.describe_instance_information": ["ssm:DescribeInstanceInformation"],
    "sfn.start_execution": ["states:StartExecution"],
    "sfn.stop_execution": ["states:StopExecution"],
    "sfn.describe_execution": ["states:DescribeExecution"],
    "sfn.send_task_success": ["states:SendTaskSuccess"],
    "cloudwatchlogs.filter_log_events": ["logs:FilterLogEvents"],
    # The weekly report's page; the bucket encrypts with the module's key (SSE-KMS by default).
    "s3.put_object": ["s3:PutObject", "kms:GenerateDataKey"],
}

# SDK calls in the code that no deployed Lambda makes, and why.
NOT_DEPLOYED = {
    "dynamodb.create_table": "local runs and tests create the table; terraform owns it on AWS",
    "sfn.send_task_failure": "StepFunctionsWorkflow::send_failure has no caller in a Lambda: a "
    "denial resumes the gate with SendTaskSuccess {decision: deny}",
}

# What each Lambda's code calls (its wiring and the use cases its handler reaches).
LAMBDAS = {
    "request": {
        "vpc": False,
        # `/powerpole cancel [ID]` reads and updates the request and stops its workflow.
        "ops": [
            "dynamodb.query",
            "dynamodb.get_item",
            "dynamodb.update_item",
            "sfn.stop_execution",
            "secretsmanager.get_secret_value",
        ],
    },
    "approve": {
        "vpc": False,
        "ops": [
            "dynamodb.get_item",
            "dynamodb.put_item",
            "dynamodb.update_item",
            "dynamodb.query",
            "sfn.start_execution",
            "sfn.stop_execution",
            "sfn.describe_execution",
            "sfn.send_task_success",
            "secretsmanager.get_secret_value",
        ],
    },
    "notify": {
        # The approval card's blast radius reads the clusters' information_schema as their admin.
        "vpc": True,
        "ops": ["dynamodb.get_item", "dynamodb.update_item", "secretsmanager.get_secret_value"],
    },
    "provision": {
        "vpc": True,
        "ops": [
            "dynamodb.get_item",
            "dynamodb.update_item",
            "secretsmanager.get_secret_value",
            "secretsmanager.create_secret",
            "secretsmanager.describe_secret",
            "secretsmanager.tag_resource",
            "ec2.describe_instances",
            "ec2.run_instances",
            "ssm.describe_instance_information",
        ],
    },
    "teardown": {
        "vpc": True,
        "ops": [
            "dynamodb.get_item",
            "dynamodb.update_item",
            "secretsmanager.get_secret_value",
            # SecretsManagerVault::remove asks DescribeSecret when a delete is refused.
            "secretsmanager.delete_secret",
            "secretsmanager.describe_secret",
            "ec2.describe_instances",
            "ec2.terminate_instances",
            # The session receipt (issue #9): audit log and session log.
            "cloudwatchlogs.filter_log_events",
        ],
    },
    "sweep": {
        "vpc": True,
        "ops": [
            "dynamodb.query",
            "dynamodb.get_item",
            "dynamodb.update_item",
            "dynamodb.put_item",
            "secretsmanager.get_secret_value",
            "secretsmanager.list_secrets",
            "secretsmanager.describe_secret",
            "secretsmanager.delete_secret",
            "ec2.describe_instances",
            "ec2.terminate_instances",
            # The live tripwires (watch) and the weekly report: the audit and session logs.
            "cloudwatchlogs.filter_log_events",
            # The minute's look also sends approvals that did not reach their workflow again.
            "sfn.send_task_success",
            # The weekly report (issue #19): its page in the reports bucket.
            "s3.put_object",
        ],
    },
}

# Every Lambda: its own log group, the dead-letter queue, X-Ray (iam.tf: lambda_base).
BASE_ACTIONS = [
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "sqs:SendMessage",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
]

# Lambdas in the VPC: their network interfaces (iam.tf: lambda_vpc).
VPC_ACTIONS = [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
]

# Actions IAM cannot scope to a resource: the only ones a Lambda role may grant on "*".
UNSCOPABLE = {
    "ec2:DescribeInstances",
    "ec2:DescribeNetworkInterfaces",
    "secretsmanager:ListSecrets",
    "ssm:DescribeInstanceInformation",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}

# Reviewed calls the code does not make yet, because the code is being written on another
# branch. Empty this once it has landed: the check then requires the call in the code.
OPS_AHEAD_OF_CODE: dict = {}

# Lambdas terraform deploys whose crate is not in lambdas/ yet (binary -> why).
PENDING_BINARIES: dict = {}

# Variables terraform sets that the Lambda's code does not read yet (lambda, variable) -> why.
ENV_AHEAD_OF_CODE: dict = {}
