//! Google credentials for Vertex AI: the credentials document from its configured source
//! (`GOOGLE_CREDENTIALS_JSON`, `GOOGLE_APPLICATION_CREDENTIALS`,
//! `GOOGLE_CREDENTIALS_SECRET_ARN`), turned into request headers by `google-cloud-auth`
//! (Workload Identity Federation with the function's AWS credentials, service-account keys,
//! authorized users), which also caches tokens and refreshes them before expiry.
//!
//! What is done here because the crate does not: reading the document from a file or
//! Secrets Manager; choosing the builder by the document's `type` (the crate's own dispatch
//! only reads Application Default Credentials from the environment); the quota project from
//! the document; skipping the IMDSv2 session call when the AWS credentials are in the
//! environment (the crate makes that call before it looks at the variables, and Lambda has
//! no IMDS); dropping the credentials after a failure or a 401 so the next call starts a
//! fresh exchange (the crate's cache has no invalidation, and it keeps a permanent error
//! forever). A failure never stops the function: it fails each Google call, naming the
//! source and what to fix.

use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::timeout::TimeoutConfig;
use google_cloud_auth::credentials::{
    external_account, impersonated, service_account, user_account, CacheableResource, Credentials,
};
use http::HeaderMap;
use serde_json::Value;

use super::errors::chain;
use crate::adapters::model::{ModelCallError, ModelFailureKind};
use crate::config::GoogleCredentials;

/// The scope Vertex AI needs (reference §2).
pub(crate) const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";

/// A token fetch still running after this long is taken as hung (one takes well under a
/// second), and dropped.
const HUNG_FETCH: Duration = Duration::from_secs(10);

/// Credentials documents this client accepts, by `type`.
const SUPPORTED: [&str; 4] = ["external_account", "service_account", "authorized_user", "impersonated_service_account"];

/// One credentials object shared by every call (and every clone of the client), so
/// concurrent calls wait on one token fetch and reuse one cached token.
pub(crate) struct TokenSource {
    /// The variable the credentials came from, for messages.
    source: &'static str,
    /// The credentials document, or why there is none.
    document: Result<Document, String>,
    slot: Mutex<Slot>,
}

struct Document {
    json: Value,
    kind: String,
}

/// The built credentials; rebuilt (a new token cache, a fresh exchange) after a failure.
#[derive(Default)]
struct Slot {
    generation: u64,
    credentials: Option<Credentials>,
}

/// Headers for one request, and which credentials made them (for [`TokenSource::invalidate`]).
pub(crate) struct AuthHeaders {
    pub(crate) headers: HeaderMap,
    pub(crate) generation: u64,
}

impl TokenSource {
    /// Reads the credentials document once (a Secrets Manager secret is fetched here).
    /// Never fails: a problem is kept and reported by every call.
    pub(crate) async fn load(credentials: &GoogleCredentials, sdk: &aws_config::SdkConfig) -> TokenSource {
        let source = credentials.source();
        let text = match credentials {
            GoogleCredentials::Json(json) => Ok(json.clone()),
            GoogleCredentials::File(path) => tokio::fs::read_to_string(path).await.map_err(|e| {
                format!(
                    "{source}={} could not be read ({e}): package the file with the function or correct the path",
                    path.display()
                )
            }),
            GoogleCredentials::Secret(arn) => secret(sdk, arn).await,
            GoogleCredentials::None => Err("no Google credentials are configured: set GOOGLE_CREDENTIALS_JSON (Workload Identity Federation configuration), GOOGLE_APPLICATION_CREDENTIALS (a credentials file) or GOOGLE_CREDENTIALS_SECRET_ARN (a service-account key in Secrets Manager)".to_owned()),
        };
        let document = text.and_then(|t| parse(source, &t));
        match &document {
            Ok(d) => tracing::info!(source, kind = %d.kind, "Google credentials loaded"),
            Err(e) => tracing::error!(source, error = %e, "Google credentials unavailable: Google calls will fail"),
        }
        TokenSource { source, document, slot: Mutex::default() }
    }

