"""The Lambda half of scripts/bench.sh: cold and warm starts of the Rust `request` and `approve`
Lambdas against the Slack Bolt for Python peer (bench/peer/app.py), under one Lambda Runtime API
emulator (bench/runtime_api.py), with moto for Secrets Manager / DynamoDB / Step Functions and a
fake Slack Web API (bench/fake_slack.py), all on loopback.

Each run starts a fresh function process and times, with one monotonic clock:
  cold response  process spawn -> the function posted its response to the Runtime API
  cold Slack     process spawn -> the fake Slack received `views.open` (request) or
                 `chat.update` (approve)
  warm response  a second event handed to the same process -> its response
  warm Slack     that second event -> its Slack call
  peak RSS       the process's VmHWM after both events
Rust and peer runs alternate. Runs with moto's Python installed (boto3 comes with moto).

  python bench/bench.py lambdas --runs N --request-bin PATH --approve-bin PATH \
      --peer-python PATH --moto-python PATH [--moto-url URL] [--json OUT]
  python bench/bench.py store-check --db PATH --accepted FILE
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from fake_slack import FakeSlack  # noqa: E402
from runtime_api import RuntimeApi  # noqa: E402

REQUESTER = "U0REQUEST1"
APPROVER = "U0APPROVE1"
APPROVERS_CHANNEL = "C0APPROVE1"
CLUSTER = "orders-prod"
REGION = "us-east-1"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def log(message: str):
    print(f"[bench.py] {message}", file=sys.stderr, flush=True)


# --- moto and the AWS resources ------------------------------------------------------------------

def start_moto(python: str, work: Path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = open(work / "moto.log", "wb")
    proc = subprocess.Popen([python, str(ROOT / "scripts/moto_serial.py"), "127.0.0.1", str(port)],
                            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        if proc.poll() is not None:
            sys.exit(f"moto exited during start-up; see {work / 'moto.log'}")
        try:
            urllib.request.urlopen(url + "/moto-api/data.json", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("moto did not answer within 60 s")


class Aws:
    """The resources both implementations use, on moto."""

    def __init__(self, url: str, signing_secret: str, bot_token: str):
        import boto3

        kw = dict(endpoint_url=url, region_name=REGION, aws_access_key_id="testing",
                  aws_secret_access_key="testing")
        self.dynamodb = boto3.client("dynamodb", **kw)
        suffix = secrets.token_hex(4)
        self.table = f"powerpole-bench-{suffix}"
        key = lambda name, kind: {"AttributeName": name, "KeyType": kind}  # noqa: E731
        self.dynamodb.create_table(
            TableName=self.table, BillingMode="PAY_PER_REQUEST",
            KeySchema=[key("pk", "HASH")],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"}
                                  for n in ("pk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")],
            GlobalSecondaryIndexes=[
                {"IndexName": index, "KeySchema": [key(pk, "HASH"), key(sk, "RANGE")],
                 "Projection": {"ProjectionType": "ALL"}}
                for index, pk, sk in (("by-requester", "gsi1pk", "gsi1sk"),
                                      ("by-deadline", "gsi2pk", "gsi2sk"))])
        self.secret_arn = boto3.client("secretsmanager", **kw).create_secret(
            Name=f"powerpole/bench-slack-{suffix}",
            SecretString=json.dumps({"signing_secret": signing_secret, "bot_token": bot_token}),
        )["ARN"]
        self.state_machine_arn = boto3.client("stepfunctions", **kw).create_state_machine(
            name=f"powerpole-bench-{suffix}",
            definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}),
            roleArn="arn:aws:iam::123456789012:role/powerpole-bench",
        )["stateMachineArn"]

    def seed_pending(self) -> tuple[str, str]:
        """A pending request whose workflow waits on its approval card: (request id, card ts)."""
        now = datetime.now(timezone.utc).replace(microsecond=0)
        ms = int(now.timestamp() * 1000)
        value = (ms << 80) | int.from_bytes(secrets.token_bytes(10), "big")
        request_id = "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))
        stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
        start, end = now + timedelta(hours=1), now + timedelta(hours=2)
        card_ts = f"{int(time.time())}.{secrets.randbelow(10**6):06d}"
        s = lambda v: {"S": v}  # noqa: E731
        self.dynamodb.put_item(TableName=self.table, Item={
            "pk": s(f"REQ#{request_id}"), "id": s(request_id), "requester": s(REQUESTER),
            "db_username": s("keisuke.owato"), "cluster": s(CLUSTER), "region": s(REGION),
            "permission": s("READ"), "reason": s("INC-77 check the orders table"),
            "window_start": s(stamp(start)), "window_end": s(stamp(end)),
            "state": s("pending"), "version": {"N": "1"},
            "events": {"L": [{"M": {"at": s(stamp(now)), "actor": s(f"user:{REQUESTER}"),
                                    "kind": s("submitted"), "detail": s("")}}]},
            "gsi1pk": s(REQUESTER), "gsi1sk": s(request_id),
            "gsi2pk": s("pending"), "gsi2sk": s(f"{stamp(start)}#{request_id}"),
            "card_channel": s(APPROVERS_CHANNEL), "card_ts": s(card_ts),
            "approval_token": s(f"bench-task-token-{request_id}"),
        })
        return request_id, card_ts

    def state_of(self, request_id: str) -> str:
        item = self.dynamodb.get_item(TableName=self.table, Key={"pk": {"S": f"REQ#{request_id}"}},
                                      ConsistentRead=True)["Item"]
        return item["state"]["S"]


# --- Slack requests as API Gateway delivers them -------------------------------------------------

def sign(secret: str, timestamp: int, body: bytes) -> str:
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def apigw_event(path: str, body: bytes, secret: str) -> dict:
    """An HTTP API (payload 2.0) event for a signed Slack POST, body base64 as API Gateway sends
    form bodies (lambdas/shared/tests/fixtures/apigw-v2-slack-post.json filled in)."""
    event = json.loads((ROOT / "lambdas/shared/tests/fixtures/apigw-v2-slack-post.json").read_text())
    now = int(time.time())
    route = f"POST {path}"
    event["routeKey"] = event["requestContext"]["routeKey"] = route
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["requestId"] = secrets.token_urlsafe(12)
    event["requestContext"]["timeEpoch"] = now * 1000
    event["headers"]["content-length"] = str(len(body))
    event["headers"]["x-slack-request-timestamp"] = str(now)
    event["headers"]["x-slack-signature"] = sign(secret, now, body)
    event["body"] = base64.b64encode(body).decode()
    event["isBase64Encoded"] = True
    return event


def slash_command() -> bytes:
    return urllib.parse.urlencode({
        "token": "deprecated-verification-token", "team_id": "T0FAKE0001",
        "team_domain": "example", "channel_id": "C0GENERAL1", "channel_name": "general",
        "user_id": REQUESTER, "user_name": "keisuke.owato", "command": "/powerpole", "text": "",
        "api_app_id": "A0FAKEAPP1",
        "response_url": "https://hooks.slack.com/commands/T0FAKE0001/1/abc",
        "trigger_id": f"13345224609.738474920.{secrets.token_hex(16)}",
    }).encode()


def approve_click(request_id: str, card_ts: str) -> bytes:
    payload = {
        "type": "block_actions",
        "team": {"id": "T0FAKE0001", "domain": "example"},
        "user": {"id": APPROVER, "username": "approver", "team_id": "T0FAKE0001"},
        "api_app_id": "A0FAKEAPP1", "token": "deprecated",
        "trigger_id": f"1337.42.{secrets.token_hex(8)}",
        "container": {"type": "message", "message_ts": card_ts, "channel_id": APPROVERS_CHANNEL,
                      "is_ephemeral": False},
        "channel": {"id": APPROVERS_CHANNEL, "name": "approvers"},
        "message": {"type": "message", "ts": card_ts, "text": "card"},
        "response_url": "https://hooks.slack.com/actions/T0FAKE0001/1/xyz",
        "actions": [{"type": "button", "action_id": "approve", "block_id": "decision",
                     "value": request_id, "text": {"type": "plain_text", "text": "Approve"},
                     "action_ts": f"{time.time():.6f}"}],
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


# --- one function process ------------------------------------------------------------------------

def vm_hwm_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class Bench:
    def __init__(self, args, work: Path):
        self.args = args
        self.work = work
        self.signing_secret = secrets.token_hex(16)
        self.slack = FakeSlack()
        self.slack.emails[REQUESTER] = "keisuke.owato@example.com"
        self.slack.members[APPROVERS_CHANNEL] = [APPROVER, "U0APPROVE2"]
        self.moto_proc = None
        moto_url = args.moto_url
        if not moto_url:
            self.moto_proc, moto_url = start_moto(args.moto_python, work)
        self.moto_url = moto_url
        self.aws = Aws(moto_url, self.signing_secret, f"xoxb-bench-{secrets.token_hex(8)}")
        clusters = [{"id": CLUSTER, "region": REGION, "port": 3306,
                     "endpoint": "orders-prod.cluster-abc.us-east-1.rds.amazonaws.com",
                     "admin_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds-admin-AbCdEf"}]
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "LANG": "C.UTF-8",
            "TZ": "UTC", "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing", "AWS_ENDPOINT_URL": moto_url,
            "AWS_EC2_METADATA_DISABLED": "true", "RUST_LOG": "info",
            "POWERPOLE_TABLE": self.aws.table,
            "POWERPOLE_STATE_MACHINE_ARN": self.aws.state_machine_arn,
            "POWERPOLE_SLACK_SECRET_ARN": self.aws.secret_arn,
            "POWERPOLE_SLACK_API_URL": self.slack.api_url,
            "POWERPOLE_APPROVERS_CHANNEL": APPROVERS_CHANNEL,
            "POWERPOLE_CLUSTERS": json.dumps(clusters),
        }
        self.count = 0

    def close(self):
        self.slack.close()
        if self.moto_proc is not None:
            self.moto_proc.terminate()
            try:
                self.moto_proc.wait(10)
            except subprocess.TimeoutExpired:
                self.moto_proc.kill()

    def command(self, impl: str, kind: str) -> tuple[list[str], dict]:
        if impl == "rust":
            binary = self.args.request_bin if kind == "request" else self.args.approve_bin
            return [str(Path(binary).resolve())], {}
        peer = HERE / "peer"
        return ([self.args.peer_python, "-m", "awslambdaric", "app.handler"],
                {"LAMBDA_TASK_ROOT": str(peer), "_HANDLER": "app.handler",
                 "PYTHONPATH": str(peer), "PYTHONUNBUFFERED": "1"})

    def event(self, kind: str) -> tuple[dict, str | None]:
        if kind == "request":
            return apigw_event("/slack/commands", slash_command(), self.signing_secret), None
        request_id, card_ts = self.aws.seed_pending()
        body = approve_click(request_id, card_ts)
        return apigw_event("/slack/interactions", body, self.signing_secret), request_id

    def run(self, impl: str, kind: str) -> dict:
        """One cold and one warm invocation in a fresh process."""
        self.count += 1
        slack_method = "views.open" if kind == "request" else "chat.update"
        argv, extra = self.command(impl, kind)
        api = RuntimeApi(f"powerpole-{kind}")
        env = dict(self.env, **api.lambda_env(), **extra)
        events = [self.event(kind), self.event(kind)]
        out = open(self.work / f"{self.count:03d}-{impl}-{kind}.log", "wb")
        mark = self.slack.mark()
        spawned = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=extra.get("LAMBDA_TASK_ROOT", str(self.work)),
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            cold = api.invoke(events[0][0])
            self.check(impl, kind, cold, api, proc, events[0][1])
            cold_call = self.slack.wait_for(slack_method, mark)
            rss_cold = vm_hwm_kb(proc.pid)
            mark = self.slack.mark()
            warm = api.invoke(events[1][0])
            self.check(impl, kind, warm, api, proc, events[1][1])
            warm_call = self.slack.wait_for(slack_method, mark)
            rss = vm_hwm_kb(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            api.close()
            out.close()
        if cold_call is None or warm_call is None:
            sys.exit(f"{impl} {kind}: no {slack_method} reached the fake Slack "
                     f"(calls: {self.slack.methods()[-10:]}); see {out.name}")
        ms = lambda a, b: (b - a) * 1000  # noqa: E731
        return {
            "impl": impl, "kind": kind,
            "init_ms": ms(spawned, cold.delivered_at),
            "cold_response_ms": ms(spawned, cold.answered_at),
            "cold_slack_ms": ms(spawned, cold_call.at),
            "warm_response_ms": ms(warm.delivered_at, warm.answered_at),
            "warm_slack_ms": ms(warm.delivered_at, warm_call.at),
            "rss_cold_mb": (rss_cold or 0) / 1024, "rss_peak_mb": (rss or 0) / 1024,
        }

    def check(self, impl, kind, invocation, api, proc, request_id):
        where = f"{impl} {kind} (log {self.work}/{self.count:03d}-{impl}-{kind}.log)"
        if api.init_error is not None:
            sys.exit(f"{where}: init error {api.init_error}")
        if invocation.answered_at is None:
            state = "exited" if proc.poll() is not None else "running"
            sys.exit(f"{where}: no answer within 30 s (process {state})")
        if invocation.error is not None:
            sys.exit(f"{where}: invocation error {invocation.error}")
        response = json.loads(invocation.response)
        body = response.get("body") or ""
        if response.get("isBase64Encoded") and body:
            body = base64.b64decode(body).decode()
        if response.get("statusCode") != 200 or body.strip():
            sys.exit(f"{where}: expected an empty 200, got {response.get('statusCode')} {body[:300]}")
        if request_id is not None and self.aws.state_of(request_id) != "approved":
            sys.exit(f"{where}: request {request_id} is {self.aws.state_of(request_id)}, not approved")


# --- report --------------------------------------------------------------------------------------

FIGURES = [("cold_response_ms", "cold: spawn -> response", "ms"),
           ("cold_slack_ms", "cold: spawn -> {slack}", "ms"),
           ("init_ms", "cold: spawn -> first /next (init)", "ms"),
           ("warm_response_ms", "warm: event -> response", "ms"),
           ("warm_slack_ms", "warm: event -> {slack}", "ms"),
           ("rss_peak_mb", "peak RSS (VmHWM)", "MB")]


def table(results: list[dict]) -> str:
    lines = []
    header = f"{'':38} {'Rust median (min-max)':>26} {'Bolt peer median (min-max)':>30} {'peer/Rust':>10}"
    for kind, slack in (("request", "views.open"), ("approve", "chat.update")):
        rows = [r for r in results if r["kind"] == kind]
        if not rows:
            continue
        n = max(len([r for r in rows if r["impl"] == impl]) for impl in ("rust", "peer"))
        lines += ["", f"{kind} Lambda ({'/powerpole' if kind == 'request' else 'Approve click'}), "
                      f"{n} cold starts each", header]
        for key, label, unit in FIGURES:
            cells, medians = [], []
            for impl in ("rust", "peer"):
                values = [r[key] for r in rows if r["impl"] == impl]
                if not values:
                    cells.append("-")
                    medians.append(None)
                    continue
                med = statistics.median(values)
                medians.append(med)
                cells.append(f"{med:.1f} ({min(values):.1f}-{max(values):.1f}) {unit}")
            ratio = (f"{medians[1] / medians[0]:.1f}x" if medians[0] and medians[1] else "-")
            lines.append(f"{label.format(slack=slack):38} {cells[0]:>26} {cells[1]:>30} {ratio:>10}")
    return "\n".join(lines)


def lambdas(args):
    work = Path(tempfile.mkdtemp(prefix="powerpole-bench-"))
    log(f"work dir {work}")
    bench = Bench(args, work)
    results = []
    impls = args.impls.split(",")
    try:
        kinds = ["request", "approve"]
        for _ in range(args.warmup):
            for kind in kinds:
                for impl in impls:
                    bench.run(impl, kind)
        for i in range(args.runs):
            order = impls if i % 2 == 0 else impls[::-1]
            for kind in kinds:
                for impl in order:
                    result = bench.run(impl, kind)
                    results.append(result)
                    log(f"run {i + 1}/{args.runs} {impl:4} {kind:7} cold {result['cold_response_ms']:7.1f} ms, "
                        f"warm {result['warm_response_ms']:6.1f} ms, RSS {result['rss_peak_mb']:5.1f} MB")
    finally:
        bench.close()
    shutil.rmtree(work, ignore_errors=True)  # kept when a run failed: its logs are there
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


def store_check(args):
    """Every accepted submission (one reason per line in --accepted) is in serve's SQLite store
    exactly once, and nothing else is."""
    accepted = [line for line in Path(args.accepted).read_text().splitlines() if line]
    db = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    counts = dict(db.execute("SELECT reason, count(*) FROM store_requests GROUP BY reason"))
    lost = [r for r in accepted if counts.get(r, 0) == 0]
    duplicated = {r: c for r, c in counts.items() if c > 1}
    unexpected = set(counts) - set(accepted)
    print(f"store check: {len(accepted)} accepted submissions, {sum(counts.values())} stored, "
          f"{len(lost)} lost, {len(duplicated)} duplicated, {len(unexpected)} stored but not acknowledged")
    if lost or duplicated:
        sys.exit(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("lambdas")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--request-bin")
    p.add_argument("--approve-bin")
    p.add_argument("--peer-python", required=True)
    p.add_argument("--moto-python", default=sys.executable)
    p.add_argument("--moto-url")
    p.add_argument("--impls", default="rust,peer", help="rust, peer or both (the default)")
    p.add_argument("--json")
    s = sub.add_parser("store-check")
    s.add_argument("--db", required=True)
    s.add_argument("--accepted", required=True)
    args = parser.parse_args()
    lambdas(args) if args.what == "lambdas" else store_check(args)


if __name__ == "__main__":
    main()
