//! SKELETON: being written.

use std::time::Duration;

use crate::ports::{ModelCallError, ModelFailureKind, ModelResponse};

#[derive(Clone)]
pub struct ConverseModel {
    model_id: String,
}

impl ConverseModel {
    pub fn from_sdk_config(_sdk: &aws_config::SdkConfig, _region: Option<&str>, model_id: &str) -> Self {
        ConverseModel { model_id: model_id.to_owned() }
    }

    #[cfg(feature = "tools")]
    pub fn for_emulator(_endpoint: &str, model_id: &str) -> Self {
        ConverseModel { model_id: model_id.to_owned() }
    }

    pub async fn invoke(&self, _body: Vec<u8>, _timeout: Duration) -> Result<ModelResponse, ModelCallError> {
        Err(ModelCallError {
            kind: ModelFailureKind::Unavailable,
            message: format!("{} not yet", self.model_id),
            request_id: None,
        })
    }
}
