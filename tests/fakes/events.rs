//! A bus in memory: records every completion event it accepts and, at the moment of each
//! publication, checks the bucket as a consumer reading it would find it: `status.json` final,
//! with this event's id, and every output the event names present. It can refuse the next
//! publications, as a bus that is down or refuses the entry does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tryon::adapters::events::{Events, EventsError};
use tryon::core::completion_event::CompletionEvent;

use super::MemoryStore;

#[derive(Clone)]
pub struct EventRecorder {
    store: MemoryStore,
    /// The details of the accepted events, in order.
    pub accepted: Arc<Mutex<Vec<Value>>>,
    /// What a consumer would have found wrong when an event arrived.
    pub violations: Arc<Mutex<Vec<String>>>,
    /// Publications tried, accepted or not.
    pub tries: Arc<AtomicUsize>,
    refuse: Arc<AtomicUsize>,
}

impl EventRecorder {
    /// A bus whose consumers read `store`.
    pub fn new(store: MemoryStore) -> Self {
        EventRecorder {
            store,
            accepted: Arc::default(),
            violations: Arc::default(),
            tries: Arc::default(),
            refuse: Arc::default(),
        }
    }

    /// The next `n` publications fail.
    pub fn refuse_next(&self, n: usize) {
        self.refuse.store(n, Ordering::SeqCst);
    }

    pub fn events(&self) -> Vec<Value> {
        self.accepted.lock().unwrap().clone()
    }

    pub fn violations(&self) -> Vec<String> {
        self.violations.lock().unwrap().clone()
    }

    fn check(&self, event: &CompletionEvent, detail: &Value) {
        let mut wrong = self.violations.lock().unwrap();
        let status_key = detail["outputs"]["status"].as_str().unwrap_or_default();
        let Some(bytes) = self.store.object(status_key) else {
            wrong.push(format!("{}: no status.json at {status_key}", event.event_id()));
            return;
        };
        let status: Value = serde_json::from_slice(&bytes).unwrap_or_default();
        if status["state"] != detail["state"] {
            wrong.push(format!("event says {} but status.json says {}", detail["state"], status["state"]));
        }
        if status["completionEvent"]["eventId"] != detail["eventId"] {
            wrong.push(format!("status.json does not record event {}", detail["eventId"]));
        }
        let outputs = &detail["outputs"];
        let mut keys: Vec<&Value> = outputs["images"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
        keys.extend([&outputs["mask"], &outputs["sheet"]].into_iter().filter(|k| !k.is_null()));
        for key in keys {
            let key = key.as_str().unwrap_or_default();
            if self.store.object(key).is_none() {
                wrong.push(format!("event {} names {key}, which does not exist yet", event.event_id()));
            }
        }
    }
}

impl Events for EventRecorder {
    fn enabled(&self) -> bool {
        true
    }

    async fn publish(&self, event: &CompletionEvent) -> Result<(), EventsError> {
        self.tries.fetch_add(1, Ordering::SeqCst);
        let refused = self.refuse.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        if refused {
            return Err(EventsError("scripted: the bus is unavailable".into()));
        }
        let detail: Value = serde_json::from_str(&event.detail_json()).expect("the detail is JSON");
        assert_eq!(detail["eventId"], event.event_id());
        self.check(event, &detail);
        self.accepted.lock().unwrap().push(detail);
        Ok(())
    }
}
