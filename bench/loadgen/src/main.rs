//! `loadgen`: runs one benchmark scenario against one server and prints the
//! result as JSON; also converts sandbox.json into a target and loads
//! fixtures. See docs/benchmarks.md.

use anyhow::Context;
use clap::{Parser, Subcommand};
use netauth_bench::engine::{PhaseOptions, PhaseResult, Progress, run_phase, summary};
use netauth_bench::fixtures;
use netauth_bench::procstat::{RssSampler, Watch, rss_kib};
use netauth_bench::scenarios::{PrepareOptions, Scenario, prepare};
use netauth_bench::target::{Target, from_sandbox};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(name = "loadgen", about = "netauth bench load generator (docs/benchmarks.md)")]
struct Cli {
    /// Runtime threads of the load generator.
    #[arg(long, global = true, default_value_t = 1)]
    threads: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one scenario: warm-up, then the measured phase; prints JSON.
    Run(RunArgs),
    /// Write a target file for a running netauth sandbox.
    TargetFromSandbox {
        sandbox_json: PathBuf,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Load bench fixtures into netauth through its admin API.
    Fixture {
        #[command(subcommand)]
        what: Fixture,
    },
}

#[derive(Debug, Subcommand)]
enum Fixture {
    /// Register COUNT client_secret_basic clients.
    Clients {
        #[arg(long)]
        target: PathBuf,
        #[arg(long)]
        count: u64,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        #[arg(long, default_value = "bench-scale-")]
        prefix: String,
        /// Write `client_id<TAB>secret` lines here (for cc-basic-spread).
        #[arg(long)]
        save: Option<PathBuf>,
        /// Insert in bulk straight into this database (netauth's, while it
        /// runs) instead of one admin API request per client.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Register COUNT subscribers (numbers +3471…) of a `bench` operator.
    Subscribers {
        #[arg(long)]
        target: PathBuf,
        #[arg(long)]
        count: u64,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Insert in bulk straight into this database (see `clients`).
        #[arg(long)]
        database_url: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    #[arg(long)]
    target: PathBuf,
    #[arg(long, value_enum)]
    scenario: Scenario,
    /// Label recorded in the result (e.g. netauth-sqlite).
    #[arg(long)]
    label: Option<String>,
    /// Workers, each with one keep-alive connection and one request in flight.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds of warm-up (not recorded).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Seconds of the measured phase (with --requests: an upper bound).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Stop the measured phase after this many iterations.
    #[arg(long)]
    requests: Option<u64>,
    /// Open-loop target rate (iterations/s); default: as fast as possible.
    #[arg(long)]
    rate: Option<f64>,
    /// With --rate, the run is not a result unless it kept this fraction of
    /// the rate (0: never checked, as in bench/smoke's tiny runs).
    #[arg(long, default_value_t = 0.95)]
    min_kept: f64,
    /// The server's pid: its CPU time and memory are recorded.
    #[arg(long)]
    watch_pid: Option<u32>,
    /// The database's pid (e.g. the PostgreSQL postmaster): CPU of its tree.
    #[arg(long)]
    db_pid: Option<u32>,
    /// After the run, wait this long and read the server's RSS again.
    #[arg(long, default_value_t = 0.0)]
    rss_after: f64,
    /// cc-basic-spread: `client_id<TAB>secret` lines.
    #[arg(long)]
    clients_file: Option<PathBuf>,
    /// Also write the result here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Create this file when the measured phase starts (for profilers).
    #[arg(long)]
    ready_file: Option<PathBuf>,
}

fn rps(r: &PhaseResult) -> f64 {
    let s = r.elapsed.as_secs_f64();
    if s > 0.0 { r.stats.requests as f64 / s } else { 0.0 }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

async fn run(a: RunArgs, threads: usize) -> anyhow::Result<serde_json::Value> {
    let target = Target::load(&a.target)?;
    let addr = target.addr()?;
    let host = target.authority().to_owned();
    let watch = Watch { server_pid: a.watch_pid, db_pid: a.db_pid };
    let mut popts = PrepareOptions { budget: 5000, clients_file: a.clients_file.clone() };

    // Warm-up: connections, caches, the allocator, the JIT (node).
    let mut warm_rps = None;
    let mut warmup_errors = 0;
    let mut flow = None;
    if a.warmup > 0.0 {
        if let Some(r) = a.rate {
            popts.budget = (r * a.warmup * 1.2) as u64 + 100;
        }
        let f = prepare(a.scenario, &target, &popts).await?;
        let opts = PhaseOptions {
            concurrency: a.concurrency,
            duration: Some(Duration::from_secs_f64(a.warmup)),
            max_iterations: None,
            rate: a.rate,
            record: false,
        };
        let r = run_phase(f.clone(), addr, &host, opts, Arc::new(Progress::default())).await?;
        warm_rps = Some(rps(&r));
        warmup_errors = r.stats.errors();
        if warmup_errors > 0 {
            eprintln!("loadgen: {warmup_errors} errors in warm-up: {:?}", r.stats.error_sample);
        }
        if !a.scenario.pooled() {
            flow = Some(f);
        }
    }

    // Size pre-generated pools for the measured phase.
    popts.budget = match (a.requests, a.rate, warm_rps) {
        (Some(n), _, _) => n,
        (None, Some(r), _) => (r * a.duration * 1.05) as u64 + 100,
        (None, None, Some(w)) => (w * a.duration * 1.5) as u64 + 1000,
        // No warm-up to learn from: assume at most 10k/s (the run ends
        // early, flagged `pool_exhausted`, if that was too few).
        (None, None, None) => (10_000.0 * a.duration) as u64 + 1000,
    }
    .min(5_000_000);
    let flow = match flow {
        Some(f) => f,
        None => prepare(a.scenario, &target, &popts).await?,
    };

    let rss_before = a.watch_pid.and_then(rss_kib);
    let progress = Arc::new(Progress::default());
    let sampler = a.watch_pid.map(|pid| {
        let p = progress.clone();
        RssSampler::start(pid, Duration::from_millis(200), move || p.started.load(Ordering::Relaxed))
    });
    let opts = PhaseOptions {
        concurrency: a.concurrency,
        duration: Some(Duration::from_secs_f64(a.duration)),
        max_iterations: a.requests,
        rate: a.rate,
        record: true,
    };
    if let Some(f) = &a.ready_file {
        std::fs::write(f, "").with_context(|| format!("writing {}", f.display()))?;
    }
    let m0 = watch.mark();
    let mut r = run_phase(flow, addr, &host, opts, progress).await?;
    let m1 = watch.mark();
    let samples = sampler.map(RssSampler::finish).unwrap_or_default();
    let peak = a.watch_pid.and_then(rss_kib).map(|(_, hwm)| hwm);
    let rss_after = match a.watch_pid {
        Some(pid) if a.rss_after > 0.0 => {
            tokio::time::sleep(Duration::from_secs_f64(a.rss_after)).await;
            rss_kib(pid).map(|(rss, _)| rss)
        }
        _ => None,
    };

    let achieved = rps(&r);
    let errors = r.stats.errors();
    let mut problems = Vec::new();
    if errors > 0 {
        problems
            .push(format!("{errors} errors (first: {})", r.stats.error_sample.clone().unwrap_or_default()));
    }
    if r.stats.requests == 0 {
        problems.push("no request was sent".into());
    }
    // The rate kept: iterations started over the time they were started in
    // (the answers' latency is not part of the schedule).
    let kept = (r.iterations > 1 && !r.send_span.is_zero())
        .then(|| (r.iterations - 1) as f64 / r.send_span.as_secs_f64());
    if let Some(rate) = a.rate.filter(|r| kept.is_some_and(|k| k < r * a.min_kept)) {
        problems.push(format!("kept {:.0}/s of the {rate:.0}/s asked", kept.unwrap_or(0.0)));
    }
    let rss = a.watch_pid.map(|_| {
        // At most 60 points for the record.
        let step = samples.len().div_ceil(60).max(1);
        let pts: Vec<_> = samples.iter().step_by(step).map(|(n, kib)| json!([n, kib])).collect();
        let after_tenth = samples.iter().find(|(n, _)| *n >= r.iterations / 10).map(|(_, k)| *k);
        let last = samples.last().map(|(_, k)| *k);
        json!({
            "before_kib": rss_before.map(|(rss, _)| rss),
            "peak_kib": peak,
            "after_kib": rss_after,
            "at_10pct_kib": after_tenth,
            "at_end_kib": last,
            "samples": pts,
        })
    });
    let result = json!({
        "label": a.label,
        "server": target.server,
        "scenario": a.scenario.name(),
        "concurrency": a.concurrency,
        "loadgen_threads": threads,
        "warmup_s": a.warmup,
        "warmup_rps": warm_rps.map(round1),
        "warmup_errors": warmup_errors,
        "target_rate": a.rate,
        "kept_rate": a.rate.and(kept).map(round1),
        "duration_s": (r.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        "requests": r.stats.requests,
        "iterations": r.iterations,
        "ok": r.stats.ok,
        "errors": errors,
        "status": r.stats.status.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "transport_errors": r.stats.transport_errors,
        "bad_body": r.stats.bad_body,
        "reconnects": r.stats.reconnects,
        "pool_exhausted": r.exhausted,
        "rps": round1(achieved),
        // Whole iterations: for `ciba` one flow is two requests.
        "flows": r.stats.flows,
        "flow_rps": round1(if r.elapsed.is_zero() { 0.0 } else { r.stats.flows as f64 / r.elapsed.as_secs_f64() }),
        "flow_latency_ms": summary(&mut r.stats.flow_latency_us),
        "latency_ms": summary(&mut r.stats.latency_us),
        "latency_from_schedule_ms": summary(&mut r.stats.due_latency_us),
        "cpu": watch.cpu_between(&m0, &m1, r.stats.requests),
        "rss": rss,
        "valid": problems.is_empty(),
        "problems": problems,
    });
    Ok(result)
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let threads = cli.threads.max(1);
    let rt = if threads == 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()?
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build()?
    };
    let out = rt.block_on(async {
        match cli.command {
            Command::Run(a) => {
                let out = a.out.clone();
                let v = run(a, threads).await?;
                Ok::<_, anyhow::Error>((v, out))
            }
            Command::TargetFromSandbox { sandbox_json, out } => {
                Ok((serde_json::to_value(from_sandbox(&sandbox_json)?)?, out))
            }
            Command::Fixture { what } => match what {
                Fixture::Clients { target, count, concurrency, prefix, save, database_url } => {
                    let t = Target::load(&target)?;
                    let v = match database_url {
                        Some(url) => {
                            fixtures::direct::clients(&url, &t.scope, count, &prefix, save.as_deref()).await?
                        }
                        None => fixtures::clients(&t, count, concurrency, &prefix, save.as_deref()).await?,
                    };
                    Ok((v, None))
                }
                Fixture::Subscribers { target, count, concurrency, database_url } => {
                    let t = Target::load(&target)?;
                    let v = match database_url {
                        Some(url) => fixtures::direct::subscribers(&url, count).await?,
                        None => fixtures::subscribers(&t, count, concurrency).await?,
                    };
                    Ok((v, None))
                }
            },
        }
    })?;
    let (value, file) = out;
    let text = serde_json::to_string_pretty(&value)?;
    if let Some(f) = file {
        std::fs::write(&f, format!("{text}\n")).with_context(|| format!("writing {}", f.display()))?;
    }
    println!("{text}");
    Ok(())
}