    /// The variable the credentials came from.
    pub(crate) fn source(&self) -> &'static str {
        self.source
    }

    /// The request headers: `authorization`, and `x-goog-user-project` with a quota project,
    /// within `time`. A token error drops the credentials, so the next call starts afresh;
    /// so does a fetch that hangs (the crate's token requests have no timeout of their own).
    pub(crate) async fn headers(&self, time: Duration) -> Result<AuthHeaders, ModelCallError> {
        let (credentials, generation) = self.current()?;
        let fetched = tokio::time::timeout(time, credentials.headers(http::Extensions::new())).await;
        let Ok(fetched) = fetched else {
            if time >= HUNG_FETCH {
                self.invalidate(generation);
            }
            return Err(
                self.failure(ModelFailureKind::Timeout, format!("no access token within {:.1} s", time.as_secs_f32()))
            );
        };
        match fetched {
            Ok(CacheableResource::New { data, .. }) => Ok(AuthHeaders { headers: data, generation }),
            Ok(CacheableResource::NotModified) => {
                self.invalidate(generation);
                Err(self.failure(ModelFailureKind::Unauthenticated, "the credentials returned no headers".into()))
            }
            Err(e) => {
                self.invalidate(generation);
                // Transient (STS or the network unavailable): worth a retry of the job.
                let kind =
                    if e.is_transient() { ModelFailureKind::Unavailable } else { ModelFailureKind::Unauthenticated };
                Err(self.failure(kind, format!("no access token: {}; {}", token_error(&e), self.fix())))
            }
        }
    }

    /// Drops the credentials that made `generation`'s headers (Vertex AI refused their
    /// token), unless another call already did.
    pub(crate) fn invalidate(&self, generation: u64) {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        if slot.generation == generation {
            slot.generation += 1;
            slot.credentials = None;
        }
    }

    /// What to check when Vertex AI refuses a token the credentials produced.
    pub(crate) fn refused(&self, error: ModelCallError) -> ModelCallError {
        ModelCallError {
            message: format!("{} (credentials from {}; {})", error.message, self.source, self.fix()),
            ..error
        }
    }

    fn current(&self) -> Result<(Credentials, u64), ModelCallError> {
        let doc = self.document.as_ref().map_err(|e| self.failure(ModelFailureKind::Unauthenticated, e.clone()))?;
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = &slot.credentials {
            return Ok((c.clone(), slot.generation));
        }
        let built = build(doc).map_err(|e| {
            self.failure(
                ModelFailureKind::Unauthenticated,
                format!("the {} document was refused: {}; {}", doc.kind, chain(&e), self.fix()),
            )
        })?;
        slot.credentials = Some(built.clone());
        Ok((built, slot.generation))
    }

    fn failure(&self, kind: ModelFailureKind, detail: String) -> ModelCallError {
        ModelCallError::new(kind, format!("Google credentials from {}: {detail}", self.source))
    }

    /// What to fix, by kind of credentials.
    fn fix(&self) -> &'static str {
        match self.document.as_ref().map(|d| d.kind.as_str()) {
            Ok("external_account") => "check the workload identity pool provider named in `audience`, that it trusts this function's AWS account and role, and (with service_account_impersonation_url) that the pool principal has roles/iam.workloadIdentityUser on the service account",
            Ok("service_account") => "check that the service-account key is active (not deleted or disabled) and that the account may use Vertex AI (roles/aiplatform.user)",
            Ok("authorized_user") => "run `gcloud auth application-default login` again",
            _ => "check the credentials document",
        }
    }
}

/// The crate's error without its boilerplate: the outer "Subsequent calls with this
/// credential will also fail" is untrue here (the credentials are rebuilt), and each level
/// repeats whether it is transient. What remains is the endpoint's answer and the cause.
fn token_error(e: &google_cloud_auth::errors::CredentialsError) -> String {
    let noise = [" and future attempts will not succeed", " but future attempts may succeed"];
    let mut parts = Vec::new();
    let mut next = std::error::Error::source(e);
    while let Some(s) = next {
        let mut text = s.to_string();
        for n in noise {
            text = text.replace(n, "");
        }
        let text = text.trim_start_matches("cannot create the authentication headers").trim().to_owned();
        if !text.is_empty() && !parts.iter().any(|p: &String| p.contains(&text)) {
            parts.push(text);
        }
        next = s.source();
    }
    if parts.is_empty() {
        chain(e)
    } else {
        parts.join(": ")
    }
}

