//! Helpers the subcommands share: the error exit, job ids from folders, upload content types
//! and folder listings.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The backends a local check validates a manifest against: the deployment's when
/// `TRYON_BACKEND` is set here, else Nova Canvas first with every backend enabled (the
/// examples without a "backend" are Nova Canvas manifests).
pub fn local_backends() -> tryon::core::backend::Backends {
    use tryon::core::backend::{Backend, Backends};
    let nova = || Backends { chain: vec![Backend::NovaCanvas], enabled: Backend::ALL.to_vec() };
    match std::env::var("TRYON_BACKEND") {
        Ok(v) if !v.trim().is_empty() => tryon::config::Config::from_env().map_or_else(|_| nova(), |c| c.backends),
        _ => nova(),
    }
}

/// Prints `error: <msg>` and returns the failure exit code.
pub fn fail(msg: &str) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::FAILURE
}

/// The job id a folder stands for: its own name ("job" if it has none).
pub fn folder_job_id(folder: &Path) -> String {
    folder
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "job".into())
}

/// The Content-Type an upload of `path` carries, from its extension.
pub fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// Every file under `dir`, as paths relative to it.
pub fn files_under(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
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
