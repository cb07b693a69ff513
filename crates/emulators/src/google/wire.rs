//! The wire: which model, action and location a path names (and whether Google serves that
//! combination), Google's error body, the bearer and content-type checks.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::super::google_auth::check_bearer;
use super::super::state::Emulator;

/// The Google model APIs the emulator serves, named as in the fault and call logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Backend {
    /// Vertex AI `:predict` on the Virtual Try-On models.
    Vto,
    /// Vertex AI `:generateContent` on the Gemini image models.
    Gemini,
    /// The Gemini Developer API's `:generateContent` (API key), `gemini_api`.
    GeminiApi,
}

impl Backend {
    pub(super) fn name(self) -> &'static str {
        match self {
            Backend::Vto => "vertex-vto",
            Backend::Gemini => "gemini-image",
            Backend::GeminiApi => "gemini-api",
        }
    }
}

/// A model call's target, from its path.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub(super) project: String,
    pub(super) location: String,
    pub(super) model: String,
    pub(super) backend: Backend,
}

/// `virtual-try-on-001` regions (VTO reference §1, Standard PayGo list).
const VTO_001_REGIONS: &[&str] = &[
    "us-central1",
    "us-east1",
    "us-east4",
    "us-east5",
    "us-south1",
    "us-west1",
    "us-west4",
    "northamerica-northeast1",
    "europe-west1",
    "europe-west4",
    "europe-west8",
    "europe-west9",
    "europe-southwest1",
    "europe-north1",
    "asia-northeast1",
    "asia-southeast1",
    "me-central1",
];
/// The preview's regions are NOT FOUND in the reference; the public samples use us-central1.
const VTO_PREVIEW_REGIONS: &[&str] = &["us-central1"];
/// `gemini-3-pro-image` also lists US regions; only these two are named (Gemini reference §1).
const GEMINI_PRO_LOCATIONS: &[&str] = &["global", "us-central1", "us-east1"];
/// The other image models list `global` only (Gemini reference §1; 2.1's locations NOT FOUND).
const GEMINI_LOCATIONS: &[&str] = &["global"];

/// Ids a client might still use, and why Google no longer serves them (Gemini reference Key fact 2).
const DISCONTINUED: &[(&str, &str)] = &[
    ("gemini-3.1-flash-image-preview", "was discontinued on Vertex AI on 2026-07-17; use gemini-3.1-flash-image"),
    ("gemini-3-pro-image-preview", "was shut down on the Gemini API on 2026-06-25; use gemini-3-pro-image"),
    ("gemini-2.5-flash-image", "is a Gemini 2.5 model; those shut down on Vertex AI in October 2026"),
];

/// The locations where `model` is served for `backend`, or `None` if the model is unknown there.
fn locations(backend: Backend, model: &str) -> Option<&'static [&'static str]> {
    match (backend, model) {
        (Backend::Vto, "virtual-try-on-001") => Some(VTO_001_REGIONS),
        (Backend::Vto, "virtual-try-on-preview-08-04") => Some(VTO_PREVIEW_REGIONS),
        (Backend::Gemini, "gemini-3-pro-image") => Some(GEMINI_PRO_LOCATIONS),
        (Backend::Gemini, "gemini-3.1-flash-image" | "gemini-3.1-flash-lite-image" | "gemini-nano-banana-2.1") => {
            Some(GEMINI_LOCATIONS)
        }
        _ => None,
    }
}

/// Google's 404 text for a publisher model it does not serve (to this project).
fn publisher_model_not_found(project: &str, location: &str, model: &str) -> String {
    format!(
        "Publisher Model `projects/{project}/locations/{location}/publishers/google/models/{model}` was not found or your project does not have access to it. Please ensure you are using a valid model version. For more information, see: https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions"
    )
}

/// The 404 NOT_FOUND a retired (shut-down) model answers: Google's text, nothing added.
pub(super) fn retired(target: &Target) -> GoogleError {
    GoogleError::new(404, "NOT_FOUND", publisher_model_not_found(&target.project, &target.location, &target.model))
}

/// The target `{model}:{action}` names, whether or not Google serves it there; `None`
/// for a method other than `:predict` and `:generateContent`.
pub(super) fn named(project: &str, location: &str, model_action: &str) -> Option<Target> {
    let (model, action) = model_action.rsplit_once(':')?;
    let backend = match action {
        "predict" => Backend::Vto,
        "generateContent" => Backend::Gemini,
        _ => return None,
    };
    Some(Target { project: project.to_owned(), location: location.to_owned(), model: model.to_owned(), backend })
}

