# Shared by bench/run and bench/smoke (sourced, not executed).
#
# Expects ROOT (the repository) and WORK (a scratch directory for this run)
# to be set, and `set -euo pipefail`. Servers started here are stopped by
# stop_all, which the callers install as an EXIT trap.

export DEBIAN_FRONTEND=noninteractive

# BENCH_NICE (e.g. -10, root only): the servers, their database and the load
# generator run at this niceness, so that other work on the machine (a build)
# yields the CPU to the measurement instead of distorting it. The same for
# every server, so the comparison stays fair.
NICE=()
if [[ -n "${BENCH_NICE:-}" && "${BENCH_NICE}" != 0 ]]; then
    if [[ "$(id -u)" -eq 0 || "${BENCH_NICE}" -gt 0 ]]; then
        NICE=(nice -n "$BENCH_NICE")
    fi
fi

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

APT_UPDATED=""
apt_install() {
    [[ "$(id -u)" -eq 0 ]] || die "missing Debian packages: $* (not root: install them yourself)"
    if [[ -z "$APT_UPDATED" ]]; then
        apt-get update -qq >&2
        APT_UPDATED=1
    fi
    apt-get install -y -qq --no-install-recommends "$@" >&2
}

# Tools every bench script needs: curl, node + npm, PostgreSQL (scripts/pg-tmp).
ensure_tools() {
    command -v curl >/dev/null || apt_install curl ca-certificates
    if [[ "${BENCH_REFERENCE:-1}" == 1 ]]; then
        command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
    fi
    if [[ " ${BENCH_BACKENDS:-sqlite postgres} " == *" postgres "* ]]; then
        "$ROOT/scripts/pg-tmp" install
    fi
}

# The reference server's npm dependencies, exactly as locked.
ensure_reference() {
    [[ "${BENCH_REFERENCE:-1}" == 1 ]] || return 0
    if [[ ! -d "$ROOT/bench/node_modules/oidc-provider" ]] ||
        ! cmp -s "$ROOT/bench/package-lock.json" "$ROOT/bench/node_modules/.package-lock.json" 2>/dev/null; then
        log "npm ci (bench/package.json: oidc-provider)"
        npm ci --prefix "$ROOT/bench" --no-audit --no-fund --loglevel=error >&2
    fi
}

