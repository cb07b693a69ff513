//! The local-stack tier: the real handler and the real SDK clients against moto's S3 (and
//! EventBridge, SQS) and the emulators of every backend over HTTP (`tests/support`).
//! `cargo test` starts moto from `.venv-moto` itself unless `TRYON_MOTO_URL` names one.

#[path = "../fakes/mod.rs"]
mod fakes;
#[path = "../support/mod.rs"]
mod support;

mod batch_operations;
mod cache;
mod chains;
mod converse;
mod events;
mod google_auth;
mod google_emulator;
mod hostile;
mod integration;
mod multi;
mod quota_wait;
mod security;
