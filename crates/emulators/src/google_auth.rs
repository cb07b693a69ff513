//! Google's token endpoints, emulated as strictly as the reference describes them (§7, §8):
//!
//! - `POST /v1/token`: the STS token exchange of Workload Identity Federation. Every form
//!   field is checked, and the subject token (the URL-encoded JSON of a SigV4-signed AWS
//!   `GetCallerIdentity` request) is decoded and its URL, method and headers checked. The
//!   signature itself cannot be: Google checks it by calling AWS, which is not here.
//! - `POST /v1/projects/-/serviceAccounts/{email}:generateAccessToken`: service-account
//!   impersonation with an STS token as the bearer.
//! - [`Emulator::check_google_bearer`]: what the Google model emulators accept: tokens issued
//!   here (until they expire, or `POST /_emulator/tokens/expire`), and self-signed JWTs of
//!   the emulator's service-account key (`crate::service_account`), signature verified.
//!
//! Faults, queued with `POST /_emulator/faults/google-auth`, one per call to either endpoint:
//! `{"type":"refuse"}` (STS: 400 `invalid_grant`; impersonation: 403 PERMISSION_DENIED),
//! `{"type":"unavailable"}` (503), `{"type":"shortLived","seconds":N}` (the token issued
//! lives N seconds), `{"type":"delay","ms":N}` (answers after N ms). Each call is logged in `GET /_emulator/calls` as
//! `{"backend":"google-auth","endpoint":"sts"|"generateAccessToken",…}`, without tokens.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::state::{Emulator, TokenState};
use crate::service_account as emulator_key;

const BACKEND: &str = "google-auth";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const AWS4_REQUEST: &str = "urn:ietf:params:aws:token-type:aws4_request";
const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";
const IAM: &str = "https://www.googleapis.com/auth/iam";
/// Google's default lifetime for STS and impersonated tokens.
const DEFAULT_TTL: Duration = Duration::from_secs(3600);

pub(super) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/v1/token", post(sts_token))
        .route("/v1/projects/-/serviceAccounts/{name}", post(generate_access_token))
}

/// Checks an `authorization` header: a token issued here and not expired, or a valid
/// self-signed JWT. Errors are (HTTP status, Google status, message).
// The Google model emulator (`google`) calls it; until it does, nothing here does.
#[allow(dead_code)]
pub(super) fn check_bearer(emu: &Emulator, authorization: Option<&str>) -> Result<(), (u16, &'static str, String)> {
    emu.check_google_bearer(authorization)
}

