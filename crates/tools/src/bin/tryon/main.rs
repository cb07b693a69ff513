//! `tryon`: run try-on jobs locally, serve the emulators of every backend, check manifests and
//! build events. One file per subcommand; this one holds the command line and dispatch.

mod bench;
mod bench_invocation;
mod capacity;
mod common;
mod emulator;
mod event;
mod follow_events;
mod models;
mod run;
mod samples;
mod submit;
mod validate;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use common::fail;

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
    /// folder as the bucket and the emulators of every backend in-process (or, with --live, the real services).
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
        /// The backend of a manifest that names none (default TRYON_BACKEND, else nova-canvas):
        /// nova-canvas, vertex-vto, gemini-image or bedrock-converse.
        #[arg(long, value_parser = parse_backend)]
        backend: Option<tryon::core::backend::Backend>,
        /// Call the real service with your credentials (AWS: BEDROCK_REGION or AWS_REGION;
        /// Google: VERTEX_PROJECT and GOOGLE_APPLICATION_CREDENTIALS) instead of the emulators.
        #[arg(long, alias = "bedrock")]
        live: bool,
    },
    /// Submit a job folder to a deployed bucket: upload the images, then job.json (the
    /// manifest goes last, because its arrival starts the job).
    ///
    /// With --wait, follow status.json until the job ends (or, with --events-queue, wait
    /// for the job's completion event), download the outputs into <out>/<job-id>/, and exit
    /// non-zero with the error code if the job failed. Uses the standard AWS configuration
    /// (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL_SQS for local
    /// servers such as moto, with S3_FORCE_PATH_STYLE=true).
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
        /// With --wait: the URL of an SQS queue that an EventBridge rule on the function's
        /// bus targets (README, Completion events); the job's end is learnt from its
        /// completion event instead of polling status.json.
        #[arg(long, requires = "wait", value_name = "SQS_QUEUE_URL")]
        events_queue: Option<String>,
        /// Where --wait puts the outputs.
        #[arg(long, default_value = "tryon-out")]
        out: PathBuf,
        /// How long --wait waits, in seconds.
        #[arg(long, default_value_t = 900)]
        timeout: u64,
    },
    /// Serve the emulators of every backend (Bedrock InvokeModel and Converse, Vertex AI
    /// predict and generateContent, Google token endpoints) on one port of 127.0.0.1.
    ///
    /// Point the SDK at it with AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127.0.0.1:<port>.
    /// Control API: POST /_emulator/faults, GET /_emulator/requests, POST /_emulator/reset.
    Emulator {
        #[arg(long, default_value_t = 5002)]
        port: u16,
        #[arg(long, default_value = "127.0.0.1")]
        host: IpAddr,
        /// Bedrock model ids to accept (others get 404 ResourceNotFoundException).
        #[arg(long = "model-id", default_values = ["amazon.nova-canvas-v1:0", "us.amazon.nova-2-omni-v1:0"])]
        model_ids: Vec<String>,
        /// Print the variables that point the function at this emulator for this backend.
        #[arg(long, value_parser = parse_backend)]
        backend: Option<tryon::core::backend::Backend>,
        /// Refuse InvokeModel calls over this many a minute with 429 ThrottlingException, as
        /// Bedrock's quota does (a minute's worth at once, then the rate).
        #[arg(long)]
        requests_per_minute: Option<f64>,
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
        /// s3 (a direct notification), sqs (the notification in an SQS batch), sns (in an SNS
        /// notification delivered straight to the function), or eventbridge.
        #[arg(long, default_value = "s3", value_parser = ["s3", "sqs", "sns", "eventbridge"])]
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
        /// The backend the job calls (all are served by the emulator).
        #[arg(long, value_parser = parse_backend, default_value = "nova-canvas")]
        backend: tryon::core::backend::Backend,
    },
    /// Write the synthetic sample pictures (person.jpg with EXIF rotation, garment.png,
    /// trousers.png and boots.png with alpha, mask.png) into a folder.
    #[command(hide = true)]
    Samples { folder: PathBuf },
    /// Simulate a burst of jobs through the deployed system in virtual time: succeeded,
    /// failed, dead-lettered, paid and throttled calls, drain time, latency, cost
    /// (docs/capacity.md). Every option defaults to the deployed setting.
    Capacity(Box<capacity::CapacityArgs>),
    /// Show the model catalog for the current configuration: each enabled backend's model,
    /// its stage, shutdown day and replacement (--all: every other model too). With --check,
    /// exit 1 when a configured model is retired, retiring or missing (for a scheduled CI job).
    Models {
        /// Also list every other model of the catalog, on every platform.
        #[arg(long)]
        all: bool,
        /// Print the rows as a JSON array instead of a table.
        #[arg(long)]
        json: bool,
        /// Exit 1, one line per problem on stderr, when a configured model is retired,
        /// retiring (deprecated, or RETIREMENT_WARNING_DAYS or fewer from its shutdown) or missing.
        #[arg(long)]
        check: bool,
        /// Evaluate as of this day, to look ahead (default: today, UTC).
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = models::parse_day)]
        today: Option<tryon::core::catalog::Date>,
    },
}

fn main() -> ExitCode {
    tryon::entry::memory::tune_allocator();
    let cli = Cli::parse();
    init_logging();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    rt.block_on(dispatch(cli.command))
}

fn init_logging() {
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
}

async fn dispatch(command: Command) -> ExitCode {
    match command {
        Command::Run { folder, out, job_id, backend, live } => {
            run::run(&folder, run::RunOptions { out, job_id, backend, live }).await
        }
        Command::Submit { folder, bucket, job_id, wait, events_queue, out, timeout } => {
            let follow = wait.then(|| events_queue.map_or(submit::Follow::Status, submit::Follow::EventsQueue));
            submit::submit(&folder, &bucket, job_id, follow, &out, Duration::from_secs(timeout)).await
        }
        Command::Emulator { port, host, model_ids, backend, requests_per_minute } => {
            emulator::emulator(SocketAddr::new(host, port), model_ids, backend, requests_per_minute).await
        }
        Command::Validate { manifest } => validate::validate(&manifest),
        Command::Event { bucket, key, source, etag, region } => event::event(&bucket, &key, &source, &etag, &region),
        Command::Samples { folder } => samples::samples(&folder),
        Command::Bench { data, iters, python, script } => bench::bench(data, iters, python, script).await,
        Command::BenchInvocation { data, emulator, backend } => {
            bench_invocation::bench_invocation(&data, &emulator, backend).await
        }
        Command::Capacity(args) => capacity::capacity(&args),
        Command::Models { all, json, check, today } => {
            models::models(&models::ModelsOptions { all, json, check, today })
        }
    }
}

fn parse_backend(name: &str) -> Result<tryon::core::backend::Backend, String> {
    tryon::core::backend::Backend::parse(name)
}
