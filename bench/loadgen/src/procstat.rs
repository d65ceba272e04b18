//! What the machine spent during a phase, from /proc (Linux): CPU time of the
//! server, of its database (a process tree), of the load generator and of
//! everything else, and the server's resident memory over time.
//!
//! The CPU split tells whether a figure is trustworthy on a shared 2-core
//! machine: `other_s` near zero means nothing else competed.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// USER_HZ: 100 on every Linux architecture we run on.
const TICKS_PER_SEC: f64 = 100.0;

fn read(path: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// utime + stime of one process, in ticks (children not included).
fn proc_ticks(stat: &str) -> Option<(u64, u32)> {
    // The command name (field 2) may contain spaces: parse after its ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): ppid is field 4, utime 14, stime 15.
    let ppid = f.get(1)?.parse().ok()?;
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((utime + stime, ppid))
}

fn pid_ticks(pid: u32) -> u64 {
    read(format!("/proc/{pid}/stat")).and_then(|s| proc_ticks(&s)).map(|(t, _)| t).unwrap_or(0)
}

/// CPU ticks of `root` and all its descendants.
fn tree_ticks(root: u32) -> u64 {
    let mut ticks: HashMap<u32, (u64, u32)> = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
            if let Some(t) = read(e.path().join("stat")).and_then(|s| proc_ticks(&s)) {
                ticks.insert(pid, t);
            }
        }
    }
    let mut total = 0;
    let mut stack = vec![root];
    while let Some(p) = stack.pop() {
        if let Some((t, _)) = ticks.get(&p) {
            total += t;
        }
        stack.extend(ticks.iter().filter(|(_, (_, pp))| *pp == p).map(|(c, _)| *c));
    }
    total
}

/// Busy ticks of the whole machine (all CPUs), and the number of CPUs.
fn machine_busy() -> (u64, usize) {
    let Some(s) = read("/proc/stat") else { return (0, 1) };
    let cpus = s.lines().filter(|l| l.starts_with("cpu") && !l.starts_with("cpu ")).count().max(1);
    let Some(line) = s.lines().next() else { return (0, cpus) };
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    // user nice system idle iowait irq softirq (steal: the hypervisor's;
    // guest time is already counted in user)
    let busy: u64 = v.iter().take(7).enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, x)| x).sum();
    (busy, cpus)
}

#[derive(Debug, Clone, Copy)]
pub struct CpuMark {
    server: u64,
    db: u64,
    own: u64,
    machine: u64,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Watch {
    pub server_pid: Option<u32>,
    pub db_pid: Option<u32>,
}

impl Watch {
    pub fn mark(&self) -> CpuMark {
        CpuMark {
            server: self.server_pid.map(pid_ticks).unwrap_or(0),
            db: self.db_pid.map(tree_ticks).unwrap_or(0),
            own: pid_ticks(std::process::id()),
            machine: machine_busy().0,
        }
    }

    /// CPU seconds spent between two marks, split by who spent them.
    pub fn cpu_between(&self, a: &CpuMark, b: &CpuMark, requests: u64) -> serde_json::Value {
        let s = |x: u64, y: u64| y.saturating_sub(x) as f64 / TICKS_PER_SEC;
        let server = s(a.server, b.server);
        let db = s(a.db, b.db);
        let own = s(a.own, b.own);
        let machine = s(a.machine, b.machine);
        let other = (machine - server - db - own).max(0.0);
        let per_req = |x: f64| {
            if requests == 0 { serde_json::Value::Null } else { (x * 1e6 / requests as f64).round().into() }
        };
        serde_json::json!({
            "cpus": machine_busy().1,
            "server_s": server,
            "db_s": db,
            "loadgen_s": own,
            "other_s": (other * 100.0).round() / 100.0,
            "server_us_per_req": per_req(server),
            "server_and_db_us_per_req": per_req(server + db),
        })
    }
}

/// `VmRSS` and `VmHWM` (peak) of a process, KiB.
pub fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let s = read(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Samples a process's RSS against a progress counter until stopped.
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Vec<(u64, u64)>>,
}

impl RssSampler {
    pub fn start(pid: u32, every: Duration, progress: impl Fn() -> u64 + Send + 'static) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut out = Vec::new();
            while !s.load(Ordering::Relaxed) {
                if let Some((rss, _)) = rss_kib(pid) {
                    out.push((progress(), rss));
                }
                std::thread::sleep(every);
            }
            out
        });
        Self { stop, handle }
    }

    pub fn finish(self) -> Vec<(u64, u64)> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_stat() {
        let line = "1234 (my (odd) name) S 77 1 1 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0";
        assert_eq!(super::proc_ticks(line), Some((300, 77)));
        assert!(super::rss_kib(std::process::id()).is_some());
        let w = super::Watch { server_pid: Some(std::process::id()), db_pid: None };
        let a = w.mark();
        let b = w.mark();
        assert!(w.cpu_between(&a, &b, 0)["server_s"].as_f64().is_some());
    }
}
