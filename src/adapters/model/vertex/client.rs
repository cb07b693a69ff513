//! The Vertex AI transport: `:predict` (Virtual Try-On) and `:generateContent` (Gemini
//! image) over HTTPS with a Google access token, bounded in time, retrying what Google says
//! to retry. Bodies go out and come back as bytes: the codecs in `backend` own their shape.

use std::sync::Arc;
use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use tokio::time::Instant;

use super::auth::TokenSource;
use super::errors::{chain, http_error, out_of_time, retryable, transport_error};
use crate::adapters::model::{ModelCallError, ModelFailureKind, ModelResponse};
use crate::config::GoogleConfig;
use crate::core::backend::Backend;

/// Google's advice (reference §6): at most two retries, backoff from 1 s, doubling.
const MAX_RETRIES: u32 = 2;
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What a path segment may not carry unescaped (a model id is free text).
const SEGMENT: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'#').add(b'%').add(b'/').add(b':').add(b'?').add(b'`');

/// Vertex AI for both Google backends, with one shared token source; clones share it.
#[derive(Clone)]
pub struct VertexClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: Result<reqwest::Client, String>,
    auth: TokenSource,
    vto_url: Result<String, String>,
    gemini_url: Result<String, String>,
}

impl VertexClient {
    /// The client for `config`; a Secrets Manager secret is read here, once. Never fails:
    /// a credentials problem fails each Google call instead (see `auth`).
    pub async fn from_config(config: &GoogleConfig, sdk: &aws_config::SdkConfig) -> Self {
        VertexClient::with_auth(config, TokenSource::load(&config.credentials, sdk).await)
    }

    fn with_auth(config: &GoogleConfig, auth: TokenSource) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| format!("the HTTPS client could not be built: {}", chain(&e)));
        let inner = Inner {
            http,
            auth,
            vto_url: endpoint(config, Backend::VertexVto),
            gemini_url: endpoint(config, Backend::GeminiImage),
        };
        VertexClient { inner: Arc::new(inner) }
    }

    /// One call; `timeout` bounds it all: the token, every attempt and the backoffs.
    /// A 401 drops the cached token and retries once with a fresh one.
    pub async fn invoke(
        &self,
        backend: Backend,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<ModelResponse, ModelCallError> {
        let deadline = Instant::now() + timeout;
        let inner = &self.inner;
        let url = match backend {
            Backend::GeminiImage => &inner.gemini_url,
            _ => &inner.vto_url,
        };
        let url = url.as_ref().map_err(|e| failure(ModelFailureKind::Validation, e.clone()))?;
        let http = inner.http.as_ref().map_err(|e| failure(ModelFailureKind::Unavailable, e.clone()))?;
        let body = bytes::Bytes::from(body);
        let mut refreshed = false;
        let mut retries = 0;
        let mut backoff = FIRST_BACKOFF;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let auth = inner.auth.headers(left).await?;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(out_of_time(timeout, "before the request was sent"));
            }
            let sent = http
                .post(url)
                .headers(auth.headers)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .timeout(left)
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) => return Err(transport_error(&e, timeout)),
            };
            let status = response.status().as_u16();
            let answer = match response.bytes().await {
                Ok(b) => b,
                Err(e) => return Err(transport_error(&e, timeout)),
            };
            if (200..300).contains(&status) {
                return Ok(ModelResponse { body: answer.to_vec(), request_id: None });
            }
            if status == 401 && !refreshed {
                // The token was refused (expired early, revoked): fetch a new one, once.
                tracing::warn!(%backend, source = inner.auth.source(), "Vertex AI refused the access token; fetching a new one");
                inner.auth.invalidate(auth.generation);
                refreshed = true;
                continue;
            }
            let error = http_error(status, &answer);
            if retryable(status) && retries < MAX_RETRIES && Instant::now() + backoff < deadline {
                retries += 1;
                tracing::warn!(%backend, status, retry = retries, backoff_ms = backoff.as_millis() as u64, "Vertex AI answered {status}; retrying");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                continue;
            }
            return Err(if status == 401 { inner.auth.refused(error) } else { error });
        }
    }
}

