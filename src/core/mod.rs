//! The pure core: what a job is and what it makes, with no AWS types and no I/O. The
//! pipeline drives it; the backends and adapters build on it, never the other way.
//!
//! - [`manifest`]: `job.json` validated (every problem at once);
//! - [`backend`]: the backends as facts (names, the images each accepts);
//! - [`catalog`]: every model's lifecycle, replacement and price (`models.toml`);
//! - [`image`]: untrusted upload bytes in, what a model accepts out, and back;
//! - [`status`]: `status.json`, the claim rules and dead attempts;
//! - [`sheet`]: the comparison sheet;
//! - [`result_cache`]: the result cache's keys and self-verifying entries;
//! - [`completion_event`]: the event a finished job announces;
//! - [`metrics`]: the EMF line;
//! - [`error`]: the one error type and its stable codes;
//! - [`budget`], [`limits`], [`input_limits`]: the memory budget, every fixed limit, and the
//!   caps a deployment configures;
//! - [`digest`]: the one SHA-256.

pub mod backend;
pub mod budget;
pub mod catalog;
pub mod completion_event;
pub mod digest;
pub mod error;
pub mod image;
pub mod input_limits;
pub mod limits;
pub mod manifest;
pub mod metrics;
pub mod result_cache;
pub mod sheet;
pub mod status;
