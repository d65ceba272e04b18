#!/usr/bin/env python3
"""Executed documentation: every shell example in README.md and docs/ that is
marked runnable is run against a real sandbox, and what it prints is compared
with what the document shows.

A runnable example is a fenced block whose info string is `sh runnable`:

    ```sh runnable
    SECRET=$(jq -r '.clients[] | select(.client_id=="demo-g2p") | .client_secret' netauth-data/sandbox.json)
    curl -sS -X POST http://127.0.0.1:8080/oauth2/client/token -d ...
    # {"access_token":"nat1_…","token_type":"Bearer","expires_in":36000}
    ```

Each block runs in its own `bash` (so `$SECRET` and friends stay in their
block), in a directory where `netauth-data` is the sandbox's data directory,
with `http://127.0.0.1:8080` meaning the sandbox. The `# ` lines right after a
command are that command's expected output. Compared after masking what
changes from run to run (tokens, ids, secrets, times: see MASKS), with `…`
in the expected text standing for anything. A command that fails, or whose
output differs, fails the run: a document that drifts from the server fails
the suite.

The same blocks generate a Postman collection (docs/netauth.postman_collection.json):
each curl command becomes a request, `$VARIABLES` become collection variables.
`--write-collection` rewrites it; otherwise the run fails when the checked-in
file differs from what the documents generate.

Run by scripts/test (Python 3 and jq; NETAUTH_BIN is the netauth binary).
Prints `docs: N passed, M failed` last.
"""

import glob
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from netauth_sandbox import ROOT, Sandbox  # noqa: E402

DOC_BASE = "http://127.0.0.1:8080"
COLLECTION = os.path.join(ROOT, "docs", "netauth.postman_collection.json")
FENCE = re.compile(r"^```sh runnable\s*$")

# What differs between runs, masked the same way on both sides.
MASKS = [
    # Opaque tokens, ids and secrets in JSON answers.
    (re.compile(r'"(access_token|refresh_token|id_token|auth_req_id|jti|client_secret|operator_token|request_id|sub)":"[^"]*"'),
     r'"\1":"<masked>"'),
    # Times in JSON answers.
    (re.compile(r'"(iat|exp|issued_at|expires_at|at|created_at|updated_at|auth_time|micros)":-?\d+'), r'"\1":<masked>'),
]


def mask(text):
    for pattern, repl in MASKS:
        text = pattern.sub(repl, text)
    return text


def matches(expected, actual):
    """`expected` (with `…` for anything) against `actual`, both masked. An
    HTTP answer (`curl -i`) matches when the status line is the same, every
    header the document shows is there with that value (VOLATILE headers
    only need to be there), and the bodies match."""
    expected = expected.strip()
    actual = actual.replace("\r\n", "\n").strip()
    if expected.startswith("HTTP/"):
        e_head, _, e_body = expected.partition("\n\n")
        a_head, _, a_body = actual.partition("\n\n")
        e_lines, a_lines = e_head.splitlines(), a_head.splitlines()
        if not a_lines or e_lines[0].split()[1:2] != a_lines[0].split()[1:2]:
            return False
        got = {}
        for line in a_lines[1:]:
            k, _, v = line.partition(":")
            got[k.strip().lower()] = v.strip()
        for line in e_lines[1:]:
            k, _, v = line.partition(":")
            k = k.strip().lower()
            if k not in got or (k not in VOLATILE and not matches(v.strip(), got[k])):
                return False
        return matches(e_body, a_body)
    expected, actual = mask(expected), mask(actual)
    parts = [re.escape(p) for p in expected.split("…")]
    return re.fullmatch(".*?".join(parts), actual, re.S) is not None


# Headers whose values change from run to run.
VOLATILE = {"x-request-id", "content-length", "date", "retry-after"}
DOC_BASES = re.compile(r"http://127\.0\.0\.1:(8080|18181)")
OUTPUT_FENCE = re.compile(r"^```(|http|json|text)\s*$")


class Step:
    def __init__(self, command, expected):
        self.command = command  # with continuation lines
        self.expected = expected  # the text it prints, or None


