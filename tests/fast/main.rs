//! The fast tier: the pipeline and its rules in memory (a store with S3's conditional-write
//! semantics and a scripted model, `tests/fakes`), the house rules read from the source, the
//! documents held to the code. No moto, no HTTP, no built binary: `scripts/test.sh fast`.

#[path = "../fakes/mod.rs"]
mod fakes;

mod architecture;
mod backends;
mod batch_operations;
mod cache;
mod chains;
mod events;
mod fidelity;
mod fixtures;
mod fuzz;
mod pipeline;
mod recovery;
mod replies;