fn failure(kind: ModelFailureKind, message: String) -> ModelCallError {
    ModelCallError::new(kind, message)
}

/// `{base}/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:{method}`;
/// `VERTEX_ENDPOINT_URL` replaces the base for both backends.
pub(crate) fn endpoint(config: &GoogleConfig, backend: Backend) -> Result<String, String> {
    let (location, model, method) = match backend {
        Backend::GeminiImage => (&config.gemini_location, &config.gemini_model, "generateContent"),
        _ => (&config.location, &config.vto_model, "predict"),
    };
    let project = config.project.as_deref().filter(|p| !p.is_empty()).ok_or_else(|| {
        format!("{backend}: VERTEX_PROJECT is not set (the Google Cloud project id to call Vertex AI in)")
    })?;
    let base = match &config.endpoint_url {
        Some(u) => u.trim_end_matches('/').to_owned(),
        None => host(location),
    };
    let model = utf8_percent_encode(model, SEGMENT);
    Ok(format!("{base}/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:{method}"))
}

/// Vertex AI's host for a location: `global` has no regional prefix.
fn host(location: &str) -> String {
    match location {
        "global" => "https://aiplatform.googleapis.com".to_owned(),
        region => format!("https://{region}-aiplatform.googleapis.com"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> GoogleConfig {
        GoogleConfig { project: Some("my-proj".into()), ..GoogleConfig::default() }
    }

    #[test]
    fn virtual_try_on_calls_predict_in_its_region() {
        let c = GoogleConfig { location: "europe-west4".into(), ..config() };
        assert_eq!(
            endpoint(&c, Backend::VertexVto).as_deref(),
            Ok("https://europe-west4-aiplatform.googleapis.com/v1/projects/my-proj/locations/europe-west4/publishers/google/models/virtual-try-on-001:predict")
        );
    }

    #[test]
    fn gemini_calls_generate_content_on_the_global_host() {
        assert_eq!(
            endpoint(&config(), Backend::GeminiImage).as_deref(),
            Ok("https://aiplatform.googleapis.com/v1/projects/my-proj/locations/global/publishers/google/models/gemini-3.1-flash-image:generateContent")
        );
        let c = GoogleConfig { gemini_location: "us-east5".into(), ..config() };
        assert!(endpoint(&c, Backend::GeminiImage).is_ok_and(
            |u| u.starts_with("https://us-east5-aiplatform.googleapis.com/v1/projects/my-proj/locations/us-east5/")
        ));
    }

    #[test]
    fn the_endpoint_variable_replaces_the_host_for_both() {
        let c = GoogleConfig { endpoint_url: Some("http://127.0.0.1:9000/".into()), ..config() };
        assert_eq!(
            endpoint(&c, Backend::VertexVto).as_deref(),
            Ok("http://127.0.0.1:9000/v1/projects/my-proj/locations/us-central1/publishers/google/models/virtual-try-on-001:predict")
        );
        assert_eq!(
            endpoint(&c, Backend::GeminiImage).as_deref(),
            Ok("http://127.0.0.1:9000/v1/projects/my-proj/locations/global/publishers/google/models/gemini-3.1-flash-image:generateContent")
        );
    }

    #[test]
    fn model_ids_cannot_change_the_path_and_a_project_is_required() {
        let c = GoogleConfig { vto_model: "a/b:c d".into(), ..config() };
        assert!(endpoint(&c, Backend::VertexVto).is_ok_and(|u| u.ends_with("/models/a%2Fb%3Ac%20d:predict")));
        let e = endpoint(&GoogleConfig::default(), Backend::VertexVto).err().unwrap_or_default();
        assert!(e.contains("VERTEX_PROJECT is not set"), "{e}");
    }

    #[tokio::test]
    async fn a_call_without_a_project_fails_without_a_request() {
        let sdk = aws_config::SdkConfig::builder().build();
        let client = VertexClient::from_config(&GoogleConfig::default(), &sdk).await;
        let e = client.invoke(Backend::VertexVto, b"{}".to_vec(), Duration::from_secs(1)).await.err();
        assert_eq!(e.map(|e| e.kind), Some(ModelFailureKind::Validation));
    }
}
