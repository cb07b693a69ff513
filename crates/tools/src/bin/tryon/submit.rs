//! `tryon submit`: a job folder to a deployed bucket, through the library's S3 storage
//! adapter; with `--wait`, follow status.json (or, with `--events-queue`, wait for the job's
//! completion event: [`crate::follow_events`]) and download the outputs.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tryon::adapters::storage::s3::S3Storage;
use tryon::adapters::storage::{PutCondition, Storage};
use tryon::config::Config;
use tryon::core::backend::{Backend, Backends};
use tryon::core::manifest::MANIFEST_NAME;
use tryon::core::status::{State, Status};
use tryon::pipeline::JobPaths;

use crate::common::{content_type, fail, files_under, folder_job_id};
use crate::follow_events::{self, Awaited};

/// Downloads have no size limit: the outputs are the job's own.
const ANY_SIZE: u64 = u64::MAX;

/// How `--wait` learns that the job ended.
pub enum Follow {
    /// Polling status.json.
    Status,
    /// Receiving the completion event from this SQS queue.
    EventsQueue(String),
}

pub async fn submit(
    folder: &Path,
    bucket: &str,
    job_id: Option<String>,
    wait: Option<Follow>,
    out: &Path,
    timeout: Duration,
) -> ExitCode {
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
    if let Err(code) = check_manifest(folder, &manifest, &paths) {
        return code;
    }
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    let s3 = S3Storage::from_sdk_config(&sdk, config.s3_force_path_style);
    let etag = match upload(&s3, folder, bucket, &paths, manifest).await {
        Ok(etag) => etag,
        Err(code) => return code,
    };
    println!("job {job_id}: status at s3://{bucket}/{}", paths.status());
    let Some(follow) = wait else { return ExitCode::SUCCESS };
    let started = Instant::now();
    let ended = match follow {
        Follow::Status => wait_for_end(&s3, bucket, &paths, &etag, started, timeout).await,
        Follow::EventsQueue(queue) => {
            let job = Awaited { bucket, job_id: &job_id, etag: &etag };
            match follow_events::wait_for_event(&sdk, &queue, job, started, timeout).await {
                Ok(_) => read_final_status(&s3, bucket, &paths, &etag).await,
                Err(e) => Err(fail(&e)),
            }
        }
    };
    let status = match ended {
        Ok(s) => s,
        Err(code) => return code,
    };
    if let Err(code) = download_outputs(&s3, bucket, &paths, &status, &out.join(&job_id)).await {
        return code;
    }
    outcome(&status, &job_id, started)
}

/// The Lambda's own validator, before anything is uploaded; exit code 2 on problems.
fn check_manifest(folder: &Path, manifest: &[u8], paths: &JobPaths) -> Result<(), ExitCode> {
    // The deployment decides which backends it enables; here any backend name is known.
    let backends = Backends { chain: crate::common::local_backends().chain, enabled: Backend::ALL.to_vec() };
    if let Err(problems) = tryon::pipeline::plan::parse(manifest, &paths.folder, usize::MAX, &backends) {
        eprintln!("{}: {} problem(s); nothing was uploaded", folder.join(MANIFEST_NAME).display(), problems.0.len());
        for p in &problems.0 {
            eprintln!("  - {p}");
        }
        return Err(ExitCode::from(2));
    }
    Ok(())
}

/// Uploads the images, then the manifest (its arrival starts the job); returns the
/// manifest's ETag, which names this upload's status record.
async fn upload(
    s3: &S3Storage,
    folder: &Path,
    bucket: &str,
    paths: &JobPaths,
    manifest: Vec<u8>,
) -> Result<String, ExitCode> {
    let files = files_under(folder).map_err(|e| fail(&format!("cannot list {}: {e}", folder.display())))?;
    let images: Vec<_> = files.into_iter().filter(|p| p != Path::new(MANIFEST_NAME)).collect();
    for rel in &images {
        let key = format!("{}{}", paths.folder, rel.to_string_lossy());
        let body = std::fs::read(folder.join(rel)).map_err(|e| fail(&format!("{}: {e}", rel.display())))?;
        if let Err(e) = s3.put(bucket, &key, body, content_type(rel), PutCondition::Always).await {
            return Err(fail(&format!("uploading s3://{bucket}/{key}: {e}")));
        }
        eprintln!("uploaded s3://{bucket}/{key}");
    }
    let manifest_key = format!("{}{MANIFEST_NAME}", paths.folder);
    let etag = s3
        .put(bucket, &manifest_key, manifest, "application/json", PutCondition::Always)
        .await
        .map_err(|e| fail(&format!("uploading s3://{bucket}/{manifest_key}: {e}")))?;
    eprintln!("uploaded s3://{bucket}/{manifest_key} (the job starts now)");
    Ok(etag)
}