def parse_block(lines):
    """Commands (joined with their `\\` continuations) and the `# ` lines after each."""
    steps, i = [], 0
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.startswith("#"):
            i += 1
            continue
        cmd = [line]
        while cmd[-1].endswith("\\") and i + 1 < len(lines):
            i += 1
            cmd.append(lines[i])
        i += 1
        expected = []
        while i < len(lines) and (lines[i].startswith("# ") or lines[i] == "#"):
            expected.append(lines[i][2:])
            i += 1
        steps.append(Step("\n".join(cmd), "\n".join(expected) if expected else None))
    return steps


def blocks(path):
    """(first line, heading above it, steps) of each runnable block of a Markdown file. A plain
    fenced block right after a runnable one (blank lines between) is what its
    last command prints."""
    with open(path, encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f]
    out, i, heading = [], 0, ""
    while i < len(lines):
        if lines[i].startswith("#"):
            heading = lines[i].lstrip("#").strip()
        if not FENCE.match(lines[i]):
            i += 1
            continue
        start, body = i + 2, []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1
        steps = parse_block(body)
        j = i
        while j < len(lines) and not lines[j].strip():
            j += 1
        if steps and j < len(lines) and OUTPUT_FENCE.match(lines[j]) and steps[-1].expected is None:
            k, shown = j + 1, []
            while k < len(lines) and not lines[k].startswith("```"):
                shown.append(lines[k])
                k += 1
            steps[-1].expected = "\n".join(shown)
            i = k + 1
        out.append((start, heading, steps))
    return out


MARK = "@@netauth-docs-step@@"


def run_file(block_list, sb, cwd):
    """Runs every runnable block of one document in one bash, in order (a
    reader carries `$SECRET` from one block to the next); returns each
    step's (output, exit status)."""
    script = ["set -o pipefail"]
    steps = [s for _, _, b in block_list for s in b]
    for s in steps:
        script.append(DOC_BASES.sub(sb.base, s.command))
        script.append(f'printf "\\n{MARK} %s\\n" "$?"')
    r = subprocess.run(["bash", "-c", "\n".join(script)], cwd=cwd, capture_output=True, text=True, timeout=300)
    outs, rest = [], r.stdout
    for _ in steps:
        text, sep, rest = rest.partition(f"\n{MARK} ")
        if not sep:
            break
        status, _, rest = rest.partition("\n")
        outs.append((text.replace(sb.base, DOC_BASE), int(status.strip() or "1")))
    return outs, r.stderr


# ------------------------------------------------------------ Postman

def curl_to_request(command, name):
    """A Postman request from one curl command, or None if it is not one."""
    flat = command.replace("\\\n", " ")
    flat = re.sub(r"\$\(jq -r \.(\w+) [^)]*\)", r"{{\1}}", flat)
    if "|" in flat:
        flat = flat.split("|", 1)[0]
    flat = DOC_BASES.sub("{{base_url}}", flat)
    flat = re.sub(r"\$B\b", "{{base_url}}", flat)
    try:
        words = shlex.split(flat)
    except ValueError:
        return None
    if not words or words[0] != "curl":
        return None
    method, url, headers, form, auth = None, None, [], [], None
    it = iter(words[1:])
    for w in it:
        if w in ("-X", "--request"):
            method = next(it, None)
        elif w in ("-H", "--header"):
            k, _, v = next(it, "").partition(":")
            headers.append({"key": k.strip(), "value": v.strip()})
        elif w in ("-d", "--data", "--data-urlencode"):
            k, _, v = next(it, "").partition("=")
            form.append({"key": k, "value": v})
        elif w in ("-u", "--user"):
            user, _, pw = next(it, "").partition(":")
            auth = {"type": "basic", "basic": [{"key": "username", "value": user}, {"key": "password", "value": pw}]}
        elif w == "--url":
            url = next(it, None)
        elif w.startswith("-"):
            continue
        elif url is None:
            url = w
    if url is None:
        return None
    url = re.sub(r"\$\{?(\w+)\}?", r"{{\1}}", url)
    fix = lambda s: re.sub(r"\$\{?([A-Z_]+)\}?", r"{{\1}}", s)  # noqa: E731
    req = {
        "method": method or ("POST" if form else "GET"),
        "header": [{"key": h["key"], "value": fix(h["value"])} for h in headers if h["key"].lower() != "content-type"],
        "url": url,
    }
    if form:
        req["body"] = {"mode": "urlencoded", "urlencoded": [{"key": f["key"], "value": fix(f["value"])} for f in form]}
    if auth:
        for kv in auth["basic"]:
            kv["value"] = fix(kv["value"])
        req["auth"] = auth
    # `$SECRET` is the secret of the client the request names: one variable
    # per client, so the collection holds every flow at once.
    client = next((f["value"] for f in form if f["key"] == "client_id"), None)
    if auth:
        client = auth["basic"][0]["value"]
    if client and "{{" not in client:
        req = json.loads(json.dumps(req).replace("{{SECRET}}", "{{" + client + "_secret}}"))
    return {"name": name, "request": req}


