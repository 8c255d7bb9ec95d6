"""A fake Slack Web API on loopback for the bench (Python stdlib only).

Answers `POST|GET /api/<method>` with form, JSON or query arguments the way
crates/testkit/src/fake_slack.rs does (same response shapes), and records each call with the
monotonic time (`time.perf_counter()`) it arrived, so the bench can time "spawn -> views.open".
"""

import json
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from runtime_api import QuietServer

TEAM_ID = "T0FAKE0001"
APP_ID = "A0FAKEAPP1"
BOT_ID = "B0FAKEBOT1"
BOT_USER_ID = "U0FAKEBOT1"


@dataclass
class Call:
    method: str
    at: float
    args: dict


class FakeSlack:
    def __init__(self):
        self.calls: list[Call] = []
        self.emails: dict[str, str] = {}
        self.members: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._ts = 1_700_000_000_000_000
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # one segment per answer: no 40 ms delayed-ACK stall

            def log_message(self, *args):
                pass

            def _handle(self, query: str, body: bytes):
                at = time.perf_counter()
                method = urllib.parse.urlsplit(self.path).path.removeprefix("/api/")
                args = dict(urllib.parse.parse_qsl(query))
                kind = self.headers.get("Content-Type") or ""
                if body and "json" in kind:
                    try:
                        args.update(json.loads(body))
                    except ValueError:
                        pass
                elif body:
                    args.update(urllib.parse.parse_qsl(body.decode(errors="replace")))
                for key in ("view", "blocks"):
                    if isinstance(args.get(key), str):
                        try:
                            args[key] = json.loads(args[key])
                        except ValueError:
                            pass
                answer = fake._answer(method, args)
                with fake._cond:
                    fake.calls.append(Call(method, at, args))
                    fake._cond.notify_all()
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._handle(urllib.parse.urlsplit(self.path).query, b"")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                self._handle(urllib.parse.urlsplit(self.path).query, body)

        self._server = QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def api_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api"

    def close(self):
        self._server.shutdown()
        self._server.server_close()

    def mark(self) -> int:
        with self._lock:
            return len(self.calls)

    def wait_for(self, method: str, since: int, timeout: float = 10.0) -> Call | None:
        """The first call to `method` after call number `since`, waiting up to `timeout`."""
        end = time.perf_counter() + timeout
        with self._cond:
            while True:
                for call in self.calls[since:]:
                    if call.method == method:
                        return call
                left = end - time.perf_counter()
                if left <= 0:
                    return None
                self._cond.wait(left)

    def methods(self, since: int = 0) -> list[str]:
        with self._lock:
            return [c.method for c in self.calls[since:]]

    def _next_ts(self) -> str:
        with self._lock:
            self._ts += 100
            ts = self._ts
        return f"{ts // 1_000_000}.{ts % 1_000_000:06d}"

    def _message(self, args: dict, ts: str) -> dict:
        message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "app_id": APP_ID,
                   "team": TEAM_ID, "ts": ts, "text": args.get("text", "")}
        if isinstance(args.get("blocks"), list):
            message["blocks"] = args["blocks"]
        return message

    def _answer(self, method: str, args: dict) -> dict:
        if method == "auth.test":
            return {"ok": True, "url": "https://example.slack.com/", "team": "example",
                    "user": "powerpole", "team_id": TEAM_ID, "user_id": BOT_USER_ID,
                    "bot_id": BOT_ID, "is_enterprise_install": False}
        if method == "views.open":
            view = args.get("view")
            if not args.get("trigger_id") or not isinstance(view, dict):
                return {"ok": False, "error": "invalid_arguments"}
            stored = dict(view, id="V0BENCH0001", team_id=TEAM_ID, app_id=APP_ID, bot_id=BOT_ID,
                          root_view_id="V0BENCH0001", previous_view_id=None,
                          state={"values": {}}, hash="V0BENCH0001.hash")
            return {"ok": True, "view": stored}
        if method == "chat.postMessage":
            channel = args.get("channel", "")
            if channel[:1] in ("U", "W"):
                channel = "D" + channel[1:]
            ts = self._next_ts()
            return {"ok": True, "channel": channel, "ts": ts, "message": self._message(args, ts)}
        if method == "chat.update":
            if not args.get("channel") or not args.get("ts"):
                return {"ok": False, "error": "invalid_arguments"}
            return {"ok": True, "channel": args["channel"], "ts": args["ts"],
                    "text": args.get("text", ""), "message": self._message(args, args["ts"])}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "conversations.members":
            members = self.members.get(args.get("channel", ""))
            if members is None:
                return {"ok": False, "error": "channel_not_found"}
            return {"ok": True, "members": members, "response_metadata": {"next_cursor": ""}}
        if method == "users.info":
            user = args.get("user", "")
            email = self.emails.get(user)
            if email is None:
                return {"ok": False, "error": "user_not_found"}
            name = email.split("@")[0]
            return {"ok": True, "user": {
                "id": user, "team_id": TEAM_ID, "name": name, "deleted": False, "real_name": name,
                "tz": "Asia/Tokyo", "tz_label": "Japan Standard Time", "tz_offset": 32400,
                "is_admin": False, "is_owner": False, "is_bot": False, "is_app_user": False,
                "updated": 1_700_000_000,
                "profile": {"real_name": name, "display_name": name, "team": TEAM_ID,
                            "email": email}}}
        return {"ok": False, "error": "unknown_method"}
