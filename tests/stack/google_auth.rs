//! Google credentials and the Vertex AI transport, through the real `VertexClient` and
//! `google-cloud-auth`, against the emulated token endpoints (`/v1/token`,
//! `:generateAccessToken`) and a stand-in model route served here that accepts exactly the
//! bearers the emulator does (`Emulator::check_google_bearer`).
//!
//! Every test has its own emulator and model route. The AWS variables the Workload Identity
//! Federation flow signs with are set once, to the same values, by every test.

use crate::support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use tryon::adapters::model::vertex::VertexClient;
use tryon::adapters::model::ModelFailureKind;
use tryon::config::{GoogleConfig, GoogleCredentials};
use tryon::core::backend::Backend;
use tryon_emulators::service_account as emulator_key;
use tryon_emulators::Emulator;

const AUDIENCE: &str =
    "//iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/tryon/providers/aws";
const SERVICE_ACCOUNT: &str = "vertex-caller@my-proj.iam.gserviceaccount.com";
const CALL: Duration = Duration::from_secs(30);

/// The Lambda environment the AWS-sourced credentials read.
fn lambda_env() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDEMULATOR000001");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "emulator/secret/key");
        std::env::set_var("AWS_SESSION_TOKEN", "emulator-session-token");
        std::env::set_var("AWS_REGION", "eu-west-1");
        std::env::remove_var("GOOGLE_CLOUD_QUOTA_PROJECT");
    });
}

/// What the stand-in model route saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    bearer: &'static str,
    status: u16,
    content_type: Option<String>,
    user_project: Option<String>,
}

/// A canned answer for the next request that passes the bearer check.
enum Canned {
    Status(u16),
    Delay(Duration),
}

#[derive(Clone)]
struct ModelRoute {
    emu: Emulator,
    seen: Arc<Mutex<Vec<Seen>>>,
    canned: Arc<Mutex<VecDeque<Canned>>>,
}

impl ModelRoute {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
    fn then(&self, c: Canned) {
        self.canned.lock().unwrap().push_back(c);
    }
}

async fn model_call(
    State(route): State<ModelRoute>,
    Path((project, location, model)): Path<(String, String, String)>,
    headers: HeaderMap,
    _body: Bytes,
) -> Response {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let auth = header("authorization");
    let bearer = match auth.as_deref().and_then(|a| a.strip_prefix("Bearer ")) {
        None => "none",
        Some(t) if t.split('.').count() == 3 => "jwt",
        Some(_) => "opaque",
    };
    let checked = route.emu.check_google_bearer(auth.as_deref());
    let canned = if checked.is_ok() { route.canned.lock().unwrap().pop_front() } else { None };
    let (status, body) = match checked {
        Err((code, status, message)) => (code, json!({"error": {"code": code, "message": message, "status": status}})),
        Ok(()) => match canned {
            Some(Canned::Status(code)) => {
                let name = match code {
                    401 => "UNAUTHENTICATED",
                    429 => "RESOURCE_EXHAUSTED",
                    500 => "INTERNAL",
                    503 => "UNAVAILABLE",
                    _ => "INVALID_ARGUMENT",
                };
                (code, json!({"error": {"code": code, "message": format!("canned {code}"), "status": name}}))
            }
            Some(Canned::Delay(d)) => {
                tokio::time::sleep(d).await;
                (200, json!({"predictions": []}))
            }
            None => (200, json!({"predictions": [{"mimeType": "image/png", "bytesBase64Encoded": "iVBORw0K"}]})),
        },
    };
    route.seen.lock().unwrap().push(Seen {
        path: format!("/v1/projects/{project}/locations/{location}/publishers/google/models/{model}"),
        bearer,
        status,
        content_type: header("content-type"),
        user_project: header("x-goog-user-project"),
    });
    (StatusCode::from_u16(status).unwrap(), Json(body)).into_response()
}

/// An emulator (token endpoints) and a model route checking its bearers, on two ports.
struct Rig {
    emu: Emulator,
    emu_url: String,
    model: ModelRoute,
    model_url: String,
}

