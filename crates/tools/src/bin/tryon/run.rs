//! `tryon run`: a job folder through the Lambda's pipeline, with a local folder as the bucket
//! and the emulators of every backend in-process (or the real services).

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tryon::adapters::events::eventbridge::EventBridgeEvents;
use tryon::adapters::model::transports::Models;
use tryon::adapters::storage::{PutCondition, Storage};
use tryon::config::Config;
use tryon::core::backend::Backend;
use tryon::core::manifest::MANIFEST_NAME;
use tryon::core::status::{State, Status};
use tryon::entry::trigger::ObjectCreated;
use tryon::pipeline::{JobPaths, Service};
use tryon_emulators::Emulator;
use tryon_tools::local::FsStorage;

use crate::common::{fail, files_under, folder_job_id};

/// The stand-in bucket's name under `--out`.
const BUCKET: &str = "local";

/// What `tryon run` was asked for besides the folder.
pub struct RunOptions {
    pub out: std::path::PathBuf,
    pub job_id: Option<String>,
    /// The backend of a manifest that names none (`TRYON_BACKEND` otherwise).
    pub backend: Option<Backend>,
    /// Call the real services with the user's credentials instead of the emulators.
    pub live: bool,
}

pub async fn run(folder: &Path, opts: RunOptions) -> ExitCode {
    let RunOptions { out, job_id, backend, live } = opts;
    let out = out.as_path();
    let mut vars: std::collections::HashMap<String, String> = std::env::vars().collect();
    if let Some(b) = backend {
        vars.insert("TRYON_BACKEND".into(), b.name().into());
    }
    if !live {
        // Offline, every backend answers (the emulators): manifests may name any of them.
        offline_google(&mut vars);
    }
    let config = match Config::from_vars(&vars) {
        // EMF lines are for CloudWatch; a local run prints its own summary.
        Ok(c) => Config { emit_metrics: false, ..c },
        Err(e) => return fail(&e.to_string()),
    };
    let bedrock = live;
    if !folder.join(MANIFEST_NAME).is_file() {
        return fail(&format!("{} has no {MANIFEST_NAME}", folder.display()));
    }
    let job_id = job_id.unwrap_or_else(|| folder_job_id(folder));
    let storage = FsStorage::new(out);
    let paths = JobPaths::new(&config, &job_id);
    if let Err(code) = stage(folder, out, &storage, &paths).await {
        return code;
    }
    let started = Instant::now();
    if let Err(code) = run_job(storage, config, &paths, bedrock).await {
        return code;
    }
    report(out, &paths, &job_id, started)
}

/// A fresh run: clears earlier outputs of this job, then copies the folder into the stand-in
/// bucket with the manifest last, as clients upload it.
async fn stage(folder: &Path, out: &Path, storage: &FsStorage, paths: &JobPaths) -> Result<(), ExitCode> {
    if let Ok(dir) = storage.path(BUCKET, paths.outputs.trim_end_matches('/')) {
        let _ = std::fs::remove_dir_all(dir);
    }
    let files = files_under(folder).map_err(|e| fail(&format!("cannot list {}: {e}", folder.display())))?;
    let (manifest, images): (Vec<_>, Vec<_>) = files.into_iter().partition(|p| p == Path::new(MANIFEST_NAME));
    for rel in images.iter().chain(&manifest) {
        let key = format!("{}{}", paths.folder, rel.to_string_lossy());
        let bytes =
            std::fs::read(folder.join(rel)).map_err(|e| fail(&format!("cannot read {}: {e}", rel.display())))?;
        if let Err(e) = storage.put(BUCKET, &key, bytes, "application/octet-stream", PutCondition::Always).await {
            return Err(fail(&format!("cannot stage {key}: {e}")));
        }
    }
    eprintln!(
        "staged {} file(s) under {}",
        images.len() + manifest.len(),
        out.join(BUCKET).join(&paths.folder).display()
    );
    Ok(())
}

