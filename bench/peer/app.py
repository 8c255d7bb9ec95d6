"""The bench's peer: the request and approve Lambdas written the usual Python way, with Slack Bolt
for Python (`slack-bolt`) on `awslambdaric`, as `python -m awslambdaric app.handler`.

It does the job the Rust Lambdas do, with their configuration (the same environment variables):
at cold start it reads the Slack app's secret from Secrets Manager and builds its clients once;
then Bolt verifies each request's signature and

- `/powerpole` opens the request modal (`views.open`, the same blocks as
  `powerpole_slack::views::request_modal`) and acknowledges with an empty 200;
- Approve on an approval card checks the clicker is in the approvers' channel
  (`conversations.members`), reads the request from DynamoDB, records the decision with a write
  conditional on the version, resumes the workflow (`SendTaskSuccess`), redraws the card
  (`chat.update`) and acknowledges.

Bolt's defaults are kept (`auth.test` at start-up included); `process_before_response=True` is what
Bolt's documentation asks for on Lambda (the work is done before the answer, as the Rust one does).
"""

import json
import os
from datetime import datetime, timezone

import boto3
from slack_bolt import App
from slack_bolt.adapter.aws_lambda import SlackRequestHandler
from slack_sdk import WebClient

TABLE = os.environ["POWERPOLE_TABLE"]
APPROVERS_CHANNEL = os.environ["POWERPOLE_APPROVERS_CHANNEL"]
CLUSTERS = json.loads(os.environ["POWERPOLE_CLUSTERS"])
SECRET_ARN = os.environ["POWERPOLE_SLACK_SECRET_ARN"]
API_URL = os.environ.get("POWERPOLE_SLACK_API_URL", "https://slack.com/api").rstrip("/") + "/"
DURATIONS = [15, 30, 60, 120, 240, 360, 480]
LEVELS = {
    "READ": "Read rows and view definitions (SELECT, SHOW VIEW).",
    "DML": "READ plus INSERT, UPDATE and DELETE rows.",
    "DDL": "DML plus create, alter and drop tables, indexes, views and triggers.",
}

_secrets = boto3.client("secretsmanager", region_name=SECRET_ARN.split(":")[3])
_slack_secret = json.loads(_secrets.get_secret_value(SecretId=SECRET_ARN)["SecretString"])
_dynamodb = boto3.client("dynamodb")
_sfn = boto3.client("stepfunctions")

app = App(
    signing_secret=_slack_secret["signing_secret"],
    client=WebClient(token=_slack_secret["bot_token"], base_url=API_URL),
    process_before_response=True,
)


def plain(text):
    return {"type": "plain_text", "text": text}


def mrkdwn(text):
    return {"type": "mrkdwn", "text": text}


def minutes_label(minutes):
    hours, rest = divmod(minutes, 60)
    if hours == 0:
        return "1 minute" if rest == 1 else f"{rest} minutes"
    if rest == 0:
        return "1 hour" if hours == 1 else f"{hours} hours"
    return f"{hours} h {rest} min"


def request_modal():
    def cluster_option(c):
        return {"text": plain(f"{c['id']} ({c['region']})"), "value": c["id"]}

    def duration_option(m):
        return {"text": plain(minutes_label(m)), "value": str(m)}

    def level_option(level):
        return {"text": plain(level), "description": plain(LEVELS[level]), "value": level}

    longest = max((c.get("max_duration_minutes", 480) for c in CLUSTERS), default=60)
    return {
        "type": "modal",
        "callback_id": "powerpole_request",
        "title": plain("Database access"),
        "submit": plain("Request"),
        "close": plain("Cancel"),
        "blocks": [
            {"type": "input", "block_id": "cluster", "label": plain("Cluster"), "element": {
                "type": "static_select", "action_id": "value",
                "options": [cluster_option(c) for c in CLUSTERS],
                "initial_option": cluster_option(CLUSTERS[0])}},
            {"type": "input", "block_id": "region", "label": plain("Region"), "element": {
                "type": "plain_text_input", "action_id": "value",
                "initial_value": CLUSTERS[0]["region"]},
             "hint": plain("Filled in from the cluster; it must match.")},
            {"type": "input", "block_id": "permission", "label": plain("Permission"), "element": {
                "type": "radio_buttons", "action_id": "value",
                "options": [level_option(level) for level in LEVELS],
                "initial_option": level_option("READ")}},
            {"type": "input", "block_id": "duration", "label": plain("Duration"), "element": {
                "type": "static_select", "action_id": "value",
                "options": [duration_option(m) for m in DURATIONS if m <= longest],
                "initial_option": duration_option(60)}},
            {"type": "input", "block_id": "start", "optional": True, "label": plain("Start"),
             "element": {"type": "datetimepicker", "action_id": "value"},
             "hint": plain("Leave empty to start as soon as it is approved.")},
            {"type": "input", "block_id": "reason", "label": plain("Reason"), "element": {
                "type": "plain_text_input", "action_id": "value", "multiline": True,
                "max_length": 500, "placeholder": plain("Ticket and what you need to do")}},
        ],
    }