/// `GetSecretValue`, once; the value is never logged.
async fn secret(sdk: &aws_config::SdkConfig, arn: &str) -> Result<String, String> {
    let conf = aws_sdk_secretsmanager::config::Builder::from(sdk)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(20))
                .build(),
        )
        .build();
    let client = aws_sdk_secretsmanager::Client::from_conf(conf);
    let fix =
        "check the ARN, and that the function's role may secretsmanager:GetSecretValue it (and kms:Decrypt its key)";
    let out = client.get_secret_value().secret_id(arn).send().await.map_err(|e| {
        let what = match &e {
            SdkError::ServiceError(se) => {
                format!("{}: {}", se.err().code().unwrap_or("error"), se.err().message().unwrap_or_default())
            }
            other => chain(other),
        };
        format!("GetSecretValue of {arn} failed ({what}): {fix}")
    })?;
    if let Some(s) = out.secret_string() {
        return Ok(s.to_owned());
    }
    match out.secret_binary().map(|b| String::from_utf8(b.as_ref().to_vec())) {
        Some(Ok(s)) => Ok(s),
        _ => Err(format!("the secret {arn} holds no text: store the service-account key JSON as its value")),
    }
}

/// Parses and checks a credentials document.
fn parse(source: &str, text: &str) -> Result<Document, String> {
    let hint = "expected a service-account key or the Workload Identity Federation configuration from `gcloud iam workload-identity-pools create-cred-config ... --aws`";
    let mut json: Value =
        serde_json::from_str(text).map_err(|e| format!("{source} is not a JSON credentials document ({e}): {hint}"))?;
    let kind = json.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
    if !SUPPORTED.contains(&kind.as_str()) {
        return Err(format!("{source} holds credentials of type {kind:?}, which this function does not use: {hint}"));
    }
    if kind == "external_account" {
        skip_imds_session(&mut json, |name| std::env::var(name).ok());
    }
    Ok(Document { json, kind })
}

/// With AWS credentials and region in the environment (as Lambda sets them), the crate needs
/// nothing from IMDS, yet it requests an IMDSv2 session token first whenever the document
/// names `imdsv2_session_token_url`; Lambda has no IMDS. AIP-4117: the variables come first.
fn skip_imds_session(json: &mut Value, env: impl Fn(&str) -> Option<String>) {
    let set = |n: &str| env(n).is_some_and(|v| !v.is_empty());
    let env_credentials = set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY");
    let env_region = set("AWS_REGION") || set("AWS_DEFAULT_REGION");
    if env_credentials && env_region {
        if let Some(source) = json.get_mut("credential_source").and_then(Value::as_object_mut) {
            source.remove("imdsv2_session_token_url");
        }
    }
}