/// Runs the job as the function would on the manifest's upload event, against Bedrock or an
/// in-process emulator. A transient failure is reported, not fatal: the status tells the rest.
async fn run_job(storage: FsStorage, config: Config, paths: &JobPaths, bedrock: bool) -> Result<(), ExitCode> {
    let key = format!("{}{MANIFEST_NAME}", paths.folder);
    let obj = ObjectCreated { bucket: BUCKET.into(), key, etag: None, version_id: None, raw_key: None };
    let deadline = Instant::now() + Duration::from_secs(900);
    let invocation = format!("tryon-run-{}", std::process::id());
    let events = completion_events(&config).await;
    let result = if bedrock {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        let model = Models::from_config(&sdk, &config).await;
        let chain: Vec<&str> = config.backends.chain.iter().map(|b| b.name()).collect();
        eprintln!("calling {} for real with your credentials", chain.join(", then "));
        Service { storage, model, events, config }.run_job(&obj, &invocation, deadline).await
    } else {
        let (addr, _server) = match Emulator::new(vec![config.model_id.clone(), config.converse_model_id.clone()])
            .spawn("127.0.0.1:0".parse().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0))))
            .await
        {
            Ok(x) => x,
            Err(e) => return Err(fail(&format!("cannot start the emulator: {e}"))),
        };
        eprintln!("emulators of every backend running in-process on http://{addr}");
        let endpoint = format!("http://{addr}");
        let model = tryon_tools::wiring::emulator_models(&config, &endpoint).await;
        Service { storage, model, events, config }.run_job(&obj, &invocation, deadline).await
    };
    if let Err(e) = &result {
        eprintln!("transient failure (Lambda would retry): {e}");
    }
    Ok(())
}

/// Completion events only when `EVENT_BUS_NAME` is set (the endpoint from the SDK's
/// variables, `AWS_ENDPOINT_URL_EVENTBRIDGE`): a local run announces nothing by default.
async fn completion_events(config: &Config) -> Option<EventBridgeEvents> {
    let bus = config.event_bus_name.as_deref()?;
    eprintln!("publishing the completion event on the bus {bus}");
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    Some(EventBridgeEvents::from_sdk_config(&sdk, bus))
}

/// Prints the job's end state and where its outputs are; succeeds only if the job did.
fn report(out: &Path, paths: &JobPaths, job_id: &str, started: Instant) -> ExitCode {
    let storage = FsStorage::new(out);
    let status_path = match storage.path(BUCKET, &paths.status()) {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string()),
    };
    let status: Status = match std::fs::read(&status_path).ok().and_then(|b| serde_json::from_slice(&b).ok()) {
        Some(s) => s,
        None => return fail(&format!("no status was written at {}", status_path.display())),
    };
    let show =
        |key: &str| storage.path(BUCKET, key).map(|p| p.display().to_string()).unwrap_or_else(|_| key.to_owned());
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

/// Offline, the Google backends call the emulator: a project id stands in, and every backend
/// is enabled so a manifest may name any of them.
fn offline_google(vars: &mut std::collections::HashMap<String, String>) {
    // The examples without a "backend" are Nova Canvas manifests; the emulator plays an
    // account that kept Nova Canvas after its end of life (README, When a model retires).
    let unset =
        |vars: &std::collections::HashMap<String, String>, k: &str| vars.get(k).is_none_or(|v| v.trim().is_empty());
    if unset(vars, "TRYON_BACKEND") {
        vars.insert("TRYON_BACKEND".into(), Backend::NovaCanvas.name().into());
    }
    if unset(vars, "MODEL_ID") {
        vars.insert("MODEL_ID".into(), tryon_tools::wiring::NOVA_MODEL_ID.into());
    }
    if unset(vars, "MODEL_CATALOG_JSON") {
        vars.insert("MODEL_CATALOG_JSON".into(), tryon_tools::wiring::KEPT_NOVA_CATALOG_JSON.into());
    }
    vars.entry("VERTEX_PROJECT".into()).or_insert_with(|| "tryon-local".into());
    vars.insert("ENABLED_BACKENDS".into(), Backend::ALL.map(Backend::name).join(","));
    vars.insert("GOOGLE_CREDENTIALS_JSON".into(), "{\"type\":\"emulator\"}".into());
    vars.remove("GOOGLE_APPLICATION_CREDENTIALS");
    vars.remove("GOOGLE_CREDENTIALS_SECRET_ARN");
}
