//! `tryon`: run try-on jobs locally, serve the Nova Canvas emulator, check manifests and
//! build events.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use tryon::aws::BedrockModel;
use tryon::config::Config;
use tryon::emulator::Emulator;
use tryon::event::{self, ObjectCreated, MANIFEST_NAME};
use tryon::job::{JobPaths, Service};
use tryon::local::FsStorage;
use tryon::ports::{PutCondition, Storage};
use tryon::status::{State, Status};

#[derive(Parser)]
#[command(
    name = "tryon",
    version,
    about = "Amazon Nova Canvas virtual try-on jobs: run them locally, emulate the model, check manifests",
    after_help = "Examples:\n  tryon run examples/hoodie                       a job offline, outputs in tryon-out/\n  tryon validate examples/outfit/job.json         check a manifest\n  tryon submit examples/hoodie --bucket B --wait  a job on the deployed stack\n  tryon emulator --port 5002                      Nova Canvas on 127.0.0.1:5002"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a job folder (job.json and its images) through the Lambda's pipeline, with a local
    /// folder as the bucket and the Nova Canvas emulator in-process (or real Bedrock).
    ///
    /// The folder is copied to <out>/local/uploads/<job-id>/ (the manifest last, as clients
    /// upload it), and the outputs land in <out>/local/outputs/<job-id>/.
    Run {
        /// A folder holding job.json and the images it names.
        folder: PathBuf,
        /// Where the stand-in bucket lives.
        #[arg(long, default_value = "tryon-out")]
        out: PathBuf,
        /// The job id (default: the folder's name).
        #[arg(long)]
        job_id: Option<String>,
        /// Call the real Nova Canvas with your AWS credentials (BEDROCK_REGION or AWS_REGION).
        #[arg(long)]
        bedrock: bool,
    },
    /// Submit a job folder to a deployed bucket: upload the images, then job.json (the
    /// manifest goes last, because its arrival starts the job).
    ///
    /// With --wait, follow status.json until the job ends, download the outputs into
    /// <out>/<job-id>/, and exit non-zero with the error code if the job failed. Uses the
    /// standard AWS configuration (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_S3 for a local
    /// S3 such as moto, with S3_FORCE_PATH_STYLE=true).
    Submit {
        /// A folder holding job.json and the images it names.
        folder: PathBuf,
        /// The stack's bucket (its BucketName output).
        #[arg(long)]
        bucket: String,
        /// The job id (default: the folder's name).
        #[arg(long)]
        job_id: Option<String>,
        /// Wait for the job to end and download its outputs.
        #[arg(long)]
        wait: bool,
        /// Where --wait puts the outputs.
        #[arg(long, default_value = "tryon-out")]
        out: PathBuf,
        /// How long --wait waits, in seconds.
        #[arg(long, default_value_t = 900)]
        timeout: u64,
    },
    /// Serve the Nova Canvas emulator (Bedrock Runtime InvokeModel) on 127.0.0.1.
    ///
    /// Point the SDK at it with AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127.0.0.1:<port>.
    /// Control API: POST /_emulator/faults, GET /_emulator/requests, POST /_emulator/reset.
    Emulator {
        #[arg(long, default_value_t = 5002)]
        port: u16,
        #[arg(long, default_value = "127.0.0.1")]
        host: IpAddr,
        /// Model ids to accept (others get 404 ResourceNotFoundException).
        #[arg(long = "model-id", default_value = "amazon.nova-canvas-v1:0")]
        model_ids: Vec<String>,
    },
    /// Check a job manifest offline with the Lambda's own validator; prints every problem.
    Validate {
        /// The manifest file.
        manifest: PathBuf,
    },
    /// Print an event announcing an upload of <key>, ready for `sam local invoke -e` or
    /// `cargo lambda invoke --data-file`; keys are encoded as S3 encodes them.
    Event {
        bucket: String,
        key: String,
        /// s3 (a direct notification), sqs (the notification in an SQS batch), or eventbridge.
        #[arg(long, default_value = "s3", value_parser = ["s3", "sqs", "eventbridge"])]
        source: String,
        #[arg(long, default_value = "\"0123456789abcdef0123456789abcdef\"")]
        etag: String,
        #[arg(long, default_value = "us-east-1")]
        region: String,
    },
    /// Benchmark the per-job image work on the shared job against the Pillow peer baseline
    /// (run interleaved in the same run), next to the floor of single primitives; then the
    /// peak RSS of one whole invocation and the Lambda binary's cold start. Use --release.
    Bench {
        /// Folder with person.jpg, garment.png and response.json.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Interleaved rounds (each runs every variant once).
        #[arg(long, default_value_t = 7)]
        iters: usize,
        /// Python with Pillow for the baseline (default: .venv-bench/bin/python, if present).
        #[arg(long)]
        python: Option<PathBuf>,
        /// The baseline script (default: pillow_baseline.py beside the data folder).
        #[arg(long)]
        script: Option<PathBuf>,
    },
    /// One whole invocation of the real handler against an emulator, in this process; prints
    /// its peak RSS as JSON (used by `bench`).
    #[command(hide = true)]
    BenchInvocation {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        emulator: String,
    },
    /// Write the synthetic sample pictures (person.jpg with EXIF rotation, garment.png,
    /// trousers.png and boots.png with alpha, mask.png) into a folder.
    #[command(hide = true)]
    Samples { folder: PathBuf },
}