impl Emulator {
    /// What Vertex AI would say of this `authorization` header: `Ok`, or (HTTP status,
    /// Google status, message). Public for tests that serve their own model routes.
    pub fn check_google_bearer(&self, authorization: Option<&str>) -> Result<(), (u16, &'static str, String)> {
        let unauthenticated = |why: String| (401, "UNAUTHENTICATED", why);
        let Some(token) = authorization.and_then(|a| a.strip_prefix("Bearer ")).filter(|t| !t.is_empty()) else {
            return Err(unauthenticated("Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.".into()));
        };
        if token.split('.').count() == 3 {
            return check_jwt(token, now_secs())
                .map_err(|why| unauthenticated(format!("Request had invalid authentication credentials: {why}")));
        }
        match self.token_state(token) {
            TokenState::Valid => Ok(()),
            TokenState::Expired => Err(unauthenticated(
                "Request had invalid authentication credentials. The access token has expired.".into(),
            )),
            TokenState::Unknown => Err(unauthenticated("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.".into())),
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// The emulator key's public half, derived once from the private key.
fn public_key() -> Option<&'static [u8]> {
    static KEY: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    KEY.get_or_init(emulator_key::public_key_der).as_deref()
}

/// A self-signed service-account JWT (reference §8): RS256 by the emulator key, `kid`,
/// `iss` == `sub` == its email, a `scope` with cloud-platform or an `aud` of Vertex AI, in date.
fn check_jwt(token: &str, now: u64) -> Result<(), String> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("not a JWT".into());
    };
    let decode = |part: &str, what: &str| B64URL.decode(part).map_err(|_| format!("the JWT {what} is not base64url"));
    let header: Value = serde_json::from_slice(&decode(h, "header")?).map_err(|_| "the JWT header is not JSON")?;
    let claims: Value = serde_json::from_slice(&decode(c, "claims")?).map_err(|_| "the JWT claims are not JSON")?;
    let signature = decode(s, "signature")?;
    if header["alg"] != "RS256" {
        return Err(format!("alg {} is not RS256", header["alg"]));
    }
    if header["kid"] != emulator_key::PRIVATE_KEY_ID {
        return Err(format!("kid {} is not a key of {}", header["kid"], emulator_key::CLIENT_EMAIL));
    }
    let key = public_key().ok_or("the emulator key could not be read")?;
    let verifier = aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256, key);
    let signed = &token[..h.len() + 1 + c.len()];
    verifier.verify(signed.as_bytes(), &signature).map_err(|_| "the JWT signature does not verify")?;
    if claims["iss"] != emulator_key::CLIENT_EMAIL || claims["sub"] != claims["iss"] {
        return Err(format!(
            "iss {} and sub {} must both be {}",
            claims["iss"],
            claims["sub"],
            emulator_key::CLIENT_EMAIL
        ));
    }
    let scoped = claims["scope"].as_str().is_some_and(|s| s.split(' ').any(|s| s == CLOUD_PLATFORM));
    let for_vertex =
        claims["aud"].as_str().is_some_and(|a| a.starts_with("https://") && a.ends_with("aiplatform.googleapis.com/"));
    if !scoped && !for_vertex {
        return Err(format!("neither a scope with {CLOUD_PLATFORM} nor an aud of aiplatform.googleapis.com"));
    }
    let (Some(iat), Some(exp)) = (claims["iat"].as_u64(), claims["exp"].as_u64()) else {
        return Err("iat and exp must be numbers".into());
    };
    if exp <= now {
        return Err("the JWT has expired".into());
    }
    if iat > now + 60 || exp < iat || exp - iat > 3600 + 60 {
        return Err(format!("iat {iat} and exp {exp} are not a lifetime of at most one hour from now"));
    }
    Ok(())
}

/// A queued fault, parsed.
enum AuthFault {
    Refuse,
    Unavailable,
    ShortLived(Duration),
    /// Answer (normally) after this long.
    Delay(Duration),
    Unknown(String),
}

fn next_fault(emu: &Emulator) -> Option<AuthFault> {
    let f = emu.next_backend_fault(BACKEND)?;
    Some(match f["type"].as_str() {
        Some("refuse") => AuthFault::Refuse,
        Some("unavailable") => AuthFault::Unavailable,
        Some("shortLived") => match f["seconds"].as_u64() {
            Some(s) => AuthFault::ShortLived(Duration::from_secs(s)),
            None => AuthFault::Unknown(f.to_string()),
        },
        Some("delay") => match f["ms"].as_u64() {
            Some(ms) => AuthFault::Delay(Duration::from_millis(ms)),
            None => AuthFault::Unknown(f.to_string()),
        },
        _ => AuthFault::Unknown(f.to_string()),
    })
}

fn fault_name(f: Option<&AuthFault>) -> Value {
    match f {
        None => Value::Null,
        Some(AuthFault::Refuse) => "refuse".into(),
        Some(AuthFault::Unavailable) => "unavailable".into(),
        Some(AuthFault::ShortLived(d)) => format!("shortLived:{}", d.as_secs()).into(),
        Some(AuthFault::Delay(d)) => format!("delay:{}", d.as_millis()).into(),
        Some(AuthFault::Unknown(_)) => "unknown".into(),
    }
}

/// An STS error, in OAuth's shape: `{"error","error_description"}`.
struct StsError {
    status: u16,
    error: &'static str,
    description: String,
}

impl StsError {
    fn new(status: u16, error: &'static str, description: impl Into<String>) -> Self {
        StsError { status, error, description: description.into() }
    }
}