@app.command("/powerpole")
def open_request_modal(ack, body, client):
    client.views_open(trigger_id=body["trigger_id"], view=request_modal())
    ack()


def approved_card(item, approver, at):
    requester = item["requester"]["S"]
    reason = item["reason"]["S"]
    fields = [
        mrkdwn(f"*Requester*\n<@{requester}>"),
        mrkdwn(f"*Cluster*\n`{item['cluster']['S']}` ({item['region']['S']})"),
        mrkdwn(f"*Level*\n{item['permission']['S']}"),
        mrkdwn(f"*DB user*\n`{item['db_username']['S']}`"),
        mrkdwn(f"*From*\n{item['window_start']['S']}"),
        mrkdwn(f"*Until*\n{item['window_end']['S']}"),
    ]
    text = f"{item['permission']['S']} access to {item['cluster']['S']} requested by <@{requester}>: {reason}"
    blocks = [
        {"type": "header", "text": plain("Database access request")},
        {"type": "section", "fields": fields},
        {"type": "section", "text": mrkdwn(f"*Reason*\n{reason}")},
        {"type": "context", "elements": [mrkdwn(f":white_check_mark: Approved by <@{approver}> {at}")]},
    ]
    return text, blocks


@app.action("approve")
def approve(ack, body, client):
    ack()
    approver = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id")
    request_id = body["actions"][0]["value"]
    members = client.conversations_members(channel=APPROVERS_CHANNEL)["members"]
    if channel != APPROVERS_CHANNEL or approver not in members:
        client.chat_postEphemeral(channel=channel, user=approver,
                                  text=":no_entry_sign: Only the approvers can decide.")
        return
    key = {"pk": {"S": f"REQ#{request_id}"}}
    item = _dynamodb.get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item")
    if item is None or item["state"]["S"] != "pending" or item["requester"]["S"] == approver:
        client.chat_postEphemeral(channel=channel, user=approver, text="Nothing to do.")
        return
    at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    version = int(item["version"]["N"])
    _dynamodb.update_item(
        TableName=TABLE, Key=key,
        UpdateExpression="SET #state = :state, #version = :version, "
                         "#events = list_append(#events, :new) REMOVE gsi2pk, gsi2sk",
        ConditionExpression="#version = :expected",
        ExpressionAttributeNames={"#state": "state", "#version": "version", "#events": "events"},
        ExpressionAttributeValues={
            ":state": {"S": "approved"},
            ":version": {"N": str(version + 1)},
            ":expected": {"N": str(version)},
            ":new": {"L": [{"M": {"at": {"S": at}, "actor": {"S": f"user:{approver}"},
                                  "kind": {"S": "approved"}, "detail": {"S": ""}}}]},
        },
    )
    _sfn.send_task_success(taskToken=item["approval_token"]["S"],
                           output=json.dumps({"decision": "approve"}))
    text, blocks = approved_card(item, approver, at)
    client.chat_update(channel=item["card_channel"]["S"], ts=item["card_ts"]["S"], text=text,
                       blocks=blocks)


_handler = SlackRequestHandler(app=app)


def handler(event, context):
    return _handler.handle(event, context)