/// Parses `{model}:{action}` (split at the last `:`) and checks that Google serves that
/// model, for that action, in that location. Anything else is Google's 404.
pub(super) fn resolve(project: &str, location: &str, model_action: &str) -> Result<Target, GoogleError> {
    let not_found = |model: &str, why: String| {
        let text = publisher_model_not_found(project, location, model);
        GoogleError::new(404, "NOT_FOUND", format!("{text} ({why})"))
    };
    let Some((model, action)) = model_action.rsplit_once(':') else {
        return Err(not_found(model_action, "the path names no method such as :predict".into()));
    };
    if let Some((_, why)) = DISCONTINUED.iter().find(|(id, _)| *id == model) {
        return Err(not_found(model, format!("{model} {why}")));
    }
    let backend = match action {
        "predict" => Backend::Vto,
        "generateContent" => Backend::Gemini,
        other => {
            return Err(not_found(model, format!("the emulator serves :predict and :generateContent, not :{other}")))
        }
    };
    let Some(served) = locations(backend, model) else {
        return Err(not_found(model, format!("no model {model} answers :{action}")));
    };
    if !served.contains(&location) {
        return Err(not_found(model, format!("{model} is served in {}, not {location}", served.join(", "))));
    }
    Ok(Target { project: project.to_owned(), location: location.to_owned(), model: model.to_owned(), backend })
}

/// A Google API error: `{"error":{"code","message","status","details"}}` with the HTTP
/// status `code`. Validation errors name their field in a `google.rpc.BadRequest` detail;
/// other details (`ErrorInfo`, `RetryInfo`, …) follow it.
#[derive(Debug, Clone)]
pub(super) struct GoogleError {
    pub(super) code: u16,
    pub(super) status: &'static str,
    pub(super) message: String,
    pub(super) field: Option<String>,
    pub(super) details: Vec<Value>,
}

impl GoogleError {
    pub(super) fn new(code: u16, status: &'static str, message: impl Into<String>) -> Self {
        GoogleError { code, status, message: message.into(), field: None, details: Vec::new() }
    }

    /// This error with `details` (each a `{"@type": …}` object) added.
    pub(super) fn with_details(mut self, details: Vec<Value>) -> Self {
        self.details.extend(details);
        self
    }

    /// 400 INVALID_ARGUMENT about `field`.
    pub(super) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        GoogleError {
            field: (!field.is_empty()).then_some(field),
            ..GoogleError::new(400, "INVALID_ARGUMENT", message)
        }
    }

    pub(super) fn body(&self) -> Value {
        let mut error = json!({ "code": self.code, "message": self.message, "status": self.status });
        let mut details = Vec::new();
        if let Some(field) = &self.field {
            details.push(json!({
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{ "field": field, "description": self.message }],
            }));
        }
        details.extend(self.details.iter().cloned());
        if !details.is_empty() {
            error["details"] = Value::Array(details);
        }
        json!({ "error": error })
    }

    pub(super) fn response(&self) -> Response {
        let status = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.body())).into_response()
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The bearer check of the emulated token endpoints: 401 UNAUTHENTICATED otherwise.
pub(super) fn check_auth(emu: &Emulator, headers: &HeaderMap) -> Result<(), GoogleError> {
    check_bearer(emu, header(headers, "authorization"))
        .map_err(|(code, status, message)| GoogleError::new(code, status, message))
}

/// Vertex takes JSON only; anything else is refused before the body is read.
pub(super) fn check_content_type(headers: &HeaderMap) -> Result<(), GoogleError> {
    let ct = header(headers, "content-type").unwrap_or_default();
    if ct.split(';').next().map(str::trim).is_some_and(|m| m.eq_ignore_ascii_case("application/json")) {
        return Ok(());
    }
    Err(GoogleError::new(
        400,
        "INVALID_ARGUMENT",
        format!("Invalid Content-Type {ct:?}: the request body must be sent as application/json."),
    ))
}

/// The body as JSON; Google's parser error otherwise.
pub(super) fn parse_json(body: &[u8]) -> Result<Value, GoogleError> {
    serde_json::from_slice(body)
        .map_err(|e| GoogleError::new(400, "INVALID_ARGUMENT", format!("Invalid JSON payload received. {e}")))
}

/// The `authorization` and `x-goog-user-project` headers, for the call log.
pub(super) fn auth_summary(headers: &HeaderMap) -> (&'static str, Option<String>) {
    let kind = super::super::log::auth_kind(header(headers, "authorization"));
    (kind, header(headers, "x-goog-user-project").map(str::to_owned))
}
