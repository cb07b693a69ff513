//! How to point the function at the emulators: the Workload Identity Federation
//! configuration whose token endpoint is the emulator's, and the variables for each backend.
//! The function then runs its real credential path (AWS-signed subject token, STS exchange)
//! against the emulator, with placeholder AWS credentials the emulator accepts.

use crate::catalog::Backend;

/// The audience of the emulated workload identity pool provider.
pub const AUDIENCE: &str =
    "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/tryon/providers/aws";

/// An `external_account` configuration (as `gcloud iam workload-identity-pools
/// create-cred-config --aws` writes it) whose token URL is the emulator at `base`.
pub fn external_account_json(base: &str) -> String {
    serde_json::json!({
        "type": "external_account",
        "audience": AUDIENCE,
        "subject_token_type": "urn:ietf:params:aws:token-type:aws4_request",
        "token_url": format!("{base}/v1/token"),
        "credential_source": {
            "environment_id": "aws1",
            "region_url": "http://169.254.169.254/latest/meta-data/placement/availability-zone",
            "url": "http://169.254.169.254/latest/meta-data/iam/security-credentials",
            "regional_cred_verification_url": "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
            "imdsv2_session_token_url": "http://169.254.169.254/latest/api/token"
        }
    })
    .to_string()
}

/// The variables that send `backend`'s calls to the emulator at `base` (the S3 ones aside).
pub fn local_environment(backend: Backend, base: &str) -> Vec<(&'static str, String)> {
    let mut vars = vec![("TRYON_BACKEND", backend.name().to_owned())];
    match backend {
        Backend::NovaCanvas | Backend::BedrockConverse => {
            vars.push(("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", base.to_owned()));
        }
        Backend::VertexVto | Backend::GeminiImage => {
            vars.push(("VERTEX_PROJECT", "tryon-local".to_owned()));
            vars.push(("VERTEX_ENDPOINT_URL", base.to_owned()));
            vars.push(("GOOGLE_CREDENTIALS_JSON", external_account_json(base)));
        }
    }
    // The AWS-signed subject token needs credentials and a region; any placeholder will do
    // for the emulator, which checks the signature's form, not the key.
    vars.push(("AWS_ACCESS_KEY_ID", "AKIAEMULATOR".to_owned()));
    vars.push(("AWS_SECRET_ACCESS_KEY", "emulator".to_owned()));
    vars.push(("AWS_REGION", "us-east-1".to_owned()));
    vars
}
