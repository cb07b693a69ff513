//! Vertex AI for the Google backends (`vertex-vto` `:predict`, `gemini-image`
//! `:generateContent`): the transport and the Google credentials it carries.
//!
//! - `auth`: the credentials document from its source, turned into (cached) token headers
//!   by `google-cloud-auth`;
//! - `client`: [`VertexClient`], URLs, time bounds, retries, the 401 refresh -> `auth`, `errors`;
//! - `errors`: Google's error bodies and statuses on the model port;

mod auth;
mod client;
mod errors;

pub use client::VertexClient;
