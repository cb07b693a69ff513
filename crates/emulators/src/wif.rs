//! The Workload Identity Federation configuration whose token endpoint is the emulator's
//! (the variables for each backend are the tools' business: `tryon_tools::wiring`).
//! The function then runs its real credential path (AWS-signed subject token, STS exchange)
//! against the emulator, with placeholder AWS credentials the emulator accepts.

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
