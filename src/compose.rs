//! The composition root: the one place the Lambda's adapters are built from the environment
//! and handed to the pipeline. `main.rs` calls [`service`] once at init.

use aws_config::BehaviorVersion;

use crate::adapters::events::eventbridge::EventBridgeEvents;
use crate::adapters::model::transports::Models;
use crate::adapters::storage::s3::S3Storage;
use crate::config::Config;
use crate::pipeline::Service;

/// The Lambda's service: S3, the models, and completion events on `EVENT_BUS_NAME` (none
/// when it is unset).
pub type LambdaService = Service<S3Storage, Models, Option<EventBridgeEvents>>;

/// Builds the Lambda's service from the environment's SDK configuration.
pub async fn service(config: Config) -> LambdaService {
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let storage = S3Storage::from_sdk_config(&sdk, config.s3_force_path_style);
    let model = Models::from_config(&sdk, &config).await;
    let events = EventBridgeEvents::for_bus(&sdk, config.event_bus_name.as_deref());
    let service = Service { storage, model, events, config };
    service.log_model_lifecycle();
    service
}
