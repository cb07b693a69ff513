//! `tryon`: run try-on jobs locally, serve the Nova Canvas emulator, check manifests and
//! build events.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
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
    about = "Amazon Nova Canvas virtual try-on jobs: run them locally, emulate the model, check manifests"
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
    /// Write the synthetic sample pictures (person.jpg with EXIF rotation, garment.png with
    /// alpha, mask.png) into a folder.
    #[command(hide = true)]
    Samples { folder: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,aws=warn,hyper=warn".into()),
        )
        .with_target(false)
        .with_writer(std::io::stderr)
        .compact()
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    rt.block_on(async {
        match cli.command {
            Command::Run { folder, out, job_id, bedrock } => run(&folder, &out, job_id, bedrock).await,
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
    match tryon::manifest::parse(&bytes, "uploads/<job>/") {
        Ok(spec) => {
            println!("{}: valid", path.display());
            println!("  source:  {}", spec.source_key.trim_start_matches("uploads/<job>/"));
            println!("  garment: {}", spec.garment_key.trim_start_matches("uploads/<job>/"));
            println!(
                "  maskType {}, {} image(s), quality {}",
                spec.mask_type().as_str(),
                spec.number_of_images(),
                spec.quality().as_str()
            );
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
        Ok(c) => c,
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
        Service { storage, model, config }.handle(&obj, &invocation, deadline).await
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
        Service { storage, model, config }.handle(&obj, &invocation, deadline).await
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
