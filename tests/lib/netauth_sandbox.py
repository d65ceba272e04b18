"""A throwaway `netauth sandbox` for the test scripts that talk to a real
server (tests/openapi, tests/docs): a free loopback port, a fresh data
directory, started and always stopped.

    with Sandbox() as sb:
        sb.base, sb.doc["admin_token"], sb.client("demo-basic")["client_secret"]

The binary is NETAUTH_BIN (default target/debug/netauth); nothing is built
here. The sandbox's log is kept at `log_path`.

`Sandbox(log, tls=True)` starts `netauth sandbox --tls`: `sb.base` is
https, and `sb.ca_file` the sandbox's CA, to hand to a client
(`REQUESTS_CA_BUNDLE`, `ssl.create_default_context(cafile=sb.ca_file)`).
"""

import json
import os
import shutil
import ssl
import socket
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sandbox:
    def __init__(self, log_path, env=None, port=None, tls=False):
        self.bin = os.environ.get("NETAUTH_BIN") or os.path.join(ROOT, "target", "debug", "netauth")
        if not os.path.isabs(self.bin):
            self.bin = os.path.join(ROOT, self.bin)
        if not os.access(self.bin, os.X_OK):
            raise SystemExit(f"no netauth binary at {self.bin} (cargo build --bin netauth, or set NETAUTH_BIN)")
        self.log_path = log_path
        self.env = env or {}
        self.port = port
        self.tls = tls
        self.ca_file = None
        self.proc = None
        self.tmp = None

    def __enter__(self):
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        for attempt in range(3):
            self.tmp = tempfile.mkdtemp(prefix="netauth-sandbox-")
            port = self.port or free_port()
            self.data_dir = os.path.join(self.tmp, "data")
            os.makedirs(self.data_dir)
            self.base = f"{'https' if self.tls else 'http'}://127.0.0.1:{port}"
            if self.tls:
                self.ca_file = os.path.join(self.data_dir, "tls", "ca.pem")
            log = open(self.log_path, "w")
            self.proc = subprocess.Popen(
                [self.bin, "sandbox", "--listen", f"127.0.0.1:{port}", "--data-dir", self.data_dir]
                + (["--tls"] if self.tls else []),
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
            )
            log.close()
            if self._wait_ready():
                with open(os.path.join(self.data_dir, "sandbox.json"), encoding="utf-8") as f:
                    self.doc = json.load(f)
                return self
            self._stop()
            if self.port:
                break
        raise SystemExit(f"netauth sandbox would not start; log in {self.log_path}")

    def _wait_ready(self):
        deadline = time.monotonic() + 30
        path = os.path.join(self.data_dir, "sandbox.json")
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if os.path.getsize(path) > 0:
                    ctx = ssl.create_default_context(cafile=self.ca_file) if self.tls else None
                    url = self.base + "/.well-known/openid-configuration"
                    urllib.request.urlopen(url, timeout=2, context=ctx).read()
                    return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def _stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def __exit__(self, *exc):
        self._stop()
        return False

    def client(self, client_id):
        return next(c for c in self.doc["clients"] if c["client_id"] == client_id)
