//! `tryon bench`: the per-job image work against the Pillow peer baseline (interleaved in the
//! same run), the floor of single primitives, then whole invocations' peak RSS and the Lambda
//! binary's cold start.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::process::ExitCode;
use std::time::Instant;

use tryon::config::Config;
use tryon::core::input_limits::RequestEncoding::{self, Auto, Jpeg, Png};
use tryon_tools::bench::*;

use crate::common::fail;

/// What each round runs: name, request encoding, parallel preparation.
const VARIANTS: [(&str, RequestEncoding, bool); 5] =
    [("png", Png, false), ("jpeg", Jpeg, false), ("auto", Auto, false), ("png x2", Png, true), ("jpeg x2", Jpeg, true)];

/// Everything the interleaved rounds measured.
#[derive(Default)]
struct Rounds {
    ours: BTreeMap<&'static str, Vec<Stages>>,
    bodies: BTreeMap<&'static str, usize>,
    py: BTreeMap<&'static str, Vec<f64>>,
    py_body: BTreeMap<&'static str, u64>,
    prims: Vec<BTreeMap<&'static str, f64>>,
}

/// Where the Pillow baseline comes from, if it can run.
struct Baseline {
    python: Option<PathBuf>,
    script: PathBuf,
}

pub async fn bench(data: Option<PathBuf>, iters: usize, python: Option<PathBuf>, script: Option<PathBuf>) -> ExitCode {
    let data = data.unwrap_or_else(default_data);
    let job = match Job::load(&data) {
        Ok(j) => j,
        Err(e) => return fail(&e),
    };
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: a debug build; run `cargo run --release -p tryon-tools --bin tryon -- bench` for real figures"
        );
    }
    let out = std::env::temp_dir().join(format!("tryon-bench-out-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&out);
    let baseline = find_baseline(&data, python, script);
    print_header(&job, &data, iters, &baseline);
    let mut rounds = match measure(&job, &data, &out, iters, &baseline) {
        Ok(r) => r,
        Err(code) => return code,
    };
    report_stages(&rounds);
    report_jobs(&mut rounds);
    report_primitives(&rounds);
    report_encodings(&job);
    report_backends(&job);
    let exe = std::env::current_exe().unwrap_or_default();
    whole_invocations(&exe, &data, &out);
    report_cold_start(&exe);
    let _ = std::fs::remove_dir_all(&out);
    ExitCode::SUCCESS
}

/// The baseline script (default: beside the data folder) and a Python with Pillow to run it
/// (default: .venv-bench, then python3); no Python if the script is missing.
fn find_baseline(data: &Path, python: Option<PathBuf>, script: Option<PathBuf>) -> Baseline {
    let script = script.unwrap_or_else(|| data.join("../pillow_baseline.py"));
    let python = python.or_else(|| {
        let venv = PathBuf::from(".venv-bench/bin/python");
        [venv, PathBuf::from("python3")]
            .into_iter()
            .find(|p| Process::new(p).args(["-c", "import PIL"]).output().map(|o| o.status.success()).unwrap_or(false))
    });
    let python = python.filter(|_| script.is_file());
    Baseline { python, script }
}

fn print_header(job: &Job, data: &Path, iters: usize, baseline: &Baseline) {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    say(&format!("tryon bench: {iters} interleaved rounds on {cpus} CPUs; data {}", data.display()));
    say(&format!("  person.jpg: {}; garment.png: {}", describe(&job.person), describe(&job.garment)));
    say(&format!(
        "  baseline: {}",
        baseline.python.as_ref().map_or("Pillow not found: ours only".into(), |p| format!(
            "{} {}",
            p.display(),
            baseline.script.display()
        ))
    ));
}

/// One discarded warm-up of each variant, then `iters` rounds of every variant, its Pillow
/// peer (single-threaded, fixed encodings only) and the primitives.
fn measure(job: &Job, data: &Path, out: &Path, iters: usize, baseline: &Baseline) -> Result<Rounds, ExitCode> {
    let mut r = Rounds::default();
    for (_, choice, parallel) in VARIANTS {
        let _ = pipeline(job, choice, parallel, out);
    }
    for round in 0..iters {
        for (name, choice, parallel) in VARIANTS {
            match pipeline(job, choice, parallel, out) {
                Ok((stages, body)) => {
                    r.ours.entry(name).or_default().push(stages);
                    r.bodies.insert(name, body);
                }
                Err(e) => return Err(fail(&format!("pipeline {name}: {e}"))),
            }
            if let (Some(p), false) = (&baseline.python, parallel) {
                if name != "auto" {
                    if let Some((total, v)) = pillow(p, &baseline.script, data, out, name) {
                        r.py.entry(name).or_default().push(total);
                        r.py_body.insert(name, v["sizes"]["body"].as_u64().unwrap_or(0));
                    }
                }
            }
        }
        match primitives(job, out) {
            Ok(p) => r.prims.push(p),
            Err(e) => return Err(fail(&format!("primitives: {e}"))),
        }
        eprint!("\r  round {}/{iters}", round + 1);
    }
    eprintln!();
    Ok(r)
}

/// Min and median of one stage over the runs.
fn stat(runs: &[Stages], stage: &str) -> (f64, f64) {
    let mut v: Vec<f64> = runs.iter().filter_map(|r| r.iter().find(|(k, _)| *k == stage).map(|(_, ms)| *ms)).collect();
    (min(&v), median(&mut v))
}

fn report_stages(r: &Rounds) {
    say("\nper-stage ms, single thread (min / median):");
    say(&format!("  {:<16}{:>18}{:>18}{:>18}", "stage", "PNG requests", "JPEG requests", "auto (ours)"));
    for (stage, _) in &r.ours["png"][0] {
        let cell = |n: &str| {
            let (a, b) = stat(&r.ours[n], stage);
            format!("{a:>8.1} /{b:>7.1}")
        };
        say(&format!("  {:<16}{:>18}{:>18}{:>18}", stage, cell("png"), cell("jpeg"), cell("auto")));
    }
}

fn report_jobs(r: &mut Rounds) {
    let mut floors: BTreeMap<&str, f64> = BTreeMap::new();
    for enc in ["png", "jpeg", "auto"] {
        let mut v: Vec<f64> = r.prims.iter().map(|p| floor(p, enc)).collect();
        floors.insert(enc, min(&v).min(median(&mut v)));
    }
    say("\nper job (median ms):");
    for (name, _, _) in VARIANTS {
        let (_, m) = stat(&r.ours[name], "total");
        let base = name.trim_end_matches(" x2");
        let pillow = r.py.get_mut(base).map(|v| median(v));
        let mut line = format!("  ours {name:<8} {m:>7.1} ms   body {:>9} bytes", r.bodies[name]);
        if let Some(p) = pillow {
            line += &format!(
                "   Pillow {p:>7.1} ms ({} bytes)   Pillow/ours {:>5.1}x",
                r.py_body.get(base).copied().unwrap_or(0),
                p / m
            );
        }
        if !name.ends_with("x2") {
            let f = floors[base];
            line += &format!("   floor {f:>6.1} ms   ours/floor {:>4.2}x", m / f);
        }
        say(&line);
    }
}

fn report_primitives(r: &Rounds) {
    say("\nfloor primitives (min ms):");
    let mut keys: Vec<_> = r.prims[0].keys().copied().collect();
    keys.sort();
    for k in keys {
        let v: Vec<f64> = r.prims.iter().filter_map(|p| p.get(k).copied()).collect();
        say(&format!("  {k:<18}{:>8.1}", min(&v)));
    }
}

/// Encoding choice: size, time and fidelity against the prepared pixels.
fn report_encodings(job: &Job) {
    use tryon::core::image::Encoding;
    let (Ok((src, _)), Ok(gar)) = (prepared_source(job), prepared_garment(job)) else {
        return;
    };
    say("\nrequest encodings of the prepared images (bytes, ms, PSNR dB):");
    for (what, img) in [("source photo", &src), ("garment cut-out", &gar)] {
        for (name, enc, sub) in
            [("JPEG 4:4:4", Encoding::Jpeg, false), ("JPEG 4:2:0", Encoding::Jpeg, true), ("PNG", Encoding::Png, false)]
        {
            let t = Instant::now();
            let bytes = tryon::core::image::encode_with(img, enc, sub).unwrap_or_default();
            let took = t.elapsed().as_secs_f64() * 1e3;
            say(&format!(
                "  {what:<16} {name:<11} {:>9} bytes {took:>7.1} ms  PSNR {:>6.2}",
                bytes.len(),
                psnr(img, &bytes)
            ));
        }
    }
}

/// The shared job prepared for each backend's limits (its canvas, its per-image bytes).
fn report_backends(job: &Job) {
    say("\npreparation for each backend's limits (source + garment, auto encoding):");
    for backend in tryon::core::backend::Backend::ALL {
        match prepare_for(job, backend) {
            Ok((ms, (w, h), bytes)) => say(&format!(
                "  {:<17} {ms:>7.1} ms  source canvas {w}x{h}  request images {bytes} bytes",
                backend.name()
            )),
            Err(e) => say(&format!("  {:<17} {e}", backend.name())),
        }
    }
}

/// A whole invocation in its own process, against the emulator in another.
fn whole_invocations(exe: &Path, data: &Path, out: &Path) {
    match spawn_emulator(exe) {
        Ok((mut emu, url)) => {
            say("\nwhole invocation (real handler, local folder as the bucket, emulator in another process):");
            for parallel in ["false", "true"] {
                let run = Process::new(exe)
                    .args(["bench-invocation", "--data", &data.display().to_string(), "--emulator", &url])
                    .env("PARALLEL_PREPARE", parallel)
                    .env("RUST_LOG", "warn")
                    .output();
                match run {
                    Ok(o) => {
                        say(&format!("  PARALLEL_PREPARE={parallel:<5} {}", String::from_utf8_lossy(&o.stdout).trim()))
                    }
                    Err(e) => say(&format!("  PARALLEL_PREPARE={parallel}: {e}")),
                }
            }
            for backend in tryon::core::backend::Backend::ALL {
                let run = Process::new(exe)
                    .args(["bench-invocation", "--data", &data.display().to_string(), "--emulator", &url])
                    .args(["--backend", backend.name()])
                    .env("RUST_LOG", "warn")
                    .output();
                let line =
                    run.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).unwrap_or_else(|e| e.to_string());
                say(&format!("  backend {:<17} {line}", backend.name()));
            }
            largest_accepted(exe, data, out, &url);
            let _ = emu.kill();
            let _ = emu.wait();
        }
        Err(e) => say(&format!("\nwhole invocation: {e}")),
    }
}

