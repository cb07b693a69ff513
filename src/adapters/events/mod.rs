//! Completion events: the port a finished job is announced through, and its EventBridge
//! adapter. Events off (`EVENT_BUS_NAME` unset) is [`NoEvents`].

pub mod eventbridge;

use std::future::Future;

use crate::core::completion_event::CompletionEvent;

/// Why a completion event was not accepted (the SDK failed, or the bus refused the entry).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EventsError(pub String);

/// Where completion events go (an EventBridge bus), or nowhere.
pub trait Events: Send + Sync {
    /// Whether events are published at all. When `false`, nothing about events is recorded
    /// and [`Events::publish`] is never called.
    fn enabled(&self) -> bool;

    /// Puts one event; `Ok` only once the bus accepted it.
    fn publish(&self, event: &CompletionEvent) -> impl Future<Output = Result<(), EventsError>> + Send;
}

/// Events switched off (`EVENT_BUS_NAME` unset or empty).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoEvents;

impl Events for NoEvents {
    fn enabled(&self) -> bool {
        false
    }

    async fn publish(&self, _event: &CompletionEvent) -> Result<(), EventsError> {
        Err(EventsError("completion events are switched off".into()))
    }
}

/// An adapter that may be absent: `None` is events off.
impl<E: Events> Events for Option<E> {
    fn enabled(&self) -> bool {
        self.as_ref().is_some_and(Events::enabled)
    }

    async fn publish(&self, event: &CompletionEvent) -> Result<(), EventsError> {
        match self {
            Some(e) => e.publish(event).await,
            None => NoEvents.publish(event).await,
        }
    }
}
