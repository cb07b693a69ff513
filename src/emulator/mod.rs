//! A faithful offline Nova Canvas: Bedrock Runtime `InvokeModel` for `VIRTUAL_TRY_ON` with
//! the real wire protocol (percent-encoded model id in the path, `x-amzn-RequestId`,
//! `x-amzn-ErrorType`, JSON error bodies, status codes), validation as strict as the
//! reference, deterministic output, and a control API for tests:
//!
//! - `POST /_emulator/faults` queues faults (one object or an array), each used by one call;
//! - `GET /_emulator/requests` lists the calls received (images summarised, never base64);
//! - `POST /_emulator/reset` clears both.
//!
//! Tooling only: the Lambda binary never uses it.
//!
//! The rooms, each with one job (arrows are the only imports between them, no circles):
//!
//! - `state`: the shared [`Emulator`] (fault queue, request log, model ids) -> `faults`, `log`;
//! - `faults`: the [`Fault`] types and the canned Bedrock error each one answers;
//! - `log`: the [`RecordedRequest`] and the body summary that replaces images -> `faults`;
//! - `server`: axum routes, the wire protocol and the control API -> all the others;
//! - `validate`: strict checks of the body against the Nova Canvas reference;
//! - `render`: the deterministic output images and mask -> `validate`.

mod converse;
mod faults;
mod google;
mod google_auth;
mod log;
mod quota;
mod render;
mod server;
mod state;
mod validate;
mod wif;

pub use faults::Fault;
pub use log::RecordedRequest;
pub use state::Emulator;
pub use wif::{external_account_json, local_environment};