async fn sts_token(State(emu): State<Emulator>, headers: HeaderMap, body: Bytes) -> Response {
    let fault = next_fault(&emu);
    if let Some(AuthFault::Delay(d)) = &fault {
        tokio::time::sleep(*d).await;
    }
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |n: &str| form.get(n).map(String::as_str).unwrap_or_default();
    let result = exchange(&headers, &form, fault.as_ref());
    let mut log = json!({
        "backend": BACKEND,
        "endpoint": "sts",
        "path": "/v1/token",
        "audience": field("audience"),
        "scope": field("scope"),
        "subjectTokenType": field("subject_token_type"),
        "fault": fault_name(fault.as_ref()),
    });
    let response = match result {
        Ok((ttl, region)) => {
            let token = emu.issue_token(ttl);
            log["region"] = region.into();
            log["expiresIn"] = ttl.as_secs().into();
            let answer = json!({
                "access_token": token,
                "issued_token_type": ACCESS_TOKEN_TYPE,
                "token_type": "Bearer",
                "expires_in": ttl.as_secs(),
            });
            (StatusCode::OK, Json(answer)).into_response()
        }
        Err(e) => {
            log["error"] = json!({ "error": e.error, "error_description": e.description });
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
            (status, Json(json!({ "error": e.error, "error_description": e.description }))).into_response()
        }
    };
    log["status"] = response.status().as_u16().into();
    emu.log_backend_call(log);
    response
}

/// The checks of reference §7; the token's lifetime and the AWS region signed for.
fn exchange(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
    fault: Option<&AuthFault>,
) -> Result<(Duration, String), StsError> {
    match fault {
        Some(AuthFault::Unavailable) => {
            return Err(StsError::new(503, "temporarily_unavailable", "The service is currently unavailable."))
        }
        Some(AuthFault::Unknown(f)) => {
            return Err(StsError::new(400, "invalid_request", format!("emulator: unknown google-auth fault {f}")))
        }
        _ => {}
    }
    let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if ct.split(';').next().map(str::trim) != Some("application/x-www-form-urlencoded") {
        return Err(StsError::new(
            400,
            "invalid_request",
            format!("The request content type must be application/x-www-form-urlencoded, not {ct:?}."),
        ));
    }
    let field = |n: &str| form.get(n).map(String::as_str).unwrap_or_default();
    if field("grant_type") != TOKEN_EXCHANGE {
        return Err(StsError::new(
            400,
            "unsupported_grant_type",
            format!("Invalid value for \"grant_type\": {:?}.", field("grant_type")),
        ));
    }
    if field("requested_token_type") != ACCESS_TOKEN_TYPE {
        return Err(StsError::new(
            400,
            "invalid_request",
            format!("Invalid value for \"requested_token_type\": {:?}.", field("requested_token_type")),
        ));
    }
    if field("subject_token_type") != AWS4_REQUEST {
        return Err(StsError::new(
            400,
            "invalid_request",
            format!(
                "Invalid value for \"subject_token_type\": {:?}; this pool's provider is AWS ({AWS4_REQUEST}).",
                field("subject_token_type")
            ),
        ));
    }
    let audience = field("audience");
    if !is_provider_name(audience) {
        return Err(StsError::new(400, "invalid_target", format!("Invalid value for \"audience\": {audience:?}; expected //iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>.")));
    }
    let scopes: Vec<&str> = field("scope").split(' ').filter(|s| !s.is_empty()).collect();
    if scopes.is_empty() || scopes.iter().any(|s| *s != CLOUD_PLATFORM && *s != IAM) {
        return Err(StsError::new(
            400,
            "invalid_scope",
            format!("Invalid value for \"scope\": {:?}; expected {CLOUD_PLATFORM} or {IAM}.", field("scope")),
        ));
    }
    let region = check_subject_token(field("subject_token"), audience, now_secs())
        .map_err(|why| StsError::new(400, "invalid_grant", format!("The subject token is invalid: {why}")))?;
    match fault {
        Some(AuthFault::Refuse) => Err(StsError::new(
            400,
            "invalid_grant",
            "The caller's AWS identity is not permitted by the workload identity pool provider (emulator fault).",
        )),
        Some(AuthFault::ShortLived(ttl)) => Ok((*ttl, region)),
        _ => Ok((DEFAULT_TTL, region)),
    }
}

fn is_provider_name(audience: &str) -> bool {
    let Some(path) = audience.strip_prefix("//iam.googleapis.com/") else { return false };
    let p: Vec<&str> = path.split('/').collect();
    matches!(p.as_slice(), ["projects", n, "locations", "global", "workloadIdentityPools", pool, "providers", provider]
        if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) && !pool.is_empty() && !provider.is_empty())
}

#[derive(Deserialize)]
struct SignedRequest {
    url: String,
    method: String,
    headers: Vec<KeyValue>,
    #[serde(default)]
    body: String,
}

#[derive(Deserialize)]
struct KeyValue {
    key: String,
    value: String,
}