fn main() -> ExitCode {
    tryon::memory::tune_allocator();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,aws=warn,hyper=warn".into()),
        )
        .with_target(false)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never into a log file or CI output.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .compact()
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    rt.block_on(async {
        match cli.command {
            Command::Run { folder, out, job_id, bedrock } => run(&folder, &out, job_id, bedrock).await,
            Command::Submit { folder, bucket, job_id, wait, out, timeout } => {
                submit(&folder, &bucket, job_id, wait, &out, Duration::from_secs(timeout)).await
            }
            Command::Emulator { port, host, model_ids } => emulator(SocketAddr::new(host, port), model_ids).await,
            Command::Validate { manifest } => validate(&manifest),
            Command::Event { bucket, key, source, etag, region } => {
                let ev = match source.as_str() {
                    "sqs" => {
                        event::sample_sqs_event(&bucket, &key, &etag, &region, "059f36b4-87a3-44ab-83d2-661975830a7d")
                    }
                    "eventbridge" => event::sample_eventbridge_event(&bucket, &key, &etag, &region),
                    _ => event::sample_put_event(&bucket, &key, &etag, 1024, &region),
                };
                println!("{}", serde_json::to_string_pretty(&ev).unwrap_or_default());
                ExitCode::SUCCESS
            }
            Command::Samples { folder } => samples(&folder),
            Command::Bench { data, iters, python, script } => bench(data, iters, python, script).await,
            Command::BenchInvocation { data, emulator } => bench_invocation(&data, &emulator).await,
        }
    })
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::FAILURE
}

async fn emulator(addr: SocketAddr, model_ids: Vec<String>) -> ExitCode {
    match Emulator::new(model_ids).spawn(addr).await {
        Ok((local, task)) => {
            eprintln!("Nova Canvas emulator listening on http://{local}");
            match task.await {
                Ok(Ok(())) => ExitCode::SUCCESS,
                Ok(Err(e)) => fail(&e.to_string()),
                Err(e) => fail(&e.to_string()),
            }
        }
        Err(e) => fail(&format!("cannot listen on {addr}: {e}")),
    }
}

fn validate(path: &Path) -> ExitCode {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return fail(&format!("cannot read {}: {e}", path.display())),
    };
    let max_calls = Config::from_env().map_or(10, |c| c.max_model_calls_per_job as usize);
    match tryon::plan::parse(&bytes, "uploads/<job>/", max_calls) {
        Ok(plan) => {
            println!("{}: valid, {} model call(s)", path.display(), plan.calls());
            let items = match plan {
                tryon::plan::JobPlan::Single(spec) => vec![tryon::plan::Item { name: "job".into(), spec }],
                tryon::plan::JobPlan::Variants(items) | tryon::plan::JobPlan::Outfit(items) => items,
            };
            for it in items {
                let spec = &it.spec;
                println!(
                    "  {}: source {}, garment {}, maskType {}, {} image(s), quality {}",
                    it.name,
                    spec.source_key.trim_start_matches("uploads/<job>/"),
                    spec.garment_key.trim_start_matches("uploads/<job>/"),
                    spec.mask_type().as_str(),
                    spec.number_of_images(),
                    spec.quality().as_str()
                );
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            println!("{}: {} problem(s)", path.display(), errors.0.len());
            for e in &errors.0 {
                println!("  - {e}");
            }
            ExitCode::FAILURE
        }
    }
}

