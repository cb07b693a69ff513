//! A capacity model you can run: the deployed system simulated in virtual time, so a burst of
//! jobs can be sized before it is sent. Deterministic (one seeded generator), discrete-event,
//! fast enough for 100,000 jobs in well under a second in a release build.
//!
//! What it models, each rule with its source, is in docs/capacity.md. The rooms:
//!
//! - [`params`]: every setting, with the defaults of template.yaml and the function's table;
//! - `rng`: the seeded generator and the latency distribution;
//! - the model's requests-per-minute quota: the emulators' token bucket
//!   ([`tryon_emulators::TokenBucket`]), so simulated and measured bursts meet one rule;
//! - `sim`: the event loop: uploads, Lambda's asynchronous queue or SQS with its event source
//!   mapping, the function (preparation, the SDK's attempts, our transient/permanent decision
//!   and `MAX_ATTEMPTS`), and the figures it counts;
//! - [`report`]: the figures as a table;
//! - [`sizing`]: the formula from the quota to the template's concurrency settings.

pub mod params;
pub mod report;
mod rng;
mod sim;
pub mod sizing;

pub use params::{Params, Trigger};
pub use report::Figures;
pub use sim::simulate;
pub use tryon_emulators::TokenBucket;

#[cfg(test)]
mod tests;
