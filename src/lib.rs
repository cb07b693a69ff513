//! tryon-lambda: S3 uploads in, Amazon Nova Canvas virtual try-on images out.
//!
//! The pure core (`event`, `manifest`, `prepare`, `nova`, `status`) has no AWS types; `job`
//! runs one job over the `ports`; `aws` and `local` implement the ports; `handler` is the
//! Lambda entry; `emulator` is the offline Nova Canvas used by tests and `tryon run`.

pub mod aws;
pub mod bench;
pub mod budget;
pub mod config;
pub mod emulator;
pub mod error;
pub mod event;
pub mod handler;
pub mod headers;
pub mod job;
pub mod jpeg;
pub mod limits;
pub mod local;
pub mod manifest;
pub mod memory;
pub mod metrics;
pub mod nova;
pub mod plan;
pub mod ports;
pub mod prepare;
pub mod samples;
pub mod sheet;
pub mod status;