# Builds netauth and the load generator with cargo profile $1 (release|dev);
# sets NETAUTH_BIN and LOADGEN_BIN.
build() {
    local profile="$1" dir
    if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
        log "cargo build --profile $profile -p netauth -p netauth-bench"
        (cd "$ROOT" && cargo build --profile "$profile" -p netauth -p netauth-bench >&2)
    fi
    dir="$profile"
    [[ "$profile" == dev ]] && dir=debug
    local target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
    NETAUTH_BIN="$target_dir/$dir/netauth"
    LOADGEN_BIN="$target_dir/$dir/loadgen"
    [[ -x "$NETAUTH_BIN" && -x "$LOADGEN_BIN" ]] || die "build did not produce $NETAUTH_BIN and $LOADGEN_BIN"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL PID SECONDS: until URL answers 2xx, or the process dies.
wait_http() {
    local url="$1" pid="$2" deadline=$((SECONDS + $3))
    while ((SECONDS < deadline)); do
        kill -0 "$pid" 2>/dev/null || return 1
        curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}

# Servers and clusters to stop on exit.
PIDS=()
PG_DIRS=()
stop_pid() {
    local pid="$1" i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}
stop_all() {
    local p d
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    PIDS=()
    for d in "${PG_DIRS[@]}"; do "$ROOT/scripts/pg-tmp" stop "$d" >/dev/null 2>&1 || true; done
    PG_DIRS=()
}

# start_postgres NAME: a throwaway cluster; sets PG_URL and PG_PID (postmaster).
start_postgres() {
    local env
    env="$("$ROOT/scripts/pg-tmp" start)" || die "scripts/pg-tmp start failed"
    eval "$env"
    PG_DIRS+=("$PGTMP_DIR")
    PG_URL="$NETAUTH_TEST_DATABASE_URL"
    PG_PID="$(head -n 1 "$PGTMP_DIR/data/postmaster.pid")"
    # Backends forked from now on inherit the postmaster's niceness.
    if ((${#NICE[@]})); then
        local p
        for p in $(pgrep -P "$PG_PID") "$PG_PID"; do renice -n "$BENCH_NICE" -p "$p" >/dev/null 2>&1 || true; done
    fi
    unset NETAUTH_TEST_DATABASE_URL
    log "PostgreSQL on port $PGTMP_PORT (postmaster $PG_PID)"
}

# start_netauth NAME BACKEND [BINARY]: a fresh sandbox (new data directory,
# and for postgres a new cluster), run from BINARY ($NETAUTH_BIN by default). Sets SERVER_PID, DB_PID (postgres) and TARGET
# (the load generator's target file), all named after NAME too:
# PID_<NAME>, DBPID_<NAME>, TARGET_<NAME>.
start_netauth() {
    local name="$1" backend="$2" bin="${3:-$NETAUTH_BIN}" port dir args=()
    port="$(free_port)"
    dir="$WORK/$name"
    rm -rf "$dir"
    mkdir -p "$dir"
    DB_PID=""
    DB_URL="sqlite:$dir/data/netauth.db"
    if [[ "$backend" == postgres ]]; then
        start_postgres
        args+=(--database-url "$PG_URL")
        DB_PID="$PG_PID"
        DB_URL="$PG_URL"
    fi
    log "starting netauth ($name, $backend) on 127.0.0.1:$port"
    # The sandbox (for its demo clients) at the log level of a production
    # node: the sandbox's one info line per OAuth request is a developer's
    # aid that `netauth serve` does not write, and formatting it costs about
    # 35 µs of CPU per request, more than issuing the token. BENCH_LOG_LEVEL=info
    # measures it.
    NETAUTH__LOG__LEVEL="${BENCH_LOG_LEVEL:-warn}" \
    "${NICE[@]}" "$bin" sandbox --listen "127.0.0.1:$port" --data-dir "$dir/data" "${args[@]}" \
        >"$dir/server.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    if ! wait_http "http://127.0.0.1:$port/healthz" "$SERVER_PID" 60 || [[ ! -f "$dir/data/sandbox.json" ]]; then
        tail -n 30 "$dir/server.log" >&2 || true
        die "netauth ($name) did not start"
    fi
    TARGET="$dir/target.json"
    "$LOADGEN_BIN" target-from-sandbox "$dir/data/sandbox.json" --out "$TARGET" >/dev/null
    printf -v "PID_${name//-/_}" '%s' "$SERVER_PID"
    printf -v "DBPID_${name//-/_}" '%s' "$DB_PID"
    printf -v "DBURL_${name//-/_}" '%s' "$DB_URL"
    printf -v "TARGET_${name//-/_}" '%s' "$TARGET"
}

# start_reference NAME: oidc-provider with NODE_ENV=production.
start_reference() {
    local name="$1" port dir
    port="$(free_port)"
    dir="$WORK/$name"
    rm -rf "$dir"
    mkdir -p "$dir"
    log "starting oidc-provider ($name) on 127.0.0.1:$port"
    NODE_ENV=production "${NICE[@]}" node "$ROOT/bench/reference/server.mjs" --port "$port" --out "$dir" \
        >"$dir/server.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    if ! wait_http "http://127.0.0.1:$port/jwks" "$SERVER_PID" 60 || [[ ! -f "$dir/target.json" ]]; then
        tail -n 30 "$dir/server.log" >&2 || true
        die "oidc-provider did not start"
    fi
    DB_PID=""
    TARGET="$dir/target.json"
    printf -v "PID_${name//-/_}" '%s' "$SERVER_PID"
    printf -v "DBPID_${name//-/_}" '%s' ""
    printf -v "TARGET_${name//-/_}" '%s' "$TARGET"
}

server_vars() { # NAME -> sets SERVER_PID DB_PID DB_URL TARGET from the per-name variables
    local n="${1//-/_}"
    local p="PID_$n" d="DBPID_$n" t="TARGET_$n" u="DBURL_$n"
    SERVER_PID="${!p}"
    DB_PID="${!d}"
    DB_URL="${!u:-}"
    TARGET="${!t}"
}

# load_fixtures NAME CLIENTS SUBSCRIBERS VIA(store|api): the scale fixtures,
# into $WORK/fixtures/NAME--*.json; the clients' credentials into
# $WORK/NAME/clients.tsv.
load_fixtures() {
    local name="$1" clients="$2" subscribers="$3" via="$4" t db=()
    server_vars "$name"
    [[ "$via" == store ]] && db=(--database-url "$DB_URL")
    mkdir -p "$WORK/fixtures"
    t="$SECONDS"
    "$LOADGEN_BIN" fixture clients --target "$TARGET" --count "$clients" "${db[@]}" \
        --save "$WORK/$name/clients.tsv" >"$WORK/fixtures/$name--clients.json"
    log "  $name: $clients clients loaded ($via) in $((SECONDS - t)) s"
    if ((subscribers > 0)); then
        t="$SECONDS"
        "$LOADGEN_BIN" fixture subscribers --target "$TARGET" --count "$subscribers" "${db[@]}" \
            >"$WORK/fixtures/$name--subscribers.json"
        log "  $name: $subscribers subscribers loaded ($via) in $((SECONDS - t)) s"
    fi
}

# Fraction of the machine's CPU that other processes used during a run.
result_disturbance() {
    python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
c = r["cpu"]
print(round(c["other_s"] / max(0.001, r["duration_s"] * c["cpus"]), 3))' "$1"
}

# loadgen_run NAME KIND SCENARIO [loadgen args...]: one run against server
# NAME; the result goes to $WORK/runs/NAME--SCENARIO--KIND.json. With
# BENCH_RERUN_DISTURBED=1, a run during which other processes took more than
# 25% of the machine is repeated once after waiting for quiet (the first
# result is kept beside it as *.disturbed).
loadgen_run() {
    loadgen_run_once "$@"
    if [[ "${BENCH_RERUN_DISTURBED:-0}" == 1 ]]; then
        local d
        d="$(result_disturbance "$LAST_RESULT")"
        if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 0.25 else 1)' "$d"; then
            log "    (other processes took $(python3 -c 'import sys; print(round(100*float(sys.argv[1])))' "$d")% of the machine: running again)"
            cp "$LAST_RESULT" "$LAST_RESULT.disturbed"
            wait_quiet "${BENCH_QUIET_WAIT:-60}"
            loadgen_run_once "$@"
        fi
    fi
}

loadgen_run_once() {
    local name="$1" kind="$2" scenario="$3"
    shift 3
    server_vars "$name"
    mkdir -p "$WORK/runs"
    local out="$WORK/runs/$name--$scenario--$kind.json" extra=()
    [[ -n "$DB_PID" ]] && extra+=(--db-pid "$DB_PID")
    local cmd=("${NICE[@]}" "$LOADGEN_BIN" --threads "${BENCH_THREADS:-1}" run --target "$TARGET" --scenario "$scenario"
        --label "$name" --watch-pid "$SERVER_PID" "${extra[@]}" --out "$out" "$@")
    printf '%q ' "${cmd[@]}" >>"$WORK/commands.txt"
    printf '\n' >>"$WORK/commands.txt"
    if ! "${cmd[@]}" >/dev/null 2>"$WORK/runs/$name--$scenario--$kind.log"; then
        cat "$WORK/runs/$name--$scenario--$kind.log" >&2
        die "loadgen failed: $name $scenario $kind"
    fi
    python3 - "$out" <<'EOF' >&2
import json, sys
r = json.load(open(sys.argv[1]))
lat = r.get("latency_from_schedule_ms") or r.get("latency_ms") or {}
flag = "" if r["valid"] else "  INVALID: " + "; ".join(r["problems"])
if r["scenario"] in ("ciba", "code-flow", "number-verification"):
    fl = r.get("flow_latency_ms") or {}
    flag = f'  [{r["flow_rps"]:.1f} flows/s, flow p50 {fl.get("p50", 0):.2f} ms p99 {fl.get("p99", 0):.2f} ms]' + flag
print(f'    {r["label"]:<18} {r["scenario"]:<16} {r["rps"]:>10.1f} req/s  p50 {lat.get("p50", 0):.2f} ms  p99 {lat.get("p99", 0):.2f} ms  '
      f'({r["requests"]} req, {r["errors"]} errors, server {r["cpu"]["server_us_per_req"]} µs CPU/req, other {r["cpu"]["other_s"]} s){flag}')
EOF
    LAST_RESULT="$out"
}

# The rps of a result file.
result_rps() { python3 -c 'import json,sys; r = json.load(open(sys.argv[1])); print(r.get("flow_rps", r["rps"]))' "$1"; }

# Percentage of the machine's CPU busy over one second.
machine_busy_pct() {
    local a b
    a="$(head -n 1 /proc/stat)"
    sleep 1
    b="$(head -n 1 /proc/stat)"
    awk -v a="$a" -v b="$b" 'BEGIN {
        n = split(a, x); split(b, y); busy = 0; tot = 0
        for (i = 2; i <= 8 && i <= n; i++) { d = y[i] - x[i]; tot += d; if (i != 5 && i != 6) busy += d }
        printf "%d\n", (tot > 0 ? 100 * busy / tot : 0)
    }'
}

# Waits (up to $1 s) until the machine is nearly idle, so that other work
# does not distort the figures; says so if it never is.
wait_quiet() {
    local limit="$1" t0=$SECONDS pct
    while :; do
        pct="$(machine_busy_pct)"
        ((pct <= 15)) && return 0
        if ((SECONDS - t0 >= limit)); then
            log "warning: the machine is still ${pct}% busy with other work; figures may be low (see cpu.other_s)"
            return 0
        fi
        log "machine ${pct}% busy with other work; waiting for quiet"
        sleep 4
    done
}
