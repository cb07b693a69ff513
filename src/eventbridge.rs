//! The [`Events`] port on Amazon EventBridge: one `PutEvents` entry per completion event, on
//! the bus `EVENT_BUS_NAME` names. The endpoint comes from the SDK's own variables
//! (`AWS_ENDPOINT_URL_EVENTBRIDGE`, `AWS_ENDPOINT_URL`).

use aws_sdk_eventbridge::error::ProvideErrorMetadata;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use aws_smithy_types::error::display::DisplayErrorContext;
use tracing::{info, warn};

use crate::completion::CompletionEvent;
use crate::ports::{Events, EventsError};

/// Completion events on one bus.
#[derive(Debug, Clone)]
pub struct EventBridgeEvents {
    client: Client,
    bus: String,
}

impl EventBridgeEvents {
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig, bus: &str) -> Self {
        EventBridgeEvents { client: Client::new(sdk), bus: bus.to_owned() }
    }

    /// The adapter for `bus` (a name or ARN), or `None` when events are off.
    pub fn for_bus(sdk: &aws_config::SdkConfig, bus: Option<&str>) -> Option<Self> {
        bus.map(|b| Self::from_sdk_config(sdk, b))
    }
}

impl Events for EventBridgeEvents {
    fn enabled(&self) -> bool {
        true
    }

    async fn publish(&self, event: &CompletionEvent) -> Result<(), EventsError> {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(event.source)
            .detail_type(event.detail_type)
            .detail(event.detail_json())
            .build();
        let out = self.client.put_events().entries(entry).send().await.map_err(|e| {
            let code = e.code().unwrap_or("no code").to_owned();
            EventsError(format!("PutEvents on {} failed: {code}: {}", self.bus, DisplayErrorContext(&e)))
        })?;
        if out.failed_entry_count() > 0 {
            let first = out.entries().iter().find(|e| e.error_code().is_some());
            let why = first.map_or("no reason given".to_owned(), |e| {
                format!("{}: {}", e.error_code().unwrap_or_default(), e.error_message().unwrap_or_default())
            });
            warn!(bus = %self.bus, event_id = event.event_id(), %why, "the bus refused the completion event");
            return Err(EventsError(format!("the bus {} refused the completion event ({why})", self.bus)));
        }
        let id = out.entries().first().and_then(|e| e.event_id()).unwrap_or_default();
        info!(bus = %self.bus, event_id = event.event_id(), eventbridge_id = id, "completion event published");
        Ok(())
    }
}
