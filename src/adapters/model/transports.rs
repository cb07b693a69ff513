//! The model port over every backend's transport: Nova Canvas through Bedrock
//! `InvokeModel`, `bedrock-converse` through Bedrock `Converse`, and both Google backends
//! through Vertex AI with one shared token source. A backend this deployment does not
//! enable has no transport and is not served. A call the quota refuses after the SDK's
//! attempts waits and is sent again within its time bound ([`crate::adapters::model::quota_wait`],
//! `THROTTLE_WAIT_SECONDS`).

use std::time::Duration;

use crate::adapters::model::bedrock::BedrockModel;
use crate::adapters::model::converse::ConverseModel;
use crate::adapters::model::vertex::VertexClient;
use crate::adapters::model::{Model, ModelCallError, ModelFailureKind, ModelResponse};
use crate::config::Config;
use crate::core::backend::Backend;

/// The transports of the enabled backends.
#[derive(Clone)]
pub struct Models {
    pub nova: Option<BedrockModel>,
    pub converse: Option<ConverseModel>,
    pub vertex: Option<VertexClient>,
    ids: Ids,
}

/// The model each backend calls, for messages and `status.json`.
#[derive(Clone)]
struct Ids {
    nova: String,
    converse: String,
    vto: String,
    gemini: String,
    /// `THROTTLE_WAIT_SECONDS`.
    throttle_wait: Duration,
}

impl Models {
    /// Transports for the backends `config` enables, from the shared AWS configuration.
    pub async fn from_config(sdk: &aws_config::SdkConfig, config: &Config) -> Models {
        let on = |b| config.backends.enabled.contains(&b);
        let region = config.bedrock_region.as_deref();
        let nova = on(Backend::NovaCanvas).then(|| BedrockModel::from_sdk_config(sdk, region, &config.model_id));
        let converse_region = config.converse_region.as_deref().or(region);
        let converse = on(Backend::BedrockConverse)
            .then(|| ConverseModel::from_sdk_config(sdk, converse_region, &config.converse_model_id));
        let vertex = match on(Backend::VertexVto) || on(Backend::GeminiImage) {
            true => Some(VertexClient::from_config(&config.google, sdk).await),
            false => None,
        };
        Models { nova, converse, vertex, ids: Ids::of(config) }
    }

    /// Transports given directly (the `tryon` command and tests).
    pub fn new(
        config: &Config,
        nova: Option<BedrockModel>,
        converse: Option<ConverseModel>,
        vertex: Option<VertexClient>,
    ) -> Models {
        Models { nova, converse, vertex, ids: Ids::of(config) }
    }
}

impl Ids {
    fn of(config: &Config) -> Ids {
        Ids {
            nova: config.model_id.clone(),
            converse: config.converse_model_id.clone(),
            vto: config.google.vto_model.clone(),
            gemini: config.google.gemini_model.clone(),
            throttle_wait: config.throttle_wait,
        }
    }
}

fn not_served(b: Backend) -> ModelCallError {
    ModelCallError::new(ModelFailureKind::NotFound, format!("{b} is not enabled in this deployment"))
}

impl Model for Models {
    fn model_id(&self, backend: Backend) -> &str {
        match backend {
            Backend::NovaCanvas => &self.ids.nova,
            Backend::BedrockConverse => &self.ids.converse,
            Backend::VertexVto => &self.ids.vto,
            Backend::GeminiImage => &self.ids.gemini,
        }
    }

    fn serves(&self, backend: Backend) -> bool {
        match backend {
            Backend::NovaCanvas => self.nova.is_some(),
            Backend::BedrockConverse => self.converse.is_some(),
            Backend::VertexVto | Backend::GeminiImage => self.vertex.is_some(),
        }
    }

    async fn invoke(
        &self,
        backend: Backend,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<ModelResponse, ModelCallError> {
        if self.ids.throttle_wait.is_zero() {
            return self.send(backend, body, timeout).await;
        }
        // The body is kept for a resend (an unpaid throttle); the transport consumes its copy.
        crate::adapters::model::quota_wait::call(timeout, self.ids.throttle_wait, |left| {
            self.send(backend, body.clone(), left)
        })
        .await
    }
}

impl Models {
    /// One call through the backend's transport (the SDK's own attempts included).
    async fn send(&self, backend: Backend, body: Vec<u8>, timeout: Duration) -> Result<ModelResponse, ModelCallError> {
        match backend {
            Backend::NovaCanvas => match &self.nova {
                Some(m) => m.invoke(body, timeout).await,
                None => Err(not_served(backend)),
            },
            Backend::BedrockConverse => match &self.converse {
                Some(m) => m.invoke(body, timeout).await,
                None => Err(not_served(backend)),
            },
            Backend::VertexVto | Backend::GeminiImage => match &self.vertex {
                Some(v) => v.invoke(backend, body, timeout).await,
                None => Err(not_served(backend)),
            },
        }
    }
}
