#!/usr/bin/env python3
"""Summarises `perf script` output (cpu-clock samples with call graphs) of
one server process: where its CPU time goes, by thread, by kind of work
(leaf frame) and by netauth function (inclusive). Used by bench/profile.

    perf script -i perf.data | bench/perf_summary.py [--requests N]
"""
import argparse
import re
import sys
from collections import Counter

# Kind of work, decided by the innermost frame that matches (leaf first).
LEAF_RULES = [
    ("ECDSA P-256 (aws-lc)", r"ecp_nistz256|p256|ECDSA|ec_point|ec_GFp|bn_mod|BN_"),
    ("RSA (aws-lc)", r"rsaz|RSA_|bn_mul_mont|bn_sqr"),
    ("AEAD seal/open (aws-lc)", r"aes_|aesni|gcm_|GCM|chacha|poly1305|EVP_AEAD"),
    ("SHA-2 / HMAC (aws-lc)", r"sha256|SHA256|sha512|HMAC|hmac"),
    ("random (aws-lc)", r"RAND_|rdrand|CRYPTO_sysrand|ctr_drbg"),
    ("SQLite engine", r"sqlite3|^wal|btree|pager|Vdbe|^pcache|memjrnl|unixWrite|unixRead|unixSync"),
    ("sqlx / flume (DB plumbing)", r"sqlx|flume|futures_intrusive"),
    ("PostgreSQL client (sqlx-postgres)", r"PgConnection|sqlx_postgres"),
    ("allocator", r"malloc|_int_free|cfree|realloc|calloc|unlink_chunk|free$|^free|arena|tcache"),
    ("memcpy/memcmp", r"memcpy|memmove|memset|memcmp|__memcpy|bcmp"),
    ("JSON (serde)", r"serde_json|serde::"),
    ("JWT / base64 parsing", r"jsonwebtoken|base64"),
    ("form / URL parsing", r"form_urlencoded|serde_urlencoded|percent_encoding|url::"),
    ("HTTP (hyper/http)", r"hyper|httparse|http::header|h1::"),
    ("axum / tower", r"axum|tower"),
    ("tracing", r"tracing"),
    ("tokio runtime", r"tokio|mio::"),
    ("netauth code", r"netauth"),
]
KERNEL_RULES = [
    ("kernel: network (loopback TCP)", r"tcp_|inet_|sock_|skb|__dev_queue_xmit|loopback|net_rx|ip_|__netif|sk_|__sys_sendto|__sys_recvfrom|do_writev|sock_write|sock_read"),
    ("kernel: file I/O", r"ext4|filemap|vfs_write|vfs_read|ksys_pwrite|ksys_pread|fsync|jbd2|iomap|pwrite|pread|generic_perform_write"),
    ("kernel: scheduling / futex / epoll", r"futex|schedule|finish_task_switch|try_to_wake_up|epoll|ep_poll|nanosleep|hrtimer|sched_yield"),
]
FUNCTIONS = [
    ("client authentication (all)", r"client_auth::authenticate"),
    ("  assertion verification", r"verify_client_assertion|verify_with_keys"),
    ("  jti recording (Store)", r"record_jti"),
    ("  secret check", r"verify_secret"),
    ("client lookup (cache/Store)", r"netauth_server::state::App::client|get_client"),
    ("token sealing", r"seal_access_token"),
    ("token opening", r"open_access_token"),
    ("form parsing", r"netauth_server::oauth::parse_form"),
    ("response JSON", r"axum::json|Json<T> as axum_core"),
    ("request id (generation)", r"RandomRequestId"),
]
NETAUTH_FN = re.compile(r"^(?:<)?(netauth_\w+::[\w:]+)")


def netauth_owner(frames):
    """The innermost netauth function on the stack (closures folded into it)."""
    for s, _ in frames:
        m = NETAUTH_FN.match(s)
        if m:
            return re.sub(r"(::\{\{closure\}\})+$", "", m.group(1))
    return None


def parse(stream):
    """Yields (thread name, [frames leaf first]) per sample."""
    comm, frames = None, []
    for line in stream:
        if not line.strip():
            if comm is not None:
                yield comm, frames
            comm, frames = None, []
            continue
        if not line[0].isspace():
            # "comm  pid/tid  time: period event:" — comm may contain spaces
            m = re.match(r"^(.*?)\s+\d+(?:/\d+)?\s", line)
            comm = m.group(1).strip() if m else line.split()[0]
            frames = []
        else:
            parts = line.strip().split(None, 1)
            if len(parts) == 2:
                sym = parts[1]
                dso = ""
                m = re.match(r"^(.*) \((.*)\)$", sym)
                if m:
                    sym, dso = m.group(1), m.group(2)
                sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
                frames.append((sym, dso))
    if comm is not None:
        yield comm, frames


def thread_kind(comm):
    comm = re.sub(r"[-_ ]?\d+$", "", comm)
    return comm


def leaf_kind(frames):
    if not frames:
        return "unknown"
    sym, dso = frames[0]
    if "kernel" in dso or sym.startswith("[k]") or dso == "[kernel.kallsyms]":
        stack = " ".join(s for s, _ in frames)
        for name, rx in KERNEL_RULES:
            if re.search(rx, stack):
                return name
        return "kernel: other"
    for s, _ in frames:
        for name, rx in LEAF_RULES:
            if re.search(rx, s):
                return name
    return "other (" + (dso.rsplit("/", 1)[-1] or "?") + ")"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, help="requests served while sampling: adds µs per request")
    ap.add_argument("--hz", type=float, default=999.0, help="sampling frequency used with perf record -F")
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args()

    threads, kinds, funcs, syms, owners = Counter(), Counter(), Counter(), Counter(), Counter()
    total = 0
    for comm, frames in parse(sys.stdin):
        total += 1
        threads[thread_kind(comm)] += 1
        kinds[leaf_kind(frames)] += 1
        stack = "\n".join(s for s, _ in frames)
        for name, rx in FUNCTIONS:
            if re.search(rx, stack):
                funcs[name] += 1
        if frames:
            syms[frames[0][0][:90]] += 1
        owners[netauth_owner(frames) or "(outside netauth code: " + leaf_kind(frames) + ")"] += 1
    if total == 0:
        print("no samples")
        return 1

    def row(name, n):
        pct = 100.0 * n / total
        us = ""
        if a.requests:
            us = f"{n / a.hz * 1e6 / a.requests:8.1f} µs/req"
        return f"  {pct:5.1f}%  {us}  {name}"

    print(f"{total} samples" + (f", {a.requests} requests" if a.requests else ""))
    print("\nby thread:")
    for k, n in threads.most_common():
        print(row(k, n))
    print("\nby kind of work (innermost recognised frame):")
    for k, n in kinds.most_common():
        print(row(k, n))
    print("\nby netauth function (inclusive: samples under it):")
    for k, _ in FUNCTIONS:
        if funcs[k]:
            print(row(k, funcs[k]))
    print("\nby innermost netauth function (with the library code it calls):")
    for k, n in owners.most_common(a.top):
        print(row(k[:110], n))
    print(f"\ntop {a.top} leaf symbols:")
    for k, n in syms.most_common(a.top):
        print(row(k, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