/// Builds the crate's credentials for the document (spawns its token cache: needs a runtime).
fn build(doc: &Document) -> Result<Credentials, google_cloud_auth::build_errors::Error> {
    let json = doc.json.clone();
    let quota = doc.json.get("quota_project_id").and_then(Value::as_str).map(str::to_owned);
    let scopes = [CLOUD_PLATFORM];
    match doc.kind.as_str() {
        "service_account" => {
            // Always a self-signed JWT with the `scope` claim (the crate has no token_uri grant).
            let b = service_account::Builder::new(json)
                .with_access_specifier(service_account::AccessSpecifier::from_scopes(scopes));
            quota.into_iter().fold(b, |b, q| b.with_quota_project_id(q)).build()
        }
        "authorized_user" => {
            let b = user_account::Builder::new(json).with_scopes(scopes);
            quota.into_iter().fold(b, |b, q| b.with_quota_project_id(q)).build()
        }
        "impersonated_service_account" => {
            let b = impersonated::Builder::new(json).with_scopes(scopes);
            quota.into_iter().fold(b, |b, q| b.with_quota_project_id(q)).build()
        }
        _ => {
            let b = external_account::Builder::new(json).with_scopes(scopes);
            quota.into_iter().fold(b, |b, q| b.with_quota_project_id(q)).build()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn aws_doc() -> Value {
        json!({"type":"external_account","audience":"//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/a",
               "subject_token_type":"urn:ietf:params:aws:token-type:aws4_request","token_url":"https://sts.googleapis.com/v1/token",
               "credential_source":{"environment_id":"aws1","region_url":"http://169.254.169.254/latest/meta-data/placement/availability-zone",
                 "url":"http://169.254.169.254/latest/meta-data/iam/security-credentials",
                 "regional_cred_verification_url":"https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
                 "imdsv2_session_token_url":"http://169.254.169.254/latest/api/token"}})
    }

    #[test]
    fn the_imds_session_is_skipped_only_when_the_environment_has_everything() {
        let lambda = |n: &str| match n {
            "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" | "AWS_SESSION_TOKEN" => Some("x".to_owned()),
            "AWS_REGION" => Some("eu-west-1".to_owned()),
            _ => None,
        };
        let mut doc = aws_doc();
        skip_imds_session(&mut doc, lambda);
        assert!(doc["credential_source"].get("imdsv2_session_token_url").is_none());
        assert!(doc["credential_source"].get("region_url").is_some());

        // On EC2 without variables the crate needs IMDS: the session URL stays.
        let mut doc = aws_doc();
        skip_imds_session(&mut doc, |n| (n == "AWS_REGION").then(|| "eu-west-1".to_owned()));
        assert!(doc["credential_source"].get("imdsv2_session_token_url").is_some());
    }

    #[test]
    fn documents_are_checked_with_the_source_named() {
        let e = parse("GOOGLE_CREDENTIALS_JSON", "not json").err().unwrap_or_default();
        assert!(e.starts_with("GOOGLE_CREDENTIALS_JSON is not a JSON credentials document"), "{e}");
        let e = parse("GOOGLE_APPLICATION_CREDENTIALS", r#"{"type":"gdch_service_account"}"#).err().unwrap_or_default();
        assert!(e.contains("type \"gdch_service_account\""), "{e}");
        let d = parse("GOOGLE_CREDENTIALS_JSON", &aws_doc().to_string()).ok().map(|d| d.kind);
        assert_eq!(d.as_deref(), Some("external_account"));
    }

    #[tokio::test]
    async fn missing_credentials_fail_calls_not_the_start() {
        let sdk = aws_config::SdkConfig::builder().build();
        let ts = TokenSource::load(&GoogleCredentials::File("/nonexistent/key.json".into()), &sdk).await;
        let e = ts.headers(Duration::from_secs(5)).await.err().map(|e| (e.kind, e.message));
        let (kind, message) = e.unwrap_or((ModelFailureKind::Validation, String::new()));
        assert_eq!(kind, ModelFailureKind::Unauthenticated);
        assert!(message.starts_with("Google credentials from GOOGLE_APPLICATION_CREDENTIALS: GOOGLE_APPLICATION_CREDENTIALS=/nonexistent/key.json could not be read"), "{message}");

        let ts = TokenSource::load(&GoogleCredentials::None, &sdk).await;
        let message = ts.headers(Duration::from_secs(5)).await.err().map(|e| e.message).unwrap_or_default();
        assert!(message.contains("set GOOGLE_CREDENTIALS_JSON"), "{message}");
    }

    #[tokio::test]
    async fn a_broken_key_is_unauthenticated_and_names_the_source() {
        let sdk = aws_config::SdkConfig::builder().build();
        let key = json!({"type":"service_account","client_email":"a@b.iam.gserviceaccount.com","private_key_id":"k",
                         "private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"});
        let ts = TokenSource::load(&GoogleCredentials::Json(key.to_string()), &sdk).await;
        let e = ts.headers(Duration::from_secs(5)).await.err();
        let (kind, message) = e.map(|e| (e.kind, e.message)).unwrap_or((ModelFailureKind::Validation, String::new()));
        assert_eq!(kind, ModelFailureKind::Unauthenticated);
        assert!(message.starts_with("Google credentials from GOOGLE_CREDENTIALS_JSON:"), "{message}");
        assert!(message.contains("service-account key is active"), "{message}");
    }
}