/// The subject token: the URL-encoded JSON of a signed `GetCallerIdentity` request for the
/// caller's region, bound to `audience` by `x-goog-cloud-target-resource`. Returns the region.
fn check_subject_token(token: &str, audience: &str, now: u64) -> Result<String, String> {
    if token.is_empty() {
        return Err("subject_token is missing".into());
    }
    let json =
        form_urlencoded::parse(format!("t={token}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default();
    let req: SignedRequest =
        serde_json::from_str(&json).map_err(|e| format!("not the URL-encoded JSON of a signed request ({e})"))?;
    if req.method != "POST" || !req.body.is_empty() {
        return Err(format!(
            "the request must be a POST with an empty body, not {} with {} bytes",
            req.method,
            req.body.len()
        ));
    }
    let rest = req.url.strip_prefix("https://").ok_or("the URL must be https")?;
    let (host, query) = match rest.split_once('?') {
        Some((h, q)) => (h.trim_end_matches('/'), q),
        None => (rest.trim_end_matches('/'), ""),
    };
    let region = host
        .strip_prefix("sts.")
        .and_then(|h| h.strip_suffix(".amazonaws.com"))
        .filter(|r| !r.is_empty() && !r.contains('.'))
        .ok_or_else(|| format!("{host} is not a regional AWS STS host (sts.<region>.amazonaws.com)"))?;
    let params: HashMap<String, String> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    if params.get("Action").map(String::as_str) != Some("GetCallerIdentity")
        || params.get("Version").map(String::as_str) != Some("2011-06-15")
    {
        return Err("the URL must call Action=GetCallerIdentity&Version=2011-06-15".into());
    }
    let headers: HashMap<String, &str> =
        req.headers.iter().map(|h| (h.key.to_ascii_lowercase(), h.value.as_str())).collect();
    let header = |n: &str| headers.get(n).copied().ok_or_else(|| format!("the {n} header is missing"));
    if header("host")? != host {
        return Err(format!("the host header {} is not the URL's host {host}", header("host")?));
    }
    if header("x-goog-cloud-target-resource")? != audience {
        return Err("x-goog-cloud-target-resource is not the audience".into());
    }
    let date = header("x-amz-date")?;
    let signed_at = amz_date_secs(date).ok_or_else(|| format!("x-amz-date {date:?} is not YYYYMMDDTHHMMSSZ"))?;
    if signed_at.abs_diff(now) > 15 * 60 {
        return Err(format!("x-amz-date {date} is more than 15 minutes from now"));
    }
    let auth = header("authorization")?;
    let fields = auth.strip_prefix("AWS4-HMAC-SHA256 ").ok_or("Authorization is not AWS4-HMAC-SHA256")?;
    let part = |name: &str| {
        fields.split(", ").find_map(|f| f.strip_prefix(name)).ok_or_else(|| format!("Authorization has no {name}"))
    };
    let credential: Vec<&str> = part("Credential=")?.split('/').collect();
    match credential.as_slice() {
        [key, day, r, "sts", "aws4_request"] if !key.is_empty() && *day == &date[..8] && r == &region => {}
        _ => return Err(format!("the credential scope is not <key>/{}/{region}/sts/aws4_request", &date[..8])),
    }
    let signed: Vec<&str> = part("SignedHeaders=")?.split(';').collect();
    let mut needed = vec!["host", "x-amz-date", "x-goog-cloud-target-resource"];
    if headers.contains_key("x-amz-security-token") {
        needed.push("x-amz-security-token");
    }
    if let Some(missing) = needed.iter().find(|h| !signed.contains(h)) {
        return Err(format!("{missing} is not among the signed headers"));
    }
    let signature = part("Signature=")?;
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("the signature is not 64 hex digits".into());
    }
    Ok(region.to_owned())
}

/// `YYYYMMDDTHHMMSSZ` as seconds since the epoch.
fn amz_date_secs(d: &str) -> Option<u64> {
    let b = d.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let rfc = format!("{}-{}-{}T{}:{}:{}Z", &d[0..4], &d[4..6], &d[6..8], &d[9..11], &d[11..13], &d[13..15]);
    humantime::parse_rfc3339(&rfc).ok()?.duration_since(UNIX_EPOCH).ok().map(|x| x.as_secs())
}

/// A Google API error: `{"error":{"code","message","status"}}`.
fn google_error(status: u16, name: &str, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (code, Json(json!({ "error": { "code": status, "message": message, "status": name } }))).into_response()
}

#[derive(Deserialize)]
struct GenerateRequest {
    #[serde(default)]
    scope: Vec<String>,
    #[serde(default)]
    lifetime: Option<String>,
}

async fn generate_access_token(
    State(emu): State<Emulator>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fault = next_fault(&emu);
    if let Some(AuthFault::Delay(d)) = &fault {
        tokio::time::sleep(*d).await;
    }
    let email = name.strip_suffix(":generateAccessToken").unwrap_or_default().to_owned();
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    let result = impersonate(&emu, &email, authorization, &body, fault.as_ref());
    let mut log = json!({
        "backend": BACKEND,
        "endpoint": "generateAccessToken",
        "serviceAccount": email,
        "fault": fault_name(fault.as_ref()),
    });
    let response = match result {
        Ok(ttl) => {
            let token = emu.issue_token(ttl);
            log["expiresIn"] = ttl.as_secs().into();
            let expire = humantime::format_rfc3339_seconds(SystemTime::now() + ttl).to_string();
            (StatusCode::OK, Json(json!({ "accessToken": token, "expireTime": expire }))).into_response()
        }
        Err((status, name, message)) => {
            log["error"] = json!({ "status": name, "message": message });
            google_error(status, name, &message)
        }
    };
    log["status"] = response.status().as_u16().into();
    emu.log_backend_call(log);
    response
}

/// The checks of reference §7 (impersonation): the lifetime of the token to issue.
fn impersonate(
    emu: &Emulator,
    email: &str,
    authorization: Option<&str>,
    body: &[u8],
    fault: Option<&AuthFault>,
) -> Result<Duration, (u16, &'static str, String)> {
    match fault {
        Some(AuthFault::Unavailable) => {
            return Err((503, "UNAVAILABLE", "The service is currently unavailable.".into()))
        }
        Some(AuthFault::Unknown(f)) => {
            return Err((400, "INVALID_ARGUMENT", format!("emulator: unknown google-auth fault {f}")))
        }
        _ => {}
    }
    if !email.contains('@') {
        return Err((
            404,
            "NOT_FOUND",
            "Not found; expected /v1/projects/-/serviceAccounts/<email>:generateAccessToken.".into(),
        ));
    }
    // The bearer must be an STS token: a self-signed JWT cannot impersonate.
    let token = authorization.and_then(|a| a.strip_prefix("Bearer ")).unwrap_or_default();
    match emu.token_state(token) {
        TokenState::Valid => {}
        TokenState::Expired => return Err((401, "UNAUTHENTICATED", "Request had invalid authentication credentials. The access token has expired.".into())),
        TokenState::Unknown => return Err((401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.".into())),
    }
    let req: GenerateRequest = serde_json::from_slice(body)
        .map_err(|e| (400, "INVALID_ARGUMENT", format!("Invalid JSON payload received. {e}")))?;
    if !req.scope.iter().any(|s| s == CLOUD_PLATFORM) {
        return Err((400, "INVALID_ARGUMENT", format!("scope must include {CLOUD_PLATFORM}, got {:?}", req.scope)));
    }
    let lifetime = match req.lifetime.as_deref() {
        None => DEFAULT_TTL,
        Some(l) => match l.strip_suffix('s').and_then(|n| n.parse::<f64>().ok()) {
            Some(s) if (1.0..=43200.0).contains(&s) => Duration::from_secs(s as u64),
            _ => return Err((400, "INVALID_ARGUMENT", format!("lifetime {l:?} must be between 1s and 43200s"))),
        },
    };
    match fault {
        Some(AuthFault::Refuse) => Err((403, "PERMISSION_DENIED", format!("Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist): {email} (emulator fault)."))),
        Some(AuthFault::ShortLived(ttl)) => Ok(*ttl),
        _ => Ok(lifetime),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUD: &str = "//iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools/pool/providers/aws";

    fn subject_token(edit: impl FnOnce(&mut Value)) -> String {
        let date = {
            let t = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
            t.replace(['-', ':'], "")
        };
        let mut req = json!({
            "url": "https://sts.eu-west-1.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
            "method": "POST",
            "headers": [
                {"key": "host", "value": "sts.eu-west-1.amazonaws.com"},
                {"key": "x-amz-date", "value": date},
                {"key": "x-amz-security-token", "value": "tok"},
                {"key": "x-goog-cloud-target-resource", "value": AUD},
                {"key": "Authorization", "value": format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{}/eu-west-1/sts/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token;x-goog-cloud-target-resource, Signature={}", &date[..8], "a".repeat(64))},
            ],
            "body": "",
        });
        edit(&mut req);
        form_urlencoded::byte_serialize(req.to_string().as_bytes()).collect()
    }

    #[test]
    fn a_well_formed_subject_token_gives_its_region() {
        assert_eq!(check_subject_token(&subject_token(|_| {}), AUD, now_secs()), Ok("eu-west-1".into()));
    }

    #[test]
    fn subject_tokens_are_refused_for_each_broken_part() {
        type Edit = Box<dyn FnOnce(&mut Value)>;
        let cases: Vec<(&str, Edit)> = vec![
            ("GET", Box::new(|r: &mut Value| r["method"] = "GET".into())),
            (
                "regional AWS STS host",
                Box::new(|r: &mut Value| {
                    r["url"] = "https://evil.example.com?Action=GetCallerIdentity&Version=2011-06-15".into()
                }),
            ),
            (
                "GetCallerIdentity",
                Box::new(|r: &mut Value| {
                    r["url"] = "https://sts.eu-west-1.amazonaws.com?Action=AssumeRole&Version=2011-06-15".into()
                }),
            ),
            (
                "not the audience",
                Box::new(|r: &mut Value| r["headers"][3]["value"] = "//iam.googleapis.com/other".into()),
            ),
            (
                "is not the URL's host",
                Box::new(|r: &mut Value| r["headers"][0]["value"] = "sts.us-east-1.amazonaws.com".into()),
            ),
            ("x-amz-date", Box::new(|r: &mut Value| r["headers"][1]["value"] = "20200101T000000Z".into())),
            ("AWS4-HMAC-SHA256", Box::new(|r: &mut Value| r["headers"][4]["value"] = "Bearer x".into())),
            (
                "x-amz-security-token is not among",
                Box::new(|r: &mut Value| {
                    let a = r["headers"][4]["value"].as_str().unwrap_or_default().replace("x-amz-security-token;", "");
                    r["headers"][4]["value"] = a.into();
                }),
            ),
        ];
        for (expected, edit) in cases {
            let e = check_subject_token(&subject_token(edit), AUD, now_secs()).err().unwrap_or_default();
            assert!(e.contains(expected), "expected {expected:?} in {e:?}");
        }
        assert!(check_subject_token("%7Bnot", AUD, now_secs()).is_err());
    }

    #[test]
    fn provider_names_are_checked() {
        assert!(is_provider_name(AUD));
        assert!(!is_provider_name(
            "//iam.googleapis.com/projects/abc/locations/global/workloadIdentityPools/p/providers/a"
        ));
        assert!(!is_provider_name("https://sts.googleapis.com"));
    }

    #[test]
    fn amz_dates_parse() {
        assert_eq!(amz_date_secs("20260101T000000Z"), Some(1_767_225_600));
        assert_eq!(amz_date_secs("2026-01-01T00:00:00Z"), None);
    }

    #[test]
    fn jwts_need_the_emulator_key_and_good_claims() {
        // Unsigned and garbled tokens are refused before any claim is trusted.
        let header = B64URL.encode(json!({"alg":"RS256","kid":emulator_key::PRIVATE_KEY_ID}).to_string());
        let claims = B64URL.encode(
            json!({"iss":emulator_key::CLIENT_EMAIL,"sub":emulator_key::CLIENT_EMAIL,"scope":CLOUD_PLATFORM,"iat":now_secs(),"exp":now_secs()+3600}).to_string(),
        );
        let forged = format!("{header}.{claims}.{}", B64URL.encode([0u8; 256]));
        assert_eq!(check_jwt(&forged, now_secs()), Err("the JWT signature does not verify".into()));
        let none = B64URL.encode(json!({"alg":"none","kid":emulator_key::PRIVATE_KEY_ID}).to_string());
        assert!(check_jwt(&format!("{none}.{claims}."), now_secs()).is_err_and(|e| e.contains("RS256")));
        assert!(public_key().is_some(), "the emulator key's public half is derivable");
    }
}
