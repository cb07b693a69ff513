//! One job, from its manifest to its recorded outcome, over the storage and model ports.
//! One pipeline for every job shape; each room does one thing:
//!
//! - [`service`]: the dependencies and the entry for one announced object;
//! - [`run`]: manifest → claim → plan → calls → record;
//! - [`claim`]: the rules of `status.json` (claim, lease, checkpoints, dead attempts);
//! - [`announce`]: the completion event of a finished job, published after its record;
//! - [`runner`]: the calls of a job (one, variants, outfit steps), each checkpointed;
//! - [`call`]: one paid model call, its request and its written outputs;
//! - [`chain`]: which backend of an item's chain is called next, and why the others were not;
//! - [`cache_lookup`]: the result cache's lookups and stores around that call;
//! - [`conclude`]: what the calls add up to, and the comparison sheet;
//! - [`encoding`]: the request-encoding policy; [`keys`]: the bucket layout;
//! - [`share`]: sharing the memory budget; [`objects`]: reading inputs, writing outputs;
//!   [`measure`]: figures for `status.json`; [`preflight`]: every input of a job of several
//!   calls checked before the first is paid; [`plan`]: a manifest into its calls (one, variants,
//!   outfit steps), every check before anything is paid.

mod announce;
mod cache_lookup;
mod call;
mod chain;
mod claim;
mod conclude;
pub mod encoding;
pub mod keys;
mod measure;
mod objects;
pub mod plan;
mod preflight;
mod run;
mod runner;
mod service;
mod share;

pub use encoding::{build_body, choose_encoding, subsample, EncodedSizes};
pub use keys::job_id;
pub use keys::{mask_key, result_key, CallPlace, JobPaths};
pub use service::{ObjectCreated, Outcome, Service};
