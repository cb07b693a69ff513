//! In-memory ports for fast tests of the job rules: a store with S3's conditional-write
//! semantics and a scripted Nova Canvas. Either can "die": after the status reaches a given
//! stage every further call hangs, so a test can drop the job there, exactly as a process
//! killed at that point would leave the bucket.
#![allow(dead_code)]

pub mod events;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Notify;
use tryon::adapters::model::{Model, ModelCallError, ModelResponse};
use tryon::adapters::storage::{PutCondition, Storage, StorageError, StoredObject};
use tryon::core::backend::Backend;

/// Shared by the store and the model: once set, every call of either hangs.
#[derive(Default)]
pub struct Kill {
    at_stage: Mutex<Option<String>>,
    dead: AtomicBool,
    notify: Notify,
}

impl Kill {
    /// Dies right after `status.json` is written with this stage.
    pub fn at(&self, stage: &str) {
        *self.at_stage.lock().unwrap() = Some(stage.to_owned());
        self.dead.store(false, Ordering::SeqCst);
    }

    /// Waits until the process "died".
    pub async fn died(&self) {
        while !self.dead.load(Ordering::SeqCst) {
            let notified = self.notify.notified();
            if self.dead.load(Ordering::SeqCst) {
                break;
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
        }
    }

    /// A new process: calls go through again.
    pub fn revive(&self) {
        *self.at_stage.lock().unwrap() = None;
        self.dead.store(false, Ordering::SeqCst);
    }

    async fn hang_if_dead(&self) {
        if self.dead.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
    }

    fn after_put(&self, key: &str, body: &[u8]) {
        let stage = self.at_stage.lock().unwrap().clone();
        let Some(stage) = stage else { return };
        if key.ends_with("status.json")
            && serde_json::from_slice::<Value>(body).is_ok_and(|v| v["stage"].as_str() == Some(stage.as_str()))
        {
            self.dead.store(true, Ordering::SeqCst);
            self.notify.notify_waiters();
        }
    }
}

/// Key → (bytes, ETag).
type Objects = HashMap<String, (Vec<u8>, String)>;

/// A bucket in memory with S3's conditional writes (`If-None-Match: *`, `If-Match`).
#[derive(Default, Clone)]
pub struct MemoryStore {
    objects: Arc<Mutex<Objects>>,
    etags: Arc<AtomicU64>,
    /// Key suffixes whose next write fails (as S3 does with a 500), once each.
    failing: Arc<Mutex<Vec<String>>>,
    pub kill: Arc<Kill>,
}

impl MemoryStore {
    pub fn with_kill(kill: Arc<Kill>) -> Self {
        MemoryStore { kill, ..MemoryStore::default() }
    }

    /// The next write of a key ending in `suffix` fails.
    pub fn fail_next_put(&self, suffix: &str) {
        self.failing.lock().unwrap().push(suffix.to_owned());
    }

    pub fn insert(&self, key: &str, bytes: Vec<u8>) {
        let etag = format!("\"{}\"", self.etags.fetch_add(1, Ordering::SeqCst));
        self.objects.lock().unwrap().insert(key.to_owned(), (bytes, etag));
    }

    pub fn remove(&self, key: &str) {
        self.objects.lock().unwrap().remove(key);
    }

    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        self.objects.lock().unwrap().get(key).map(|(b, _)| b.clone())
    }

    pub fn json(&self, key: &str) -> Value {
        serde_json::from_slice(&self.object(key).unwrap_or_else(|| panic!("{key} exists"))).expect("JSON")
    }

    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let mut keys: Vec<String> =
            self.objects.lock().unwrap().keys().filter(|k| k.starts_with(prefix)).cloned().collect();
        keys.sort();
        keys
    }
}

impl Storage for MemoryStore {
    async fn delete(&self, _bucket: &str, key: &str) -> Result<(), StorageError> {
        self.kill.hang_if_dead().await;
        self.objects.lock().unwrap().remove(key);
        Ok(())
    }

    async fn get(&self, _bucket: &str, key: &str, max_bytes: u64) -> Result<StoredObject, StorageError> {
        self.kill.hang_if_dead().await;
        let found = self.objects.lock().unwrap().get(key).cloned();
        match found {
            None => Err(StorageError::NotFound),
            Some((bytes, _)) if bytes.len() as u64 > max_bytes => {
                Err(StorageError::TooLarge { size: bytes.len() as u64 })
            }
            Some((bytes, etag)) => Ok(StoredObject { bytes, etag, version_id: None }),
        }
    }

