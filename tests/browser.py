"""Open a page in Debian's headless Chromium and report what a user would see: a screenshot,
the console messages, uncaught exceptions and failed requests.

Talks the DevTools protocol over a WebSocket written out here (RFC 6455 client frames: masked
text, no extensions), so the tests need no extra package. ``find_chromium()`` returns None
with the reason when there is no browser; callers skip with that reason.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

CHROMIUM = "/usr/bin/chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0", "--remote-allow-origins=*")


def find_chromium():
    """(path, None) or (None, why not)."""
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if not path:
        return None, f"no Chromium at {CHROMIUM} (CI installs Debian's chromium package)"
    return path, None


class _WebSocket:
    def __init__(self, url, timeout):
        u = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           ).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("DevTools closed the connection during the handshake")
            head += chunk
        head, self.buffer = head.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"WebSocket handshake refused: {head[:200]!r}")

    def send(self, text):
        data = text.encode()
        mask = os.urandom(4)
        n = len(data)
        header = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                                  bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536 else
                                  bytes([0x80 | 127]) + struct.pack(">Q", n))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def recv(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            opcode = b0 & 0x0F
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the WebSocket")
            if opcode in (0x9, 0xA):   # ping/pong: not used by DevTools, skipped
                continue
            message += payload
            if b0 & 0x80:
                return message.decode()


class PageReport:
    """What loading a page produced."""

    def __init__(self):
        self.console = []        # (level, text) of every console message
        self.exceptions = []     # uncaught exception descriptions
        self.failed_requests = []  # (url, reason)
        self.log_errors = []     # browser log entries of level error (e.g. blocked loads)
        self.screenshot = b""    # PNG bytes

    @property
    def problems(self):
        return ([f"console {lvl}: {t}" for lvl, t in self.console]
                + [f"exception: {e}" for e in self.exceptions]
                + [f"failed request {u}: {r}" for u, r in self.failed_requests]
                + [f"log error: {e}" for e in self.log_errors])


def open_page(url, *, width=1200, height=900, timeout=60.0):
    """Load ``url`` in a fresh headless Chromium (empty profile) and return a PageReport."""
    exe, why = find_chromium()
    if exe is None:
        raise FileNotFoundError(why)
    profile = tempfile.mkdtemp(prefix="deepsheet-chromium-")
    # stderr goes to a file: nobody has to drain a pipe while the page loads (a full pipe
    # would stall the browser), and it is there to quote when the start fails
    log = open(os.path.join(profile, "stderr.txt"), "wb")
    proc = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={profile}",
                             f"--window-size={width},{height}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + timeout
    try:
        # with --remote-debugging-port=0 Chromium writes the port it chose into the profile
        active = os.path.join(profile, "DevToolsActivePort")
        port = None
        while port is None:
            if time.monotonic() > deadline or proc.poll() is not None:
                with open(log.name, "rb") as f:
                    tail = f.read()[-2000:].decode(errors="replace")
                raise TimeoutError(f"Chromium did not open its DevTools port: {tail}")
            try:
                with open(active) as f:
                    content = f.read()
            except OSError:
                content = ""
            first = content.split("\n", 1)[0]
            if "\n" in content and first.isdigit():   # the whole first line is written
                port = int(first)
            if port is None:
                time.sleep(0.05)
        page_ws = None
        while page_ws is None and time.monotonic() < deadline:
            # no proxy: the browser is on this machine, whatever http_proxy says
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                targets = json.load(r)
            page_ws = next((t["webSocketDebuggerUrl"] for t in targets
                            if t.get("type") == "page"), None)
            if page_ws is None:
                time.sleep(0.1)
        ws = _WebSocket(page_ws, timeout)
        report = PageReport()
        counter = [0]
        urls = {}

        def handle(event):
            method, p = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled":
                text = " ".join(str(a.get("value", a.get("description", "")))
                                for a in p.get("args", []))
                report.console.append((p.get("type"), text))
            elif method == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                report.exceptions.append(d.get("exception", {}).get("description")
                                         or d.get("text"))
            elif method == "Network.requestWillBeSent":
                urls[p.get("requestId")] = p.get("request", {}).get("url")
            elif method == "Network.loadingFailed":
                report.failed_requests.append((urls.get(p.get("requestId"), p.get("requestId")),
                                               p.get("errorText")))
            elif method == "Network.responseReceived":
                status = p.get("response", {}).get("status", 0)
                if status >= 400:
                    report.failed_requests.append((p["response"].get("url"), f"HTTP {status}"))
            elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                report.log_errors.append(p["entry"].get("text"))

        def call(method, **params):
            counter[0] += 1
            ws.send(json.dumps({"id": counter[0], "method": method, "params": params}))
            while True:
                msg = json.loads(ws.recv())
                if msg.get("id") == counter[0]:
                    if "error" in msg:
                        raise RuntimeError(f"{method}: {msg['error']}")
                    return msg.get("result", {})
                handle(msg)

        for domain in ("Page", "Runtime", "Network", "Log"):
            call(f"{domain}.enable")
        call("Emulation.setDeviceMetricsOverride", width=width, height=height,
             deviceScaleFactor=1, mobile=False)
        call("Page.navigate", url=url)
        loaded = False
        while not loaded:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not finish loading in {timeout} s")
            msg = json.loads(ws.recv())
            handle(msg)
            loaded = msg.get("method") == "Page.loadEventFired"
        # let late console messages and failures arrive
        call("Runtime.evaluate", expression="1")
        shot = call("Page.captureScreenshot", format="png")
        report.screenshot = base64.b64decode(shot["data"])
        return report
    finally:
        proc.kill()
        proc.wait(timeout=10)
        log.close()
        shutil.rmtree(profile, ignore_errors=True)
