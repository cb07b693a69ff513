//! `tryon bench-invocation`: one whole invocation of the real handler against an emulator, in
//! this process; prints its peak RSS as JSON for `tryon bench`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use tryon::adapters::storage::{PutCondition, Storage};
use tryon::config::Config;
use tryon::core::backend::{Backend, Backends};
use tryon::pipeline::Service;
use tryon_tools::local::FsStorage;

use crate::common::fail;

pub async fn bench_invocation(data: &Path, emulator: &str, backend: Backend) -> ExitCode {
    use tryon_tools::bench::peak_rss_mib;
    let mut config = match Config::from_env() {
        Ok(c) => Config { emit_metrics: false, backends: Backends::only(backend), ..c },
        Err(e) => return fail(&e.to_string()),
    };
    config.google.project.get_or_insert_with(|| "tryon-local".into());
    let root = std::env::temp_dir().join(format!("tryon-bench-{}", std::process::id()));
    let storage = FsStorage::new(&root);
    for (name, file) in [("person.jpg", "person.jpg"), ("garment.png", "garment.png")] {
        let bytes = match std::fs::read(data.join(file)) {
            Ok(b) => b,
            Err(e) => return fail(&e.to_string()),
        };
        let _ = storage.put("bench", &format!("uploads/job/{name}"), bytes, "", PutCondition::Always).await;
    }
    let manifest = serde_json::json!({"source": "person.jpg", "garment": "garment.png", "backend": backend.name()});
    let manifest = manifest.to_string().into_bytes();
    let _ = storage.put("bench", "uploads/job/job.json", manifest, "", PutCondition::Always).await;
    // The same clients the Lambda builds at init.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new("bench", "bench", None, None, "bench"))
        .load()
        .await;
    let _s3 = tryon::adapters::storage::s3::S3Storage::from_sdk_config(&sdk, true);
    // The same transports as the function, each pointed at the emulator.
    let model = tryon_tools::wiring::emulator_models(&config, emulator).await;
    let svc = Service { storage, model, events: tryon::adapters::events::NoEvents, config };
    let after_init = peak_rss_mib().unwrap_or(0.0);
    let event = tryon_tools::sample_events::sample_put_event("bench", "uploads/job/job.json", "\"e\"", 1, "us-east-1");
    let deadline_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
            + 600_000;
    let inv = tryon::entry::Invocation::new("bench", deadline_ms, Duration::from_secs(600));
    let summary = tryon::entry::handle(&svc, event, &inv).await;
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
