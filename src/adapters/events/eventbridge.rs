//! The [`Events`] port on Amazon EventBridge: one `PutEvents` entry per completion event, on
//! the bus `EVENT_BUS_NAME` names. The endpoint comes from the SDK's own variables
//! (`AWS_ENDPOINT_URL_EVENTBRIDGE`, `AWS_ENDPOINT_URL`).

use aws_sdk_eventbridge::error::ProvideErrorMetadata;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use aws_smithy_types::error::display::DisplayErrorContext;
use tracing::{info, warn};

use crate::adapters::events::{Events, EventsError};
use crate::core::completion_event::CompletionEvent;

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

/// The request sent and the bus's answers, through the real client with canned replies.
#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aws_config::{BehaviorVersion, Region, SdkConfig};
    use aws_sdk_eventbridge::config::{Credentials, SharedCredentialsProvider, SharedHttpClient};
    use aws_smithy_http_client::test_util::capture_request;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::retry::RetryConfig;
    use serde_json::{json, Value};

    use super::*;
    use crate::core::status::Status;

    fn events(reply: &str) -> (EventBridgeEvents, aws_smithy_http_client::test_util::CaptureRequestReceiver) {
        let (http, request) =
            capture_request(Some(http::Response::builder().status(200).body(SdkBody::from(reply)).unwrap()));
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new("AKID", "SECRET", None, None, "t")))
            .endpoint_url("http://events.test")
            .http_client(SharedHttpClient::new(http))
            .retry_config(RetryConfig::standard().with_initial_backoff(Duration::from_millis(1)))
            .build();
        (EventBridgeEvents::from_sdk_config(&sdk, "shop-bus"), request)
    }

    fn event() -> CompletionEvent {
        let status: Status = serde_json::from_value(json!({
            "jobId": "j", "state": "succeeded", "manifest": {"bucket": "b", "key": "uploads/j/job.json", "etag": "\"e\""}
        }))
        .unwrap();
        CompletionEvent::of(&status, "outputs/j/status.json").unwrap()
    }

    #[tokio::test]
    async fn one_entry_on_the_named_bus_with_our_source_and_detail() {
        let (bus, request) = events(r#"{"FailedEntryCount": 0, "Entries": [{"EventId": "x"}]}"#);
        bus.publish(&event()).await.unwrap();
        let sent = request.expect_request();
        assert_eq!(sent.headers().get("x-amz-target"), Some("AWSEvents.PutEvents"));
        let body: Value = serde_json::from_slice(sent.body().bytes().unwrap()).unwrap();
        let entries = body["Entries"].as_array().unwrap();
        assert_eq!(entries.len(), 1);
        let e = &entries[0];
        assert_eq!((e["EventBusName"].as_str(), e["Source"].as_str()), (Some("shop-bus"), Some("tryon-lambda")));
        assert_eq!(e["DetailType"], "Try-On Job Completed");
        let detail: Value = serde_json::from_str(e["Detail"].as_str().unwrap()).unwrap();
        assert_eq!(detail["eventId"], crate::core::completion_event::event_id("b", "j", "\"e\""));
    }

    #[tokio::test]
    async fn a_refused_entry_is_an_error_naming_the_reason() {
        let reply =
            r#"{"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try later"}]}"#;
        let (bus, _request) = events(reply);
        let e = bus.publish(&event()).await.unwrap_err();
        assert!(e.0.contains("shop-bus refused") && e.0.contains("InternalFailure: try later"), "{e}");
    }
}
