//! Bedrock Runtime `InvokeModel` (Nova Canvas) through `aws-sdk-bedrockruntime`, and what
//! the `Converse` transport shares with it: the client, the call's time bounds and the
//! mapping of Bedrock's exceptions onto the model port. The endpoint comes from the SDK's
//! own variables (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME`).

use std::time::Duration;

use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::RequestId;
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::timeout::TimeoutConfig;

use super::{ModelCallError, ModelFailureKind, ModelResponse};
use crate::adapters::HttpResponse;

/// Bedrock Runtime `InvokeModel` through `aws-sdk-bedrockruntime`.
#[derive(Clone)]
pub struct BedrockModel {
    client: aws_sdk_bedrockruntime::Client,
    model_id: String,
}

impl BedrockModel {
    pub fn new(client: aws_sdk_bedrockruntime::Client, model_id: impl Into<String>) -> Self {
        BedrockModel { client, model_id: model_id.into() }
    }

    /// A client from the shared SDK configuration, in `region` when given.
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig, region: Option<&str>, model_id: &str) -> Self {
        BedrockModel::new(bedrock_client(sdk, region), model_id)
    }
}

/// The time bounds of one Bedrock Runtime call: 5 s to connect, `timeout` for every SDK
/// attempt together (the `InvokeModel` and `Converse` transports share them).
pub(crate) fn call_timeouts(timeout: Duration) -> aws_sdk_bedrockruntime::config::Builder {
    aws_sdk_bedrockruntime::config::Builder::default().timeout_config(
        TimeoutConfig::builder().connect_timeout(Duration::from_secs(5)).operation_timeout(timeout).build(),
    )
}

/// A Bedrock Runtime client from the shared SDK configuration, in `region` when given (the
/// `InvokeModel` and `Converse` transports share it).
pub fn bedrock_client(sdk: &aws_config::SdkConfig, region: Option<&str>) -> aws_sdk_bedrockruntime::Client {
    let mut b = aws_sdk_bedrockruntime::config::Builder::from(sdk);
    if let Some(r) = region {
        b = b.region(aws_sdk_bedrockruntime::config::Region::new(r.to_owned()));
    }
    aws_sdk_bedrockruntime::Client::from_conf(b.build())
}

impl BedrockModel {
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// One `InvokeModel` call; `timeout` bounds every SDK attempt together.
    pub async fn invoke(&self, body: Vec<u8>, timeout: Duration) -> Result<ModelResponse, ModelCallError> {
        let result = self
            .client
            .invoke_model()
            .model_id(&self.model_id)
            .content_type("application/json")
            .accept("application/json")
            .body(Blob::new(body))
            .customize()
            .config_override(call_timeouts(timeout))
            .send()
            .await;
        match result {
            Ok(out) => {
                Ok(ModelResponse { request_id: out.request_id().map(str::to_owned), body: out.body.into_inner() })
            }
            Err(e) => Err(bedrock_error(e, timeout)),
        }
    }
}

/// Maps a failed Bedrock Runtime call (`InvokeModel` or `Converse`: both share Bedrock's
/// exceptions and wire format) onto the port. The exception is read from its code, so one
/// mapping serves every operation's error type; codes the SDK does not model go by status.
/// The message is `"{Code} (HTTP {status}): {message}"`.
pub(crate) fn bedrock_error<E>(e: SdkError<E, HttpResponse>, timeout: Duration) -> ModelCallError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    use ModelFailureKind as K;
    let request_id = e.request_id().map(str::to_owned);
    let mut answered = None;
    let (kind, message) = match &e {
        SdkError::TimeoutError(_) => (K::Timeout, format!("no reply within {} s", timeout.as_secs())),
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            (K::Timeout, format!("connection timed out: {}", DisplayErrorContext(&e)))
        }
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let code = se.err().code().unwrap_or("Unknown");
            let kind = match code {
                "ValidationException" => K::Validation,
                "ResourceNotFoundException" => K::NotFound,
                "AccessDeniedException" => K::AccessDenied,
                "ThrottlingException" | "ModelNotReadyException" | "ServiceQuotaExceededException" => K::Throttled,
                "ModelTimeoutException" => K::Timeout,
                "ModelErrorException" => K::ModelError,
                "ServiceUnavailableException" | "InternalServerException" => K::Unavailable,
                _ => match status {
                    400 => K::Validation,
                    403 => K::AccessDenied,
                    404 => K::NotFound,
                    408 => K::Timeout,
                    424 => K::ModelError,
                    429 => K::Throttled,
                    _ => K::Unavailable,
                },
            };
            let msg = se.err().message().unwrap_or("no message");
            answered = Some((status, code.to_owned()));
            (kind, format!("{code} (HTTP {status}): {msg}"))
        }
        _ => (K::Unavailable, DisplayErrorContext(&e).to_string()),
    };
    let error = ModelCallError { request_id, ..ModelCallError::new(kind, message) };
    match answered {
        Some((status, code)) => error.answered(status, code),
        None => error,
    }
}