    async fn put(
        &self,
        _bucket: &str,
        key: &str,
        body: Vec<u8>,
        _content_type: &str,
        condition: PutCondition<'_>,
    ) -> Result<String, StorageError> {
        self.kill.hang_if_dead().await;
        {
            let mut failing = self.failing.lock().unwrap();
            if let Some(i) = failing.iter().position(|f| key.ends_with(f.as_str())) {
                failing.remove(i);
                return Err(StorageError::other(format!("injected failure writing {key}")));
            }
        }
        let etag = format!("\"{}\"", self.etags.fetch_add(1, Ordering::SeqCst));
        {
            let mut objects = self.objects.lock().unwrap();
            let current = objects.get(key).map(|(_, e)| e.clone());
            let allowed = match condition {
                PutCondition::Always => true,
                PutCondition::IfAbsent => current.is_none(),
                PutCondition::IfMatch(e) => current.as_deref() == Some(e),
            };
            if !allowed {
                return Err(StorageError::PreconditionFailed);
            }
            objects.insert(key.to_owned(), (body.clone(), etag.clone()));
        }
        self.kill.after_put(key, &body);
        Ok(etag)
    }
}

/// A request as sent: the backend and the body.
pub type Sent = (Backend, Vec<u8>);

/// Nova Canvas answering every request with `numberOfImages` copies of one PNG, or with
/// the failure scripted for the garment the request carries.
#[derive(Clone)]
pub struct ScriptedModel {
    pub reply_png: Vec<u8>,
    pub images: usize,
    pub calls: Arc<AtomicUsize>,
    pub kill: Arc<Kill>,
    /// (bytes of a garment's base64 that identify it, failure), each used once.
    failures: Arc<Mutex<Vec<(String, ModelCallError)>>>,
    /// (text a request carries, milliseconds its reply takes).
    delays: Arc<Mutex<Vec<(String, u64)>>>,
    /// Every request, with the backend it was sent to.
    pub sent: Arc<Mutex<Vec<Sent>>>,
}

impl ScriptedModel {
    pub fn new(kill: Arc<Kill>) -> Self {
        let img = image::RgbImage::from_pixel(400, 600, image::Rgb([90, 120, 200]));
        let mut png = Vec::new();
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("png");
        ScriptedModel {
            reply_png: png,
            images: 1,
            calls: Arc::default(),
            kill,
            failures: Arc::default(),
            delays: Arc::default(),
            sent: Arc::default(),
        }
    }

    /// The next request whose body contains `marker` fails with `kind`.
    pub fn fail_once(&self, marker: &str, kind: tryon::adapters::model::ModelFailureKind) {
        let e = ModelCallError {
            request_id: Some("scripted-failure".into()),
            ..ModelCallError::new(kind, format!("scripted {kind:?}"))
        };
        self.failures.lock().unwrap().push((marker.to_owned(), e));
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// The model id answered for `backend` (what `status.json` should record).
    pub fn model_id_of(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::NovaCanvas => "amazon.nova-canvas-v1:0",
            Backend::VertexVto => "virtual-try-on-001",
            Backend::GeminiImage => "gemini-3.1-flash-image",
            Backend::BedrockConverse => "us.amazon.nova-2-omni-v1:0",
        }
    }

    /// Requests whose body contains `marker` are answered after `ms` milliseconds.
    pub fn delay(&self, marker: &str, ms: u64) {
        self.delays.lock().unwrap().push((marker.to_owned(), ms));
    }
}

impl Model for ScriptedModel {
    fn model_id(&self, backend: Backend) -> &str {
        self.model_id_of(backend)
    }

    /// Every backend: each answers in its own reply shape.
    fn serves(&self, _backend: Backend) -> bool {
        true
    }