/// The Lambda binary's cold start, if it was built beside this one.
fn report_cold_start(exe: &Path) {
    let lambda = exe.with_file_name("tryon-lambda");
    if lambda.is_file() {
        let mut v: Vec<f64> = (0..7).filter_map(|_| cold_start(&lambda).ok()).collect();
        if !v.is_empty() {
            say(&format!(
                "\ncold start (process start to first runtime-API poll): min {:.1} ms, median {:.1} ms over {} runs",
                min(&v),
                median(&mut v),
                v.len()
            ));
        }
    } else {
        say(&format!("\ncold start: {} not built (cargo build --release --bin tryon-lambda)", lambda.display()));
    }
}

/// The peak of the largest inputs the memory budget accepts, each in its own process,
/// against the function memory they must fit.
fn largest_accepted(exe: &Path, data: &Path, out: &Path, emulator: &str) {
    let budget = Config::default().memory;
    say(&format!(
        "\nlargest accepted inputs (function memory {} MB, image budget {} MiB; each run in its own process):",
        budget.function_mb,
        budget.bytes >> 20
    ));
    let folders = match tryon_tools::bench::largest_inputs(data, out) {
        Ok(f) => f,
        Err(e) => return say(&format!("  cannot generate them: {e}")),
    };
    for (name, dir) in folders {
        let run = Process::new(exe)
            .args(["bench-invocation", "--data", &dir.display().to_string(), "--emulator", emulator])
            .env("RUST_LOG", "warn")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", budget.function_mb.to_string())
            .output();
        let line = run.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).unwrap_or_else(|e| e.to_string());
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        say(&format!(
            "  {name:<36} {:<26} peak RSS {:>6.1} MiB of {} MiB",
            match v["error"].as_str() {
                Some(code) => format!("{} ({code})", v["state"].as_str().unwrap_or("?")),
                None => v["state"].as_str().unwrap_or("?").to_owned(),
            },
            v["peakRssMiB"].as_f64().unwrap_or(f64::NAN),
            budget.function_mb
        ));
    }
}
