//! tryon-lambda: S3 uploads in, Amazon Nova Canvas virtual try-on images out.
//!
//! The pure core (`event`, `manifest`, `plan`, `image`, `nova`, `status`, `sheet`,
//! `completion`) has no AWS types; `job` runs one job over the `ports`; `aws` implements them
//! for S3 and Bedrock, `eventbridge` for completion events; `handler` is the Lambda entry. With the `tools` feature (never in the function's
//! build): `local` (a folder as the bucket), `emulator` (the offline Nova Canvas), `bench`
//! and `samples`, for the `tryon` command and the tests.

pub mod aws;
pub mod backend;
pub mod budget;
pub mod cache;
pub mod catalog;
pub mod completion;
pub mod config;
pub mod converse_client;
pub mod digest;
pub mod error;
pub mod event;
pub mod eventbridge;
pub mod google;
pub mod handler;
pub mod image;
pub mod job;
pub mod limits;
pub mod manifest;
pub mod memory;
pub mod metrics;
pub mod models;
pub mod quota_wait;

pub mod plan;
pub mod ports;
pub mod sheet;
pub mod status;
