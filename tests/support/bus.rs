//! EventBridge → rule → SQS against moto, for the tests of completion events: a bus whose
//! rule targets a queue, the queue drained, the world's service with events on a bus.

use serde_json::{json, Value};
use tryon::core::completion_event::{DETAIL_TYPE, SOURCE};
use tryon::entry::trigger::ObjectCreated;
use tryon::pipeline::Service;

use aws_sdk_sqs::Client as Sqs;
use tryon::adapters::events::eventbridge::EventBridgeEvents;
use tryon::adapters::model::transports::Models;
use tryon::adapters::storage::s3::S3Storage;

use super::World;

pub async fn sdk() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new("test", "test", None, None, "tests"))
        .endpoint_url(super::moto_url())
        .load()
        .await
}

/// A bus with a rule on our source that targets a new queue; returns the bus and queue URL.
pub async fn bus_to_queue(name: &str) -> (String, String) {
    let sdk = sdk().await;
    let eb = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = Sqs::new(&sdk);
    eb.create_event_bus().name(name).send().await.expect("create bus");
    let url = sqs.create_queue().queue_name(name).send().await.expect("queue").queue_url.unwrap();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue arn");
    let arn = attrs.attributes().and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)).unwrap();
    let pattern = json!({"source": [SOURCE], "detail-type": [DETAIL_TYPE]}).to_string();
    eb.put_rule().name("done").event_bus_name(name).event_pattern(pattern).send().await.expect("rule");
    let target = aws_sdk_eventbridge::types::Target::builder().id("q").arn(arn).build().unwrap();
    eb.put_targets().rule("done").event_bus_name(name).targets(target).send().await.expect("target");
    (name.to_owned(), url)
}

/// Every message in the queue, received until it stays empty.
pub async fn drain(url: &str) -> Vec<Value> {
    let sqs = Sqs::new(&sdk().await);
    let mut all = Vec::new();
    loop {
        let out = sqs.receive_message().queue_url(url).max_number_of_messages(10).send().await.expect("receive");
        let messages = out.messages();
        if messages.is_empty() {
            return all;
        }
        for m in messages {
            all.push(serde_json::from_str(m.body().unwrap()).expect("an EventBridge event"));
            sqs.delete_message().queue_url(url).receipt_handle(m.receipt_handle().unwrap()).send().await.unwrap();
        }
    }
}

/// The world's service (moto S3, the emulator) with events on `bus` through the real adapter.
pub async fn with_events(w: &World, bus: &str) -> Service<S3Storage, Models, EventBridgeEvents> {
    Service {
        storage: w.svc.storage.clone(),
        model: w.svc.model.clone(),
        events: EventBridgeEvents::from_sdk_config(&sdk().await, bus),
        config: w.svc.config.clone(),
    }
}

pub fn files() -> Vec<(&'static str, Vec<u8>)> {
    vec![("person.jpg", super::person_jpeg()), ("hoodie.png", super::garment_png())]
}

pub fn object(bucket: &str, job: &str) -> ObjectCreated {
    ObjectCreated {
        bucket: bucket.into(),
        key: format!("uploads/{job}/job.json"),
        etag: None,
        version_id: None,
        raw_key: None,
    }
}
