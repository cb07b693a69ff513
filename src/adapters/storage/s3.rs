//! The storage port on S3 through `aws-sdk-s3`: sizes refused before download, conditional
//! writes (`If-None-Match`, `If-Match`) and a lost race told apart from other failures. The
//! endpoint comes from the SDK's own variables (`AWS_ENDPOINT_URL_S3`): no local branch.

use std::time::Duration;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::timeout::TimeoutConfig;

use super::{PutCondition, Storage, StorageError, StoredObject};
use crate::adapters::HttpResponse;

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

/// Maps an S3 failure onto the port. `conditional` says whether the request carried a
/// precondition (`If-None-Match` / `If-Match`): only then can 412 or 409 mean a lost race.
/// Anything else keeps S3's status and code as fields, for callers to classify by.
fn s3_error<E>(e: SdkError<E, HttpResponse>, conditional: bool) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = match &e {
        SdkError::ServiceError(se) => se.err().code().filter(|c| !c.is_empty()).map(str::to_owned),
        _ => None,
    };
    if matches!(e, SdkError::ServiceError(_)) {
        // 404 includes NoSuchBucket, and an `If-Match` write whose object was deleted
        // meanwhile: nobody else won that race, so it is not reported as one.
        if matches!(code.as_deref(), Some("NoSuchKey" | "NotFound")) || status == Some(404) {
            return StorageError::NotFound;
        }
        // 412: the condition did not hold. 409 ConditionalRequestConflict: a concurrent
        // conditional write to the same key was in flight; S3 lets one of them win.
        let lost = matches!(code.as_deref(), Some("PreconditionFailed" | "ConditionalRequestConflict"))
            || matches!(status, Some(412 | 409));
        if conditional && lost {
            return StorageError::PreconditionFailed;
        }
    }
    let answered = status.map_or_else(|| "no response".to_owned(), |s| format!("HTTP {s}"));
    StorageError::Other { message: format!("{} ({answered})", DisplayErrorContext(&e)), status, code }
}

/// A failed `GetObject`: an archived object (`InvalidObjectState`, with its storage class)
/// is its own answer; anything else as [`s3_error`] maps it.
fn get_error(e: SdkError<GetObjectError, HttpResponse>) -> StorageError {
    if let SdkError::ServiceError(se) = &e {
        if let GetObjectError::InvalidObjectState(state) = se.err() {
            return StorageError::Archived { storage_class: state.storage_class().map(|c| c.as_str().to_owned()) };
        }
    }
    s3_error(e, false)
}

impl Storage for S3Storage {
    async fn delete(&self, bucket: &str, key: &str) -> Result<(), StorageError> {
        match self.client.delete_object().bucket(bucket).key(key).send().await.map_err(|e| s3_error(e, false)) {
            Ok(_) | Err(StorageError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn get(&self, bucket: &str, key: &str, max_bytes: u64) -> Result<StoredObject, StorageError> {
        let out = self.client.get_object().bucket(bucket).key(key).send().await.map_err(get_error)?;
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
            .map_err(|e| StorageError::other(format!("reading the body failed: {e}")))?
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
        // The ETag is what the next conditional write matches: without it the job could not
        // move on safely, so its absence is an error, never an empty version.
        out.e_tag()
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| StorageError::other(format!("S3 answered the write of {key} without an ETag")))
    }
}
