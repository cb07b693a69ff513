//! The ways out of the pipeline, each port beside its adapters: [`storage`] (S3),
//! [`model`] (Bedrock, Vertex AI), [`events`] (EventBridge). Ports take and give plain
//! types; the adapters alone know the SDKs.

pub mod events;
pub mod model;
pub mod storage;

/// The raw HTTP reply the AWS SDKs keep on a service error (its status, for mapping).
pub(crate) type HttpResponse = aws_smithy_runtime_api::client::orchestrator::HttpResponse;

mod sdk_mapping_tests;
