#!/usr/bin/env python3
"""Every OpenAPI document netauth serves, checked by tools we did not write:

1. `openapi-spec-validator` (PyPI): the document is valid OpenAPI;
2. `schemathesis` (PyPI): requests generated from the document, sent to a
   real sandbox, get no 5xx, and every answer has a documented status, the
   documented content type, and a body matching the documented schema.

The documents are the ones the sandbox lists under `openapi` in its
sandbox.json (built from `routes::OPENAPI_DOCUMENTS`, the route table), so a
new document is checked as soon as it is served. Each is fuzzed with the
credentials its security schemes ask for: the admin token, or a demo
client's secret.

Run by scripts/test with the interop virtual environment's Python
(NETAUTH_INTEROP_VENV); starts and stops its own sandbox (tests/lib).
Prints `openapi: N passed, M failed` last; exits non-zero on any failure.
NETAUTH_OPENAPI_EXAMPLES (default 25) and NETAUTH_OPENAPI_SEED (default
fixed, so a failure reproduces) tune schemathesis.
"""

import json
import os
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from netauth_sandbox import ROOT, Sandbox  # noqa: E402

from openapi_spec_validator import validate  # noqa: E402

EXAMPLES = os.environ.get("NETAUTH_OPENAPI_EXAMPLES", "25")
SEED = os.environ.get("NETAUTH_OPENAPI_SEED", "11011")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
LOG_DIR = os.path.join(ROOT, "target", "openapi")


def credentials(doc, sb):
    """schemathesis options that authenticate as the document asks."""
    schemes = (doc.get("components") or {}).get("securitySchemes") or {}
    if "admin" in schemes:
        return ["-H", f"Authorization: Bearer {sb.doc['admin_token']}"]
    if "client_secret_basic" in schemes:
        c = sb.client("demo-ciba")
        return ["-a", f"{c['client_id']}:{c['client_secret']}"]
    return []


def server_url(doc, base):
    """The document's first server, its variables at their defaults (CAMARA's
    `{apiRoot}/sim-swap/v2`); the sandbox itself when it names none."""
    servers = doc.get("servers") or []
    if not servers:
        return base
    url = servers[0].get("url", "")
    for name, var in (servers[0].get("variables") or {}).items():
        url = url.replace("{" + name + "}", str(var.get("default", "")))
    return url if url.startswith("http") else base + url


def main():
    schemathesis = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    passed = failed = 0
    with Sandbox(os.path.join(LOG_DIR, "sandbox.log")) as sb:
        urls = sb.doc.get("openapi") or []
        if not urls:
            print("openapi: the sandbox lists no OpenAPI document")
            print("openapi: 0 passed, 1 failed")
            return 1
        for url in urls:
            name = url.removeprefix(sb.base)
            doc = json.load(urllib.request.urlopen(url, timeout=10))
            try:
                validate(doc)
                print(f"  ok   {name}: valid OpenAPI {doc.get('openapi')} ({len(doc.get('paths', {}))} paths)")
                passed += 1
            except Exception as e:  # the validator's own exception types vary by version
                print(f"  FAIL {name}: not valid OpenAPI: {e}")
                failed += 1
                continue
            log = os.path.join(LOG_DIR, name.strip("/").replace("/", "_") + ".schemathesis.log")
            cmd = [
                schemathesis, "run", url, "--url", server_url(doc, sb.base), "--checks", CHECKS,
                "--max-examples", EXAMPLES, "--seed", SEED, "-w", "1",
                "--phases", "examples,coverage,fuzzing", "--request-timeout", "10",
                "--warnings", "off", *credentials(doc, sb),
            ]
            with open(log, "w") as out:
                # cwd: schemathesis keeps its cache (.schemathesis/) in target/, not the tree.
                rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, timeout=600, cwd=LOG_DIR).returncode
            with open(log, encoding="utf-8", errors="replace") as f:
                tail = [l for l in f.read().splitlines() if l.strip()][-1:]
            if rc == 0:
                print(f"  ok   {name}: schemathesis {tail[0].strip('= ') if tail else ''}")
                passed += 1
            else:
                print(f"  FAIL {name}: schemathesis exit {rc}; full report in {log}")
                with open(log, encoding="utf-8", errors="replace") as f:
                    print("\n".join("       " + l for l in f.read().splitlines()[-60:]))
                failed += 1
    print(f"openapi: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
