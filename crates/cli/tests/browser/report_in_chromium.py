#!/usr/bin/env python3
"""Opens a report file in headless Chromium over the DevTools protocol (on a pipe: no port, no
network) and prints what a reviewer's browser saw, as one JSON object on stdout:

  {"requests": [urls], "console": [console messages of level warning/error],
   "exceptions": [uncaught exceptions], "log": [browser log entries of level warning/error,
   CSP violations among them], "before": {...}, "after": {...}, "screenshot": path}

"before" / "after" are the search box's state before and after typing QUERY into it: how many
[data-search] entries are visible, the ids of the visible ones, the counter's text.

  report_in_chromium.py CHROMIUM REPORT.html SCREENSHOT.png QUERY

Standard library only, so the test needs nothing but Debian's chromium.
"""

import base64
import fcntl
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

TIMEOUT_SECONDS = 60

VISIBLE = """JSON.stringify((() => {
  const items = Array.from(document.querySelectorAll('[data-search]'));
  const shown = items.filter(e => !e.hidden && e.offsetParent !== null);
  return {total: items.length, visible: shown.length,
          ids: shown.map(e => e.id || e.getAttribute('data-kind') || ''),
          counter: document.getElementById('shown').textContent};
})())"""


def above_four(fd):
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


class Browser:
    def __init__(self, chromium, profile):
        # Moved above fd 4, so that placing them on 3 and 4 in the child overwrites neither.
        commands_read, self.commands = map(above_four, os.pipe())
        self.answers, answers_write = map(above_four, os.pipe())
        flags = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--remote-debugging-pipe", f"--user-data-dir={profile}",
            "about:blank",
        ]
        # Chromium reads commands on fd 3 and writes answers on fd 4.
        self.process = subprocess.Popen(
            [chromium, *flags], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(profile, "chromium.log"), "wb"),
            pass_fds=(3, 4), preexec_fn=lambda: (
                os.dup2(commands_read, 3), os.dup2(answers_write, 4)))
        os.close(commands_read)
        os.close(answers_write)
        self.buffer = b""
        self.next_id = 0
        self.events = []

    def close(self):
        try:
            self.send("Browser.close")
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def read_message(self, deadline):
        while b"\0" not in self.buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self.answers, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while True:
            answer = self.read_message(deadline)
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_for(self, method):
        deadline = time.monotonic() + TIMEOUT_SECONDS
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self.read_message(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event


def evaluate(browser, session, expression):
    result = browser.send("Runtime.evaluate",
                          {"expression": expression, "returnByValue": True}, session)
    return json.loads(result["result"]["value"])


def main():
    chromium, report, screenshot, query = sys.argv[1:5]
    url = pathlib.Path(report).resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="powerpole-chromium-") as profile:
        browser = Browser(chromium, profile)
        try:
            target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser.send("Target.attachToTarget",
                                   {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                browser.send(f"{domain}.enable", {}, session)
            browser.send("Emulation.setDeviceMetricsOverride",
                         {"width": 1200, "height": 900, "deviceScaleFactor": 1,
                          "mobile": False}, session)
            browser.send("Page.navigate", {"url": url}, session)
            browser.wait_for("Page.loadEventFired")
            before = evaluate(browser, session, VISIBLE)
            shot = browser.send("Page.captureScreenshot",
                                {"format": "png", "captureBeyondViewport": True}, session)
            pathlib.Path(screenshot).write_bytes(base64.b64decode(shot["data"]))
            browser.send("Runtime.evaluate",
                         {"expression": "document.getElementById('filter').focus()"}, session)
            browser.send("Input.insertText", {"text": query}, session)
            after = evaluate(browser, session, VISIBLE)
            # Give late console messages and requests a moment to arrive.
            browser.send("Runtime.evaluate", {
                "expression": "new Promise(r => setTimeout(r, 300))", "awaitPromise": True},
                session)
        finally:
            browser.close()
    events = browser.events
    by = lambda name: [e["params"] for e in events if e.get("method") == name]
    print(json.dumps({
        "requests": [p["request"]["url"] for p in by("Network.requestWillBeSent")],
        "console": [
            {"type": p["type"], "text": " ".join(str(a.get("value", a.get("description", "")))
                                                for a in p.get("args", []))}
            for p in by("Runtime.consoleAPICalled") if p["type"] in ("error", "warning", "assert")
        ],
        "exceptions": [p["exceptionDetails"].get("text", "") for p in by("Runtime.exceptionThrown")],
        "log": [p["entry"] for p in by("Log.entryAdded") if p["entry"]["level"] in ("error", "warning")],
        "before": before,
        "after": after,
        "screenshot": screenshot,
    }))


if __name__ == "__main__":
    main()
