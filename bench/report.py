#!/usr/bin/env python3
"""Assembles a bench/run work directory into one JSON document, Markdown
tables, the target check and a chart (docs/benchmarks.md).

    report.py --work bench/target/run-STAMP --out bench/results/DATE [--no-chart]
    report.py --chart-only bench/results/DATE.json

Standard library only, except the chart (matplotlib, from bench/.venv).
"""
import argparse
import glob
import json
import os
import platform
import re
import subprocess
import sys
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = "oidc-provider"
SCENARIOS = ["floor", "cc-basic", "cc-jwt", "introspect"]
# Multi-request flows: reported per flow (one iteration), with no target.
FLOW_SCENARIOS = ["ciba", "code-flow", "number-verification", "number-verification-ciba"]
MIB = 1024


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20, cwd=ROOT).stdout.strip()
    except Exception:  # noqa: BLE001 - a missing tool only leaves a field empty
        return ""


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            model = m.group(1) if m else ""
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
            mem = f"{kib / MIB / MIB:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "memory": mem, "kernel": platform.release()}


def versions():
    v = {"rustc": sh("rustc", "--version"), "node": sh("node", "--version")}
    try:
        with open(os.path.join(ROOT, "bench/node_modules/oidc-provider/package.json")) as f:
            v["oidc-provider"] = json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        v["oidc-provider"] = ""
    bindir = sh(os.path.join(ROOT, "scripts/pg-tmp"), "bindir")
    v["postgresql"] = sh(os.path.join(bindir, "postgres"), "--version") if bindir else ""
    v["sqlite"] = "bundled (sqlx / libsqlite3-sys)"
    return v


def load_runs(work):
    runs = []
    for path in sorted(glob.glob(os.path.join(work, "runs", "*.json"))):
        label, scenario, kind = os.path.basename(path)[: -len(".json")].split("--")
        with open(path) as f:
            r = json.load(f)
        r["label"], r["kind"] = label, kind
        r["scenario"] = scenario
        runs.append(r)
    fixtures = []
    for path in sorted(glob.glob(os.path.join(work, "fixtures", "*.json"))):
        with open(path) as f:
            fx = json.load(f)
        fx["label"] = os.path.basename(path).split("--")[0]
        fixtures.append(fx)
    return runs, fixtures


def find(runs, label, scenario, kind):
    for r in runs:
        if r["label"] == label and r["scenario"] == scenario and r["kind"] == kind:
            return r
    return None


def scale_pairs(runs):
    """Scale runs: per loaded instance L, cc-basic on L (kinds large, large2)
    and on its unloaded twin L-small (kinds small, small2), averaged."""
    out = []
    larges = sorted({r["label"] for r in runs if r["kind"].startswith("large")},
                    key=lambda label: ("sqlite" not in label, label))
    for label in larges:
        large = [r for r in runs if r["label"] == label and r["scenario"] == "cc-basic" and r["kind"].startswith("large")]
        small = [r for r in runs if r["label"] in (label + "-small", label) and r["scenario"] == "cc-basic"
                 and r["kind"].startswith("small")]
        if not large or not small:
            continue
        mean = lambda rs: sum(r["rps"] for r in rs) / len(rs)  # noqa: E731
        out.append({
            "label": label,
            "small": small,
            "large": large,
            "small_rps": mean(small),
            "large_rps": mean(large),
            "spread": find(runs, label, "cc-basic-spread", "large"),
        })
    return out


def p99_half(r):
    lat = (r or {}).get("latency_from_schedule_ms") or {}
    return lat.get("p99")


def fmt(v, digits=0):
    if v is None:
        return "–"
    if isinstance(v, float) and digits:
        return f"{v:,.{digits}f}"
    return f"{v:,.0f}" if isinstance(v, (int, float)) else str(v)


def netauth_labels(runs):
    seen = []
    for r in runs:
        if r["kind"] in ("peak", "half") and r["label"] != REFERENCE and r["label"] not in seen:
            seen.append(r["label"])
    return sorted(seen, key=lambda label: ("sqlite" not in label, label))


