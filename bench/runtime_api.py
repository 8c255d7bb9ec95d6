"""A Lambda Runtime API emulator for one function process, on loopback (Python stdlib only).

It serves the four endpoints a runtime client (Rust's `lambda_runtime`, Python's `awslambdaric`)
uses, as Lambda does:

- `GET  /2018-06-01/runtime/invocation/next` -- blocks until an event is queued, then answers it
  with the `Lambda-Runtime-*` headers;
- `POST /2018-06-01/runtime/invocation/<id>/response` and `.../<id>/error` -- the outcome;
- `POST /2018-06-01/runtime/init/error` -- a failed cold start.

Start one per process (`RuntimeApi()`), give the process `AWS_LAMBDA_RUNTIME_API=api.address` and
the variables of `lambda_env()`, then `invoke(event)` returns when the function answered. Each
`Invocation` carries the monotonic times (`time.perf_counter()`) it was queued, handed to the
function and answered, so a caller can time cold and warm starts.
"""

import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"


@dataclass
class Invocation:
    """One event and what the function made of it."""

    event: dict
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    queued_at: float = 0.0
    delivered_at: float | None = None
    answered_at: float | None = None
    response: bytes | None = None
    error: dict | None = None
    done: threading.Event = field(default_factory=threading.Event)


class RuntimeApi:
    """The emulator; `close()` stops it (a function still polling gets a connection error)."""

    def __init__(self, function_name: str = "powerpole-bench"):
        self.function_name = function_name
        self.init_error: dict | None = None
        self.init_failed = threading.Event()
        self._queue: queue.Queue[Invocation | None] = queue.Queue()
        self._by_id: dict[str, Invocation] = {}
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # one segment per answer: no 40 ms delayed-ACK stall

            def log_message(self, *args):  # quiet: the bench prints its own lines
                pass

            def _answer(self, status: int, body: bytes = b"", headers: dict | None = None):
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def do_GET(self):
                if self.path != f"{PREFIX}/invocation/next":
                    self._answer(404, b'{"errorType":"NotFound"}')
                    return
                invocation = api._queue.get()
                if invocation is None:
                    api._queue.put(None)
                    self._answer(500, b'{"errorType":"EmulatorClosed"}')
                    return
                invocation.delivered_at = time.perf_counter()
                deadline_ms = int(time.time() * 1000) + 30_000
                self._answer(
                    200,
                    json.dumps(invocation.event).encode(),
                    {
                        "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                        "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": (
                            f"arn:aws:lambda:us-east-1:123456789012:function:{api.function_name}"
                        ),
                        "Lambda-Runtime-Trace-Id": (
                            "Root=1-5e9f0c65-1de4d666d4dd26aced652b6c;Sampled=0"
                        ),
                    },
                )

            def do_POST(self):
                body = self._body()
                now = time.perf_counter()
                if self.path == f"{PREFIX}/init/error":
                    api.init_error = _json_or_text(body)
                    api.init_failed.set()
                    self._answer(202, b'{"status":"OK"}')
                    return
                parts = self.path.removeprefix(f"{PREFIX}/invocation/").split("/")
                with api._lock:
                    invocation = api._by_id.get(parts[0]) if len(parts) == 2 else None
                if invocation is None or parts[1] not in ("response", "error"):
                    self._answer(404, b'{"errorType":"InvalidRequestID"}')
                    return
                if parts[1] == "response":
                    invocation.response = body
                else:
                    invocation.error = _json_or_text(body)
                invocation.answered_at = now
                self._answer(202, b'{"status":"OK"}')
                invocation.done.set()

        self._server = QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        """`host:port`, the value of `AWS_LAMBDA_RUNTIME_API`."""
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def lambda_env(self, memory_mb: int = 512) -> dict[str, str]:
        """The variables Lambda sets for a function process."""
        return {
            "AWS_LAMBDA_RUNTIME_API": self.address,
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/04/[$LATEST]bench",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        }

    def queue(self, event: dict) -> Invocation:
        """Queues `event` for the function's next poll."""
        invocation = Invocation(event=event, queued_at=time.perf_counter())
        with self._lock:
            self._by_id[invocation.request_id] = invocation
        self._queue.put(invocation)
        return invocation

    def invoke(self, event: dict, timeout: float = 30.0) -> Invocation:
        """Queues `event` and waits for the answer (or an init error, or the timeout)."""
        invocation = self.queue(event)
        self.wait(invocation, timeout)
        return invocation

    def wait(self, invocation: Invocation, timeout: float = 30.0) -> Invocation:
        end = time.perf_counter() + timeout
        while not invocation.done.is_set() and not self.init_failed.is_set():
            if time.perf_counter() >= end:
                break
            invocation.done.wait(0.01)
        return invocation

    def close(self):
        self._queue.put(None)
        self._server.shutdown()
        self._server.server_close()


class QuietServer(ThreadingHTTPServer):
    """Threads that do not keep the interpreter alive, and no traceback when a function process
    that was stopped leaves in the middle of a poll."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


def _json_or_text(body: bytes):
    try:
        return json.loads(body)
    except ValueError:
        return {"text": body.decode(errors="replace")}
