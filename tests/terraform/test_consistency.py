"""The terraform consistency check passes on this checkout and fails on each kind of drift.

Each drift case copies what the check reads (terraform/, the Lambda crates, the AWS adapters, the
state machine, Cargo.lock) to a temporary directory, changes one thing, and runs the check there.
Run with `python3 -m unittest discover -s tests/terraform` (scripts/test.sh does).
"""

import os
import re
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import consistency  # noqa: E402

COPIED = [
    "terraform",
    "lambdas",
    os.path.join("crates", "aws", "src"),
    os.path.join("crates", "core", "src", "slo.rs"),
    "statemachine",
    "Cargo.lock",
]


class Checkout:
    """A temporary copy of the files the check reads."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="powerpole-tf-")
        for rel in COPIED:
            src, dst = os.path.join(consistency.ROOT, rel), os.path.join(self.dir, rel)
            if os.path.isdir(src):
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns("target"))
            else:
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copy(src, dst)

    def path(self, rel):
        return os.path.join(self.dir, rel)

    def edit(self, rel, change):
        with open(self.path(rel), encoding="utf-8") as handle:
            before = handle.read()
        after = change(before)
        assert after != before, f"the edit of {rel} changed nothing"
        with open(self.path(rel), "w", encoding="utf-8") as handle:
            handle.write(after)

    def write(self, rel, text):
        os.makedirs(os.path.dirname(self.path(rel)), exist_ok=True)
        with open(self.path(rel), "w", encoding="utf-8") as handle:
            handle.write(text)

    def problems(self):
        return consistency.check(self.dir)

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def without_statement(document, sid):
    """Removes the statement with `sid` from `data "aws_iam_policy_document" "<document>"`."""

    def change(text):
        start = text.index(f'data "aws_iam_policy_document" "{document}"')
        sid_at = text.index(f'sid       = "{sid}"', start)
        open_at = text.rindex("  statement {", start, sid_at)
        close_at = text.index("\n  }\n", sid_at) + len("\n  }\n")
        return text[:open_at] + text[close_at:]

    return change


class ConsistencyTest(unittest.TestCase):
    def setUp(self):
        self.checkout = Checkout()
        self.addCleanup(self.checkout.remove)

    def assertFinds(self, expected):
        problems = self.checkout.problems()
        self.assertTrue(any(expected in p for p in problems), f"{expected!r} not in {problems}")

    def test_this_checkout_is_consistent(self):
        self.assertEqual(consistency.check(), [])
        self.assertEqual(self.checkout.problems(), [])

    def test_a_removed_policy_statement_is_found(self):
        self.checkout.edit("terraform/iam.tf", without_statement("teardown", "TerminateManagedBastions"))
        self.assertFinds("teardown: its role lacks ec2:TerminateInstances")

    def test_a_removed_base_statement_is_found_in_every_role(self):
        self.checkout.edit("terraform/iam.tf", without_statement("lambda_base", "DeadLetterQueue"))
        for name in ("request", "approve", "notify", "provision", "teardown", "sweep"):
            self.assertFinds(f"{name}: its role lacks sqs:SendMessage")

    def test_an_extra_action_is_found(self):
        self.checkout.edit(
            "terraform/iam.tf",
            lambda t: t.replace(
                'data "aws_iam_policy_document" "notify" {',
                'data "aws_iam_policy_document" "notify" {\n  statement {\n'
                '    actions   = ["dynamodb:DeleteItem"]\n    resources = [local.table_arn]\n  }\n',
            ),
        )
        self.assertFinds("notify: its role grants dynamodb:DeleteItem")

    def test_a_scopable_action_on_every_resource_is_found(self):
        self.checkout.edit(
            "terraform/iam.tf",
            lambda t: t.replace(
                'actions   = ["ec2:DescribeInstances"]',
                'actions   = ["ec2:DescribeInstances", "ec2:TerminateInstances"]',
                1,
            ),
        )
        self.assertFinds('provision: ec2:TerminateInstances granted on "*"')

    def test_a_weekly_report_that_may_not_put_its_page_is_found(self):
        self.checkout.edit("terraform/iam.tf", without_statement("sweep", "PutWeeklyReports"))
        self.assertFinds("sweep: its role lacks s3:PutObject")
        self.checkout.edit(
            "terraform/environment.tf",
            lambda t: re.sub(r"\n\s*POWERPOLE_REPORT_BUCKET\s*=.*", "", t),
        )
        self.assertFinds("sweep: the code reads POWERPOLE_REPORT_BUCKET but terraform does not set it")

    def test_a_removed_environment_variable_is_found(self):
        self.checkout.edit(
            "terraform/environment.tf",
            lambda t: re.sub(r"\n\s*POWERPOLE_SECRET_PREFIX\s*=.*", "", t),
        )
        self.assertFinds("provision: the code reads POWERPOLE_SECRET_PREFIX but terraform does not set it")
        self.assertFinds("teardown: the code reads POWERPOLE_SECRET_PREFIX but terraform does not set it")

    def test_a_variable_the_code_starts_reading_is_found(self):
        self.checkout.edit(
            "lambdas/shared/src/config/resources.rs",
            lambda t: t.replace(
                'pub const TABLE: &str = "POWERPOLE_TABLE";',
                'pub const TABLE: &str = "POWERPOLE_TABLE";\n/// New.\npub const REGION_HINT: &str = "POWERPOLE_REGION_HINT";',
            ).replace(
                "let value = required(vars, TABLE)?;",
                "let _ = optional(vars, REGION_HINT);\n    let value = required(vars, TABLE)?;",
            ),
        )
        self.assertFinds("notify: the code reads POWERPOLE_REGION_HINT but terraform does not set it")

    def test_a_template_variable_not_supplied_is_found(self):
        self.checkout.edit(
            "terraform/statemachine.tf",
            lambda t: re.sub(r"\n\s*teardown_function\s*=.*", "", t),
        )
        self.assertFinds("uses ${teardown_function} but templatefile does not supply it")

    def test_a_lambda_without_a_function_is_found(self):
        self.checkout.edit(
            "terraform/lambdas.tf",
            lambda t: re.sub(r"\n    request = \{.*?\n    \}", "", t, count=1, flags=re.S),
        )
        self.assertFinds("lambdas/request (powerpole-request) has no function in terraform")

    def test_an_unreviewed_sdk_call_is_found(self):
        self.checkout.write(
            "crates/aws/src/purge.rs",
            "//! Drift.\nuse aws_sdk_dynamodb::Client;\n\n"
            "async fn purge(client: &Client) {\n    let _ = client.delete_item().send().await;\n}\n",
        )
        self.assertFinds("dynamodb.delete_item (in crates/aws/src/purge.rs) is not reviewed")

    def test_an_alarm_on_a_metric_nobody_prints_is_found(self):
        self.checkout.edit("terraform/monitoring.tf", lambda t: t.replace('"TimeToReady"', '"TimeToReadySeconds"', 1))
        self.assertFinds("monitoring.tf uses the metric TimeToReadySeconds, which the Lambdas do not print")

    def test_start_session_without_the_requester_condition_is_found(self):
        self.checkout.edit(
            "terraform/requesters.tf",
            lambda t: re.sub(
                r"\n    condition \{\n      test     = \"StringEqualsIgnoreCase\".*?\n    \}", "", t, count=1, flags=re.S
            ),
        )
        self.assertFinds("requesters: StartSessionOnOwnBastionOnly allows ssm:StartSession on instances without requiring")

    def test_start_session_on_a_tag_the_fleet_does_not_set_is_found(self):
        self.checkout.edit(
            "crates/aws/src/bastions.rs",
            lambda t: t.replace('format!("{}requester", self.tag_prefix)', 'format!("{}owner", self.tag_prefix)'),
        )
        self.assertFinds("without requiring their powerpole:owner tag to equal the caller's principal tag")

    def test_a_bastion_that_may_set_any_tag_or_tag_others_is_found(self):
        self.checkout.edit(
            "terraform/bastion.tf",
            lambda t: t.replace('values   = ["powerpole:booted"]', 'values   = ["powerpole:booted", "powerpole:requester"]').replace(
                'resources = ["$${ec2:SourceInstanceARN}"]', 'resources = ["${local.bastion_arn_prefix}:instance/*"]'
            ),
        )
        self.assertFinds("bastion: MarkOwnBootFinished lets the instance set tags other than powerpole:booted")
        self.assertFinds("bastion: MarkOwnBootFinished lets the instance tag other instances than itself")

    def test_a_syntax_error_is_found(self):
        self.checkout.edit("terraform/sweep.tf", lambda t: t.replace("resource", "resource {", 1))
        self.assertFinds("sweep.tf does not parse")


if __name__ == "__main__":
    unittest.main()
