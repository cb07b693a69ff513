//! The Gemini API's model table: the `modelStatus` each image model answers with (§3:
//! `{message, modelStage, retirementTime}`, Gemini API only), which ids are served, and the
//! 404 text of the others (§4, I5). Pure data: `state` holds the overrides.
//!
//! Default table (Gemini reference §6 and §11, as of 2026-12-07):
//!
//! | id | stage |
//! |---|---|
//! | `gemini-nano-banana-2.1`, `gemini-3-pro-image`, `gemini-3.1-flash-lite-image` | `STABLE` (GA) |
//! | `gemini-3.1-flash-image` | `RETIRED` (deprecated 2026-10-06; shut down 2026-10-29 per third parties, whether it now answers 404 or routes to 2.1 is NOT FOUND: the emulator answers 404, as the project's catalog records it retired) |
//!
//! Every other id (the 2.5 family closed to new projects, the shut-down previews, Imagen) is
//! unknown: 404. Overrides (`PUT /_emulator/gemini-api/models/{id}`) change a row, e.g. a
//! `DEPRECATED` stage with a `retirementTime` to test a client's warning.

use serde::{Deserialize, Serialize};

/// A model's `modelStatus` on the Gemini API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModelStatus {
    /// One of [`MODEL_STAGES`]; `RETIRED` makes the model answer 404.
    pub model_stage: String,
    /// RFC 3339, e.g. `2027-05-28T00:00:00Z`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retirement_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The `modelStage` values of the SDK's enum (§3).
pub const MODEL_STAGES: &[&str] =
    &["UNSTABLE_EXPERIMENTAL", "EXPERIMENTAL", "PREVIEW", "STABLE", "LEGACY", "DEPRECATED", "RETIRED"];

impl ModelStatus {
    pub fn new(stage: &str) -> Self {
        ModelStatus { model_stage: stage.to_owned(), retirement_time: None, message: None }
    }

    pub(crate) fn is_retired(&self) -> bool {
        self.model_stage == "RETIRED"
    }
}

/// The default row of `model`, if the Gemini API knows it.
pub(crate) fn default_status(model: &str) -> Option<ModelStatus> {
    match model {
        "gemini-nano-banana-2.1" | "gemini-3-pro-image" | "gemini-3.1-flash-lite-image" => {
            Some(ModelStatus::new("STABLE"))
        }
        "gemini-3.1-flash-image" => Some(ModelStatus {
            model_stage: "RETIRED".into(),
            retirement_time: Some("2026-10-29T00:00:00Z".into()),
            message: Some("gemini-3.1-flash-image is shut down on the Gemini API; use gemini-nano-banana-2.1.".into()),
        }),
        _ => None,
    }
}

/// Google's 404 text for a model `method` cannot reach (I5), nothing added.
pub(crate) fn not_found(model: &str, method: &str) -> String {
    format!(
        "models/{model} is not found for API version v1beta, or is not supported for {method}. Call ListModels to see the list of available models and their supported methods."
    )
}