def evaluate(doc):
    """The issue's targets, each with its figure and verdict."""
    runs = doc["runs"]
    out = []

    def add(target, figure, met, note=""):
        out.append({"target": target, "figure": figure, "met": met, "note": note})

    def valid(*rs):
        return all(r is not None and r.get("valid") for r in rs)

    for label in netauth_labels(runs):
        for scenario, factor in (("cc-basic", 10), ("cc-jwt", 5), ("introspect", 10)):
            n, ref = find(runs, label, scenario, "peak"), find(runs, REFERENCE, scenario, "peak")
            if n is None or ref is None:
                continue
            if not valid(n, ref):
                add(f"{scenario} ≥ {factor}× oidc-provider ({label})", "runs had errors", False, "not a result")
                continue
            ratio = n["rps"] / ref["rps"] if ref["rps"] else None
            add(f"{scenario} ≥ {factor}× oidc-provider ({label})", f"{ratio:.1f}×", ratio is not None and ratio >= factor)
        cc, floor = find(runs, label, "cc-basic", "peak"), find(runs, label, "floor", "peak")
        if cc and floor:
            share = cc["rps"] / floor["rps"] if floor["rps"] else 0
            add(f"cc-basic ≥ 50% of netauth's floor ({label})", f"{100 * share:.0f}%", valid(cc, floor) and share >= 0.5)
        halves = [r for r in runs if r["label"] == label and r["kind"] == "half" and r["scenario"] not in FLOW_SCENARIOS]
        if halves:
            worst = max(halves, key=lambda r: p99_half(r) or 0)
            ok = all(r.get("valid") and (p99_half(r) or 1e9) < 10 for r in halves)
            add(
                f"p99 at half of peak < 10 ms, every scenario ({label})",
                f"worst {p99_half(worst):.2f} ms ({worst['scenario']})",
                ok,
            )
    mem = [r for r in runs if r["kind"] == "memory"]
    for r in mem:
        rss = r.get("rss") or {}
        peak, after = rss.get("peak_kib") or 0, rss.get("after_kib") or rss.get("at_end_kib") or 0
        tenth, end = rss.get("at_10pct_kib") or 0, rss.get("at_end_kib") or 0
        growth = end - tenth
        flat = growth <= max(2 * MIB, 0.05 * tenth)
        add(
            f"RSS ≤ 64 MiB during and after {r['requests']:,} tokens, flat ({r['label']})",
            f"peak {peak / MIB:.1f} MiB, after {after / MIB:.1f} MiB, {growth / MIB:+.1f} MiB from 10% to 100%",
            r.get("valid") and peak <= 64 * MIB and after <= 64 * MIB and flat,
        )
    for pair in scale_pairs(runs):
        label = pair["label"]
        ratio = pair["large_rps"] / pair["small_rps"] if pair["small_rps"] else 0
        subs = [f for f in doc["fixtures"] if f["label"] == label and f.get("fixture") == "subscribers"]
        note = f"with {subs[0]['loaded']:,} subscribers" if subs and subs[0].get("loaded") else "clients only, no subscribers loaded"
        add(
            f"cc-basic with the large store within 10% of the small store ({label})",
            f"{100 * ratio:.0f}% ({fmt(pair['large_rps'])} vs {fmt(pair['small_rps'])} req/s, "
            f"{len(pair['large'])}+{len(pair['small'])} runs)",
            valid(*pair["small"], *pair["large"]) and ratio >= 0.9,
            note,
        )
    return out


