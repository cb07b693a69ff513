//! Faithful offline backends, one port for all: Nova Canvas (Bedrock Runtime `InvokeModel`
//! for `VIRTUAL_TRY_ON`), Nova 2 Omni (Bedrock `Converse`), Vertex AI Virtual Try-On
//! (`:predict`), Gemini image models on Vertex AI (`:generateContent`) and on the Gemini
//! Developer API (API key, `/v1beta/models/{model}:generateContent`), FASHN (`/v1/run`,
//! `/v1/status/{id}`, `/v1/credits`) and Google's token endpoints (STS exchange,
//! impersonation). Each speaks its service's real wire protocol (paths, headers, error
//! bodies, status codes), validates as strictly as its reference, answers deterministic
//! images, and takes faults. The control API for tests:
//!
//! - `POST /_emulator/faults` queues Nova Canvas faults, `POST /_emulator/faults/{backend}`
//!   the others' (`bedrock-converse`, `vertex-vto`, `gemini-image`, `gemini-api`, `fashn`,
//!   `google-auth`), one object or an array, each used by one call (a FASHN fault with
//!   `"on": "status"` by the next `/v1/status`, see [`FashnFault`]);
//! - `GET /_emulator/requests` lists the Nova Canvas calls, `GET /_emulator/calls` the
//!   others' (images summarised, never base64; keys masked);
//! - `POST /_emulator/tokens/expire` expires every token issued; `POST /_emulator/reset`
//!   clears the queues and logs and forgets FASHN's predictions and rate windows (keys,
//!   settings, credits, retired ids and model statuses are configuration and stay);
//! - `POST /_emulator/retired` retires a model id (a JSON string) or several (an array),
//!   `GET /_emulator/retired` lists them, `DELETE /_emulator/retired/{model_id}` serves one again;
//! - `GET`/`PUT /_emulator/keys/fashn` and `/_emulator/keys/gemini-api`: the keys each
//!   accepts ([`ApiKeys`]: `{"valid": [..] | null, "invalid": [..], "standard": [..]}`;
//!   default any non-empty key);
//! - `GET`/`PUT /_emulator/fashn/settings`: prediction time, rate and concurrency limits,
//!   retention, credits ([`FashnSettings`]); `DELETE /_emulator/fashn/predictions/{id}`
//!   loses a prediction;
//! - `GET /_emulator/gemini-api/models`, `PUT`/`DELETE /_emulator/gemini-api/models/{model}`:
//!   the Gemini API's `modelStatus` table ([`GeminiModelStatus`]).
//!
//! FASHN's URL outputs are served by the emulator itself at `GET /fashn-cdn/{id}/output_{n}.{png|jpeg}`.
//!
//! Retired models: every route answers an id configured as retired with its platform's
//! "this model is gone" reply, before faults, quota and body checks (Bedrock: 404
//! `ResourceNotFoundException` "This model version has reached the end of its life. …";
//! Vertex: 404 `NOT_FOUND` "Publisher Model `…` was not found …"; Gemini API: 404
//! `NOT_FOUND` "models/{model} is not found for API version v1beta, or is not supported for
//! generateContent. Call ListModels …"; FASHN, whose gone-model answer is NOT FOUND in its
//! reference: 400 `BadRequest` "Invalid request body: model_name '…' has been retired …",
//! after the key check). An id `gemini-api/{model}` or `fashn/{model}` retires it on that
//! platform only (the Gemini API shut down models Vertex AI still serves). Configure them with the
//! environment variable `EMULATOR_RETIRED_MODELS` ([`RETIRED_MODELS_ENV`], comma-separated
//! ids, read by [`Emulator::new`] and so by `tryon emulator` and every test world), with
//! [`Emulator::retire_model`] / [`Emulator::with_retired_models`], or with the route above.
//!
//! In code: [`Emulator::set_fashn_keys`], [`Emulator::set_fashn_settings`],
//! [`Emulator::set_fashn_credits`], [`Emulator::push_fashn_fault`],
//! [`Emulator::push_fashn_status_fault`], [`Emulator::lose_fashn_prediction`],
//! [`Emulator::set_gemini_api_keys`], [`Emulator::set_gemini_api_model_status`], and
//! [`Emulator::push_backend_fault`] with the JSON faults.
//!
//! A crate of its own, independent of the function: its limits come from the references
//! ([`reference`](mod@reference)), so it checks the numbers the function plans with instead of echoing them.
//!
//! The rooms, each with one job (arrows are the only imports between them, no circles):
//!
//! - `state`: the shared [`Emulator`] (fault queues, request logs, model ids, retired ids,
//!   issued tokens, the quota, `EMULATOR_RETIRED_MODELS`, FASHN's store, the API keys, the
//!   Gemini API's model table) -> `faults`, `log`, `keys`, `fashn_store`,
//!   `gemini_api_models`;
//! - `keys`: which API keys FASHN and the Gemini API accept ([`ApiKeys`]);
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
//! - `google/`: Vertex AI `:predict` and `:generateContent`, and (`google/gemini_api/`) the
//!   Gemini Developer API's `:generateContent`, the same validation with the differences in
//!   `google/dialect.rs` -> `google_auth`, `keys`, `state`;
//! - `fashn/`: the FASHN API (runs, statuses, credits, the CDN, its control routes; its
//!   pictures are `google/paint`'s) -> `keys`, `state`, `google::paint`;
//! - `google_auth`: Google's token endpoints and the bearer check -> `state`;
//! - `wif`: the Workload Identity Federation file whose token endpoint is here;
//! - [`reference`](mod@reference): the Nova Canvas limits and garment classes, from the reference;
//! - [`service_account`]: the emulator-only service-account key its JWT check trusts;
//! - `token_bucket`: the requests-per-minute rule `quota` and the capacity model share;
//! - `test_http` (tests only): raw HTTP/1.1 against a spawned emulator.

mod bedrock;
mod converse;
mod fashn;
mod fashn_store;
mod faults;
mod gemini_api_models;
mod google;
mod google_auth;
mod keys;
mod log;
mod quota;
pub mod reference;
mod render;
mod retired;
mod server;
pub mod service_account;
mod state;
#[cfg(test)]
mod test_http;
mod token_bucket;
mod validate;
mod wif;

pub use fashn::{FashnFault, FashnSettings, RateLimit, DEFAULT_CREDITS as FASHN_DEFAULT_CREDITS};
pub use faults::Fault;
pub use gemini_api_models::{ModelStatus as GeminiModelStatus, MODEL_STAGES};
pub use keys::{ApiKeys, KeyVerdict};
pub use log::RecordedRequest;
pub use reference::BodyRegion;
pub use state::{Emulator, RETIRED_MODELS_ENV};
pub use token_bucket::TokenBucket;
pub use wif::{external_account_json, AUDIENCE};
