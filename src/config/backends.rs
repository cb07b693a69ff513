//! The backend variables: which backend jobs call (`TRYON_BACKEND`, `ENABLED_BACKENDS`),
//! the Bedrock `Converse` model, and Vertex AI's project, locations, models, endpoint and
//! credentials. A Google backend that is enabled without a project or credentials stops
//! the function at start, naming what to set.

use std::path::PathBuf;

use super::table::{invalid, ConfigError, Vars};
use crate::core::backend::{Backend, Backends};

/// Vertex AI, for `vertex-vto` and `gemini-image`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleConfig {
    /// `VERTEX_PROJECT`: required when a Google backend is enabled.
    pub project: Option<String>,
    /// `VERTEX_LOCATION`: Virtual Try-On's region.
    pub location: String,
    /// `VERTEX_MODEL`: the Virtual Try-On model.
    pub vto_model: String,
    /// `GEMINI_MODEL`: the Gemini image model.
    pub gemini_model: String,
    /// `GEMINI_LOCATION`: `global`, or a region the model is offered in.
    pub gemini_location: String,
    /// `VERTEX_ENDPOINT_URL`: replaces `https://{location}-aiplatform.googleapis.com` (and
    /// the global host) for both Google backends, as `AWS_ENDPOINT_URL_*` does for AWS.
    pub endpoint_url: Option<String>,
    pub credentials: GoogleCredentials,
}

impl Default for GoogleConfig {
    fn default() -> Self {
        GoogleConfig {
            project: None,
            location: "us-central1".into(),
            vto_model: catalog_default(Backend::VertexVto),
            gemini_model: catalog_default(Backend::GeminiImage),
            gemini_location: "global".into(),
            endpoint_url: None,
            credentials: GoogleCredentials::None,
        }
    }
}

/// The compiled catalog's default model of `b` on its platform.
pub(super) fn catalog_default(b: Backend) -> String {
    crate::core::catalog::Catalog::compiled().default_model(b, b.platform()).unwrap_or_default().to_owned()
}

/// Where the Google credentials come from, in the order of preference the README gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoogleCredentials {
    /// `GOOGLE_CREDENTIALS_JSON`: a credentials document itself (the Workload Identity
    /// Federation `external_account` configuration, from a template parameter).
    Json(String),
    /// `GOOGLE_APPLICATION_CREDENTIALS`: a credentials file (packaged with the function, or
    /// a local key file).
    File(PathBuf),
    /// `GOOGLE_CREDENTIALS_SECRET_ARN`: a service-account key kept in Secrets Manager, read
    /// once at start.
    Secret(String),
    /// None configured.
    None,
}

impl GoogleCredentials {
    /// The variable the credentials came from, for messages.
    pub fn source(&self) -> &'static str {
        match self {
            GoogleCredentials::Json(_) => "GOOGLE_CREDENTIALS_JSON",
            GoogleCredentials::File(_) => "GOOGLE_APPLICATION_CREDENTIALS",
            GoogleCredentials::Secret(_) => "GOOGLE_CREDENTIALS_SECRET_ARN",
            GoogleCredentials::None => "no Google credentials",
        }
    }
}

fn backend(name: &'static str, raw: &str) -> Result<Backend, ConfigError> {
    Backend::parse(raw.trim()).map_err(|e| invalid(name, raw, &e))
}

/// `TRYON_BACKEND` (a backend or an ordered chain, each once) and `ENABLED_BACKENDS` (which
/// always include the chain's).
pub(super) fn backends(v: &Vars<'_>) -> Result<Backends, ConfigError> {
    let raw = v.text("TRYON_BACKEND").unwrap_or_default();
    let mut chain = Vec::new();
    for name in raw.split(',').map(str::trim) {
        let b = backend("TRYON_BACKEND", name)?;
        if chain.contains(&b) {
            return Err(invalid("TRYON_BACKEND", raw, &format!("{b} is named twice; a chain tries each backend once")));
        }
        chain.push(b);
    }
    let mut enabled = chain.clone();
    if let Some(list) = v.set("ENABLED_BACKENDS") {
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let b = backend("ENABLED_BACKENDS", name)?;
            if !enabled.contains(&b) {
                enabled.push(b);
            }
        }
    }
    Ok(Backends { chain, enabled })
}

