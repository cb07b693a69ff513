//! tryon-lambda: person and garment photos uploaded to S3 in, virtual try-on images out.
//!
//! The folders are the architecture; each imports only those below it:
//!
//! - [`entry`]: the Lambda entry: incoming triggers ([`entry::trigger`]) to jobs, one
//!   result per invocation;
//! - [`pipeline`]: one job from its manifest to its recorded outcome, over the ports;
//! - [`backends`]: one folder per try-on model: its options and their checks, request,
//!   reply, failures and price (pure);
//! - [`adapters`]: the ports (storage, model, events), each beside its adapters;
//! - [`config`]: one struct read once from the environment;
//! - [`core`]: the pure core (manifest, images, status, sheet, cache keys, events);
//! - [`compose`]: the composition root that wires the adapters into the pipeline.

pub mod adapters;
pub mod backends;
pub mod compose;
pub mod config;
pub mod core;
pub mod entry;
pub mod pipeline;