def collection(found):
    folders = []
    for path, block_list in found:
        rel = os.path.relpath(path, ROOT)
        items = []
        counts = {}
        for _, heading, steps in block_list:
            for s in steps:
                # Named by section, not line: the collection changes only
                # when the examples do.
                counts[heading] = counts.get(heading, 0) + 1
                item = curl_to_request(s.command, f"{heading} ({counts[heading]})")
                if item:
                    items.append(item)
        if items:
            folders.append({"name": rel, "item": items})
    variables = sorted({m for f in folders for it in f["item"] for m in re.findall(r"\{\{(\w+)\}\}", json.dumps(it))})
    return {
        "info": {
            "name": "netauth sandbox",
            "description": "Generated by tests/docs/run.py from the runnable examples of README.md and docs/. Set base_url to the sandbox, and each secret from netauth-data/sandbox.json.",
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
        },
        "variable": [{"key": v, "value": DOC_BASE if v == "base_url" else ""} for v in variables],
        # Tokens and auth_req_ids from answers, for the requests that follow.
        "event": [{"listen": "test", "script": {"type": "text/javascript", "exec": [
            "try {",
            "  const b = pm.response.json();",
            "  if (b.auth_req_id) pm.collectionVariables.set('auth_req_id', b.auth_req_id);",
            "  if (b.access_token) pm.collectionVariables.set('TOKEN', b.access_token);",
            "} catch (e) {}",
        ]}}],
        "item": folders,
    }


def main():
    write = "--write-collection" in sys.argv
    files = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True))
    found = [(p, blocks(p)) for p in files]
    found = [(p, b) for p, b in found if b]
    passed = failed = 0

    generated = json.dumps(collection(found), indent=2, ensure_ascii=False) + "\n"
    if write:
        with open(COLLECTION, "w", encoding="utf-8") as f:
            f.write(generated)
        print(f"  wrote {os.path.relpath(COLLECTION, ROOT)}")
    try:
        with open(COLLECTION, encoding="utf-8") as f:
            current = f.read()
    except OSError:
        current = ""
    if current == generated:
        print(f"  ok   {os.path.relpath(COLLECTION, ROOT)} matches the documents")
        passed += 1
    else:
        print(f"  FAIL {os.path.relpath(COLLECTION, ROOT)} is out of date: tests/docs/run.py --write-collection")
        failed += 1

    with Sandbox(os.path.join(ROOT, "target", "docs", "sandbox.log")) as sb, tempfile.TemporaryDirectory() as cwd:
        os.symlink(sb.data_dir, os.path.join(cwd, "netauth-data"))
        for path, block_list in found:
            rel = os.path.relpath(path, ROOT)
            outs, stderr = run_file(block_list, sb, cwd)
            k = 0
            broken = False
            for start, _, steps in block_list:
                where = f"{rel}:{start}"
                problems = []
                for n, step in enumerate(steps, 1):
                    out, status = outs[k] if k < len(outs) else ("", None)
                    k += 1
                    if broken:
                        continue
                    if status is None:
                        problems.append(f"step {n} did not run")
                        broken = True
                    elif status != 0:
                        problems.append(f"step {n} exited {status}:\n$ {step.command}\n{out.strip()}")
                        broken = True
                    elif step.expected is not None and not matches(DOC_BASES.sub(DOC_BASE, step.expected), out):
                        problems.append(
                            f"step {n} printed something else:\n$ {step.command}\n"
                            f"expected: {mask(step.expected.strip())}\n"
                            f"actual:   {mask(out.strip())}"
                        )
                if problems:
                    failed += 1
                    print(f"  FAIL {where}")
                    for p in problems:
                        print("       " + p.replace("\n", "\n       "))
                    if stderr.strip():
                        print("       stderr: " + stderr.strip()[-2000:].replace("\n", "\n       "))
                elif not broken:
                    passed += 1
                    print(f"  ok   {where} ({len(steps)} commands)")
    print(f"docs: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