/// The Vertex AI variables.
pub(super) fn google(v: &Vars<'_>, vto_model: String, gemini_model: String) -> Result<GoogleConfig, ConfigError> {
    let text = |name| v.text(name).unwrap_or_default().to_owned();
    let endpoint_url = match v.set("VERTEX_ENDPOINT_URL") {
        Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) => {
            return Err(invalid("VERTEX_ENDPOINT_URL", u, "expected a URL such as https://aiplatform.googleapis.com"))
        }
        u => u.map(|u| u.trim_end_matches('/').to_owned()),
    };
    for name in ["VERTEX_LOCATION", "GEMINI_LOCATION", "VERTEX_PROJECT"] {
        if let Some(x) = v.set(name) {
            if !x.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
                return Err(invalid(
                    name,
                    x,
                    "expected lowercase letters, digits and '-' (e.g. us-central1, my-project)",
                ));
            }
        }
    }
    Ok(GoogleConfig {
        project: v.set("VERTEX_PROJECT").map(str::to_owned),
        location: text("VERTEX_LOCATION"),
        vto_model,
        gemini_model,
        gemini_location: text("GEMINI_LOCATION"),
        endpoint_url,
        credentials: credentials(v)?,
    })
}

/// At most one credential source: with two, which one is used would be a guess.
fn credentials(v: &Vars<'_>) -> Result<GoogleCredentials, ConfigError> {
    let given: Vec<GoogleCredentials> = [
        v.set("GOOGLE_CREDENTIALS_JSON").map(|j| GoogleCredentials::Json(j.to_owned())),
        v.set("GOOGLE_APPLICATION_CREDENTIALS").map(|p| GoogleCredentials::File(p.into())),
        v.set("GOOGLE_CREDENTIALS_SECRET_ARN").map(|a| GoogleCredentials::Secret(a.to_owned())),
    ]
    .into_iter()
    .flatten()
    .collect();
    match given.as_slice() {
        [] => Ok(GoogleCredentials::None),
        [one] => {
            if let GoogleCredentials::Secret(arn) = one {
                if !arn.starts_with("arn:") || !arn.contains(":secretsmanager:") {
                    return Err(invalid("GOOGLE_CREDENTIALS_SECRET_ARN", arn, "expected a Secrets Manager secret ARN"));
                }
            }
            Ok(one.clone())
        }
        [first, second, ..] => Err(invalid(
            second.source(),
            "(set)",
            &format!("{} is set too; give one Google credential source", first.source()),
        )),
    }
}

/// A Google backend needs a project and credentials; say so at start, not at the first job.
pub(super) fn check_google_backends(backends: &Backends, google: &GoogleConfig) -> Result<(), ConfigError> {
    let Some(b) = backends.enabled.iter().find(|b| b.google()) else { return Ok(()) };
    if google.project.is_none() {
        return Err(invalid(
            "VERTEX_PROJECT",
            "",
            &format!("required when {b} is enabled: the Google Cloud project id"),
        ));
    }
    if google.credentials == GoogleCredentials::None {
        return Err(invalid(
            "GOOGLE_APPLICATION_CREDENTIALS",
            "",
            &format!("{b} is enabled but no Google credentials are configured: set GOOGLE_CREDENTIALS_JSON (Workload Identity Federation configuration), GOOGLE_APPLICATION_CREDENTIALS (a credentials file) or GOOGLE_CREDENTIALS_SECRET_ARN (a service-account key in Secrets Manager)"),
        ));
    }
    Ok(())
}