    async fn invoke(
        &self,
        backend: Backend,
        body: Vec<u8>,
        _timeout: Duration,
    ) -> Result<ModelResponse, ModelCallError> {
        self.kill.hang_if_dead().await;
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.sent.lock().unwrap().push((backend, body.clone()));
        let scripted = {
            let mut failures = self.failures.lock().unwrap();
            let text = String::from_utf8_lossy(&body);
            failures.iter().position(|(m, _)| text.contains(m.as_str())).map(|i| failures.remove(i).1)
        };
        let delay = {
            let text = String::from_utf8_lossy(&body);
            self.delays.lock().unwrap().iter().find(|(m, _)| text.contains(m.as_str())).map(|(_, ms)| *ms)
        };
        if let Some(ms) = delay {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if let Some(e) = scripted {
            return Err(e);
        }
        let request: Value = serde_json::from_slice(&body).unwrap_or_default();
        let b64 = base64_simd::STANDARD.encode_to_string(&self.reply_png);
        let reply = reply_of(backend, &request, b64, self.images);
        Ok(ModelResponse { body: serde_json::to_vec(&reply).expect("json"), request_id: Some("scripted".into()) })
    }
}

/// A successful reply in `backend`'s shape (per its reference) with `png` (base64) as
/// every requested image.
fn reply_of(backend: Backend, request: &Value, png: String, default_images: usize) -> Value {
    use serde_json::json;
    match backend {
        Backend::NovaCanvas => {
            let n = request["imageGenerationConfig"]["numberOfImages"].as_u64().map_or(default_images, |n| n as usize);
            // Nova returns the mask it used unless asked not to (reference §5).
            match request["virtualTryOnParams"]["returnMask"].as_bool() {
                Some(false) => json!({ "images": vec![png; n] }),
                _ => json!({ "images": vec![png.clone(); n], "maskImage": png }),
            }
        }
        Backend::VertexVto => {
            let n = request["parameters"]["sampleCount"].as_u64().unwrap_or(1) as usize;
            json!({ "predictions": vec![json!({"mimeType": "image/png", "bytesBase64Encoded": png}); n] })
        }
        Backend::GeminiImage => json!({
            "candidates": [{"index": 0, "finishReason": "STOP", "content": {"role": "model", "parts": [
                {"text": "Here is the picture."}, {"inlineData": {"mimeType": "image/png", "data": png}}
            ]}}],
            "usageMetadata": {"promptTokenCount": 2300, "candidatesTokenCount": 1120, "totalTokenCount": 3420}
        }),
        Backend::BedrockConverse => json!({
            "output": {"message": {"role": "assistant", "content": [{"image": {"format": "png", "source": {"bytes": png}}}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 1200, "outputTokens": 1600, "totalTokens": 2800}
        }),
    }
}

/// A [`MemoryStore`] whose writes hold one lock across a pause, as the local folder store
/// holds its lock across file writes: a write parked mid-way keeps everyone else waiting.
pub struct LockingStore {
    pub inner: MemoryStore,
    lock: tokio::sync::Mutex<()>,
    pause: Duration,
}

impl LockingStore {
    pub fn new(inner: MemoryStore, pause: Duration) -> Self {
        LockingStore { inner, lock: tokio::sync::Mutex::new(()), pause }
    }
}

impl Storage for LockingStore {
    async fn delete(&self, bucket: &str, key: &str) -> Result<(), StorageError> {
        self.inner.delete(bucket, key).await
    }

    async fn get(&self, bucket: &str, key: &str, max_bytes: u64) -> Result<StoredObject, StorageError> {
        self.inner.get(bucket, key, max_bytes).await
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        condition: PutCondition<'_>,
    ) -> Result<String, StorageError> {
        let _held = self.lock.lock().await;
        tokio::time::sleep(self.pause).await;
        self.inner.put(bucket, key, body, content_type, condition).await
    }
}

// --- S3 Batch Operations answers, as the tests read them. ---

/// `(taskId, resultCode, resultString)` of every result, as sent.
pub fn results(summary: &tryon::entry::Summary) -> Vec<(String, String, String)> {
    let r = summary.response();
    r["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {r}"))
        .iter()
        .map(|x| {
            let text = |f: &str| x[f].as_str().unwrap_or_else(|| panic!("{f}: {x}")).to_owned();
            (text("taskId"), text("resultCode"), text("resultString"))
        })
        .collect()
}

/// The one result of a one-task invocation: `(resultCode, resultString)`.
pub fn only(summary: &tryon::entry::Summary) -> (String, String) {
    let mut r = results(summary);
    assert_eq!(r.len(), 1, "{r:?}");
    let (_, code, text) = r.pop().unwrap();
    (code, text)
}
