//! Runs one job folder through `tryon run` in a fresh process under a resident-memory limit,
//! and measures the process's true peak.
//!
//! The peak comes from `wait4`'s `ru_maxrss`, which on Linux also counts the high-water mark
//! of the process that called `exec`: a child spawned straight from this (large, long-lived)
//! test process would report the test's own peak whenever that is higher. So the child is
//! started by a small `sh` that forks it into the background and exits; this process is the
//! child subreaper, so the orphan is handed to it, and its `ru_maxrss` starts from the small
//! shell's footprint instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Forks the job (its output into `$1`) and prints its pid.
const LAUNCH: &str = r#"log=$1; shift; "$@" >"$log" 2>&1 </dev/null & echo $!"#;
/// How often the child's resident set is read.
const POLL: Duration = Duration::from_millis(2);

/// The function's `MemorySize` in template.yaml, in MiB (Lambda's "MB"); every
/// `MemorySize` the template sets must agree.
pub fn template_memory_mib() -> u64 {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    let text = std::fs::read_to_string(&path).expect("template.yaml");
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).expect("template.yaml parses");
    let mut sizes = Vec::new();
    memory_sizes(&yaml, &mut sizes);
    assert!(!sizes.is_empty(), "template.yaml sets no MemorySize");
    assert!(sizes.iter().all(|&s| s == sizes[0]), "template.yaml sets different MemorySizes: {sizes:?}");
    sizes[0]
}

fn memory_sizes(v: &serde_yaml::Value, out: &mut Vec<u64>) {
    match v {
        serde_yaml::Value::Mapping(m) => {
            for (k, v) in m {
                match (k.as_str(), v.as_u64()) {
                    (Some("MemorySize"), Some(mib)) => out.push(mib),
                    _ => memory_sizes(v, out),
                }
            }
        }
        serde_yaml::Value::Sequence(s) => s.iter().for_each(|v| memory_sizes(v, out)),
        serde_yaml::Value::Tagged(t) => memory_sizes(&t.value, out),
        _ => {}
    }
}

/// Why the watchdog killed the child.
#[derive(Debug, Clone, Copy)]
pub enum Kill {
    /// Its resident set exceeded the limit (KiB seen).
    OverLimit(u64),
    Timeout,
}

/// How a child process ended.
#[derive(Debug)]
pub struct Exit {
    /// `ru_maxrss`: the peak resident set, KiB.
    pub peak_kib: u64,
    pub elapsed: Duration,
    /// The exit code, or `None` when a signal ended it.
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub killed: Option<Kill>,
}

/// Runs jobs with a private copy of the `tryon` binary: a target directory shared with
/// another checkout may have it rebuilt from other sources while the cases run.
pub struct Runner {
    bin: PathBuf,
    pub limit_kib: u64,
    timeout: Duration,
}

impl Runner {
    pub fn new(scratch: &Path, limit_kib: u64, timeout: Duration) -> Runner {
        let bin = scratch.join("tryon");
        std::fs::create_dir_all(scratch).expect("scratch folder");
        std::fs::copy(env!("CARGO_BIN_EXE_tryon"), &bin).expect("copy the tryon binary");
        Runner { bin, limit_kib, timeout }
    }

    /// `tryon run <folder> --out <out> --job-id <job_id>` with the function's memory size in
    /// its environment, killed as soon as its resident set exceeds the limit or it outlives
    /// the timeout. Its stdout and stderr go to `log`.
    pub fn run(&self, folder: &Path, out: &Path, job_id: &str, log: &Path) -> Exit {
        become_subreaper();
        let started = Instant::now();
        let launched = Command::new("/bin/sh")
            .args(["-c", LAUNCH, "sh"])
            .arg(log)
            .arg(&self.bin)
            .arg("run")
            .arg(folder)
            .arg("--out")
            .arg(out)
            .args(["--job-id", job_id])
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", (self.limit_kib / 1024).to_string())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .expect("start /bin/sh");
        assert!(launched.status.success(), "the launcher failed: {:?}", launched.status);
        let pid = String::from_utf8_lossy(&launched.stdout).trim().parse().expect("the launcher prints a pid");
        watch(pid, started, self.limit_kib, self.timeout)
    }
}

/// Makes this process the parent of orphaned descendants (the launched jobs).
fn become_subreaper() {
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) };
    assert_eq!(rc, 0, "PR_SET_CHILD_SUBREAPER: {}", std::io::Error::last_os_error());
}

/// Polls until `pid` exits, killing it on the first reading over the limit, and reaps it. A
/// spike shorter than the poll interval can slip past the kill, never past `ru_maxrss`.
fn watch(pid: libc::pid_t, started: Instant, limit_kib: u64, timeout: Duration) -> Exit {
    let mut killed = None;
    loop {
        let mut status = 0;
        // SAFETY: an all-zero rusage is a valid value for wait4 to overwrite.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointers to locals; WNOHANG never blocks.
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if reaped == pid {
            return exit(status, &usage, started.elapsed(), killed);
        }
        let err = std::io::Error::last_os_error();
        assert!(reaped == 0 || err.kind() == std::io::ErrorKind::Interrupted, "wait4({pid}): {err}");
        // Until it is reaped the pid is ours, so the kill cannot reach another process.
        if killed.is_none() {
            killed = match vm_rss_kib(pid) {
                Some(rss) if rss > limit_kib => Some(Kill::OverLimit(rss)),
                _ if started.elapsed() > timeout => Some(Kill::Timeout),
                _ => None,
            };
            if killed.is_some() {
                // SAFETY: sending a signal to our own unreaped child.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        std::thread::sleep(POLL);
    }
}

fn exit(status: libc::c_int, usage: &libc::rusage, elapsed: Duration, killed: Option<Kill>) -> Exit {
    let exited = libc::WIFEXITED(status);
    Exit {
        peak_kib: usage.ru_maxrss as u64,
        elapsed,
        code: exited.then(|| libc::WEXITSTATUS(status)),
        signal: libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status)),
        killed,
    }
}

/// The resident set of a live process, KiB (`None` once it has exited).
fn vm_rss_kib(pid: libc::pid_t) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
