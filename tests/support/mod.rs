//! Shared test harness: a moto S3 server (started once per test binary unless
//! `TRYON_MOTO_URL` names a running one), a Nova Canvas emulator per test, and the real
//! handler wired to both through the real SDK clients.
#![allow(dead_code)]

pub mod bus;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_config::BehaviorVersion;
use aws_sdk_s3::primitives::ByteStream;
use serde_json::Value;
use tryon::adapters::model::transports::Models;
use tryon::adapters::storage::s3::S3Storage;
use tryon::config::Config;
use tryon::entry::{self, Invocation, InvocationError, Summary};
use tryon::pipeline::Service;
use tryon_emulators::{Emulator, RecordedRequest};

static MOTO: OnceLock<String> = OnceLock::new();

/// The workspace root (the function's package), whichever crate's tests include this file.
pub fn root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.ancestors().find(|d| d.join("template.yaml").is_file()).map_or(here.clone(), PathBuf::from)
}

/// The moto endpoint. Started here with a watchdog that stops it when this process exits
/// (its stdin is our pipe), so no server outlives the tests.
pub fn moto_url() -> String {
    MOTO.get_or_init(|| {
        if let Ok(url) = std::env::var("TRYON_MOTO_URL") {
            return url;
        }
        let root = root();
        let venv = root.join(".venv-moto/bin/moto_server");
        let bin = if venv.exists() { venv.display().to_string() } else { "moto_server".to_string() };
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port");
        let script = format!("\"{bin}\" -H 127.0.0.1 -p {port} >/dev/null 2>&1 & M=$!; cat >/dev/null; kill $M");
        let child = Command::new("sh").arg("-c").arg(script).stdin(Stdio::piped()).spawn().expect("start sh");
        // Keep the pipe open for the life of the process.
        std::mem::forget(child);
        let url = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "moto did not start ({bin}). Install it: python3 -m venv .venv-moto && .venv-moto/bin/pip install 'moto[server]', or set TRYON_MOTO_URL"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        url
    })
    .clone()
}

pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{}-{}-{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new("test", "test", None, None, "tests"))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// One test's world: its own bucket in moto and its own emulator.
pub struct World {
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    pub emulator: Emulator,
    pub emulator_url: String,
    pub svc: Service<S3Storage, Models>,
}

impl World {
    pub async fn new() -> World {
        // Metrics lines would flood the test output; their format has its own tests.
        Self::with_config(Config { emit_metrics: false, ..tryon_tools::wiring::nova_config() }).await
    }

    pub async fn with_config(config: Config) -> World {
        let moto = moto_url();
        let s3_sdk = sdk_config(&moto).await;
        let storage = S3Storage::from_sdk_config(&s3_sdk, true);
        let s3 =
            aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&s3_sdk).force_path_style(true).build());
        let bucket = unique("tryon");
        s3.create_bucket().bucket(&bucket).send().await.expect("create bucket");
        let emulator = Emulator::default();
        let (addr, _task) = emulator.clone().spawn("127.0.0.1:0".parse().unwrap()).await.expect("emulator");
        let emulator_url = format!("http://{addr}");
        let bedrock_sdk = sdk_config(&emulator_url).await;
        let model = Models::from_config(&bedrock_sdk, &config).await;
        World {
            s3,
            bucket,
            emulator,
            emulator_url,
            svc: Service { storage, model, events: tryon::adapters::events::NoEvents, config },
        }
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) {
        self.s3.put_object().bucket(&self.bucket).key(key).body(ByteStream::from(bytes)).send().await.expect("put");
    }

    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let out = self.s3.get_object().bucket(&self.bucket).key(key).send().await.ok()?;
        Some(out.body.collect().await.ok()?.to_vec())
    }

    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        let out = self.s3.list_objects_v2().bucket(&self.bucket).prefix(prefix).send().await.expect("list");
        let mut keys: Vec<String> = out.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect();
        keys.sort();
        keys
    }

    pub async fn status(&self, job: &str) -> Value {
        let bytes = self.get(&format!("outputs/{job}/status.json")).await.expect("status.json written");
        serde_json::from_slice(&bytes).expect("status.json is JSON")
    }

    /// Uploads the images, then the manifest (as clients do).
    pub async fn upload_job(&self, job: &str, files: &[(&str, Vec<u8>)], manifest: &Value) {
        for (name, bytes) in files {
            self.put(&format!("uploads/{job}/{name}"), bytes.clone()).await;
        }
        self.put(&format!("uploads/{job}/job.json"), serde_json::to_vec(manifest).unwrap()).await;
    }

    /// Delivers the S3 event for `key` to the real handler.
    pub async fn deliver(&self, key: &str) -> Result<Summary, InvocationError> {
        self.deliver_as(key, "req-1", Duration::from_secs(300)).await
    }

    pub async fn deliver_as(
        &self,
        key: &str,
        request_id: &str,
        time_left: Duration,
    ) -> Result<Summary, InvocationError> {
        let event = tryon_tools::sample_events::sample_put_event(&self.bucket, key, "\"etag\"", 100, "us-east-1");
        let deadline_ms =
            SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64 + time_left.as_millis() as u64;
        entry::handle(&self.svc, event, &Invocation::new(request_id, deadline_ms, Duration::from_secs(300))).await
    }

    /// Delivers any payload to the real handler.
    pub async fn deliver_payload(&self, payload: Value, request_id: &str) -> Result<Summary, InvocationError> {
        let deadline_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64 + 300_000;
        entry::handle(&self.svc, payload, &Invocation::new(request_id, deadline_ms, Duration::from_secs(300))).await
    }

    pub fn calls(&self) -> Vec<RecordedRequest> {
        self.emulator.requests()
    }
}

/// Sample inputs, small enough for debug builds.
pub fn person_jpeg() -> Vec<u8> {
    tryon_tools::samples::phone_jpeg(&tryon_tools::samples::person(420, 560), 6).unwrap()
}

pub fn garment_png() -> Vec<u8> {
    tryon_tools::samples::png_rgba(&tryon_tools::samples::garment(400))
}

pub fn mask_png() -> Vec<u8> {
    tryon_tools::samples::png_rgb(&tryon_tools::samples::torso_mask(420, 560))
}

/// A minimal HTTP/1.1 POST over a raw socket, for the emulator's control API.
pub async fn http_post(url: &str, path: &str, body: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = url.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(host).await.expect("connect");
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}
