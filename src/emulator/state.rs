//! The emulator's shared state: the fault queue, the request log and the model ids it serves.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use super::faults::Fault;
use super::log::RecordedRequest;

#[derive(Default)]
pub(super) struct Shared {
    pub(super) faults: VecDeque<Fault>,
    pub(super) requests: Vec<RecordedRequest>,
    pub(super) counter: u64,
}

/// The emulator's state; clone it to share.
#[derive(Clone)]
pub struct Emulator {
    shared: Arc<Mutex<Shared>>,
    model_ids: Arc<Vec<String>>,
}

impl Default for Emulator {
    fn default() -> Self {
        Emulator::new(vec!["amazon.nova-canvas-v1:0".into()])
    }
}

impl Emulator {
    pub fn new(model_ids: Vec<String>) -> Self {
        Emulator { shared: Arc::default(), model_ids: Arc::new(model_ids) }
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
