//! Retired model ids: ids every route answers with its platform's "this model is gone"
//! reply, before any fault, quota or body check, so a client's fallback from a retired model
//! to the next backend meets the real wire answer:
//!
//! - Bedrock `InvokeModel` and `Converse`: 404, `x-amzn-ErrorType` ResourceNotFoundException,
//!   message "This model version has reached the end of its life. Please refer to the AWS
//!   documentation for more details.";
//! - Vertex `:predict` and `:generateContent`: 404, status NOT_FOUND, message "Publisher Model
//!   \`projects/{project}/locations/{location}/publishers/google/models/{model}\` was not found
//!   or your project does not have access to it. …" (Google's text, nothing added);
//! - the Gemini API: 404 NOT_FOUND "models/{model} is not found for API version v1beta, or
//!   is not supported for generateContent. Call ListModels …";
//! - FASHN (no gone-model answer documented): 400 `BadRequest` naming the retired
//!   `model_name`.
//!
//! An id written `{platform}/{model}` (`gemini-api/…`, `fashn/…`) retires it there only.
//!
//! Set at start with [`RETIRED_MODELS_ENV`](crate::RETIRED_MODELS_ENV) (comma-separated ids,
//! read by [`Emulator::new`]), in code with [`Emulator::retire_model`] and
//! [`Emulator::with_retired_models`], or over HTTP: `POST /_emulator/retired` with an id or
//! an array of ids, `GET /_emulator/retired`, `DELETE /_emulator/retired/{model_id}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::state::Emulator;

pub(super) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/_emulator/retired", post(retire).get(list))
        .route("/_emulator/retired/{model_id}", delete(unretire))
}

fn listing(emu: &Emulator) -> Json<Value> {
    Json(json!({ "retired": emu.retired_models() }))
}

/// Retires one id (a JSON string) or several (an array of strings).
async fn retire(State(emu): State<Emulator>, Json(v): Json<Value>) -> Response {
    let ids: Result<Vec<String>, _> =
        if v.is_array() { serde_json::from_value(v) } else { serde_json::from_value(v).map(|id| vec![id]) };
    match ids {
        Ok(ids) => {
            for id in ids {
                emu.retire_model(id);
            }
            (StatusCode::OK, listing(&emu)).into_response()
        }
        Err(e) => {
            let message = format!("expected a model id or an array of them: {e}");
            (StatusCode::BAD_REQUEST, Json(json!({ "message": message }))).into_response()
        }
    }
}

async fn list(State(emu): State<Emulator>) -> Json<Value> {
    listing(&emu)
}

async fn unretire(State(emu): State<Emulator>, Path(model_id): Path<String>) -> StatusCode {
    if emu.unretire_model(&model_id) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

#[cfg(test)]
mod tests;