/// Follows status.json, printing each change, until this upload's job leaves `processing`.
async fn wait_for_end(
    s3: &S3Storage,
    bucket: &str,
    paths: &JobPaths,
    etag: &str,
    started: Instant,
    timeout: Duration,
) -> Result<Status, ExitCode> {
    let mut last = String::new();
    loop {
        if started.elapsed() > timeout {
            eprintln!();
            return Err(fail(&format!(
                "the job did not end within {} s; its status is at s3://{bucket}/{}",
                timeout.as_secs(),
                paths.status()
            )));
        }
        let status: Option<Status> = match s3.get(bucket, &paths.status(), ANY_SIZE).await {
            Ok(o) => serde_json::from_slice(&o.bytes).ok(),
            Err(_) => None,
        };
        // Only this upload's record counts (an earlier run's status may still be there).
        let current = status.filter(|s| s.manifest.etag == etag);
        let line = progress_line(current.as_ref());
        if line != last {
            eprintln!("[{:>5.1} s] {line}", started.elapsed().as_secs_f64());
            last = line;
        }
        match current {
            Some(s) if s.state != State::Processing => return Ok(s),
            _ => {
                let pause = if started.elapsed() < Duration::from_secs(10) { 500 } else { 2000 };
                tokio::time::sleep(Duration::from_millis(pause)).await
            }
        }
    }
}

/// status.json once, after the completion event said the job ended: this upload's final record.
async fn read_final_status(s3: &S3Storage, bucket: &str, paths: &JobPaths, etag: &str) -> Result<Status, ExitCode> {
    let key = paths.status();
    let object =
        s3.get(bucket, &key, ANY_SIZE).await.map_err(|e| fail(&format!("reading s3://{bucket}/{key}: {e}")))?;
    let status: Status =
        serde_json::from_slice(&object.bytes).map_err(|e| fail(&format!("s3://{bucket}/{key} is unreadable: {e}")))?;
    if status.manifest.etag != etag || status.state == State::Processing {
        return Err(fail(&format!(
            "s3://{bucket}/{key} no longer records this upload's outcome (job.json was uploaded again?)"
        )));
    }
    Ok(status)
}

/// One line of progress: the state, the stage, and a retry in progress.
fn progress_line(current: Option<&Status>) -> String {
    match current {
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
    }
}

/// Downloads the results, mask, sheet and status.json into `dir`, printing each path.
async fn download_outputs(
    s3: &S3Storage,
    bucket: &str,
    paths: &JobPaths,
    status: &Status,
    dir: &Path,
) -> Result<(), ExitCode> {
    std::fs::create_dir_all(dir).map_err(|e| fail(&format!("{}: {e}", dir.display())))?;
    let mut keys: Vec<String> = status.outputs.images.clone();
    keys.extend(status.outputs.mask.clone());
    keys.extend(status.outputs.sheet.clone());
    keys.push(paths.status());
    for key in keys {
        let name = key.rsplit('/').next().unwrap_or("output");
        let target = dir.join(name);
        let object = s3.get(bucket, &key, ANY_SIZE).await.map_err(|e| fail(&format!("downloading {key}: {e}")))?;
        std::fs::write(&target, object.bytes).map_err(|e| fail(&format!("{}: {e}", target.display())))?;
        println!("  {}", target.display());
    }
    Ok(())
}

/// The exit: success, or the job's error code and message.
fn outcome(status: &Status, job_id: &str, started: Instant) -> ExitCode {
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
