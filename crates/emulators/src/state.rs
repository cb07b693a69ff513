//! The emulator's shared state: the fault queue, the request log and the model ids it serves.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::faults::Fault;
use super::log::RecordedRequest;
use super::quota::Quota;

#[derive(Default)]
pub(super) struct Shared {
    pub(super) faults: VecDeque<Fault>,
    pub(super) requests: Vec<RecordedRequest>,
    pub(super) counter: u64,
    /// Faults for the other backends' emulators, by backend name (`vertex-vto`,
    /// `gemini-image`, `bedrock-converse`, `google-auth`), as JSON each emulator parses.
    pub(super) backend_faults: HashMap<String, VecDeque<Value>>,
    /// Calls to the other backends' emulators, summarised (never base64).
    pub(super) backend_calls: Vec<Value>,
    /// Access tokens the emulated Google token endpoints issued, with their expiry.
    pub(super) tokens: HashMap<String, Instant>,
}

/// The emulator's state; clone it to share.
#[derive(Clone)]
pub struct Emulator {
    shared: Arc<Mutex<Shared>>,
    model_ids: Arc<Vec<String>>,
    /// The `InvokeModel` quota, when one is set ([`super::quota`]).
    quota: Arc<Mutex<Option<Quota>>>,
}

impl Default for Emulator {
    fn default() -> Self {
        Emulator::new(vec!["amazon.nova-canvas-v1:0".into(), "us.amazon.nova-2-omni-v1:0".into()])
    }
}

impl Emulator {
    /// Limits this emulator to `per_minute` model calls a minute (`None`: no limit).
    pub fn set_requests_per_minute(&self, per_minute: Option<f64>) {
        *self.quota.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = per_minute.map(Quota::new);
    }

    /// Whether a call arriving now is within the quota (it then counts against it).
    pub(super) fn admit(&self) -> bool {
        self.quota.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_mut().is_none_or(Quota::admit)
    }

    pub fn new(model_ids: Vec<String>) -> Self {
        Emulator { shared: Arc::default(), model_ids: Arc::new(model_ids), quota: Arc::default() }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn serves(&self, model_id: &str) -> bool {
        self.model_ids.iter().any(|m| m == model_id)
    }

    pub fn push_fault(&self, f: Fault) {
        self.lock().faults.push_back(f);
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    pub fn reset(&self) {
        let mut s = self.lock();
        s.faults.clear();
        s.requests.clear();
        s.backend_faults.clear();
        s.backend_calls.clear();
    }

    /// Queues a fault for the next call to `backend`'s emulator.
    pub fn push_backend_fault(&self, backend: &str, fault: Value) {
        self.lock().backend_faults.entry(backend.to_owned()).or_default().push_back(fault);
    }

    /// The next fault queued for `backend`, if any.
    pub(super) fn next_backend_fault(&self, backend: &str) -> Option<Value> {
        self.lock().backend_faults.get_mut(backend).and_then(VecDeque::pop_front)
    }

    /// Records a call to another backend's emulator (`{backend, path, status, body, …}`).
    pub(super) fn log_backend_call(&self, call: Value) {
        self.lock().backend_calls.push(call);
    }

    /// The calls to the other backends' emulators, in order.
    pub fn backend_calls(&self) -> Vec<Value> {
        self.lock().backend_calls.clone()
    }

    /// Issues an opaque access token valid for `ttl`.
    pub fn issue_token(&self, ttl: Duration) -> String {
        let mut s = self.lock();
        s.counter += 1;
        let token = format!("ya29.emulator-{:08x}-{:x}", s.counter, std::process::id());
        s.tokens.insert(token.clone(), Instant::now() + ttl);
        token
    }

    /// Whether `token` was issued here and has not expired.
    pub(super) fn token_state(&self, token: &str) -> TokenState {
        match self.lock().tokens.get(token) {
            None => TokenState::Unknown,
            Some(expiry) if *expiry <= Instant::now() => TokenState::Expired,
            Some(_) => TokenState::Valid,
        }
    }

    /// Makes every issued token expired (a test of refresh).
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for expiry in self.lock().tokens.values_mut() {
            *expiry = now;
        }
    }

    /// Starts a call: numbers it, takes the next fault and logs it as in flight.
    /// `record` is filled in with the request id and fault.
    pub(super) fn begin(&self, mut record: RecordedRequest) -> (usize, String, Option<Fault>) {
        let mut s = self.lock();
        s.counter += 1;
        let request_id = format!("{:08x}-e111-4a7e-8000-{:012x}", s.counter, std::process::id());
        let fault = s.faults.pop_front();
        record.request_id = request_id.clone();
        record.fault = fault.clone();
        s.requests.push(record);
        (s.requests.len() - 1, request_id, fault)
    }

    /// Ends call `index` in the log with the status answered, the body summary and the error.
    pub(super) fn finish(&self, index: usize, status: u16, summary: Value, error: Option<String>) {
        let mut s = self.lock();
        if let Some(r) = s.requests.get_mut(index) {
            r.status = status;
            r.body = summary;
            r.error = error;
        }
    }
}

/// What the emulator knows of a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TokenState {
    Valid,
    Expired,
    Unknown,
}