fn samples(folder: &Path) -> ExitCode {
    let person = tryon::samples::person(900, 1200);
    let files = [
        ("person.jpg", tryon::samples::phone_jpeg(&person, 6).unwrap_or_default()),
        ("garment.png", tryon::samples::png_rgba(&tryon::samples::garment(800))),
        ("mask.png", tryon::samples::png_rgb(&tryon::samples::torso_mask(900, 1200))),
        ("trousers.png", tryon::samples::png_rgba(&tryon::samples::trousers(800))),
        ("boots.png", tryon::samples::png_rgba(&tryon::samples::boots(600))),
    ];
    if let Err(e) = std::fs::create_dir_all(folder) {
        return fail(&e.to_string());
    }
    for (name, bytes) in files {
        if let Err(e) = std::fs::write(folder.join(name), bytes) {
            return fail(&format!("{name}: {e}"));
        }
        println!("wrote {}", folder.join(name).display());
    }
    ExitCode::SUCCESS
}

/// Every file under `dir`, as paths relative to it.
fn files_under(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(dir.join(&rel))? {
            let entry = entry?;
            let rel_path = rel.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                stack.push(rel_path);
            } else {
                out.push(rel_path);
            }
        }
    }
    out.sort();
    Ok(out)
}

async fn run(folder: &Path, out: &Path, job_id: Option<String>, bedrock: bool) -> ExitCode {
    let config = match Config::from_env() {
        // EMF lines are for CloudWatch; a local run prints its own summary.
        Ok(c) => Config { emit_metrics: false, ..c },
        Err(e) => return fail(&e.to_string()),
    };
    if !folder.join(MANIFEST_NAME).is_file() {
        return fail(&format!("{} has no {MANIFEST_NAME}", folder.display()));
    }
    let job_id = job_id.unwrap_or_else(|| {
        folder
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "job".into())
    });
    let bucket = "local";
    let storage = FsStorage::new(out);
    let paths = JobPaths::new(&config, &job_id);

    // A fresh run: clear earlier outputs of this job, then upload with the manifest last.
    if let Ok(dir) = storage.path(bucket, paths.outputs.trim_end_matches('/')) {
        let _ = std::fs::remove_dir_all(dir);
    }
    let files = match files_under(folder) {
        Ok(f) => f,
        Err(e) => return fail(&format!("cannot list {}: {e}", folder.display())),
    };
    let (manifest, images): (Vec<_>, Vec<_>) = files.into_iter().partition(|p| p == Path::new(MANIFEST_NAME));
    for rel in images.iter().chain(&manifest) {
        let key = format!("{}{}", paths.folder, rel.to_string_lossy());
        let bytes = match std::fs::read(folder.join(rel)) {
            Ok(b) => b,
            Err(e) => return fail(&format!("cannot read {}: {e}", rel.display())),
        };
        if let Err(e) = storage.put(bucket, &key, bytes, "application/octet-stream", PutCondition::Always).await {
            return fail(&format!("cannot stage {key}: {e}"));
        }
    }
    eprintln!(
        "staged {} file(s) under {}",
        images.len() + manifest.len(),
        out.join(bucket).join(&paths.folder).display()
    );

    let started = Instant::now();
    let key = format!("{}{MANIFEST_NAME}", paths.folder);
    let obj = ObjectCreated { bucket: bucket.into(), key, etag: None, version_id: None, raw_key: None };
    let deadline = Instant::now() + Duration::from_secs(900);
    let invocation = format!("tryon-run-{}", std::process::id());
    let result = if bedrock {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        let model = BedrockModel::from_sdk_config(&sdk, config.bedrock_region.as_deref(), &config.model_id);
        eprintln!("calling Nova Canvas ({}) on Bedrock", config.model_id);
        Service { storage, model, config }.run_job(&obj, &invocation, deadline).await
    } else {
        let (addr, _server) = match Emulator::new(vec![config.model_id.clone()])
            .spawn("127.0.0.1:0".parse().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0))))
            .await
        {
            Ok(x) => x,
            Err(e) => return fail(&format!("cannot start the emulator: {e}")),
        };
        eprintln!("Nova Canvas emulator running in-process on http://{addr}");
        let model = BedrockModel::for_emulator(&format!("http://{addr}"), &config.model_id);
        Service { storage, model, config }.run_job(&obj, &invocation, deadline).await
    };
    if let Err(e) = &result {
        eprintln!("transient failure (Lambda would retry): {e}");
    }

    let storage = FsStorage::new(out);
    let status_path = match storage.path(bucket, &paths.status()) {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string()),
    };
    let status: Status = match std::fs::read(&status_path).ok().and_then(|b| serde_json::from_slice(&b).ok()) {
        Some(s) => s,
        None => return fail(&format!("no status was written at {}", status_path.display())),
    };
    let show =
        |key: &str| storage.path(bucket, key).map(|p| p.display().to_string()).unwrap_or_else(|_| key.to_owned());
    println!("job {job_id}: {:?} in {:.1} s", status.state, started.elapsed().as_secs_f64());
    for k in &status.outputs.images {
        println!("  result: {}", show(k));
    }
    if let Some(m) = &status.outputs.mask {
        println!("  mask:   {}", show(m));
    }
    if let Some(m) = &status.outputs.sheet {
        println!("  sheet:  {}", show(m));
    }
    println!("  status: {}", status_path.display());
    if let Some(e) = &status.error {
        println!("  error:  {} ({}retryable): {}", e.code, if e.retryable { "" } else { "not " }, e.message);
    }
    if status.state == State::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn bench_invocation(data: &Path, emulator: &str) -> ExitCode {
    use tryon::bench::peak_rss_mib;
    let config = match Config::from_env() {
        Ok(c) => Config { emit_metrics: false, ..c },
        Err(e) => return fail(&e.to_string()),
    };
    let root = std::env::temp_dir().join(format!("tryon-bench-{}", std::process::id()));
    let storage = FsStorage::new(&root);
    for (name, file) in [("person.jpg", "person.jpg"), ("garment.png", "garment.png")] {
        let bytes = match std::fs::read(data.join(file)) {
            Ok(b) => b,
            Err(e) => return fail(&e.to_string()),
        };
        let _ = storage.put("bench", &format!("uploads/job/{name}"), bytes, "", PutCondition::Always).await;
    }
    let manifest = br#"{"source": "person.jpg", "garment": "garment.png"}"#.to_vec();
    let _ = storage.put("bench", "uploads/job/job.json", manifest, "", PutCondition::Always).await;
    // The same clients the Lambda builds at init.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new("bench", "bench", None, None, "bench"))
        .load()
        .await;
    let _s3 = tryon::aws::S3Storage::from_sdk_config(&sdk, true);
    let model = BedrockModel::for_emulator(emulator, &config.model_id);
    let svc = Service { storage, model, config };
    let after_init = peak_rss_mib().unwrap_or(0.0);
    let event = event::sample_put_event("bench", "uploads/job/job.json", "\"e\"", 1, "us-east-1");
    let deadline_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
            + 600_000;
    let inv = tryon::handler::Invocation::new("bench", deadline_ms, Duration::from_secs(600));
    let summary = tryon::handler::handle(&svc, event, &inv).await;
    let peak = peak_rss_mib().unwrap_or(0.0);
    let status: serde_json::Value = std::fs::read(root.join("bench/outputs/job/status.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let _ = std::fs::remove_dir_all(&root);
    println!(
        "{}",
        serde_json::json!({
            "ok": summary.is_ok(),
            "state": status["state"],
            "error": status["error"]["code"],
            "afterInitMiB": after_init,
            "peakRssMiB": peak,
            "requestBytes": status["diagnostics"]["requestBytes"],
            "timingsMs": status["diagnostics"]["timingsMs"],
        })
    );
    ExitCode::SUCCESS
}

async fn bench(data: Option<PathBuf>, iters: usize, python: Option<PathBuf>, script: Option<PathBuf>) -> ExitCode {
    use tryon::bench::*;
    use tryon::config::RequestEncoding::{self, Auto, Jpeg, Png};
    let data = data.unwrap_or_else(default_data);
    let job = match Job::load(&data) {
        Ok(j) => j,
        Err(e) => return fail(&e),
    };
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: a debug build; run `cargo run --release --features tools --bin tryon -- bench` for real figures"
        );
    }
    let out = std::env::temp_dir().join(format!("tryon-bench-out-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&out);
    let script = script.unwrap_or_else(|| data.join("../pillow_baseline.py"));
    let python = python.or_else(|| {
        let venv = PathBuf::from(".venv-bench/bin/python");
        [venv, PathBuf::from("python3")]
            .into_iter()
            .find(|p| Process::new(p).args(["-c", "import PIL"]).output().map(|o| o.status.success()).unwrap_or(false))
    });
    let python = python.filter(|_| script.is_file());
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    say(&format!("tryon bench: {iters} interleaved rounds on {cpus} CPUs; data {}", data.display()));
    say(&format!("  person.jpg: {}; garment.png: {}", describe(&job.person), describe(&job.garment)));
    say(&format!(
        "  baseline: {}",
        python.as_ref().map_or("Pillow not found: ours only".into(), |p| format!(
            "{} {}",
            p.display(),
            script.display()
        ))
    ));

    let variants: [(&str, RequestEncoding, bool); 5] = [
        ("png", Png, false),
        ("jpeg", Jpeg, false),
        ("auto", Auto, false),
        ("png x2", Png, true),
        ("jpeg x2", Jpeg, true),
    ];
    let mut ours: BTreeMap<&str, Vec<Stages>> = BTreeMap::new();
    let mut bodies: BTreeMap<&str, usize> = BTreeMap::new();
    let mut py: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut py_body: BTreeMap<&str, u64> = BTreeMap::new();
    let mut prims: Vec<BTreeMap<&'static str, f64>> = Vec::new();
    // One warm-up of each, discarded.
    for (_, choice, parallel) in variants {
        let _ = pipeline(&job, choice, parallel, &out);
    }
    for round in 0..iters {
        for (name, choice, parallel) in variants {
            match pipeline(&job, choice, parallel, &out) {
                Ok((stages, body)) => {
                    ours.entry(name).or_default().push(stages);
                    bodies.insert(name, body);
                }
                Err(e) => return fail(&format!("pipeline {name}: {e}")),
            }
            if let (Some(p), false) = (&python, parallel) {
                if name != "auto" {
                    if let Some((total, v)) = pillow(p, &script, &data, &out, name) {
                        py.entry(name).or_default().push(total);
                        py_body.insert(name, v["sizes"]["body"].as_u64().unwrap_or(0));
                    }
                }
            }
        }
        match primitives(&job, &out) {
            Ok(p) => prims.push(p),
            Err(e) => return fail(&format!("primitives: {e}")),
        }
        eprint!("\r  round {}/{iters}", round + 1);
    }
    eprintln!();

    let stat = |runs: &[Stages], stage: &str| {
        let mut v: Vec<f64> =
            runs.iter().filter_map(|r| r.iter().find(|(k, _)| *k == stage).map(|(_, ms)| *ms)).collect();
        (min(&v), median(&mut v))
    };
    say("\nper-stage ms, single thread (min / median):");
    say(&format!("  {:<16}{:>18}{:>18}{:>18}", "stage", "PNG requests", "JPEG requests", "auto (ours)"));
    for (stage, _) in &ours["png"][0] {
        let cell = |n: &str| {
            let (a, b) = stat(&ours[n], stage);
            format!("{a:>8.1} /{b:>7.1}")
        };
        say(&format!("  {:<16}{:>18}{:>18}{:>18}", stage, cell("png"), cell("jpeg"), cell("auto")));
    }
    let mut floors: BTreeMap<&str, f64> = BTreeMap::new();
    for enc in ["png", "jpeg", "auto"] {
        let mut v: Vec<f64> = prims.iter().map(|p| floor(p, enc)).collect();
        floors.insert(enc, min(&v).min(median(&mut v)));
    }
    say("\nper job (median ms):");
    for (name, _, _) in variants {
        let (_, m) = stat(&ours[name], "total");
        let base = name.trim_end_matches(" x2");
        let pillow = py.get_mut(base).map(|v| median(v));
        let mut line = format!("  ours {name:<8} {m:>7.1} ms   body {:>9} bytes", bodies[name]);
        if let Some(p) = pillow {
            line += &format!(
                "   Pillow {p:>7.1} ms ({} bytes)   Pillow/ours {:>5.1}x",
                py_body.get(base).copied().unwrap_or(0),
                p / m
            );
        }
        if !name.ends_with("x2") {
            let f = floors[base];
            line += &format!("   floor {f:>6.1} ms   ours/floor {:>4.2}x", m / f);
        }
        say(&line);
    }
    say("\nfloor primitives (min ms):");
    let mut keys: Vec<_> = prims[0].keys().copied().collect();
    keys.sort();
    for k in keys {
        let v: Vec<f64> = prims.iter().filter_map(|p| p.get(k).copied()).collect();
        say(&format!("  {k:<18}{:>8.1}", min(&v)));
    }

    // Encoding choice: size, time and fidelity against the prepared pixels.
    if let (Ok((src, _)), Ok(gar)) = (prepared_source(&job), prepared_garment(&job)) {
        say("\nrequest encodings of the prepared images (bytes, ms, PSNR dB):");
        for (what, img) in [("source photo", &src), ("garment cut-out", &gar)] {
            use tryon::image::Encoding;
            for (name, enc, sub) in [
                ("JPEG 4:4:4", Encoding::Jpeg, false),
                ("JPEG 4:2:0", Encoding::Jpeg, true),
                ("PNG", Encoding::Png, false),
            ] {
                let t = Instant::now();
                let bytes = tryon::image::encode_with(img, enc, sub).unwrap_or_default();
                let took = t.elapsed().as_secs_f64() * 1e3;
                say(&format!(
                    "  {what:<16} {name:<11} {:>9} bytes {took:>7.1} ms  PSNR {:>6.2}",
                    bytes.len(),
                    psnr(img, &bytes)
                ));
            }
        }
    }

    // A whole invocation in its own process, against the emulator in another.
    let exe = std::env::current_exe().unwrap_or_default();
    match spawn_emulator(&exe) {
        Ok((mut emu, url)) => {
            say("\nwhole invocation (real handler, local folder as the bucket, emulator in another process):");
            for parallel in ["false", "true"] {
                let run = Process::new(&exe)
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
            largest_accepted(&exe, &data, &out, &url);
            let _ = emu.kill();
            let _ = emu.wait();
        }
        Err(e) => say(&format!("\nwhole invocation: {e}")),
    }
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
    let _ = std::fs::remove_dir_all(&out);
    ExitCode::SUCCESS
}

/// The peak of the largest inputs the memory budget accepts, each in its own process,
/// against the function memory they must fit.
fn largest_accepted(exe: &Path, data: &Path, out: &Path, emulator: &str) {
    use tryon::bench::say;
    let budget = Config::default().memory;
    say(&format!(
        "\nlargest accepted inputs (function memory {} MB, image budget {} MiB; each run in its own process):",
        budget.function_mb,
        budget.bytes >> 20
    ));
    let folders = match tryon::bench::largest_inputs(data, out) {
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

fn folder_job_id(folder: &Path) -> String {
    folder
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "job".into())
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

async fn submit(
    folder: &Path,
    bucket: &str,
    job_id: Option<String>,
    wait: bool,
    out: &Path,
    timeout: Duration,
) -> ExitCode {
    use aws_sdk_s3::primitives::ByteStream;
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string()),
    };
    let manifest = match std::fs::read(folder.join(MANIFEST_NAME)) {
        Ok(m) => m,
        Err(e) => return fail(&format!("{}: {e}", folder.join(MANIFEST_NAME).display())),
    };
    let job_id = job_id.unwrap_or_else(|| folder_job_id(folder));
    let paths = JobPaths::new(&config, &job_id);
    // The Lambda's own validator, before anything is uploaded.
    if let Err(problems) = tryon::manifest::parse(&manifest, &paths.folder) {
        eprintln!("{}: {} problem(s); nothing was uploaded", folder.join(MANIFEST_NAME).display(), problems.0.len());
        for p in &problems.0 {
            eprintln!("  - {p}");
        }
        return ExitCode::from(2);
    }
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk).force_path_style(config.s3_force_path_style).build(),
    );
    let files = match files_under(folder) {
        Ok(f) => f,
        Err(e) => return fail(&format!("cannot list {}: {e}", folder.display())),
    };
    let images: Vec<_> = files.into_iter().filter(|p| p != Path::new(MANIFEST_NAME)).collect();
    for rel in &images {
        let key = format!("{}{}", paths.folder, rel.to_string_lossy());
        let body = match ByteStream::from_path(folder.join(rel)).await {
            Ok(b) => b,
            Err(e) => return fail(&format!("{}: {e}", rel.display())),
        };
        if let Err(e) = s3.put_object().bucket(bucket).key(&key).content_type(content_type(rel)).body(body).send().await
        {
            return fail(&format!(
                "uploading s3://{bucket}/{key}: {}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            ));
        }
        eprintln!("uploaded s3://{bucket}/{key}");
    }
    let manifest_key = format!("{}{MANIFEST_NAME}", paths.folder);
    let put = s3
        .put_object()
        .bucket(bucket)
        .key(&manifest_key)
        .content_type("application/json")
        .body(ByteStream::from(manifest))
        .send()
        .await;
    let etag = match put {
        Ok(o) => o.e_tag().unwrap_or_default().to_owned(),
        Err(e) => {
            return fail(&format!(
                "uploading s3://{bucket}/{manifest_key}: {}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            ))
        }
    };
    eprintln!("uploaded s3://{bucket}/{manifest_key} (the job starts now)");
    println!("job {job_id}: status at s3://{bucket}/{}", paths.status());
    if !wait {
        return ExitCode::SUCCESS;
    }

    let started = Instant::now();
    let mut last = String::new();
    let status = loop {
        if started.elapsed() > timeout {
            eprintln!();
            return fail(&format!(
                "the job did not end within {} s; its status is at s3://{bucket}/{}",
                timeout.as_secs(),
                paths.status()
            ));
        }
        let read = s3.get_object().bucket(bucket).key(paths.status()).send().await;
        let status: Option<Status> = match read {
            Ok(o) => match o.body.collect().await {
                Ok(b) => serde_json::from_slice(&b.into_bytes()).ok(),
                Err(_) => None,
            },
            Err(_) => None,
        };
        // Only this upload's record counts (an earlier run's status may still be there).
        let current = status.filter(|s| s.manifest.etag == etag);
        let line = match &current {
            None => "waiting for the function".to_owned(),
            Some(s) => {
                let mut l = format!("{:?}", s.state).to_lowercase();
                if let Some(stage) = &s.stage {
                    l += &format!(", {stage}");
                }
                if let Some(e) = &s.error {
                    l += &format!(", retrying after {}", e.code);
                }
                l
            }
        };
        if line != last {
            eprintln!("[{:>5.1} s] {line}", started.elapsed().as_secs_f64());
            last = line;
        }
        match current {
            Some(s) if s.state != State::Processing => break s,
            _ => {
                tokio::time::sleep(Duration::from_millis(if started.elapsed() < Duration::from_secs(10) {
                    500
                } else {
                    2000
                }))
                .await
            }
        }
    };
    let dir = out.join(&job_id);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return fail(&format!("{}: {e}", dir.display()));
    }
    let mut keys: Vec<String> = status.outputs.images.clone();
    keys.extend(status.outputs.mask.clone());
    keys.extend(status.outputs.sheet.clone());
    keys.push(paths.status());
    for key in keys {
        let name = key.rsplit('/').next().unwrap_or("output");
        let target = dir.join(name);
        match s3.get_object().bucket(bucket).key(&key).send().await {
            Ok(o) => match o.body.collect().await {
                Ok(b) => {
                    if let Err(e) = std::fs::write(&target, b.into_bytes()) {
                        return fail(&format!("{}: {e}", target.display()));
                    }
                    println!("  {}", target.display());
                }
                Err(e) => return fail(&format!("downloading {key}: {e}")),
            },
            Err(e) => {
                return fail(&format!(
                    "downloading {key}: {}",
                    aws_smithy_types::error::display::DisplayErrorContext(&e)
                ))
            }
        }
    }
    match (&status.state, &status.error) {
        (State::Succeeded, _) => {
            println!("job {job_id}: succeeded in {:.1} s", started.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        (_, Some(e)) => {
            eprintln!("job {job_id} failed: {}: {}", e.code, e.message);
            ExitCode::from(1)
        }
        _ => fail(&format!("job {job_id} failed without an error record")),
    }
}
