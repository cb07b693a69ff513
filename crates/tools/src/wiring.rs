//! The function's own adapters pointed at the emulators: Bedrock clients with placeholder
//! credentials and nothing read from the environment, a Vertex AI client signing with the
//! emulator-only service-account key, and the variables that send a deployed-style function
//! (`cargo lambda watch`) to the emulators. The function has no emulator branch: these are
//! its ordinary constructors given other endpoints and credentials.

use aws_config::BehaviorVersion;
use tryon::adapters::model::bedrock::BedrockModel;
use tryon::adapters::model::converse::ConverseModel;
use tryon::adapters::model::transports::Models;
use tryon::adapters::model::vertex::VertexClient;
use tryon::config::{Config, GoogleConfig, GoogleCredentials};
use tryon::core::backend::Backend;
use tryon_emulators::external_account_json;
use tryon_emulators::service_account::service_account_json;

/// Nova Canvas reached end of life on 2026-09-30: the catalog says it is retired and names
/// no default model. The emulator plays an account that kept access, recorded the way such
/// an account records it (README, When a model retires).
pub const NOVA_MODEL_ID: &str = "amazon.nova-canvas-v1:0";
pub const KEPT_NOVA_CATALOG_JSON: &str = r#"{"amazon.nova-canvas-v1:0": {"stage": "ga", "shutdown": null}}"#;

/// `config` for an account that kept Nova Canvas: its model id, and the catalog saying it is live.
pub fn keep_nova(config: Config) -> Config {
    let catalog =
        tryon::core::catalog::Catalog::with_overrides(Some(KEPT_NOVA_CATALOG_JSON)).expect("a valid override");
    Config { model_id: NOVA_MODEL_ID.into(), catalog, ..config }
}

/// The default configuration with Nova Canvas the one backend, kept as above: what the
/// tests of the Nova Canvas path start from.
pub fn nova_config() -> Config {
    let backends = tryon::core::backend::Backends::only(Backend::NovaCanvas);
    keep_nova(Config { backends, ..Config::default() })
}

/// A Bedrock Runtime client for an emulator at `endpoint`.
pub fn bedrock_client(endpoint: &str, region: &str) -> aws_sdk_bedrockruntime::Client {
    let conf = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_sdk_bedrockruntime::config::Region::new(region.to_owned()))
        .credentials_provider(aws_sdk_bedrockruntime::config::Credentials::new(
            "emulator",
            "emulator",
            None,
            None,
            "tryon-emulator",
        ))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_bedrockruntime::Client::from_conf(conf)
}

/// Nova Canvas (`InvokeModel`) at the emulator.
pub fn nova(endpoint: &str, model_id: &str) -> BedrockModel {
    BedrockModel::new(bedrock_client(endpoint, "us-east-1"), model_id)
}

/// Bedrock `Converse` at the emulator.
pub fn converse(endpoint: &str, model_id: &str) -> ConverseModel {
    ConverseModel::new(bedrock_client(endpoint, "us-west-2"), model_id)
}

/// Vertex AI at the emulator, signing self-signed JWTs with the emulator's key (the
/// function's `GOOGLE_CREDENTIALS_JSON` path, given that key).
pub async fn vertex(endpoint: &str, google: &GoogleConfig) -> VertexClient {
    let project = google.project.clone().unwrap_or_else(|| "tryon-local".into());
    let config = GoogleConfig {
        credentials: GoogleCredentials::Json(service_account_json(&project)),
        project: Some(project),
        endpoint_url: Some(endpoint.trim_end_matches('/').to_owned()),
        ..google.clone()
    };
    // A credentials document given inline reads nothing from the AWS configuration.
    let sdk = aws_config::SdkConfig::builder().behavior_version(BehaviorVersion::latest()).build();
    VertexClient::from_config(&config, &sdk).await
}

/// Every backend's transport at the emulator on `endpoint`.
pub async fn emulator_models(config: &Config, endpoint: &str) -> Models {
    Models::new(
        config,
        Some(nova(endpoint, &config.model_id)),
        Some(converse(endpoint, &config.converse_model_id)),
        Some(vertex(endpoint, &config.google).await),
    )
}

/// The variables that send `backend`'s calls to the emulator at `base` (the S3 ones aside).
pub fn local_environment(backend: Backend, base: &str) -> Vec<(&'static str, String)> {
    let mut vars = vec![("TRYON_BACKEND", backend.name().to_owned())];
    match backend {
        Backend::NovaCanvas => {
            vars.push(("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", base.to_owned()));
            vars.push(("MODEL_ID", NOVA_MODEL_ID.to_owned()));
            vars.push(("MODEL_CATALOG_JSON", KEPT_NOVA_CATALOG_JSON.to_owned()));
        }
        Backend::BedrockConverse => {
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
