//! Configuring the Gemini API emulator, in code (`impl Emulator`) and over HTTP:
//!
//! - `GET /_emulator/keys/gemini-api`, `PUT /_emulator/keys/gemini-api` with an
//!   [`ApiKeys`] JSON (`valid`, `invalid`, `standard`);
//! - `GET /_emulator/gemini-api/models` lists the model table (`modelStatus` per id);
//!   `PUT /_emulator/gemini-api/models/{model}` with a [`ModelStatus`] JSON sets a row,
//!   `DELETE` the same path restores the default.
//!
//! Faults: `POST /_emulator/faults/gemini-api`. Retiring: `POST /_emulator/retired` with
//! `gemini-api/{model}` (the Gemini API only) or `{model}` (every route).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::gemini_api_models::{self as catalog, ModelStatus, MODEL_STAGES};
use crate::keys::ApiKeys;
use crate::state::Emulator;

/// The image model ids the Gemini API table has rows for.
const MODELS: &[&str] =
    &["gemini-nano-banana-2.1", "gemini-3-pro-image", "gemini-3.1-flash-lite-image", "gemini-3.1-flash-image"];

impl Emulator {
    /// Which API keys the Gemini API accepts (default: any non-empty key).
    pub fn set_gemini_api_keys(&self, keys: ApiKeys) {
        self.lock().gemini_api_keys = keys;
    }

    pub fn gemini_api_keys(&self) -> ApiKeys {
        self.lock().gemini_api_keys.clone()
    }

    /// Sets `model`'s `modelStatus` on the Gemini API (stage `RETIRED`: answered 404).
    /// Refused (`false`) for a model without emulated limits or an unknown stage.
    pub fn set_gemini_api_model_status(&self, model: &str, status: ModelStatus) -> bool {
        let known = MODELS.contains(&model) && MODEL_STAGES.contains(&status.model_stage.as_str());
        if known {
            self.lock().gemini_api_models.insert(model.to_owned(), status);
        }
        known
    }

    /// `model`'s `modelStatus` on the Gemini API (the override, else the default row).
    pub fn gemini_api_model_status(&self, model: &str) -> Option<ModelStatus> {
        self.lock().gemini_api_models.get(model).cloned().or_else(|| catalog::default_status(model))
    }
}

pub(super) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/_emulator/keys/gemini-api", get(read_keys).put(write_keys))
        .route("/_emulator/gemini-api/models", get(list_models))
        .route("/_emulator/gemini-api/models/{model}", put(set_model).delete(reset_model))
}

fn bad(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "message": message }))).into_response()
}

async fn read_keys(State(emu): State<Emulator>) -> Json<ApiKeys> {
    Json(emu.gemini_api_keys())
}

async fn write_keys(State(emu): State<Emulator>, Json(v): Json<Value>) -> Response {
    match serde_json::from_value::<ApiKeys>(v) {
        Ok(keys) => {
            emu.set_gemini_api_keys(keys.clone());
            Json(keys).into_response()
        }
        Err(e) => bad(e.to_string()),
    }
}

async fn list_models(State(emu): State<Emulator>) -> Json<Value> {
    let rows: Map<String, Value> = MODELS
        .iter()
        .filter_map(|m| Some((m.to_string(), serde_json::to_value(emu.gemini_api_model_status(m)?).ok()?)))
        .collect();
    Json(Value::Object(rows))
}

async fn set_model(State(emu): State<Emulator>, Path(model): Path<String>, Json(v): Json<Value>) -> Response {
    let status = match serde_json::from_value::<ModelStatus>(v) {
        Ok(s) => s,
        Err(e) => return bad(e.to_string()),
    };
    if !emu.set_gemini_api_model_status(&model, status.clone()) {
        let why = format!(
            "{model} is not one of {} or the stage is not one of {}",
            MODELS.join(", "),
            MODEL_STAGES.join(", ")
        );
        return bad(why);
    }
    Json(status).into_response()
}

async fn reset_model(State(emu): State<Emulator>, Path(model): Path<String>) -> StatusCode {
    if emu.lock().gemini_api_models.remove(&model).is_some() {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}
