//! SKELETON: being written.

use std::time::Duration;

use crate::catalog::Backend;
use crate::config::GoogleConfig;
use crate::ports::{ModelCallError, ModelFailureKind, ModelResponse};

#[derive(Clone)]
pub struct VertexClient {
    config: GoogleConfig,
}

impl VertexClient {
    pub async fn from_config(config: &GoogleConfig, _sdk: &aws_config::SdkConfig) -> Self {
        VertexClient { config: config.clone() }
    }

    #[cfg(feature = "tools")]
    pub fn for_emulator(_endpoint: &str, config: &GoogleConfig) -> Self {
        VertexClient { config: config.clone() }
    }

    pub async fn invoke(
        &self,
        backend: Backend,
        _body: Vec<u8>,
        _timeout: Duration,
    ) -> Result<ModelResponse, ModelCallError> {
        Err(ModelCallError {
            kind: ModelFailureKind::Unavailable,
            message: format!("{backend} {:?} not yet", self.config.project),
            request_id: None,
        })
    }
}