impl Rig {
    async fn new() -> Rig {
        lambda_env();
        let emu = Emulator::default();
        let (addr, _) = emu.clone().spawn("127.0.0.1:0".parse().unwrap()).await.expect("emulator");
        let model = ModelRoute { emu: emu.clone(), seen: Arc::default(), canned: Arc::default() };
        let app = Router::new()
            .route("/v1/projects/{project}/locations/{location}/publishers/google/models/{model}", post(model_call))
            .with_state(model.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let model_addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Rig { emu, emu_url: format!("http://{addr}"), model, model_url: format!("http://{model_addr}") }
    }

    /// The `gcloud iam workload-identity-pools create-cred-config --aws` document, pointed
    /// at the emulator. The IMDS URLs lead nowhere: with the AWS variables set they must
    /// not be called.
    fn wif_json(&self, impersonate: bool) -> String {
        let mut doc = json!({
            "type": "external_account",
            "audience": AUDIENCE,
            "subject_token_type": "urn:ietf:params:aws:token-type:aws4_request",
            "token_url": format!("{}/v1/token", self.emu_url),
            "credential_source": {
                "environment_id": "aws1",
                "region_url": "http://127.0.0.1:9/latest/meta-data/placement/availability-zone",
                "url": "http://127.0.0.1:9/latest/meta-data/iam/security-credentials",
                "regional_cred_verification_url": "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
                "imdsv2_session_token_url": "http://127.0.0.1:9/latest/api/token"
            }
        });
        if impersonate {
            doc["service_account_impersonation_url"] =
                format!("{}/v1/projects/-/serviceAccounts/{SERVICE_ACCOUNT}:generateAccessToken", self.emu_url).into();
        }
        doc.to_string()
    }

    fn config(&self, credentials: GoogleCredentials) -> GoogleConfig {
        GoogleConfig {
            project: Some("my-proj".into()),
            endpoint_url: Some(self.model_url.clone()),
            credentials,
            ..GoogleConfig::default()
        }
    }

    async fn client(&self, credentials: GoogleCredentials) -> VertexClient {
        VertexClient::from_config(&self.config(credentials), &aws_config::SdkConfig::builder().build()).await
    }

    fn auth_calls(&self, endpoint: &str) -> Vec<Value> {
        self.emu
            .backend_calls()
            .into_iter()
            .filter(|c| c["backend"] == "google-auth" && c["endpoint"] == endpoint)
            .collect()
    }
}

async fn vto(client: &VertexClient) -> Result<Vec<u8>, tryon::adapters::model::ModelCallError> {
    client.invoke(Backend::VertexVto, br#"{"instances":[]}"#.to_vec(), CALL).await.map(|r| r.body)
}

#[tokio::test]
async fn workload_identity_token_is_exchanged_once_and_shared_by_concurrent_calls() {
    let rig = Rig::new().await;
    let client = rig.client(GoogleCredentials::Json(rig.wif_json(false))).await;

    let first = vto(&client).await.expect("first call");
    assert!(String::from_utf8_lossy(&first).contains("predictions"), "the body comes back as is");
    let calls = (0..6).map(|i| {
        let c = client.clone();
        let backend = if i % 2 == 0 { Backend::VertexVto } else { Backend::GeminiImage };
        tokio::spawn(async move { c.invoke(backend, b"{}".to_vec(), CALL).await })
    });
    for r in futures_util::future::join_all(calls).await {
        r.expect("task").expect("concurrent call");
    }

    let sts = rig.auth_calls("sts");
    assert_eq!(sts.len(), 1, "one token exchange for all seven calls: {sts:?}");
    assert_eq!(sts[0]["status"], 200);
    assert_eq!(sts[0]["audience"], AUDIENCE);
    assert_eq!(sts[0]["scope"], "https://www.googleapis.com/auth/cloud-platform");
    assert_eq!(sts[0]["region"], "eu-west-1", "signed for the function's region");
    let seen = rig.model.seen();
    assert_eq!(seen.len(), 7);
    assert!(seen.iter().all(|s| s.bearer == "opaque" && s.status == 200), "{seen:?}");
    assert!(seen.iter().all(|s| s.content_type.as_deref() == Some("application/json")));
    assert!(seen.iter().all(|s| s.user_project.is_none()), "no quota project configured");
    let paths: std::collections::BTreeSet<&str> = seen.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths.into_iter().collect::<Vec<_>>(),
        [
            "/v1/projects/my-proj/locations/global/publishers/google/models/gemini-3.1-flash-image:generateContent",
            "/v1/projects/my-proj/locations/us-central1/publishers/google/models/virtual-try-on-001:predict",
        ]
    );
}

#[tokio::test]
async fn an_expired_token_is_refetched_and_the_call_retried_once() {
    let rig = Rig::new().await;
    let client = rig.client(GoogleCredentials::Json(rig.wif_json(false))).await;
    vto(&client).await.expect("first call");

    // Through the control API, as an operator would.
    let expired = reqwest::Client::new().post(format!("{}/_emulator/tokens/expire", rig.emu_url)).send().await.unwrap();
    assert_eq!(expired.status().as_u16(), 204);
    vto(&client).await.expect("the call after expiry succeeds with a new token");

    assert_eq!(rig.auth_calls("sts").len(), 2, "a second exchange after the 401");
    let statuses: Vec<u16> = rig.model.seen().iter().map(|s| s.status).collect();
    assert_eq!(statuses, [200, 401, 200]);

    // A fresh token refused again is not retried a second time.
    rig.model.then(Canned::Status(401));
    rig.model.then(Canned::Status(401));
    let e = vto(&client).await.expect_err("refused twice");
    assert_eq!(e.kind, ModelFailureKind::Unauthenticated);
    assert!(e.message.starts_with("UNAUTHENTICATED (HTTP 401): canned 401"), "{}", e.message);
    assert!(e.message.contains("credentials from GOOGLE_CREDENTIALS_JSON"), "{}", e.message);
    assert_eq!(rig.model.seen().len(), 5, "one retry only");
}

#[tokio::test]
async fn impersonation_exchanges_then_generates_an_access_token() {
    let rig = Rig::new().await;
    let client = rig.client(GoogleCredentials::Json(rig.wif_json(true))).await;
    vto(&client).await.expect("call");
    vto(&client).await.expect("second call");

    let sts = rig.auth_calls("sts");
    assert_eq!(sts.len(), 1);
    assert_eq!(sts[0]["scope"], "https://www.googleapis.com/auth/iam", "the STS token is only for IAM");
    let generate = rig.auth_calls("generateAccessToken");
    assert_eq!(generate.len(), 1, "{generate:?}");
    assert_eq!(generate[0]["status"], 200);
    assert_eq!(generate[0]["serviceAccount"], SERVICE_ACCOUNT);
    assert!(rig.model.seen().iter().all(|s| s.status == 200 && s.bearer == "opaque"));
}

#[tokio::test]
async fn refused_credentials_fail_calls_as_unauthenticated_then_recover() {
    let rig = Rig::new().await;
    let client = rig.client(GoogleCredentials::Json(rig.wif_json(false))).await;
    rig.emu.push_backend_fault("google-auth", json!({"type": "refuse"}));

    let e = vto(&client).await.expect_err("refused");
    assert_eq!(e.kind, ModelFailureKind::Unauthenticated);
    assert!(e.message.starts_with("Google credentials from GOOGLE_CREDENTIALS_JSON: no access token"), "{}", e.message);
    assert!(e.message.contains("invalid_grant"), "Google's reason is kept: {}", e.message);
    assert!(e.message.contains("workload identity pool provider"), "says what to fix: {}", e.message);
    assert!(rig.model.seen().is_empty(), "no model call without a token");

    // The refusal is not cached forever: the next call exchanges again.
    vto(&client).await.expect("the next call gets a token");
    let statuses: Vec<Value> = rig.auth_calls("sts").iter().map(|c| c["status"].clone()).collect();
    assert_eq!(statuses, [json!(400), json!(200)]);
}

#[tokio::test]
async fn an_unavailable_token_endpoint_is_a_transient_failure() {
    let rig = Rig::new().await;
    let client = rig.client(GoogleCredentials::Json(rig.wif_json(false))).await;
    rig.emu.push_backend_fault("google-auth", json!({"type": "unavailable"}));
    let e = vto(&client).await.expect_err("STS down");
    assert_eq!(e.kind, ModelFailureKind::Unavailable, "{}", e.message);
    assert!(e.message.contains("GOOGLE_CREDENTIALS_JSON"), "{}", e.message);
    vto(&client).await.expect("recovers");
}

#[tokio::test]
async fn a_slow_token_exchange_is_bounded_by_the_call_and_shared_by_the_next() {
    let rig = Rig::new().await;
    let client = rig.client(GoogleCredentials::Json(rig.wif_json(false))).await;
    rig.emu.push_backend_fault("google-auth", json!({"type": "delay", "ms": 2000}));
    let started = Instant::now();
    let e = client.invoke(Backend::VertexVto, b"{}".to_vec(), Duration::from_secs(1)).await.expect_err("slow STS");
    assert_eq!(e.kind, ModelFailureKind::Timeout, "{}", e.message);
    assert!(
        e.message.starts_with("Google credentials from GOOGLE_CREDENTIALS_JSON: no access token within 1"),
        "{}",
        e.message
    );
    assert!(started.elapsed() < Duration::from_millis(1800), "{:?}", started.elapsed());
    // The exchange in flight is not abandoned: the next call gets its token.
    vto(&client).await.expect("next call");
    assert_eq!(rig.auth_calls("sts").len(), 1);
}

#[tokio::test]
async fn a_short_lived_token_is_refreshed_before_it_is_sent() {
    let rig = Rig::new().await;
    let client = rig.client(GoogleCredentials::Json(rig.wif_json(false))).await;
    rig.emu.push_backend_fault("google-auth", json!({"type": "shortLived", "seconds": 1}));
    vto(&client).await.expect("first call");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    vto(&client).await.expect("second call");
    let sts = rig.auth_calls("sts");
    assert_eq!(sts.len(), 2, "{sts:?}");
    assert_eq!(sts[0]["expiresIn"], 1);
    let statuses: Vec<u16> = rig.model.seen().iter().map(|s| s.status).collect();
    assert_eq!(statuses, [200, 200], "the expired token was never sent");
}

#[tokio::test]
async fn a_service_account_key_file_signs_jwts_the_emulator_verifies() {
    let rig = Rig::new().await;
    let mut key: Value = serde_json::from_str(&emulator_key::service_account_json("my-proj")).unwrap();
    key["quota_project_id"] = "billing-proj".into();
    let dir = std::env::temp_dir().join(format!("tryon-google-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("key.json");
    std::fs::write(&path, key.to_string()).unwrap();

    let client = rig.client(GoogleCredentials::File(path)).await;
    vto(&client).await.expect("call with a self-signed JWT");
    client.invoke(Backend::GeminiImage, b"{}".to_vec(), CALL).await.expect("gemini too");
    let seen = rig.model.seen();
    assert!(seen.iter().all(|s| s.bearer == "jwt" && s.status == 200), "{seen:?}");
    assert!(seen.iter().all(|s| s.user_project.as_deref() == Some("billing-proj")), "{seen:?}");
    assert!(rig.emu.backend_calls().is_empty(), "a self-signed JWT needs no token endpoint");

    // The `tryon run` client uses the same key.
    let offline = tryon_tools::wiring::vertex(&rig.model_url, &GoogleConfig::default()).await;
    vto(&offline).await.expect("the emulator client");
    assert!(rig.model.seen().last().is_some_and(|s| s.bearer == "jwt" && s.path.contains("/projects/tryon-local/")));
}

#[test]
fn the_emulator_refuses_jwts_it_did_not_sign_and_expired_tokens() {
    let emu = Emulator::default();
    assert!(emu.check_google_bearer(None).is_err_and(|e| e.0 == 401 && e.1 == "UNAUTHENTICATED"));
    assert!(emu.check_google_bearer(Some("Bearer ya29.unknown")).is_err());
    let token = emu.issue_token(Duration::from_secs(60));
    assert_eq!(emu.check_google_bearer(Some(&format!("Bearer {token}"))), Ok(()));
    emu.expire_tokens();
    let e = emu.check_google_bearer(Some(&format!("Bearer {token}"))).expect_err("expired");
    assert!(e.2.contains("expired"), "{e:?}");

    // A JWT whose claims were changed after signing.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(json!({"alg": "RS256", "typ": "JWT", "kid": emulator_key::PRIVATE_KEY_ID}).to_string());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let claims = b64.encode(
        json!({"iss": emulator_key::CLIENT_EMAIL, "sub": emulator_key::CLIENT_EMAIL,
               "scope": "https://www.googleapis.com/auth/cloud-platform", "iat": now, "exp": now + 3600})
        .to_string(),
    );
    let forged = format!("Bearer {header}.{claims}.{}", b64.encode([7u8; 256]));
    let e = emu.check_google_bearer(Some(&forged)).expect_err("forged");
    assert!(e.2.contains("signature"), "{e:?}");
}

#[tokio::test]
async fn a_key_in_secrets_manager_is_read_once_at_start() {
    let rig = Rig::new().await;
    let moto = support::moto_url();
    // The standard variable, as the function would have it locally.
    std::env::set_var("AWS_ENDPOINT_URL_SECRETS_MANAGER", &moto);
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await;
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    let name = format!(
        "tryon-google-key-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    );
    let created = sm
        .create_secret()
        .name(&name)
        .secret_string(emulator_key::service_account_json("my-proj"))
        .send()
        .await
        .expect("create the secret in moto");
    let arn = created.arn().expect("arn").to_owned();

    let client = VertexClient::from_config(&rig.config(GoogleCredentials::Secret(arn.clone())), &sdk).await;
    // Deleting it now shows it was read at start, not per call.
    sm.delete_secret().secret_id(&arn).force_delete_without_recovery(true).send().await.expect("delete");
    vto(&client).await.expect("call with the key from the secret");
    vto(&client).await.expect("second call");
    assert!(rig.model.seen().iter().all(|s| s.bearer == "jwt" && s.status == 200));

    let missing = arn.replace(&name, "no-such-secret");
    let client = VertexClient::from_config(&rig.config(GoogleCredentials::Secret(missing)), &sdk).await;
    let e = vto(&client).await.expect_err("no such secret");
    assert_eq!(e.kind, ModelFailureKind::Unauthenticated);
    assert!(e.message.starts_with("Google credentials from GOOGLE_CREDENTIALS_SECRET_ARN:"), "{}", e.message);
    assert!(e.message.contains("ResourceNotFoundException"), "{}", e.message);
    assert!(e.message.contains("secretsmanager:GetSecretValue"), "says what to fix: {}", e.message);
}

#[tokio::test]
async fn overload_is_retried_twice_with_backoff_and_other_errors_not_at_all() {
    let rig = Rig::new().await;
    let client = tryon_tools::wiring::vertex(&rig.model_url, &GoogleConfig::default()).await;

    rig.model.then(Canned::Status(503));
    rig.model.then(Canned::Status(429));
    let started = Instant::now();
    vto(&client).await.expect("third attempt succeeds");
    assert!(started.elapsed() >= Duration::from_secs(3), "backoff 1 s then 2 s: {:?}", started.elapsed());
    assert_eq!(rig.model.seen().len(), 3);

    for _ in 0..3 {
        rig.model.then(Canned::Status(500));
    }
    let e = vto(&client).await.expect_err("still failing after two retries");
    assert_eq!((e.kind, e.message.as_str()), (ModelFailureKind::Unavailable, "INTERNAL (HTTP 500): canned 500"));
    assert_eq!(rig.model.seen().len(), 6);

    rig.model.then(Canned::Status(400));
    let e = vto(&client).await.expect_err("validation");
    assert_eq!((e.kind, e.message.as_str()), (ModelFailureKind::Validation, "INVALID_ARGUMENT (HTTP 400): canned 400"));
    assert_eq!(rig.model.seen().len(), 7, "400 is not retried");

    // Retries stay within the call's time: with 1.5 s, the 2 s backoff is not waited.
    rig.model.then(Canned::Status(503));
    rig.model.then(Canned::Status(503));
    let started = Instant::now();
    let e = client.invoke(Backend::VertexVto, b"{}".to_vec(), Duration::from_millis(1500)).await.expect_err("503");
    assert_eq!(e.kind, ModelFailureKind::Unavailable);
    assert!(started.elapsed() < Duration::from_millis(1500), "{:?}", started.elapsed());
    assert_eq!(rig.model.seen().len(), 9);
}

#[tokio::test]
async fn the_timeout_bounds_a_slow_answer() {
    let rig = Rig::new().await;
    let client = tryon_tools::wiring::vertex(&rig.model_url, &GoogleConfig::default()).await;
    rig.model.then(Canned::Delay(Duration::from_secs(5)));
    let started = Instant::now();
    let e = client.invoke(Backend::VertexVto, b"{}".to_vec(), Duration::from_secs(1)).await.expect_err("slow");
    assert_eq!(e.kind, ModelFailureKind::Timeout, "{}", e.message);
    assert!(started.elapsed() < Duration::from_secs(3));

    let closed = tryon_tools::wiring::vertex("http://127.0.0.1:9", &GoogleConfig::default()).await;
    let e = vto(&closed).await.expect_err("nothing listens");
    assert_eq!(e.kind, ModelFailureKind::Unavailable, "{}", e.message);
}