def markdown(doc):
    runs = doc["runs"]
    m = doc["meta"]
    lines = [
        f"# netauth benchmarks, {m['date']}",
        "",
        f"Commit `{m['commit']}`; {m['machine']['cpus']} CPUs ({m['machine']['cpu_model']}), {m['machine']['memory']}; "
        f"server, database and load generator on the same machine. {m['settings']}. "
        f"oidc-provider {m['versions'].get('oidc-provider', '')} on Node.js {m['versions'].get('node', '')}; "
        f"{m['versions'].get('postgresql', '')}. bench/run took {m.get('elapsed_s', '?')} s.",
        "",
        "## Scenarios",
        "",
        "Peak: closed loop, fixed concurrency. ½ peak: open loop at half the peak rate (latency from the "
        "scheduled time when the server made a request late). CPU: the server's (and its database's) CPU time "
        "per request, from /proc; the last column compares server+database CPU per request, the figure least "
        "affected by other load on the machine.",
        "",
        "| scenario | server | req/s | p50 ms | p99 ms | p99 ms at ½ peak | server µs CPU/req | db µs CPU/req | × oidc-provider (req/s) | × oidc-provider (CPU/req) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    labels = [REFERENCE] + netauth_labels(runs)
    others = {r["scenario"] for r in runs if r["kind"] == "peak"} - set(SCENARIOS) - set(FLOW_SCENARIOS)
    for scenario in SCENARIOS + sorted(others):
        for label in labels:
            r = find(runs, label, scenario, "peak")
            if r is None:
                continue
            h = find(runs, label, scenario, "half")
            ref = find(runs, REFERENCE, scenario, "peak")
            ratio = f"{r['rps'] / ref['rps']:.1f}×" if ref and ref["rps"] and label != REFERENCE else ""
            cpu = r.get("cpu") or {}
            db = (cpu.get("db_s") or 0) * 1e6 / r["requests"] if r["requests"] and cpu.get("db_s") else None
            mine = cpu.get("server_and_db_us_per_req")
            theirs = ((ref or {}).get("cpu") or {}).get("server_and_db_us_per_req")
            cpu_ratio = f"{theirs / mine:.1f}×" if mine and theirs and label != REFERENCE else ""
            bad = "" if r["valid"] and (h is None or h["valid"]) else " ⚠ errors: not a result"
            lat = r.get("latency_ms") or {}
            lines.append(
                f"| {scenario} | {label}{bad} | {fmt(r['rps'])} | {fmt(lat.get('p50'), 2)} | {fmt(lat.get('p99'), 2)} "
                f"| {fmt(p99_half(h), 2)} | {fmt(cpu.get('server_us_per_req'))} | {fmt(db)} | {ratio} | {cpu_ratio} |"
            )
    flows = [s for s in FLOW_SCENARIOS if any(r["scenario"] == s and r["kind"] == "peak" for r in runs)]
    if flows:
        lines += ["", "## Flows", "",
                  "Multi-request flows, per whole flow (`ciba`: bc-authorize, then the token poll that gets the "
                  "token: two requests; `code-flow`: authorize from a subscriber's line with remembered consent, "
                  "the authorization server's own redirects, then the code exchange: two requests on netauth, "
                  "four on oidc-provider; `number-verification`: operator token, JWT bearer grant, /verify: three; "
                  "`number-verification-ciba`: operator token, bc-authorize, token, /verify: four). Latency of the whole flow; no target, only the comparison.", "",
                  "| flow | server | flows/s | req/s | flow p50 ms | flow p99 ms | flow p99 ms at ½ peak | × oidc-provider (flows/s) |",
                  "|---|---|---:|---:|---:|---:|---:|---:|"]
        for scenario in flows:
            for label in labels:
                r = find(runs, label, scenario, "peak")
                if r is None:
                    continue
                h = find(runs, label, scenario, "half")
                ref = find(runs, REFERENCE, scenario, "peak")
                fr = lambda x: (x or {}).get("flow_rps")  # noqa: E731
                ratio = f"{fr(r) / fr(ref):.1f}×" if fr(ref) and fr(r) and label != REFERENCE else ""
                bad = "" if r["valid"] and (h is None or h["valid"]) else " ⚠ errors: not a result"
                lat = r.get("flow_latency_ms") or {}
                lines.append(
                    f"| {scenario} | {label}{bad} | {fmt(fr(r))} | {fmt(r['rps'])} | {fmt(lat.get('p50'), 2)} "
                    f"| {fmt(lat.get('p99'), 2)} | {fmt(p99_half(h), 2)} | {ratio} |"
                )
    mem = [r for r in runs if r["kind"] == "memory"]
    if mem:
        lines += ["", "## Memory", "", "| server | tokens | req/s | RSS before | at 10% | at end | peak (VmHWM) | 3 s after |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in mem:
            s = r.get("rss") or {}
            mib = lambda k: f"{s[k] / MIB:.1f} MiB" if s.get(k) else "–"  # noqa: E731
            lines.append(
                f"| {r['label']} | {r['requests']:,} | {fmt(r['rps'])} | {mib('before_kib')} | {mib('at_10pct_kib')} "
                f"| {mib('at_end_kib')} | {mib('peak_kib')} | {mib('after_kib')} |"
            )
    pairs = scale_pairs(runs)
    if pairs:
        via = {f.get("via", "admin API") for f in doc["fixtures"]}
        lines += ["", "## Scale", "",
                  "cc-basic on two fresh netauth instances, one of them loaded with the fixture's clients and "
                  f"subscribers ({', '.join(sorted(via))}), measured alternately (small, large, large, small; "
                  "the mean of each pair); `spread` rotates the requests over all of the fixture's clients "
                  "(so most client lookups miss the per-node cache and reach the database).", "",
                  "| server | small store req/s | clients loaded | subscribers loaded | large store req/s | ratio | spread req/s | spread p99 ms |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for p in pairs:
            label, spread = p["label"], p["spread"]
            fx = {f.get("fixture"): f for f in doc["fixtures"] if f["label"] == label}
            ratio = f"{100 * p['large_rps'] / p['small_rps']:.0f}%" if p["small_rps"] else "–"
            runs_txt = lambda rs: " / ".join(fmt(r["rps"]) for r in rs)  # noqa: E731
            lines.append(
                f"| {label} | {fmt(p['small_rps'])} ({runs_txt(p['small'])}) | {fmt(fx.get('clients', {}).get('created'))} "
                f"| {fmt(fx.get('subscribers', {}).get('loaded'))} | {fmt(p['large_rps'])} ({runs_txt(p['large'])}) | {ratio} "
                f"| {fmt(spread and spread['rps'])} | {fmt(spread and (spread.get('latency_ms') or {}).get('p99'), 2)} |"
            )
    lines += ["", "## Targets", "", "| target | figure | met |", "|---|---|---|"]
    for t in doc["targets"]:
        note = f" ({t['note']})" if t.get("note") else ""
        lines.append(f"| {t['target']} | {t['figure']}{note} | {'yes' if t['met'] else '**no**'} |")
    other = max((r.get("cpu") or {}).get("other_s", 0) for r in runs) if runs else 0
    lines += ["", f"Largest CPU time used by other processes during one run: {other:.1f} s "
              "(0 means the machine was otherwise idle)."]
    return "\n".join(lines) + "\n"


def chart(doc, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = doc["runs"]
    labels = [REFERENCE] + netauth_labels(runs)
    colors = {REFERENCE: "#9e9e9e", "netauth-sqlite": "#1f77b4", "netauth-postgres": "#2ca02c"}
    scen = [s for s in SCENARIOS if any(r["scenario"] == s and r["kind"] == "peak" for r in runs)]
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    width = 0.8 / max(1, len(labels))

    def bars(ax, value, title, ylabel, log=False, line=None):
        for i, label in enumerate(labels):
            xs, ys = [], []
            for j, s in enumerate(scen):
                v = value(label, s)
                if v is not None:
                    xs.append(j + (i - (len(labels) - 1) / 2) * width)
                    ys.append(v)
            b = ax.bar(xs, ys, width, label=label, color=colors.get(label))
            ax.bar_label(b, labels=[f"{y:,.0f}" if y >= 100 else f"{y:.2f}" for y in ys], fontsize=7, rotation=90, padding=2)
        ax.set_xticks(range(len(scen)), scen)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        if log:
            ax.set_yscale("log")
        if line:
            ax.axhline(line[0], color="#d62728", linestyle="--", linewidth=1)
            ax.text(-0.45, line[0], line[1], color="#d62728", ha="left", va="bottom", fontsize=8)
        ax.margins(y=0.25)
        ax.legend(fontsize=8)

    peak = lambda label, s: (find(runs, label, s, "peak") or {}).get("rps")  # noqa: E731
    half = lambda label, s: p99_half(find(runs, label, s, "half"))  # noqa: E731
    bars(axes[0][0], peak, "Peak throughput (higher is better)", "requests/s (log)", log=True)
    bars(axes[0][1], half, "p99 latency at half of peak load", "ms", line=(10, "target 10 ms"))

    ax = axes[1][0]
    for r in (r for r in runs if r["kind"] == "memory"):
        pts = (r.get("rss") or {}).get("samples") or []
        ax.plot([p[0] / 1e6 for p in pts], [p[1] / MIB for p in pts], marker=".", label=r["label"])
    ax.axhline(64, color="#d62728", linestyle="--", linewidth=1)
    ax.text(0, 64, "target 64 MiB", color="#d62728", va="bottom", fontsize=8)
    ax.set_ylim(0, 80)
    ax.set_title("netauth RSS while issuing tokens (cc-basic)")
    ax.set_xlabel("tokens issued (millions)")
    ax.set_ylabel("RSS (MiB)")
    if ax.lines:
        ax.legend(fontsize=8)

    ax = axes[1][1]
    names, groups = [], {"demo data only": [], "+ fixture clients and subscribers": [], "same, spread over all clients": []}
    for p in scale_pairs(runs):
        names.append(p["label"].replace("-scale", ""))
        groups["demo data only"].append(p["small_rps"])
        groups["+ fixture clients and subscribers"].append(p["large_rps"])
        groups["same, spread over all clients"].append((p["spread"] or {}).get("rps") or 0)
    w = 0.8 / len(groups)
    for i, (g, ys) in enumerate(groups.items()):
        b = ax.bar([j + (i - 1) * w for j in range(len(names))], ys, w, label=g)
        ax.bar_label(b, labels=[f"{y:,.0f}" for y in ys], fontsize=7, padding=2)
    ax.set_xticks(range(len(names)), names)
    ax.set_title("Scale: cc-basic vs. store size")
    ax.set_ylabel("requests/s")
    ax.margins(y=0.2)
    ax.legend(fontsize=8)

    m = doc["meta"]
    fig.suptitle(f"netauth vs oidc-provider {m['versions'].get('oidc-provider', '')} — {m['date']}, "
                 f"{m['machine']['cpus']} CPUs shared by server and load generator", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work")
    ap.add_argument("--out", help="path prefix: writes OUT.json, OUT.md and OUT.png")
    ap.add_argument("--settings", default="")
    ap.add_argument("--elapsed", type=int)
    ap.add_argument("--no-chart", action="store_true")
    ap.add_argument("--chart-only", metavar="RESULTS_JSON")
    a = ap.parse_args()

    if a.chart_only:
        with open(a.chart_only) as f:
            doc = json.load(f)
        chart(doc, a.chart_only[: -len(".json")] + ".png")
        return 0
    if not a.work or not a.out:
        ap.error("--work and --out are required")

    runs, fixtures = load_runs(a.work)
    commands = []
    cmd_file = os.path.join(a.work, "commands.txt")
    if os.path.exists(cmd_file):
        with open(cmd_file) as f:
            commands = [line.strip().replace(a.work, "$WORK").replace(ROOT + "/", "") for line in f if line.strip()]
    commit = sh("git", "rev-parse", "--short=12", "HEAD")
    if sh("git", "status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes)"
    doc = {
        "meta": {
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": commit,
            "machine": machine(),
            "versions": versions(),
            "settings": a.settings,
            "elapsed_s": a.elapsed,
        },
        "commands": commands,
        "runs": runs,
        "fixtures": fixtures,
    }
    doc["targets"] = evaluate(doc)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out + ".json", "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    md = markdown(doc)
    if not a.no_chart:
        try:
            chart(doc, a.out + ".png")
            md = md.replace("## Scenarios", f"![chart]({os.path.basename(a.out)}.png)\n\n## Scenarios", 1)
        except ImportError as e:
            print(f"report: no chart ({e})", file=sys.stderr)
    with open(a.out + ".md", "w") as f:
        f.write(md)
    print(md)
    bad = [r for r in runs if not r.get("valid")]
    for r in bad:
        print(f"report: {r['label']} {r['scenario']} {r['kind']}: not a result: {'; '.join(r['problems'])}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
