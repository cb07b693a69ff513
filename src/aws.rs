//! Adapters from the ports to the AWS SDK clients. Endpoints, credentials and regions come
//! from the standard SDK configuration (`AWS_ENDPOINT_URL_S3`,
//! `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, ...): there is no local-only branch.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::invoke_model::InvokeModelError;
use aws_sdk_bedrockruntime::operation::RequestId;
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::timeout::TimeoutConfig;

use crate::config::Config;
use crate::job::Service;
use crate::ports::{
    Model, ModelCallError, ModelFailureKind, ModelResponse, PutCondition, Storage, StorageError, StoredObject,
};

/// S3 through `aws-sdk-s3`.
#[derive(Clone)]
pub struct S3Storage {
    client: aws_sdk_s3::Client,
}

impl S3Storage {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        S3Storage { client }
    }

    /// A client from the shared SDK configuration, with bounded S3 call times.
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig, force_path_style: bool) -> Self {
        let conf = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(force_path_style)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(60))
                    .operation_timeout(Duration::from_secs(120))
                    .build(),
            )
            .build();
        S3Storage::new(aws_sdk_s3::Client::from_conf(conf))
    }
}

type HttpResponse = aws_smithy_runtime_api::client::orchestrator::HttpResponse;

/// Maps an S3 failure onto the port. `conditional` says whether the request carried a
/// precondition (`If-None-Match` / `If-Match`): only then can 412 or 409 mean a lost race.
fn s3_error<E>(e: SdkError<E, HttpResponse>, conditional: bool) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    if let SdkError::ServiceError(se) = &e {
        let code = se.err().code().unwrap_or_default();
        // 404 includes NoSuchBucket, and an `If-Match` write whose object was deleted
        // meanwhile: nobody else won that race, so it is not reported as one.
        if matches!(code, "NoSuchKey" | "NotFound") || status == Some(404) {
            return StorageError::NotFound;
        }
        // 412: the condition did not hold. 409 ConditionalRequestConflict: a concurrent
        // conditional write to the same key was in flight; S3 lets one of them win.
        let lost =
            matches!(code, "PreconditionFailed" | "ConditionalRequestConflict") || matches!(status, Some(412 | 409));
        if conditional && lost {
            return StorageError::PreconditionFailed;
        }
    }
    let status = status.map_or_else(|| "no response".to_owned(), |s| format!("HTTP {s}"));
    StorageError::Other(format!("{} ({status})", DisplayErrorContext(&e)))
}

impl Storage for S3Storage {
    async fn get(&self, bucket: &str, key: &str, max_bytes: u64) -> Result<StoredObject, StorageError> {
        let out = self.client.get_object().bucket(bucket).key(key).send().await.map_err(|e| s3_error(e, false))?;
        let size = out.content_length().unwrap_or(0).max(0) as u64;
        // Refused on the response headers: the body is dropped unread.
        if size > max_bytes {
            return Err(StorageError::TooLarge { size });
        }
        let etag = out.e_tag().unwrap_or_default().to_owned();
        let version_id = out.version_id().map(str::to_owned);
        // One contiguous buffer is reused rather than copied.
        let bytes: Vec<u8> = out
            .body
            .collect()
            .await
            .map_err(|e| StorageError::Other(format!("reading the body failed: {e}")))?
            .into_bytes()
            .into();
        if bytes.len() as u64 > max_bytes {
            return Err(StorageError::TooLarge { size: bytes.len() as u64 });
        }
        Ok(StoredObject { bytes, etag, version_id })
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        condition: PutCondition<'_>,
    ) -> Result<String, StorageError> {
        let mut req =
            self.client.put_object().bucket(bucket).key(key).content_type(content_type).body(ByteStream::from(body));
        req = match condition {
            PutCondition::Always => req,
            PutCondition::IfAbsent => req.if_none_match("*"),
            PutCondition::IfMatch(etag) => req.if_match(etag),
        };
        let conditional = condition != PutCondition::Always;
        let out = req.send().await.map_err(|e| s3_error(e, conditional))?;
        Ok(out.e_tag().unwrap_or_default().to_owned())
    }
}

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
        let mut b = aws_sdk_bedrockruntime::config::Builder::from(sdk);
        if let Some(r) = region {
            b = b.region(aws_sdk_bedrockruntime::config::Region::new(r.to_owned()));
        }
        BedrockModel::new(aws_sdk_bedrockruntime::Client::from_conf(b.build()), model_id)
    }

    /// A client for a Nova Canvas emulator at `endpoint`, with placeholder credentials and
    /// nothing read from the environment.
    pub fn for_emulator(endpoint: &str, model_id: &str) -> Self {
        let conf = aws_sdk_bedrockruntime::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_sdk_bedrockruntime::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_bedrockruntime::config::Credentials::new(
                "emulator",
                "emulator",
                None,
                None,
                "tryon-emulator",
            ))
            .endpoint_url(endpoint)
            .build();
        BedrockModel::new(aws_sdk_bedrockruntime::Client::from_conf(conf), model_id)
    }
}

impl Model for BedrockModel {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    async fn invoke(&self, body: Vec<u8>, timeout: Duration) -> Result<ModelResponse, ModelCallError> {
        let result = self
            .client
            .invoke_model()
            .model_id(&self.model_id)
            .content_type("application/json")
            .accept("application/json")
            .body(Blob::new(body))
            .customize()
            .config_override(aws_sdk_bedrockruntime::config::Builder::default().timeout_config(
                TimeoutConfig::builder().connect_timeout(Duration::from_secs(5)).operation_timeout(timeout).build(),
            ))
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

fn bedrock_error(e: SdkError<InvokeModelError, HttpResponse>, timeout: Duration) -> ModelCallError {
    use ModelFailureKind as K;
    let request_id = e.request_id().map(str::to_owned);
    let (kind, message) = match &e {
        SdkError::TimeoutError(_) => (K::Timeout, format!("no reply within {} s", timeout.as_secs())),
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            (K::Timeout, format!("connection timed out: {}", DisplayErrorContext(&e)))
        }
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let kind = match se.err() {
                InvokeModelError::ValidationException(_) => K::Validation,
                InvokeModelError::ResourceNotFoundException(_) => K::NotFound,
                InvokeModelError::AccessDeniedException(_) => K::AccessDenied,
                InvokeModelError::ThrottlingException(_)
                | InvokeModelError::ModelNotReadyException(_)
                | InvokeModelError::ServiceQuotaExceededException(_) => K::Throttled,
                InvokeModelError::ModelTimeoutException(_) => K::Timeout,
                InvokeModelError::ModelErrorException(_) => K::ModelError,
                InvokeModelError::ServiceUnavailableException(_) | InvokeModelError::InternalServerException(_) => {
                    K::Unavailable
                }
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
            let code = se.err().code().unwrap_or("Unknown");
            let msg = se.err().message().unwrap_or("no message");
            (kind, format!("{code} (HTTP {status}): {msg}"))
        }
        _ => (K::Unavailable, DisplayErrorContext(&e).to_string()),
    };
    ModelCallError { kind, message, request_id }
}

/// Builds the Lambda's service from the environment's SDK configuration.
pub async fn service(config: Config) -> Service<S3Storage, BedrockModel> {
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let storage = S3Storage::from_sdk_config(&sdk, config.s3_force_path_style);
    let model = BedrockModel::from_sdk_config(&sdk, config.bedrock_region.as_deref(), &config.model_id);
    Service { storage, model, config }
}
