//! tryon-lambda: S3 uploads in, Amazon Nova Canvas virtual try-on images out.
//!
//! The pure core (`event`, `manifest`, `image`, `nova`, `status`) has no AWS types; `job`
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
pub mod image;
pub mod job;
pub mod limits;
pub mod local;
pub mod manifest;
pub mod memory;
pub mod metrics;
pub mod multi;
pub mod nova;
pub mod plan;
pub mod ports;
pub mod samples;
pub mod sheet;
pub mod status;
