//! Faithful offline backends, one port for all: Nova Canvas (Bedrock Runtime `InvokeModel`
//! for `VIRTUAL_TRY_ON`), Nova 2 Omni (Bedrock `Converse`), Vertex AI Virtual Try-On
//! (`:predict`), Gemini image models (`:generateContent`) and Google's token endpoints (STS
//! exchange, impersonation). Each speaks its service's real wire protocol (paths, headers,
//! error bodies, status codes), validates as strictly as its reference, answers
//! deterministic images, and takes faults. The control API for tests:
//!
//! - `POST /_emulator/faults` queues Nova Canvas faults, `POST /_emulator/faults/{backend}`
//!   the others' (`bedrock-converse`, `vertex-vto`, `gemini-image`, `google-auth`), one
//!   object or an array, each used by one call;
//! - `GET /_emulator/requests` lists the Nova Canvas calls, `GET /_emulator/calls` the
//!   others' (images summarised, never base64);
//! - `POST /_emulator/tokens/expire` expires every token issued; `POST /_emulator/reset`
//!   clears the queues and logs;
//! - `POST /_emulator/retired` retires a model id (a JSON string) or several (an array),
//!   `GET /_emulator/retired` lists them, `DELETE /_emulator/retired/{model_id}` serves one again.
//!
//! Retired models: every route answers an id configured as retired with its platform's
//! "this model is gone" reply, before faults, quota and body checks (Bedrock: 404
//! `ResourceNotFoundException` "This model version has reached the end of its life. …";
//! Vertex: 404 `NOT_FOUND` "Publisher Model `…` was not found …"). Configure them with the
//! environment variable `EMULATOR_RETIRED_MODELS` ([`RETIRED_MODELS_ENV`], comma-separated
//! ids, read by [`Emulator::new`] and so by `tryon emulator` and every test world), with
//! [`Emulator::retire_model`] / [`Emulator::with_retired_models`], or with the route above.
//!
//! A crate of its own, independent of the function: its limits come from the references
//! ([`reference`](mod@reference)), so it checks the numbers the function plans with instead of echoing them.
//!
//! The rooms, each with one job (arrows are the only imports between them, no circles):
//!
//! - `state`: the shared [`Emulator`] (fault queues, request logs, model ids, retired ids,
//!   issued tokens, the quota, `EMULATOR_RETIRED_MODELS`) -> `faults`, `log`;
//! - `faults`: the Nova Canvas [`Fault`] types and the canned Bedrock error each one answers
//!   -> `bedrock`;
//! - `log`: the [`RecordedRequest`] and the body summary that replaces images -> `faults`;
//! - `bedrock`: Bedrock's error answer (`x-amzn-ErrorType`, `x-amzn-RequestId`) and its
//!   end-of-life message;
//! - `retired`: the control routes of retired model ids -> `state`;
//! - `server`: axum routes, the `InvokeModel` wire protocol and the control API -> all the others;
//! - `validate`: strict checks of the body against the Nova Canvas reference;
//! - `render`: the deterministic output images and mask -> `validate`;
//! - `quota`: a requests-per-minute quota on `InvokeModel` (`tryon emulator --requests-per-minute`);
//! - `converse/`: Bedrock `Converse` (its own validation and rendering) -> `bedrock`, `state`;
//! - `google/`: Vertex AI `:predict` and `:generateContent` -> `google_auth`, `state`;
//! - `google_auth`: Google's token endpoints and the bearer check -> `state`;
//! - `wif`: the Workload Identity Federation file whose token endpoint is here;
//! - [`reference`](mod@reference): the Nova Canvas limits and garment classes, from the reference;
//! - [`service_account`]: the emulator-only service-account key its JWT check trusts;
//! - `token_bucket`: the requests-per-minute rule `quota` and the capacity model share.

mod bedrock;
mod converse;
mod faults;
mod google;
mod google_auth;
mod log;
mod quota;
pub mod reference;
mod render;
mod retired;
mod server;
pub mod service_account;
mod state;
mod token_bucket;
mod validate;
mod wif;

pub use faults::Fault;
pub use log::RecordedRequest;
pub use reference::BodyRegion;
pub use state::{Emulator, RETIRED_MODELS_ENV};
pub use token_bucket::TokenBucket;
pub use wif::{external_account_json, AUDIENCE};
