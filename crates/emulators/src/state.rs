//! The emulator's shared state: the fault queue, the request log, the model ids it serves,
//! the ids it answers as retired, and the FASHN and Gemini API emulators' memory and keys.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::fashn_store::Store as FashnStore;
use super::faults::Fault;
use super::gemini_api_models::ModelStatus;
use super::keys::ApiKeys;
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
    /// Model ids every route answers as retired (configuration: `reset` keeps them).
    pub(super) retired: BTreeSet<String>,
    /// The FASHN emulator's predictions, rate windows, settings and credits (`reset`
    /// forgets the predictions and windows only).
    pub(super) fashn: FashnStore,
    /// Keys FASHN and the Gemini API accept (configuration).
    pub(super) fashn_keys: ApiKeys,
    pub(super) gemini_api_keys: ApiKeys,
    /// `modelStatus` overrides of the Gemini API's model table (configuration).
    pub(super) gemini_api_models: std::collections::BTreeMap<String, ModelStatus>,
}

/// The environment variable whose comma-separated model ids an emulator answers as retired
/// (read by [`Emulator::new`]).
pub const RETIRED_MODELS_ENV: &str = "EMULATOR_RETIRED_MODELS";

/// The ids of a comma-separated list, trimmed, empty entries skipped.
pub(super) fn parse_ids(list: &str) -> impl Iterator<Item = String> + '_ {
    list.split(',').map(str::trim).filter(|id| !id.is_empty()).map(str::to_owned)
}

/// The ids [`RETIRED_MODELS_ENV`] names (none when it is unset or not Unicode).
fn retired_from_env() -> Vec<String> {
    std::env::var(RETIRED_MODELS_ENV).map(|v| parse_ids(&v).collect()).unwrap_or_default()
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

    /// An emulator serving `model_ids` on `InvokeModel` and `Converse`, with the ids of
    /// `EMULATOR_RETIRED_MODELS` (comma-separated) retired on every route.
    pub fn new(model_ids: Vec<String>) -> Self {
        let emu = Emulator { shared: Arc::default(), model_ids: Arc::new(model_ids), quota: Arc::default() };
        emu.lock().retired.extend(retired_from_env());
        emu
    }

    /// Answers `model_id` as retired on every route from now on: Bedrock's 404
    /// ResourceNotFoundException "end of its life", Vertex's 404 NOT_FOUND publisher model.
    pub fn retire_model(&self, model_id: impl Into<String>) {
        self.lock().retired.insert(model_id.into());
    }

    /// This emulator with `model_ids` retired too (see [`Emulator::retire_model`]).
    pub fn with_retired_models<I, S>(self, model_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.lock().retired.extend(model_ids.into_iter().map(Into::into));
        self
    }

    /// Serves `model_id` again if it was retired; whether it was.
    pub fn unretire_model(&self, model_id: &str) -> bool {
        self.lock().retired.remove(model_id)
    }

    /// The retired model ids, sorted.
    pub fn retired_models(&self) -> Vec<String> {
        self.lock().retired.iter().cloned().collect()
    }

    /// Whether `model_id` is answered as retired.
    pub(super) fn is_retired(&self, model_id: &str) -> bool {
        self.lock().retired.contains(model_id)
    }

    /// Whether `model_id` is answered as retired on `platform` (`gemini-api`, `fashn`): its
    /// plain id retires it everywhere, `{platform}/{model_id}` there only (the Gemini API
    /// shut models down that Vertex AI still serves, Gemini reference §11).
    pub(super) fn is_retired_on(&self, platform: &str, model_id: &str) -> bool {
        let s = self.lock();
        s.retired.contains(model_id) || s.retired.contains(&format!("{platform}/{model_id}"))
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
        s.fashn.clear();
    }

    /// Queues a fault for the next call to `backend`'s emulator.
    pub fn push_backend_fault(&self, backend: &str, fault: Value) {
        self.lock().backend_faults.entry(backend.to_owned()).or_default().push_back(fault);
    }

    /// The next fault queued for `backend`, if any.
    pub(super) fn next_backend_fault(&self, backend: &str) -> Option<Value> {
        self.lock().backend_faults.get_mut(backend).and_then(VecDeque::pop_front)
    }

    /// The first fault queued for `backend` that `applies` to this call, taken from the
    /// queue (faults for other calls keep their place).
    pub(super) fn take_backend_fault_where(&self, backend: &str, applies: impl Fn(&Value) -> bool) -> Option<Value> {
        let mut s = self.lock();
        let queue = s.backend_faults.get_mut(backend)?;
        let at = queue.iter().position(applies)?;
        queue.remove(at)
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

    /// Starts a call: numbers it, takes the next fault (if `take_fault`) and logs it as in
    /// flight. `record` is filled in with the request id and fault.
    pub(super) fn begin(&self, mut record: RecordedRequest, take_fault: bool) -> (usize, String, Option<Fault>) {
        let mut s = self.lock();
        s.counter += 1;
        let request_id = format!("{:08x}-e111-4a7e-8000-{:012x}", s.counter, std::process::id());
        let fault = if take_fault { s.faults.pop_front() } else { None };
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
